package etcd_test

// The instrument's calibration against known causes (DESIGN.md, reference
// observation): real 3-member cluster, real Toxiproxy on every link, the
// real driver, a small staleness oracle. Each phase runs a few seconds.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

const calKeys = 10

func calKey(i int) string { return "cal/" + strconv.Itoa(i) }

// oracle holds, per key, the newest seq whose write was acknowledged. One
// writer per key, so seq is the key's version order.
type oracle struct{ acked [calKeys]atomic.Uint64 }

// stats summarises one set of reads.
type stats struct {
	lat    []time.Duration // successful reads
	errs   map[op.Class]int
	stale  int
	behind []uint64 // versions behind, for stale reads
}

func (s *stats) merge(o *stats) {
	s.lat = append(s.lat, o.lat...)
	s.stale += o.stale
	s.behind = append(s.behind, o.behind...)
	for k, v := range o.errs {
		if s.errs == nil {
			s.errs = map[op.Class]int{}
		}
		s.errs[k] += v
	}
}

func (s *stats) failed() int {
	n := 0
	for _, v := range s.errs {
		n += v
	}
	return n
}

func (s *stats) availability() float64 {
	return float64(len(s.lat)) / float64(max(1, len(s.lat)+s.failed()))
}

func (s *stats) staleRatio() float64 { return float64(s.stale) / float64(max(1, len(s.lat))) }

func (s *stats) p50() time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	x := slices.Clone(s.lat)
	slices.Sort(x)
	return x[len(x)/2]
}

func (s *stats) behindP50() uint64 {
	if len(s.behind) == 0 {
		return 0
	}
	x := slices.Clone(s.behind)
	slices.Sort(x)
	return x[len(x)/2]
}

func (s *stats) String() string {
	return fmt.Sprintf("n=%d avail=%.1f%% p50=%v stale=%.1f%% (p50 %d versions behind) errors=%v",
		len(s.lat)+s.failed(), 100*s.availability(), s.p50().Round(10*time.Microsecond),
		100*s.staleRatio(), s.behindP50(), s.errs)
}

