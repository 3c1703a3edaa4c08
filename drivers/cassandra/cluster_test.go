package cassandra

// Integration tests on a real 3-node Cassandra cluster whose node<->node and
// client->node links pass through Toxiproxy: start it with
//
//	eval "$(scripts/cassandra.sh start)"
//
// which sets PACBENCH_CASSANDRA_HOSTS (the proxied client addresses of
// cassandra1..3, in order) and PACBENCH_TOXIPROXY_API. The fault tests
// inject through impair's Toxiproxy backend and heal on every exit path.
// They run one after another (no t.Parallel): a fault acts on the whole
// cluster.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

const (
	hostsEnv   = "PACBENCH_CASSANDRA_HOSTS"
	toxiEnv    = "PACBENCH_TOXIPROXY_API"
	howToStart = `run: eval "$(scripts/cassandra.sh start)"`
	testKS     = "pacbench_test"
	valueSize  = 100
)

// cluster is what an integration test gets: the hosts in node order and an
// open, prepared client.
type cluster struct {
	hosts []string // client endpoints of cassandra1..3
	c     *Client
}

func openCluster(t *testing.T) *cluster { return openClusterVia(t, 0) }

// openClusterVia opens the client with cassandraN as its only contact point
// (so its control connection starts there), or all hosts when n is 0.
func openClusterVia(t *testing.T, n int) *cluster {
	t.Helper()
	testenv.Short(t)
	env := testenv.Require(t, hostsEnv, howToStart)
	hosts := strings.Split(env, ",")
	contact := hosts
	if n > 0 {
		if n > len(hosts) {
			t.Fatalf("%s names %d hosts, test needs cassandra%d", hostsEnv, len(hosts), n)
		}
		contact = hosts[n-1 : n]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := Open(ctx, drivers.Config{Endpoints: contact, Options: map[string]string{"keyspace": testKS, "replication_factor": "3"}})
	if err != nil {
		t.Fatalf("open %s: %v", env, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	return &cluster{hosts: hosts, c: c}
}

// node returns the client endpoint of cassandraN.
func (cl *cluster) node(t *testing.T, n int) string {
	t.Helper()
	if n < 1 || n > len(cl.hosts) {
		t.Fatalf("%s names %d hosts, test needs cassandra%d", hostsEnv, len(cl.hosts), n)
	}
	return cl.hosts[n-1]
}

// session opens a session at read/write levels, pinned to coordinators
// (0 = token-aware).
func (cl *cluster) session(t *testing.T, read, write string, readNode, writeNode int) drivers.Session {
	t.Helper()
	cfg := drivers.SessionConfig{Levels: drivers.Levels{KeyRead: read, KeyWrite: write}}
	if readNode > 0 {
		cfg.ReadEndpoints = []string{cl.node(t, readNode)}
	}
	if writeNode > 0 {
		cfg.WriteEndpoints = []string{cl.node(t, writeNode)}
	}
	s, err := cl.c.Session(context.Background(), cfg)
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// faults returns impair's Toxiproxy backend over cassandra1..3 and makes
// sure everything it applies is cleared when the test ends.
func faults(t *testing.T) *impair.Toxiproxy {
	t.Helper()
	api := testenv.Require(t, toxiEnv, howToStart)
	topo := impair.Topology{}
	for n := 1; n <= 3; n++ {
		name := fmt.Sprintf("cassandra%d", n)
		topo.Members = append(topo.Members, impair.MemberLinks{Name: name, Role: "node", ClientProxy: name + "-client", PeerProxy: name + "-peer"})
	}
	tp := impair.NewToxiproxy(api, topo)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tp.Heal(ctx); err != nil {
		t.Fatalf("toxiproxy heal: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.Clear(ctx); err != nil {
			t.Errorf("toxiproxy clear: %v", err)
		}
	})
	return tp
}

func opCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func val(key, seq uint64) []byte {
	return workloads.NewValue(workloads.Header{Key: key, Writer: 1, Seq: seq, Invoke: time.Now().UnixNano()}, valueSize)
}

func seqOf(t *testing.T, v drivers.Value) uint64 {
	t.Helper()
	h, err := workloads.DecodeHeader(v.Data)
	if err != nil {
		t.Fatalf("read value without header: %v", err)
	}
	return h.Seq
}

// uniqueKey makes keys distinct between test runs on the same cluster.
func uniqueKey(prefix string, i int) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), i)
}

