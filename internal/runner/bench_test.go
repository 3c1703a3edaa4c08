package runner_test

// Hot-path benchmarks of the engine (issue 8): the open-loop scheduler and
// recorder driven against a driver that does nothing, so what is measured
// is pacbench's own cost per op. Figures and how to reproduce them are in
// docs/performance.md. Nothing here asserts a wall-clock time.

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	runplan "github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// noopDriver is a database that answers every op at once: reads find
// nothing (the oracle still checks them, as seq 0), writes are dropped.
// Stateless, safe for concurrent use.
type noopDriver struct{}

var (
	_ drivers.Driver  = noopDriver{}
	_ drivers.Client  = noopDriver{}
	_ drivers.Session = noopDriver{}
)

func (noopDriver) Name() string { return "noop" }
func (noopDriver) Info() drivers.Info {
	return drivers.Info{Name: "noop", Description: "answers at once (benchmarks only)",
		Levels: []drivers.LevelDim{{Key: "read", Values: []string{"any"}, Default: "any"}}, Ops: []string{"read", "write"}}
}
func (noopDriver) ValidateLevels(drivers.Levels) error { return nil }
func (d noopDriver) Open(context.Context, drivers.Config) (drivers.Client, error) {
	return d, nil
}
func (d noopDriver) Session(context.Context, drivers.SessionConfig) (drivers.Session, error) {
	return d, nil
}
func (noopDriver) Read(context.Context, string) (drivers.Value, error) { return drivers.Value{}, nil }
func (noopDriver) Write(context.Context, string, []byte) error         { return nil }
func (noopDriver) Close() error                                        { return nil }

// noopPlan is an open-loop plan for the no-op driver: 1,000 records, 90 %
// reads, uniform keys, one level, one phase of length d.
func noopPlan(b *testing.B, workers int, rate float64, d time.Duration) (*runplan.Plan, *drivers.Registry) {
	b.Helper()
	reg := drivers.NewRegistry(noopDriver{})
	p := &profile.Profile{
		Name:     "bench-noop",
		Seed:     1,
		System:   profile.System{Driver: "noop", Endpoints: []string{"noop://1"}},
		Workload: profile.Workload{Records: 1000, ValueSize: 128, Mix: map[string]float64{"read": 0.9, "write": 0.1}, Distribution: "uniform"},
		Load:     profile.LoadModel{Model: "open", Workers: workers, Rate: rate},
		Levels:   []profile.LevelSet{{Name: "only", Levels: map[string]string{"read": "any"}}},
		Phases:   []profile.Phase{{Name: "baseline", Duration: profile.Duration(d)}},
	}
	pp, err := p.Plan(profile.Overrides{})
	if err != nil {
		b.Fatalf("plan: %v", err)
	}
	pl, err := runplan.New(pp, nil)
	if err != nil {
		b.Fatalf("typed plan: %v", err)
	}
	return pl, reg
}

// cpuTime returns the process's user+system CPU time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// openLoopTotals sums the runs of one benchmark: ops started, measured
// (phase) seconds, CPU seconds and heap allocations (setup included), and
// the last run's result.
type openLoopTotals struct {
	ops             int64
	secs, cpuSecs   float64
	mallocs, allocB uint64
	last            *runner.Result
}

// openLoopRun runs pl once per benchmark iteration and reports, per engine
// op: allocs/op and B/op (the run's setup amortized over its ops, which
// overrides the per-iteration figures of -benchmem), cpu-ns/op (process
// CPU time, the figure least disturbed by other load on the machine), and
// ops/s and cpu-cores over the measured phases.
func openLoopRun(b *testing.B, pl *runplan.Plan, reg *drivers.Registry) openLoopTotals {
	b.Helper()
	var t openLoopTotals
	var ms runtime.MemStats
	b.ReportAllocs()
	for b.Loop() {
		runtime.ReadMemStats(&ms)
		m0, a0, c0 := ms.Mallocs, ms.TotalAlloc, cpuTime(b)
		res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
		if err != nil {
			b.Fatalf("run: %v", err)
		}
		c1 := cpuTime(b)
		runtime.ReadMemStats(&ms)
		t.mallocs += ms.Mallocs - m0
		t.allocB += ms.TotalAlloc - a0
		t.cpuSecs += (c1 - c0).Seconds()
		ld := res.Load[0]
		t.ops += ld.Ops
		t.secs += float64(ld.Ops) / ld.AchievedRate
		t.last = res
	}
	if t.ops == 0 {
		b.Fatal("no ops ran")
	}
	ops := float64(t.ops)
	b.ReportMetric(ops/t.secs, "ops/s")
	b.ReportMetric(float64(t.mallocs)/ops, "allocs/op")
	b.ReportMetric(float64(t.allocB)/ops, "B/op")
	b.ReportMetric(t.cpuSecs*1e9/ops, "cpu-ns/op")
	b.ReportMetric(t.cpuSecs/t.secs, "cpu-cores")
	return t
}

