package cassandra_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers/cassandra"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// clockScript runs scripts/cassandra.sh clock N [OFFSET].
func clockScript(n string, offset ...string) (string, error) {
	out, err := exec.Command("bash", append([]string{filepath.Join("..", "..", "scripts", "cassandra.sh"), "clock", n}, offset...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// requireFaketime fails (in CI) or skips unless the cluster's nodes run
// under libfaketime (setting +0, the correct clock, is refused otherwise).
func requireFaketime(t *testing.T) {
	t.Helper()
	if out, err := clockScript("3", "+0"); err != nil {
		testenv.Missing(t, "the Cassandra cluster does not run under libfaketime ("+out+"): "+
			`start it with PACBENCH_CASSANDRA_FAKETIME=1 eval "$(scripts/cassandra.sh start)" (scripts/test.sh does)`)
	}
}

// nodeClock measures node n's wall clock against this machine's: the
// coordinator's now() (a time UUID from its clock), read through a
// session whose only host is cassandraN. Returns node − local, ±the
// round trip.
func nodeClock(t *testing.T, n int) (offset, rtt time.Duration) {
	t.Helper()
	host := "127.0.1." + string(rune('0'+n))
	cl := gocql.NewCluster(host + ":9042")
	cl.DisableInitialHostLookup = true
	cl.HostFilter = gocql.WhiteListHostFilter(host)
	cl.Timeout, cl.ConnectTimeout = 10*time.Second, 10*time.Second
	s, err := cl.CreateSession()
	if err != nil {
		t.Fatalf("session via cassandra%d: %v", n, err)
	}
	defer s.Close()
	best := time.Hour
	for range 5 {
		var ms int64
		before := time.Now()
		if err := s.Query("SELECT toUnixTimestamp(now()) FROM system.local").Scan(&ms); err != nil {
			t.Fatalf("now() via cassandra%d: %v", n, err)
		}
		after := time.Now()
		if d := after.Sub(before); d < best {
			best = d
			offset = time.UnixMilli(ms).Sub(before.Add(d / 2))
		}
	}
	return offset, best
}

// TestNodeClockSkewMovesTheNodeClock: `cassandra.sh clock 3 -2` moves
// cassandra3's own clock (what its now() and its server-side write
// timestamps come from) 2 s back within ClockSettle (2.5 s), and +0 puts it back;
// the other nodes keep the machine's clock. Evidence that libfaketime
// reaches the JVM here.
func TestNodeClockSkewMovesTheNodeClock(t *testing.T) {
	testenv.Short(t)
	testenv.Require(t, "PACBENCH_CASSANDRA_HOSTS", `run: eval "$(scripts/cassandra.sh start)"`)
	requireFaketime(t)
	t.Cleanup(func() {
		if out, err := clockScript("3", "+0"); err != nil {
			t.Errorf("reset cassandra3's clock: %v %s", err, out)
		}
	})
	if out, err := clockScript("3", "-2"); err != nil {
		t.Fatalf("clock 3 -2: %v %s", err, out)
	}
	time.Sleep(impair.ClockSettle)
	off3, rtt := nodeClock(t, 3)
	off1, _ := nodeClock(t, 1)
	t.Logf("skewed -2 s: cassandra3 %v, cassandra1 %v (±%v)", off3, off1, rtt)
	// now() has millisecond resolution; the round trip bounds the rest.
	tol := 50*time.Millisecond + rtt
	if d := off3 + 2*time.Second; d < -tol || d > tol {
		t.Errorf("cassandra3's clock is %v off, want -2s ±%v", off3, tol)
	}
	if off1 < -tol || off1 > tol {
		t.Errorf("cassandra1's clock is %v off, want 0 ±%v", off1, tol)
	}
	if out, err := clockScript("3", "+0"); err != nil {
		t.Fatalf("clock 3 +0: %v %s", err, out)
	}
	time.Sleep(impair.ClockSettle)
	if off3, rtt = nodeClock(t, 3); off3 < -tol || off3 > tol {
		t.Errorf("after +0: cassandra3's clock is %v off (±%v), want 0", off3, rtt)
	}
}

// TestNodeClockSkewLostWrites: server-side timestamps (options.timestamps:
// server), QUORUM/QUORUM, writers via cassandra1 and cassandra3, and
// cassandra3's own clock 1 s behind (node_clock_skew, libfaketime): the
// writes cassandra3 coordinates are stamped 1 s in the past and lose
// last-write-wins to writes acknowledged before them — the audit finds
// acknowledged writes lost after the skewed phase, and none after the
// baseline (one clock: the write invoked last wins). Quorums do not save
// last-write-wins from a node's clock any more than from a client's.
//
// The audit sees each key's last writes: a key loses when its last write
// via cassandra3 came within 1 s after one via cassandra1. With 10 keys at
// 100 ops/s, 80 % writes (8 writes a second per key), that is about every
// key whose last write went via cassandra3, half of them; at a quarter of
// the rate (a loaded machine: 23 ops/s seen) still most of those.
//
// Why not more skew: Cassandra (internode_timeout, on by default) expires
// a message by its sender's clock. With cassandra3 5 s behind, its
// mutations reach the replicas already older than write_request_timeout
// (2 s) and are dropped: its writes fail (23 write_timeout and 2 timeouts
// in 10 s) instead of being acknowledged and lost, and the audit found 0
// lost. At 2 s (the timeout itself) one run lost 11 of 755, another 1 of
// 504 with 21 indeterminate.
func TestNodeClockSkewLostWrites(t *testing.T) {
	p, reg := localProfile(t)
	requireFaketime(t)
	p.Levels, p.Checks = levelsNamed(p, "quorum-quorum"), profile.Checks{}
	p.System.Options[cassandra.OptTimestamps] = cassandra.TimestampsServer
	p.Routes = profile.Routes{Read: "cassandra2", Writers: []string{"cassandra1", "cassandra3"}}
	p.Workload.Records, p.Workload.Distribution = 10, "uniform"
	p.Workload.Mix = map[string]float64{"read": 0.2, "update": 0.8}
	p.Load.Rate = 100
	p.Phases = []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "skewed", Duration: profile.Duration(10 * time.Second), Impairments: []profile.Impairment{
			{Kind: impair.KindNodeClockSkew, Target: "cassandra3", Offset: impair.Duration(-time.Second)}}},
	}
	logw := &testenv.SyncBuffer{}
	out, err := run(t, p, reg, logw, 5*time.Minute)
	t.Logf("log:\n%s", logw.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logw.String(), "node_clock_skew -1s on cassandra3's clock") {
		t.Error("the log does not show the skew applied")
	}
	if got, err := clockScript("3"); err != nil || got != "+0" {
		t.Errorf("after the run cassandra3's clock file holds %q (%v), want +0 (healed)", got, err)
	}
	sc := out.Summary.Scenarios[0]
	for _, ph := range []struct {
		name string
		lost bool
	}{{"baseline", false}, {"skewed", true}} {
		acked, lost, _, _ := auditOf(t, sc, ph.name)
		t.Logf("%s: %d of %d acknowledged writes lost", ph.name, lost, acked)
		switch {
		case acked == 0:
			t.Errorf("%s: no acknowledged writes", ph.name)
		case ph.lost && lost == 0:
			t.Errorf("%s: 0 of %d acknowledged writes lost; want some (%s)", ph.name, acked, sc.PACELC.Evidence)
		case !ph.lost && lost != 0:
			t.Errorf("%s: %d of %d acknowledged writes lost; want 0 with correct clocks (%s)", ph.name, lost, acked, sc.PACELC.Evidence)
		}
	}
}