// TestClusterRoutes: a pinned session's ops go to its coordinator (the
// read names it), a token-aware session's to the hosts of the cluster, and
// a pin to a stranger is refused (the kit checks the data path).
func TestClusterRoutes(t *testing.T) {
	cl := openCluster(t)
	for n := 1; n <= 3; n++ {
		t.Run(fmt.Sprintf("via cassandra%d", n), func(t *testing.T) {
			s := cl.session(t, "QUORUM", "QUORUM", n, n)
			key := uniqueKey(fmt.Sprintf("route%d", n), 0)
			ctx := opCtx(t, 30*time.Second)
			if err := s.Write(ctx, key, val(7, 1)); err != nil {
				t.Fatal(err)
			}
			v, err := s.Read(ctx, key)
			if err != nil || !v.Found {
				t.Fatalf("read = %+v, %v", v, err)
			}
			if v.Server != cl.node(t, n) {
				t.Fatalf("pinned read served by %q, want %q", v.Server, cl.node(t, n))
			}
		})
	}
	t.Run("token-aware", func(t *testing.T) {
		s := cl.session(t, "QUORUM", "QUORUM", 0, 0)
		ctx := opCtx(t, 30*time.Second)
		servers := map[string]bool{}
		for i := range 30 {
			key := uniqueKey("routeta", i)
			if err := s.Write(ctx, key, val(uint64(i), 1)); err != nil {
				t.Fatal(err)
			}
			v, err := s.Read(ctx, key)
			if err != nil || !v.Found {
				t.Fatalf("read %s = %+v, %v", key, v, err)
			}
			servers[v.Server] = true
		}
		for srv := range servers {
			if !slices.Contains(cl.hosts, srv) {
				t.Fatalf("read served by %q, not one of %v", srv, cl.hosts)
			}
		}
		t.Logf("30 token-aware reads were coordinated by %d hosts", len(servers))
	})
	t.Run("unknown pinned host", func(t *testing.T) {
		_, err := cl.c.Session(context.Background(), drivers.SessionConfig{ReadEndpoints: []string{"127.0.9.9:9042"}})
		if !errors.Is(err, ErrUnknownHost) {
			t.Fatalf("session pinned to a stranger: %v, want ErrUnknownHost", err)
		}
	})
}

// stats of one measured load: op outcomes, latencies and stale reads.
type stats struct {
	reads, stale int
	maxLag       uint64
	errs         [op.NumClasses]int
	lat          []time.Duration // ok reads
}

func (s *stats) p50() time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	l := slices.Clone(s.lat)
	slices.Sort(l)
	return l[len(l)/2]
}

func (s *stats) ratio() float64 {
	if s.reads == 0 {
		return 0
	}
	return float64(s.stale) / float64(s.reads)
}

func (s *stats) String() string {
	return fmt.Sprintf("reads=%d stale=%d (%.1f%%, max %d versions behind) p50=%v errors[%s]",
		s.reads, s.stale, 100*s.ratio(), s.maxLag, s.p50().Round(10*time.Microsecond), classCounts(s.errs))
}

