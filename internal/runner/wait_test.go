package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// TestGeneratorWaitKeptOutOfLatency (issue 11): closed-loop writes of one
// key wait for pacbench's per-key writer lock; that wait is the
// instrument's, not the database's. It must not be in the reported
// latency (closed loop: service time) and is recorded as the generator
// wait instead.
func TestGeneratorWaitKeptOutOfLatency(t *testing.T) {
	t.Parallel()
	d := fakedriver.New(fakedriver.Options{OpDelay: 5 * time.Millisecond})
	pl, reg := plan(t, d, `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 1, value_size: 64, mix: {write: 1}, distribution: uniform}
load: {model: closed, workers: 4}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 600ms}]
`)
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	st := cell(t, res.Results, 0, 0).Ops[op.Write]
	resp, svc, wait := st.Response[op.OK], st.Service[op.OK], st.Wait[op.OK]
	if resp == nil || svc == nil || resp.TotalCount() < 4 {
		t.Fatalf("writes: %+v", st)
	}
	for _, q := range []float64{0.5, 0.99, 1} {
		r, _ := metrics.Quantile(resp, q)
		s, _ := metrics.Quantile(svc, q)
		if r != s {
			t.Errorf("q%g: response %v, service %v: closed-loop latency must be the service time", q,
				time.Duration(r), time.Duration(s))
		}
	}
	if wait == nil || wait.TotalCount() != resp.TotalCount() {
		t.Fatalf("generator wait recorded for %v of %d writes", wait, resp.TotalCount())
	}
	// Four writers on one key: they wait for each other (≈ 3 × 5 ms each
	// on an idle machine; at least one full op delay however loaded).
	if wmax, _ := metrics.Quantile(wait, 1); wmax < int64(5*time.Millisecond) {
		t.Errorf("generator wait max %v, want ≥ the 5 ms op delay with 4 writers on one key", time.Duration(wmax))
	}
	if s50, _ := metrics.Quantile(svc, 0.5); s50 < int64(5*time.Millisecond) || s50 > int64(5*time.Millisecond)+int64(time.Second) {
		t.Errorf("service p50 %v, want ≥ the 5 ms op delay", time.Duration(s50))
	}
	if len(cell(t, res.Results, 0, 0).Ops[op.Write].Wait) == 0 {
		t.Error("no wait histogram")
	}
}

// TestBusyWorkersAreNotFallingBehind (issue 18 item 3): an open loop whose
// workers cannot keep up with a slow database (2 workers, 20 ms per op,
// 200 ops/s) is behind its schedule because its workers were busy: the lag
// shows as busy-worker lag, and the generator is not blamed (kept_up).
// Bounds only what a loaded machine always delivers: the backlog grows by
// half the elapsed time, so the last ops wait hundreds of ms for their
// worker, while the generator's own lag is only what happens between one
// op's end and the next one's start.
func TestBusyWorkersAreNotFallingBehind(t *testing.T) {
	t.Parallel()
	d := fakedriver.New(fakedriver.Options{OpDelay: 20 * time.Millisecond})
	pl, reg := plan(t, d, `
system: {driver: fake, endpoints: [fake://1], op_timeout: 2s}
workload: {records: 100, value_size: 64, mix: {read: 1}, distribution: uniform}
load: {model: open, workers: 2, rate: 200}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 1s}]
`)
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	l := res.Load[0]
	if l.MaxBusyLagMs < 200 || l.BusyLagMs < l.MaxBusyLagMs || l.BusyLagMs <= l.GeneratorLagMs {
		t.Errorf("lag split %+v; want ops waiting ≥ 200 ms for their busy worker, more than for the generator", l)
	}
	if !l.KeptUp || l.BehindReason != runner.BehindWorkersBusy {
		t.Errorf("kept_up %v, behind %q; want kept up, behind because the workers were busy (%+v)", l.KeptUp, l.BehindReason, l)
	}
	if l.MaxScheduleLagMs < l.MaxBusyLagMs || l.MaxScheduleLagMs < l.MaxGeneratorLagMs {
		t.Errorf("max lag %.1f ms below a part of it (%+v)", l.MaxScheduleLagMs, l)
	}
}
