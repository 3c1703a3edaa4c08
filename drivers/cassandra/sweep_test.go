package cassandra_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/cassandra"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// sweepKeyspace is the sweep test's own keyspace.
const sweepKeyspace = "pacbench_sweep"

// sweepYAML is a short open-loop profile on the local cluster: three
// levels side by side, one measured phase per rate, writes via
// cassandra1 and reads via cassandra3 (as in profiles/cassandra-local.yaml).
const sweepYAML = `
name: cassandra-sweep
seed: 1
system:
  driver: cassandra
  endpoints: [%[1]s]
  nodes:
    - {name: cassandra1, endpoint: %[2]s}
    - {name: cassandra2, endpoint: %[3]s}
    - {name: cassandra3, endpoint: %[4]s}
  options: {keyspace: %[5]s, replication_factor: "3", pool_size: "1", retries: "0"}
  op_timeout: 6s
workload: {records: 1000, value_size: 100, mix: {read: 0.5, update: 0.5}, distribution: uniform}
load: {model: open, rate: 10, arrivals: poisson, workers: 16}
routes: {read: cassandra3, write: cassandra1}
mode: side_by_side
levels:
  - {name: one-one, read: ONE, write: ONE}
  - {name: quorum-quorum, read: QUORUM, write: QUORUM}
  - {name: all-all, read: ALL, write: ALL}
phases: [{name: baseline, duration: 3s}]
`

// TestClusterSweep sweeps the open-loop rate over three values with ONE/ONE,
// QUORUM/QUORUM and ALL/ALL side by side on the local cluster: one curve
// per level with a point per value (read and write p50 ≤ p99 ≤ p99.9), the
// knee where its definition puts it (read p99 ≤ 2 s, not fallen behind),
// and R+W>N levels never stale at any rate. Which rates the loaded 2-core
// machine sustains is not asserted: only the structure.
func TestClusterSweep(t *testing.T) {
	testenv.Short(t)
	hosts := strings.Split(testenv.Require(t, "PACBENCH_CASSANDRA_HOSTS", `run: eval "$(scripts/cassandra.sh start)"`), ",")
	if len(hosts) != 3 {
		t.Fatalf("PACBENCH_CASSANDRA_HOSTS %v: want the 3 nodes of scripts/cassandra.sh", hosts)
	}
	awaitAllReplicas(t, hosts)
	reg := drivers.NewRegistry(cassandra.New())
	yml := fmt.Sprintf(sweepYAML, strings.Join(hosts, ", "), hosts[0], hosts[1], hosts[2], sweepKeyspace)
	values := []string{"10", "20", "40"}
	at := func(v string) (*profile.Profile, error) {
		return profile.Parse("cassandra-sweep.yaml", []byte(yml), profile.Options{Registry: reg,
			Set: []profile.Override{{Path: "load.rate", Value: v}}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const bound = 2 * time.Second
	res, err := bench.Sweep(ctx, bench.SweepOptions{Options: bench.Options{Registry: reg, OutDir: t.TempDir(), RunID: "sweep", Version: "test"},
		Param: "load.rate", Values: values, ProfileAt: at, KneeP99: bound, KneeOp: "read", Warmup: time.Second})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	sw := res.Summary.Sweep
	var tbl bytes.Buffer
	if err := report.WriteSweepTable(&tbl, sw); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tbl.String())
	if len(sw.Points) != len(values) || len(sw.Curves) != 3 {
		t.Fatalf("%d points, %d curves; want %d values, one curve per level", len(sw.Points), len(sw.Curves), len(values))
	}
	for _, cv := range sw.Curves {
		checkCurve(t, cv, values, float64(bound)/1e6)
		if cv.Scenario == "one-one" {
			continue
		}
		for _, p := range cv.Points {
			if p.StaleRatio == nil || *p.StaleRatio != 0 {
				t.Errorf("%s at %s: stale ratio %v; R+W>N must never read stale", cv.Scenario, p.Value, deref(p.StaleRatio))
			}
		}
	}
	if _, err := os.Stat(res.Dir + "/report.html"); err != nil {
		t.Errorf("the sweep wrote no report.html: %v", err)
	}
}

// awaitAllReplicas waits (at most 2 minutes) until an ALL write through
// cassandra1 and an ALL read through cassandra3 succeed: a node restarted
// by an earlier test serves CQL before its peers' failure detectors mark
// it up again, and until then ALL is refused. The sweep measures a healthy
// cluster. A precondition, not a retried assertion.
func awaitAllReplicas(t *testing.T, hosts []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := cassandra.New().Open(ctx, drivers.Config{Endpoints: hosts, Options: map[string]string{"keyspace": sweepKeyspace, "replication_factor": "3"}})
	if err != nil {
		t.Fatalf("open %v: %v", hosts, err)
	}
	defer c.Close()
	if err := c.(drivers.Preparer).Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	s, err := c.Session(ctx, drivers.SessionConfig{Levels: drivers.Levels{cassandra.KeyRead: "ALL", cassandra.KeyWrite: "ALL"},
		ReadEndpoints: hosts[2:3], WriteEndpoints: hosts[0:1]})
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	defer s.Close()
	var last error
	for ctx.Err() == nil {
		octx, ocancel := context.WithTimeout(ctx, 6*time.Second)
		last = s.Write(octx, "sweep-ready", []byte("ready"))
		if last == nil {
			_, last = s.Read(octx, "sweep-ready")
		}
		ocancel()
		if last == nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("ALL/ALL never succeeded within 2 minutes (last: %v)", last)
}

// checkCurve: a point per value in order, each with the read and write
// percentiles in order, and the knee is the last value of the longest
// prefix that did not fall behind and kept read p99 within boundMs.
func checkCurve(t *testing.T, cv report.Curve, values []string, boundMs float64) {
	t.Helper()
	if len(cv.Points) != len(values) {
		t.Fatalf("%s: %d points, want %d", cv.Scenario, len(cv.Points), len(values))
	}
	n, ok := 0, true
	for i, p := range cv.Points {
		if p.Value != values[i] || p.ThroughputOps <= 0 || p.TargetOps <= 0 || p.WarmupOps == 0 {
			t.Errorf("%s point %d: %+v", cv.Scenario, i, p)
		}
		for _, op := range []string{"read", "write"} {
			o, has := p.Ops[op]
			if !has || o.P50 == nil || o.P99 == nil || o.P999 == nil || *o.P50 > *o.P99 || *o.P99 > *o.P999 {
				t.Errorf("%s at %s: %s percentiles %v/%v/%v", cv.Scenario, p.Value, op, deref(o.P50), deref(o.P99), deref(o.P999))
			}
		}
		r := p.Ops["read"].P99
		ok = ok && !p.FellBehind && r != nil && *r <= boundMs
		if ok {
			n++
		}
	}
	if (n == 0) != (cv.Knee == nil) || (n > 0 && *cv.Knee != values[n-1]) {
		t.Errorf("%s: knee %v (%s), but the first %d values qualify", cv.Scenario, deref(cv.Knee), cv.KneeReason, n)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "null"
	}
	return *p
}