// staleness runs one writer (sequential writes over keys, each carrying its
// seq) and one goroutine per reader session for d, and counts reads whose
// seq is below the newest seq acked before the read was invoked
// (DESIGN.md's definition: no false positives; a missing key is seq 0).
func staleness(t *testing.T, w drivers.Session, readers []drivers.Session, prefix string, keys int, d time.Duration) *stats {
	t.Helper()
	acked := make([]atomic.Uint64, keys)
	// Seed every key so reads find a value.
	for i := range keys {
		if err := w.Write(opCtx(t, 10*time.Second), uniqueKey(prefix, i), val(uint64(i), 1)); err != nil {
			t.Fatalf("seed: %v", err)
		}
		acked[i].Store(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var wg sync.WaitGroup
	var werr atomic.Value
	wg.Go(func() {
		for seq := uint64(2); ctx.Err() == nil; seq++ {
			for i := range keys {
				octx, ocancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := w.Write(octx, uniqueKey(prefix, i), val(uint64(i), seq))
				ocancel()
				if err != nil {
					werr.Store(err)
					return
				}
				acked[i].Store(seq)
			}
		}
	})
	per := make([]stats, len(readers))
	for ri, r := range readers {
		wg.Go(func() { readStale(ctx, r, &per[ri], acked, prefix, ri) })
	}
	wg.Wait()
	if err, ok := werr.Load().(error); ok {
		t.Fatalf("writer: %v", err)
	}
	total := &stats{}
	for _, st := range per {
		total.reads += st.reads
		total.stale += st.stale
		total.maxLag = max(total.maxLag, st.maxLag)
		for c, n := range st.errs {
			total.errs[c] += n
		}
		total.lat = append(total.lat, st.lat...)
	}
	if total.errs[op.Other] > 0 {
		t.Fatalf("reads returned values without a pacbench header: %s", total)
	}
	return total
}

// readStale reads the keys round robin from key first until ctx ends and
// counts into st the reads whose seq is below the newest acked before the
// read was invoked (a missing key is seq 0).
func readStale(ctx context.Context, r drivers.Session, st *stats, acked []atomic.Uint64, prefix string, first int) {
	for i := first; ctx.Err() == nil; i++ {
		k := i % len(acked)
		c := acked[k].Load()
		octx, ocancel := context.WithTimeout(context.Background(), 5*time.Second)
		t0 := time.Now()
		v, err := r.Read(octx, uniqueKey(prefix, k))
		lat := time.Since(t0)
		ocancel()
		if err != nil {
			st.errs[op.ClassOf(err)]++
			continue
		}
		st.reads++
		st.lat = append(st.lat, lat)
		got := uint64(0)
		if v.Found {
			h, err := workloads.DecodeHeader(v.Data)
			if err != nil {
				st.errs[op.Other]++
				continue
			}
			got = h.Seq
		}
		if got < c {
			st.stale++
			st.maxLag = max(st.maxLag, c-got)
		}
	}
}

// readers opens n sessions at level read pinned to coordinator node.
func (cl *cluster) readers(t *testing.T, read string, node, n int) []drivers.Session {
	t.Helper()
	out := make([]drivers.Session, n)
	for i := range out {
		out[i] = cl.session(t, read, "ONE", node, 0)
	}
	return out
}

// readLatency issues n reads of one seeded key and returns their stats.
func readLatency(t *testing.T, s drivers.Session, key string, n int) *stats {
	t.Helper()
	st := &stats{}
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t0 := time.Now()
		_, err := s.Read(ctx, key)
		lat := time.Since(t0)
		cancel()
		if err != nil {
			st.errs[op.ClassOf(err)]++
			continue
		}
		st.reads++
		st.lat = append(st.lat, lat)
	}
	return st
}

// TestClusterBaselineLevels reports read latency per CL on a healthy
// cluster (reported, not asserted: on loopback the differences are small
// and the machine is shared). Levels are interleaved read by read so drift
// in machine load hits them alike.
func TestClusterBaselineLevels(t *testing.T) {
	cl := openCluster(t)
	key := uniqueKey("baseline", 0)
	if err := cl.session(t, "ALL", "ALL", 0, 0).Write(opCtx(t, 10*time.Second), key, val(0, 1)); err != nil {
		t.Fatal(err)
	}
	levels := []string{"ONE", "QUORUM", "ALL", "SERIAL"}
	sessions := make([]drivers.Session, len(levels))
	all := make([]*stats, len(levels))
	for i, lvl := range levels {
		sessions[i] = cl.session(t, lvl, "ONE", 1, 1)
		readLatency(t, sessions[i], key, 10) // warm up
		all[i] = &stats{}
	}
	const rounds = 300
	for range rounds {
		for i, s := range sessions {
			st := readLatency(t, s, key, 1)
			all[i].reads += st.reads
			all[i].lat = append(all[i].lat, st.lat...)
			for c, n := range st.errs {
				all[i].errs[c] += n
			}
		}
	}
	for i, lvl := range levels {
		if all[i].reads != rounds {
			t.Fatalf("%s reads on a healthy cluster: %s", lvl, all[i])
		}
		t.Logf("baseline read %-6s via cassandra1: p50 %v", lvl, all[i].p50().Round(time.Microsecond))
	}
}

// TestClusterReplicaLatency delays everything sent to cassandra3 (its peer
// link, upstream: Cassandra sends to a peer on the connection it dialled to
// that peer's broadcast address) so cassandra3's replica lags.
func TestClusterReplicaLatency(t *testing.T) {
	cl := openCluster(t)
	tp := faults(t)
	const delay = 100 * time.Millisecond
	if err := tp.Apply(opCtx(t, 10*time.Second), []impair.Action{
		{Kind: impair.KindLatency, Member: "cassandra3", Link: impair.LinkPeer, Direction: impair.Upstream, Delay: delay},
	}); err != nil {
		t.Fatal(err)
	}
	const d = 3 * time.Second
	t.Run("ONE/ONE read via the lagging replica", func(t *testing.T) {
		st := staleness(t, cl.session(t, "ONE", "ONE", 0, 1), cl.readers(t, "ONE", 3, 1), "lagone3", 10, d)
		t.Logf("ONE/ONE, writes via cassandra1, reads via cassandra3 (+%v): %s", delay, st)
		if st.reads == 0 || st.stale == 0 {
			t.Fatalf("no stale ONE reads from the lagging replica: %s", st)
		}
	})
	t.Run("ONE/ONE read via a healthy coordinator", func(t *testing.T) {
		st := staleness(t, cl.session(t, "ONE", "ONE", 0, 1), cl.readers(t, "ONE", 2, 1), "lagone2", 10, d)
		t.Logf("ONE/ONE, writes via cassandra1, reads via cassandra2: %s", st)
		if st.reads == 0 {
			t.Fatalf("no reads: %s", st)
		}
	})
	t.Run("QUORUM/QUORUM", func(t *testing.T) {
		st := staleness(t, cl.session(t, "QUORUM", "QUORUM", 0, 1), cl.readers(t, "QUORUM", 3, 8), "lagquorum", 10, d)
		t.Logf("QUORUM/QUORUM, writes via cassandra1, 8 readers via cassandra3: %s", st)
		if st.reads == 0 || st.stale != 0 {
			t.Fatalf("R+W>N must never read stale: %s", st)
		}
	})
	t.Run("ALL tracks the delay", func(t *testing.T) {
		key := uniqueKey("lagall", 0)
		if err := cl.session(t, "ONE", "ALL", 0, 1).Write(opCtx(t, 10*time.Second), key, val(0, 1)); err != nil {
			t.Fatal(err)
		}
		all := readLatency(t, cl.session(t, "ALL", "ONE", 1, 0), key, 20)
		one := readLatency(t, cl.session(t, "ONE", "ONE", 1, 0), key, 20)
		t.Logf("read via cassandra1 with cassandra3 +%v: ALL %s; ONE %s", delay, all, one)
		if all.reads == 0 || all.p50() < delay {
			t.Fatalf("ALL reads need cassandra3, so cannot beat its %v delay: %s", delay, all)
		}
	})
}

// awaitClass retries fn (each try bounded by 6 s) until it returns an error
// of class want (or success when want is OK), for at most limit.
func awaitClass(t *testing.T, what string, want op.Class, limit time.Duration, fn func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
		last = fn(ctx)
		cancel()
		if op.ClassOf(last) == want {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("%s: no %s within %v (last: %v)", what, want, limit, last)
}

// TestClusterPartition blackholes cassandra3's peer link in both
// directions: cassandra1 and cassandra2 keep a quorum, cassandra3 is cut
// off from its peers but still serves clients what it has. The client's
// control connection is on cassandra3, whose gossip view then has every
// other node down: the client must not take that for its own view.
func TestClusterPartition(t *testing.T) {
	cl := openClusterVia(t, 3)
	tp := faults(t)
	key := uniqueKey("part", 0)
	w := cl.session(t, "ONE", "ALL", 0, 1)
	if err := w.Write(opCtx(t, 10*time.Second), key, val(0, 1)); err != nil {
		t.Fatal(err)
	}
	if err := tp.Apply(opCtx(t, 10*time.Second), []impair.Action{
		{Kind: impair.KindPartition, Member: "cassandra3", Link: impair.LinkPeer, Direction: impair.Downstream},
		{Kind: impair.KindPartition, Member: "cassandra3", Link: impair.LinkPeer, Direction: impair.Upstream},
	}); err != nil {
		t.Fatal(err)
	}
	allRead := cl.session(t, "ALL", "ALL", 1, 1)
	t0 := time.Now()
	// Until cassandra1's failure detector convicts cassandra3, ALL waits
	// for it and times out; afterwards the coordinator refuses at once.
	awaitClass(t, "ALL read via cassandra1", op.Unavailable, 90*time.Second, func(ctx context.Context) error {
		_, err := allRead.Read(ctx, key)
		return err
	})
	t.Logf("cassandra1 reported ALL unavailable %v after the partition", time.Since(t0).Round(100*time.Millisecond))

	for _, p := range partitionProbes {
		t.Run(p.name, func(t *testing.T) { cl.probe(t, p, key) })
	}

	// Heal and wait until ALL works again, so later tests see a healthy cluster.
	if err := tp.Clear(opCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	awaitClass(t, "ALL read after heal", op.OK, 120*time.Second, func(ctx context.Context) error {
		_, err := allRead.Read(ctx, key)
		return err
	})
	t.Logf("ALL available again %v after healing", time.Since(t1).Round(100*time.Millisecond))
}

// probe is one kind of op issued during TestClusterPartition and the
// class all of them must get.
type probe struct {
	name        string
	read, write string
	node        int
	isRead      bool
	want        op.Class
}

var partitionProbes = []probe{
	{"ONE read via cassandra1", "ONE", "ONE", 1, true, op.OK},
	{"QUORUM read via cassandra1", "QUORUM", "QUORUM", 1, true, op.OK},
	{"ONE write via cassandra1", "ONE", "ONE", 1, false, op.OK},
	{"QUORUM write via cassandra1", "QUORUM", "QUORUM", 1, false, op.OK},
	{"ALL read via cassandra1", "ALL", "ALL", 1, true, op.Unavailable},
	{"ALL write via cassandra1", "ALL", "ALL", 1, false, op.Unavailable},
	{"ONE read via partitioned cassandra3", "ONE", "ONE", 3, true, op.OK},
}

// probe issues 30 ops of p during the partition: each must get p.want,
// and a failure must be the coordinator's Unavailable verdict. Through the
// cut-off replica a read returns what it had before (seq 1).
func (cl *cluster) probe(t *testing.T, p probe, key string) {
	s := cl.session(t, p.read, p.write, p.node, p.node)
	var counts [op.NumClasses]int
	var lat []time.Duration
	const n = 30
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		t0 := time.Now()
		var err error
		if p.isRead {
			_, err = s.Read(ctx, key)
		} else {
			err = s.Write(ctx, key, val(0, uint64(10+i)))
		}
		lat = append(lat, time.Since(t0))
		cancel()
		counts[op.ClassOf(err)]++
		var server *gocql.RequestErrUnavailable
		if err != nil && !errors.As(err, &server) {
			t.Errorf("op %d: %v is not the coordinator's Unavailable verdict", i, err)
		}
	}
	slices.Sort(lat)
	t.Logf("%s during partition: %d/%d %s (p50 %v)", p.name, counts[p.want], n, p.want, lat[n/2].Round(10*time.Microsecond))
	if p.node == 3 {
		// PA: the cut-off replica answers, with what it had before.
		v, err := s.Read(opCtx(t, 5*time.Second), key)
		if err != nil || !v.Found || seqOf(t, v) != 1 {
			t.Fatalf("partitioned replica read %+v, %v; want the pre-partition value (seq 1)", v, err)
		}
	}
	if counts[p.want] != n {
		t.Fatalf("want all %d %s, got %v", n, p.want, classCounts(counts))
	}
}

// TestClusterClientLinkDown disables cassandra3's client proxy. A session
// pinned to cassandra3 as coordinator fails every op as unavailable: the
// one in flight when the connection ends, those the pool still sends to
// the closing connection, and those after it (no host to send to). A
// token-aware session keeps working through the others, every read: an op
// that meets the lost connection before the pool has dropped it goes to the
// next replica (rerouteAborted). Nothing is tolerated.
func TestClusterClientLinkDown(t *testing.T) {
	cl := openCluster(t)
	tp := faults(t)
	key := uniqueKey("clientdown", 0)
	if err := cl.session(t, "ONE", "QUORUM", 0, 0).Write(opCtx(t, 10*time.Second), key, val(0, 1)); err != nil {
		t.Fatal(err)
	}
	pinned := cl.session(t, "ONE", "ONE", 3, 3)
	spread := cl.session(t, "ONE", "ONE", 0, 0)
	if _, err := pinned.Read(opCtx(t, 5*time.Second), key); err != nil {
		t.Fatalf("pinned read before the fault: %v", err)
	}
	if err := tp.Apply(opCtx(t, 10*time.Second), []impair.Action{
		{Kind: impair.KindDown, Member: "cassandra3", Link: impair.LinkClient},
	}); err != nil {
		t.Fatal(err)
	}
	var counts [op.NumClasses]int
	const n = 30
	for range n {
		_, err := pinned.Read(opCtx(t, 5*time.Second), key)
		if c := op.ClassOf(err); c != op.Unavailable && counts[c] == 0 {
			t.Logf("pinned read failed as %s: %v", c, err)
		}
		counts[op.ClassOf(err)]++
	}
	t.Logf("pinned to cassandra3 with its client link down: %v", classCounts(counts))
	if counts[op.Unavailable] != n {
		t.Fatalf("want %d unavailable, got %v", n, classCounts(counts))
	}
	var ok int
	for range n {
		if _, err := spread.Read(opCtx(t, 5*time.Second), key); err == nil {
			ok++
		} else {
			t.Logf("token-aware read: %v", err)
		}
	}
	if ok != n {
		t.Fatalf("token-aware session: %d/%d reads ok with one client link down", ok, n)
	}
	if err := tp.Clear(opCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	awaitClass(t, "pinned read after heal", op.OK, 60*time.Second, func(ctx context.Context) error {
		_, err := pinned.Read(ctx, key)
		return err
	})
}

func classCounts(c [op.NumClasses]int) string {
	var parts []string
	for i, n := range c {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", op.Class(i), n))
		}
	}
	return strings.Join(parts, " ")
}
