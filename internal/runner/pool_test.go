package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// stallAll returns the names of the first n keys: reads of them stall
// until their op timeout (a slow op type that holds its worker).
func stallAll(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%0*d", workloads.KeyPrefix, workloads.KeyDigits, i)
	}
	return out
}

// poolRun runs an open-loop profile against a fake database whose reads
// all stall for the 1 s op timeout, with the given load section.
func poolRun(t *testing.T, mix, loadYAML string, d time.Duration) *runner.Result {
	t.Helper()
	f := fakedriver.New(fakedriver.Options{StallKeys: stallAll(20)})
	pl, reg := plan(t, f, fmt.Sprintf(`
system: {driver: fake, endpoints: [fake://1], op_timeout: 1s}
workload: {records: 20, value_size: 64, mix: {%s}, distribution: uniform}
load: {%s}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: %s}]
`, mix, loadYAML, d))
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return res
}

// noWorker returns the no_worker count and wait histogram of kind k.
func noWorker(t *testing.T, res *runner.Result, k op.Kind) metrics.Value {
	t.Helper()
	c := cell(t, res.Results, 0, 0)
	n, ok := res.Results.Value(c, checkers.PoolNoWorker+"."+k.String())
	w, ok2 := res.Results.Value(c, checkers.PoolWait+"."+k.String())
	if !ok || !ok2 {
		t.Fatalf("no pool measures for %s", k)
	}
	n.Hist = w.Hist
	return n
}

// TestPoolNotSmeared (issue 18 item 3): reads that hold their worker for
// the whole op timeout do not delay the writes when the pool may grow to
// what the rate needs (Little's law: 50 reads/s × 1 s = 50 workers); with
// the default pool (max_workers = workers) the writes wait for the reads'
// workers, and those waits are counted as no_worker.
func TestPoolNotSmeared(t *testing.T) {
	t.Parallel()
	const mix = "read: 1, write: 1"
	cases := []struct {
		name, load string
		grows      bool
	}{
		{"max_workers suffices", "model: open, workers: 2, max_workers: 256, rate: 100", true},
		{"default pool", "model: open, workers: 2, rate: 100", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := poolRun(t, mix, tc.load, 3*time.Second)
			ld := res.Load[0]
			w := cell(t, res.Results, 0, 0).Ops[op.Write]
			p99 := time.Duration(w.Response[op.OK].ValueAtQuantile(99))
			nw := noWorker(t, res, op.Write)
			t.Logf("writes %d, response p99 %v, no_worker %d; load %+v", w.Count, p99, nw.Count, ld)
			if !tc.grows {
				if p99 < 500*time.Millisecond || nw.Count == 0 {
					t.Errorf("default pool: write p99 %v, no_worker %d; want the reads' 1 s timeout smeared onto the writes (≥ 500 ms) and counted", p99, nw.Count)
				}
				if ld.PeakWorkers != 0 || ld.MaxWorkers != 0 {
					t.Errorf("default pool reports peak %d / max %d workers, want none (unchanged output)", ld.PeakWorkers, ld.MaxWorkers)
				}
				return
			}
			// 250 ms, not less: a 2-core machine under -race deschedules;
			// the smeared p99 is ≈ 1 s.
			if p99 > 250*time.Millisecond {
				t.Errorf("write response p99 %v, want ≪ the reads' 1 s timeout", p99)
			}
			if ld.PeakWorkers <= 2 || ld.PeakWorkers > 256 || ld.MaxWorkers != 256 {
				t.Errorf("peak workers %d (max %d), want > 2 and ≤ 256", ld.PeakWorkers, ld.MaxWorkers)
			}
			// Below its maximum the pool always has a worker: nothing waits.
			if ld.PeakWorkers < ld.MaxWorkers && ld.NoWorkerOps != 0 {
				t.Errorf("%d ops counted as no_worker with the pool at %d of %d workers, want 0", ld.NoWorkerOps, ld.PeakWorkers, ld.MaxWorkers)
			}
			if w.Count < 100 {
				t.Errorf("only %d writes, want ≈ 150", w.Count)
			}
		})
	}
}

// TestPoolAtMax: with one pre-allocated worker, a maximum of two and reads
// that each hold a worker for the 1 s timeout, the first two arrivals find
// a worker (the second grows the pool) and every later one waits: the
// no_worker count is exactly the reads issued minus two, equal to the
// scenario's total, and the pool never exceeds its maximum.
func TestPoolAtMax(t *testing.T) {
	t.Parallel()
	res := poolRun(t, "read: 1", "model: open, workers: 1, max_workers: 2, rate: 5", 3*time.Second)
	ld := res.Load[0]
	r := cell(t, res.Results, 0, 0).Ops[op.Read]
	nw := noWorker(t, res, op.Read)
	t.Logf("reads %d, no_worker %d (wait max %v); load %+v", r.Count, nw.Count, time.Duration(nw.Hist.Max()), ld)
	if r.Count < 4 {
		t.Fatalf("only %d reads, want ≥ 4 (2 workers × 3 s / 1 s)", r.Count)
	}
	if nw.Count != r.Count-2 || ld.NoWorkerOps != nw.Count {
		t.Errorf("no_worker %d (scenario total %d), want reads − 2 = %d", nw.Count, ld.NoWorkerOps, r.Count-2)
	}
	if ld.PeakWorkers != 2 || ld.MaxWorkers != 2 || ld.Workers != 1 {
		t.Errorf("workers %d, peak %d, max %d; want 1, 2, 2", ld.Workers, ld.PeakWorkers, ld.MaxWorkers)
	}
	// A wait is part of the response time, bounded by the op timeout it
	// waited out, and none of the service time.
	if mx := time.Duration(nw.Hist.Max()); mx <= 0 || mx > 3*time.Second {
		t.Errorf("wait max %v, want in (0, 3 s]", mx)
	}
	svc := time.Duration(r.Service[op.Timeout].Max())
	if resp := time.Duration(r.Response[op.Timeout].Max()); resp < svc+500*time.Millisecond {
		t.Errorf("response max %v, service max %v: the wait must be in the response time only", resp, svc)
	}
	if strings.Contains(fmt.Sprint(res.Errors), "in flight") {
		t.Errorf("phase drained with ops in flight: %v", res.Errors)
	}
}