// readFor reads the keys round-robin through each session (one goroutine per
// session) for d, each read bounded by timeout, and checks staleness.
func readFor(ctx context.Context, sessions []drivers.Session, o *oracle, d, timeout time.Duration) *stats {
	var (
		mu  sync.Mutex
		all = &stats{errs: map[op.Class]int{}}
		wg  sync.WaitGroup
	)
	end := time.Now().Add(d)
	for w, s := range sessions {
		wg.Go(func() {
			st := &stats{errs: map[op.Class]int{}}
			for i := w; time.Now().Before(end) && ctx.Err() == nil; i++ {
				k := i % calKeys
				c := o.acked[k].Load() // newest acked before this read is invoked
				rctx, cancel := context.WithTimeout(ctx, timeout)
				start := time.Now()
				v, err := s.Read(rctx, calKey(k))
				el := time.Since(start)
				cancel()
				if err != nil {
					st.errs[op.ClassOf(err)]++
					continue
				}
				st.lat = append(st.lat, el)
				var h workloads.Header // not found: the follower has not applied the load yet (seq 0)
				if v.Found {
					var herr error
					if h, herr = workloads.DecodeHeader(v.Data); herr != nil {
						st.errs[op.Other]++ // a value pacbench did not write: should not happen
						continue
					}
				}
				if h.Seq < c {
					st.stale++
					st.behind = append(st.behind, c-h.Seq)
				}
			}
			mu.Lock()
			all.merge(st)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// startWriters runs one writer per key through s (writes pinned to the
// leader), each rewriting its key every few ms until stop is called.
func startWriters(t *testing.T, c drivers.Client, leaderEP string, o *oracle) (stop func() (writes, failed int64, lastErr error)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var writes, failed atomic.Int64
	var lastErr atomic.Pointer[error]
	for k := range calKeys {
		s := session(t, c, "linearizable", nil, []string{leaderEP})
		seq := o.acked[k].Load()
		wg.Go(func() {
			buf := make([]byte, 64)
			for ctx.Err() == nil {
				seq++
				workloads.Header{Key: uint64(k), Seq: seq, Invoke: time.Now().UnixNano()}.Encode(buf)
				wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
				err := s.Write(wctx, calKey(k), buf)
				wcancel()
				if err != nil {
					failed.Add(1)
					lastErr.Store(&err)
					continue // outcome unknown: acked stays, the next write gets seq+1
				}
				writes.Add(1)
				o.acked[k].Store(seq)
				time.Sleep(2 * time.Millisecond)
			}
		})
	}
	return func() (int64, int64, error) {
		cancel()
		wg.Wait()
		var err error
		if p := lastErr.Load(); p != nil {
			err = *p
		}
		return writes.Load(), failed.Load(), err
	}
}

func sessions(t *testing.T, c drivers.Client, read string, ep string, n int) []drivers.Session {
	out := make([]drivers.Session, n)
	for i := range out {
		out[i] = session(t, c, read, []string{ep}, nil)
	}
	return out
}

// assertNoToxics checks through the Toxiproxy client API that no proxy has
// a toxic and every proxy is enabled.
func assertNoToxics(t *testing.T, api string) {
	t.Helper()
	ps, err := toxiclient.NewClient(api).Proxies()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) == 0 {
		t.Fatal("no proxies listed")
	}
	for name, p := range ps {
		if len(p.ActiveToxics) != 0 || !p.Enabled {
			t.Errorf("proxy %s: toxics %+v, enabled %v", name, p.ActiveToxics, p.Enabled)
		}
	}
}

// waitFresh waits until a linearizable read through ep succeeds (the member
// is caught up and connected again).
func waitFresh(t *testing.T, c drivers.Client, ep string) {
	t.Helper()
	s := session(t, c, "linearizable", []string{ep}, nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := s.Read(ctx, calKey(0))
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not recover: %v", ep, err)
		}
	}
}

func TestCalibration(t *testing.T) {
	e := etcdCluster(t)
	c := open(t, nil)
	leader, followers := roles(t, c)
	cl := &calibration{e: e, c: c, leader: leader, f: followers[0], f2: followers[1], o: &oracle{}, ctx: t.Context(),
		b: impair.NewToxiproxy(e.ToxiproxyAPI(), e.Topology())}
	t.Logf("leader %s (%s); read follower %s (%s); other follower %s", leader.Name, leader.Endpoint, cl.f.Name, cl.f.Endpoint, cl.f2.Name)
	t.Cleanup(func() {
		if _, err := cl.b.Heal(context.Background()); err != nil {
			t.Error(err)
		}
	})
	ws := session(t, c, "linearizable", nil, []string{leader.Endpoint})
	for k := range calKeys {
		if err := ws.Write(cl.ctx, calKey(k), workloads.NewValue(workloads.Header{Key: uint64(k)}, 64)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("a client link delay shifts p50 by D", cl.clientDelay)

	stop := startWriters(t, c, leader.Endpoint, cl.o)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	// both runs serializable and linearizable readers on f side by side.
	cl.serF = sessions(t, c, "serializable", cl.f.Endpoint, 4)
	cl.linF = sessions(t, c, "linearizable", cl.f.Endpoint, 4)
	t.Run("b leader outgoing delay makes the follower stale", cl.leaderDelay)
	t.Run("c follower blackholed", cl.followerBlackholed)
	writes, failed, lastErr := stop()
	stopped = true
	t.Logf("writers (via the leader): %d acked writes, %d failed (last error: %v)", writes, failed, lastErr)
	t.Run("d clear and heal leave no toxics", cl.clearAndHeal)
}

// calibration is what TestCalibration's steps share: the cluster, the
// driver's client, the roles, the Toxiproxy backend, the staleness oracle
// and the reader sessions on the read follower f.
type calibration struct {
	e             *cluster.Etcd
	c             drivers.Client
	leader, f, f2 drivers.Member
	b             *impair.Toxiproxy
	o             *oracle
	ctx           context.Context
	serF, linF    []drivers.Session
}

// both runs serializable and linearizable readers on f side by side.
func (cl *calibration) both(d, timeout time.Duration) (ser, lin *stats) {
	var wg sync.WaitGroup
	wg.Go(func() { ser = readFor(cl.ctx, cl.serF, cl.o, d, timeout) })
	wg.Go(func() { lin = readFor(cl.ctx, cl.linF, cl.o, d, timeout) })
	wg.Wait()
	return ser, lin
}

func (cl *calibration) clientDelay(t *testing.T) {
	const D = 20 * time.Millisecond
	onF := sessions(t, cl.c, "serializable", cl.f.Endpoint, 1)
	onF2 := sessions(t, cl.c, "serializable", cl.f2.Endpoint, 1)
	measure := func() (*stats, *stats) {
		var sf, sf2 *stats
		var wg sync.WaitGroup
		wg.Go(func() { sf = readFor(cl.ctx, onF, cl.o, 1500*time.Millisecond, time.Second) })
		wg.Go(func() { sf2 = readFor(cl.ctx, onF2, cl.o, 1500*time.Millisecond, time.Second) })
		wg.Wait()
		return sf, sf2
	}
	base, base2 := measure()
	if err := cl.b.Apply(cl.ctx, []impair.Action{{Kind: impair.KindLatency, Member: cl.f.Name, Link: impair.LinkClient, Direction: impair.Downstream, Delay: D}}); err != nil {
		t.Fatal(err)
	}
	delayed, other := measure()
	if err := cl.b.Clear(cl.ctx); err != nil {
		t.Fatal(err)
	}
	assertNoToxics(t, cl.e.ToxiproxyAPI())
	shift := delayed.p50() - base.p50()
	t.Logf("serializable via %s: baseline %v; +%v on its client link: %v; shift %v", cl.f.Name, base, D, delayed, shift)
	t.Logf("serializable via %s (not delayed): %v then %v", cl.f2.Name, base2, other)
	if shift < D-2*time.Millisecond || shift > D+2*time.Millisecond {
		t.Errorf("p50 shift %v, want %v ± 2ms", shift, D)
	}
	if d := other.p50() - base2.p50(); d > 2*time.Millisecond {
		t.Errorf("reads pinned to the other follower moved by %v: routing is not pinned", d)
	}
	for _, s := range []*stats{base, delayed, base2, other} {
		if s.failed() > 0 || len(s.lat) == 0 {
			t.Errorf("reads failed: %v", s)
		}
	}
}

// resolve turns specs into the backend's actions on the cluster's links,
// as a run does (impair.Resolve on the cluster's topology).
func (cl *calibration) resolve(t *testing.T, specs ...impair.Spec) []impair.Action {
	t.Helper()
	acts, err := impair.Resolve(specs, cl.e.Topology())
	if err != nil {
		t.Fatal(err)
	}
	return acts
}

func (cl *calibration) leaderDelay(t *testing.T) {
	const D, J = 40 * time.Millisecond, 5 * time.Millisecond
	ser0, lin0 := cl.both(2*time.Second, 2*time.Second)
	t.Logf("baseline: serializable %v", ser0)
	t.Logf("baseline: linearizable %v", lin0)
	// Through impair.Resolve, as a run does: the local cluster's peer
	// traffic runs through one proxy per (member, dialer) pair.
	if err := cl.b.Apply(cl.ctx, cl.resolve(t, impair.Spec{Kind: impair.KindLatency, Target: cl.leader.Name, Links: "peer_out",
		Delay: impair.Duration(D), Jitter: impair.Duration(J)})); err != nil {
		t.Fatal(err)
	}
	ser, lin := cl.both(3*time.Second, 2*time.Second)
	if err := cl.b.Clear(cl.ctx); err != nil {
		t.Fatal(err)
	}
	assertNoToxics(t, cl.e.ToxiproxyAPI())
	t.Logf("cl.leader outgoing +%v±%v: serializable %v", D, J, ser)
	t.Logf("cl.leader outgoing +%v±%v: linearizable %v", D, J, lin)
	if ser.staleRatio() <= 0.01 {
		t.Errorf("serializable stale ratio %.2f%%, want > 1%%", 100*ser.staleRatio())
	}
	for _, s := range []*stats{lin0, lin} {
		if s.stale != 0 {
			t.Errorf("linearizable reads returned %d stale values", s.stale)
		}
	}
	if lin.p50() < D {
		t.Errorf("linearizable p50 %v, want ≥ %v", lin.p50(), D)
	}
	if ser.failed()+lin.failed() > 0 {
		t.Errorf("reads failed under latency: %v / %v", ser.errs, lin.errs)
	}
}

func (cl *calibration) followerBlackholed(t *testing.T) {
	waitFresh(t, cl.c, cl.f.Endpoint)
	if err := cl.b.Apply(cl.ctx, cl.resolve(t, impair.Spec{Kind: impair.KindPartition, Target: cl.f.Name})); err != nil {
		t.Fatal(err)
	}
	ser, lin := cl.both(6*time.Second, time.Second)
	// Writes routed through the isolated follower fail too.
	wf := session(t, cl.c, "linearizable", nil, []string{cl.f.Endpoint})
	for i := range 2 {
		wctx, cancel := context.WithTimeout(cl.ctx, time.Second)
		err := wf.Write(wctx, "cal/isolated", []byte(strconv.Itoa(i)))
		cancel()
		if class := op.ClassOf(err); class != op.Timeout && class != op.Unavailable {
			t.Errorf("write through the isolated follower: %v (class %v), want timeout or unavailable", err, class)
		}
	}
	if err := cl.b.Clear(cl.ctx); err != nil {
		t.Fatal(err)
	}
	assertNoToxics(t, cl.e.ToxiproxyAPI())
	t.Logf("partition: serializable %v", ser)
	t.Logf("partition: linearizable %v", lin)
	if a := lin.availability(); a >= 0.5 {
		t.Errorf("linearizable availability %.1f%% through the isolated follower, want < 50%%", 100*a)
	}
	for class, n := range lin.errs {
		if class != op.Timeout && class != op.Unavailable {
			t.Errorf("%d linearizable failures classed %v, want timeout or unavailable", n, class)
		}
	}
	if a := ser.availability(); a < 0.99 {
		t.Errorf("serializable availability %.1f%%, want > 99%%", 100*a)
	}
	if lin.stale != 0 {
		t.Errorf("linearizable reads returned %d stale values", lin.stale)
	}
	if ser.stale == 0 {
		t.Errorf("serializable reads through the isolated follower never stale")
	}
	waitFresh(t, cl.c, cl.f.Endpoint)
}

func (cl *calibration) clearAndHeal(t *testing.T) {
	all := []impair.Action{
		{Kind: impair.KindLatency, Member: cl.f.Name, Link: impair.LinkClient, Delay: time.Millisecond},
		{Kind: impair.KindBandwidth, Member: cl.leader.Name, Link: impair.LinkPeer, Direction: impair.Upstream, RateKBps: 10000},
		{Kind: impair.KindPartition, Member: cl.f2.Name, Link: impair.LinkPeer},
		{Kind: impair.KindDown, Member: cl.f2.Name, Link: impair.LinkClient},
	}
	if err := cl.b.Apply(cl.ctx, all); err != nil {
		t.Fatal(err)
	}
	if err := cl.b.Clear(cl.ctx); err != nil {
		t.Fatal(err)
	}
	assertNoToxics(t, cl.e.ToxiproxyAPI())

	// A run that died without Clear: a new backend's Heal cleans up.
	crashed := impair.NewToxiproxy(cl.e.ToxiproxyAPI(), cl.e.Topology())
	if err := crashed.Apply(cl.ctx, all); err != nil {
		t.Fatal(err)
	}
	if _, err := impair.NewToxiproxy(cl.e.ToxiproxyAPI(), cl.e.Topology()).Heal(cl.ctx); err != nil {
		t.Fatal(err)
	}
	assertNoToxics(t, cl.e.ToxiproxyAPI())
	for _, m := range []drivers.Member{cl.leader, cl.f, cl.f2} {
		waitFresh(t, cl.c, m.Endpoint)
	}
}