// BenchmarkOpenLoopNoop measures the open-loop scheduler, the workload
// generator and the recorder against a no-op driver: a target rate far
// above what two cores can start, so the achieved rate is the engine's
// capacity (target ≥ 500k ops/s on 2 cores). ns/op is wall time per
// engine op (1/ops/s); see openLoopRun for the other figures.
func BenchmarkOpenLoopNoop(b *testing.B) {
	for _, workers := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			pl, reg := noopPlan(b, workers, 50e6, time.Second)
			t := openLoopRun(b, pl, reg)
			b.ReportMetric(t.secs*1e9/float64(t.ops), "ns/op")
		})
	}
}

// BenchmarkScheduleLag runs the open loop at 20,000 ops/s (uniform
// arrivals) against the no-op driver and reports how late ops start
// against their intended start (target p99 < 200 µs). The per-op lag is
// not kept, so lag-p99-µs is the response-time p99 (intended start →
// completion), an upper bound of the lag p99 that exceeds it by at most the
// no-op service time (svc-p99-µs); max-lag-µs is the runner's exact
// maximum. cpu-cores and cpu-ns/op show what the pacing costs.
func BenchmarkScheduleLag(b *testing.B) {
	for _, workers := range []int{1, 8} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			pl, reg := noopPlan(b, workers, 20_000, 2*time.Second)
			t := openLoopRun(b, pl, reg)
			res := t.last
			st := res.Results.Cells[0].Ops[op.Read]
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(st.Response[op.OK].ValueAtQuantile(99))/1e3, "lag-p99-µs")
			b.ReportMetric(float64(st.Service[op.OK].ValueAtQuantile(99))/1e3, "svc-p99-µs")
			b.ReportMetric(res.Load[0].MaxScheduleLagMs*1e3, "max-lag-µs")
		})
	}
}

// BenchmarkOpenLoopPaced runs b.N ops through the real engine in one run
// (one phase of b.N/rate seconds, uniform arrivals) against the no-op
// driver at a rate the engine keeps easily: what it measures is the cost
// of pacing — waiting for each op's intended start, waking up, the per-op
// context — plus the recorder, per op. cpu-ns/op is process CPU time per
// op (setup included; use large b.N); max-lag-µs the runner's largest
// schedule lag. scripts/callgrind.sh runs the rate=100 case under
// valgrind for instruction counts per op.
func BenchmarkOpenLoopPaced(b *testing.B) {
	for _, c := range []struct {
		rate    float64
		workers int
	}{{2000, 32}, {100, 32}} {
		b.Run(fmt.Sprintf("rate=%.0f", c.rate), func(b *testing.B) {
			d := time.Duration(float64(b.N) / c.rate * 1e9)
			pl, reg := noopPlan(b, c.workers, c.rate, max(d, time.Millisecond))
			c0 := cpuTime(b)
			res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
			if err != nil {
				b.Fatalf("run: %v", err)
			}
			cpu := cpuTime(b) - c0
			ld := res.Load[0]
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(cpu)/float64(max(ld.Ops, 1)), "cpu-ns/op")
			b.ReportMetric(ld.MaxScheduleLagMs*1e3, "max-lag-µs")
			b.ReportMetric(float64(ld.Ops), "ops")
		})
	}
}
