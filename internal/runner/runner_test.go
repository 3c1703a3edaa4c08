package runner_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/load"
	runplan "github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// plan parses a profile for the fake driver into the runner's typed plan.
func plan(t *testing.T, d *fakedriver.Driver, yml string) (*runplan.Plan, *drivers.Registry) {
	t.Helper()
	return planWith(t, drivers.NewRegistry(d), yml, nil)
}

// planWith parses a profile for the drivers of reg into a typed plan, with
// the load models of models (nil: the built-in ones).
func planWith(t *testing.T, reg *drivers.Registry, yml string, models *load.Registry) (*runplan.Plan, *drivers.Registry) {
	t.Helper()
	p, err := profile.Parse("test.yaml", []byte(yml), profile.Options{Registry: reg, LoadModels: models})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	pp, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	pl, err := runplan.New(pp, models)
	if err != nil {
		t.Fatalf("typed plan: %v", err)
	}
	return pl, reg
}

func cell(t *testing.T, res *metrics.Results, scenario, phase int) *metrics.Cell {
	t.Helper()
	for _, c := range res.Cells {
		if c.Scenario == scenario && c.Phase == phase {
			return c
		}
	}
	t.Fatalf("no cell for scenario %d phase %d", scenario, phase)
	return nil
}

// TestStalenessWithKnownLag: a fake replica with lag L shows stale reads
// whose time staleness is never above L and whose p50 is within 20 % below
// it, while fresh reads are never stale.
func TestStalenessWithKnownLag(t *testing.T) {
	// A read at t returns the newest version written by t−L; the next
	// version was written (and so acknowledged) after t−L, so the read's
	// time staleness (invoke − that ack) is below L, by the gap between the
	// writes around t−L. 2,000 writes/s make that gap 0.5 ms when a core is
	// free; a loaded machine bunches them (tens of ms), hence a lag long
	// against such gaps and a one-sided bound (the ±10 % around a 20 ms lag
	// this test had failed under load average 16, before and after the
	// phase gate).
	const lag = 100 * time.Millisecond
	d := fakedriver.New(fakedriver.Options{Lag: lag})
	pl, reg := plan(t, d, `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 1, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform}
load: {model: open, workers: 4, rate: 2000}
checks: {ring_size: 1024}
levels:
  - {name: stale, read: stale}
  - {name: fresh, read: fresh}
phases: [{name: baseline, duration: 1500ms}]
`)
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	stale := staleness(t, res.Results, 0, 0)
	fresh := staleness(t, res.Results, 1, 0)
	if stale.checked == 0 || stale.stale == 0 {
		t.Fatalf("lagging reads: checked %d stale %d, want stale > 0", stale.checked, stale.stale)
	}
	p50ns, _ := metrics.Quantile(stale.behind, 0.5)
	p50 := time.Duration(p50ns)
	if p50 < lag*8/10 {
		t.Errorf("time staleness p50 = %v, want ≥ %v (80 %% of the lag)", p50, lag*8/10)
	}
	// Below L exactly; HdrHistogram's 3 significant digits round up by at
	// most 0.1 %.
	if mx := time.Duration(stale.behind.Max()); mx > lag+lag/1000 {
		t.Errorf("time staleness max = %v, want ≤ the lag %v", mx, lag)
	}
	if fresh.checked == 0 || fresh.stale != 0 {
		t.Errorf("fresh reads: checked %d stale %d, want checked > 0 and stale 0", fresh.checked, fresh.stale)
	}
	v50, _ := metrics.Quantile(stale.versions, 0.5)
	t.Logf("lag %v: %d/%d stale, time-staleness p50 %v, versions p50 %d max %d, ring %d", lag, stale.stale, stale.checked, p50, v50, stale.versions.Max(), pl.Checks.RingSize)
}

// TestCoordinatedOmission: a 2 s stall at 1,000 ops/s must show in the
// response-time tail (measured from the intended start), not vanish.
func TestCoordinatedOmission(t *testing.T) {
	t.Parallel()
	d := fakedriver.New(fakedriver.Options{StallFrom: time.Second, StallFor: 2 * time.Second})
	pl, reg := plan(t, d, `
system: {driver: fake, endpoints: [fake://1], op_timeout: 5s}
workload: {records: 100, value_size: 64, mix: {read: 1}, distribution: uniform}
load: {model: open, workers: 8, rate: 1000}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 5s}]
`)
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	st := cell(t, res.Results, 0, 0).Ops[op.Read]
	resp := time.Duration(st.Response[op.OK].ValueAtQuantile(99))
	svc := time.Duration(st.Service[op.OK].ValueAtQuantile(99))
	t.Logf("ops %d, response p99 %v, service p99 %v, load %+v", st.Count, resp, svc, res.Load[0])
	if resp < 1500*time.Millisecond {
		t.Errorf("response p99 = %v, want ≥ 1.5s (the stall must show)", resp)
	}
	// Service time stays far below the stall (only the ≤ 8 ops in flight
	// when it began wait it out); 500 ms, not less, because a 2-core machine
	// at load 30 under -race deschedules a worker mid-op for 100 ms and more.
	if svc > 500*time.Millisecond {
		t.Errorf("service p99 = %v, want ≪ the 2 s stall (only ops in flight at the stall wait)", svc)
	}
	// Open loop keeps the schedule: every one of the ~5000 arrivals is
	// issued, or — when a starved machine could not issue it before the
	// phase ended — counted as skipped; none vanishes.
	if n := st.Count + res.Load[0].Skipped; n < 4500 {
		t.Errorf("ops %d + skipped %d = %d, want ≈5000 (open loop keeps the schedule)", st.Count, res.Load[0].Skipped, n)
	}
}

// fakeImpairer records Apply/Clear calls.
type fakeImpairer struct {
	mu      sync.Mutex
	applied []impair.Action
	clears  int
	fail    bool // Apply records the actions, then fails
}

func (f *fakeImpairer) Name() string { return "fake" }
func (f *fakeImpairer) Apply(_ context.Context, a []impair.Action) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, a...)
	if f.fail {
		return errors.New("injected apply failure")
	}
	return nil
}
func (f *fakeImpairer) Clear(context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clears++
	f.applied = nil
	return nil
}
func (f *fakeImpairer) Heal(ctx context.Context) (impair.HealReport, error) {
	return impair.HealReport{}, f.Clear(ctx)
}
func (f *fakeImpairer) Pending() []string { return nil }
func (f *fakeImpairer) active() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.applied)
}

const impairedProfile = `
system:
  driver: fake
  endpoints: [fake://1]
  impairer: {api: "http://127.0.0.1:1"}
  nodes: [{name: f1, endpoint: "fake://1"}, {name: f2, endpoint: "fake://2"}, {name: f3, endpoint: "fake://3"}]
workload: {records: 10, value_size: 64, mix: {read: 0.9, write: 0.1}, distribution: uniform}
load: {model: closed, workers: 2}
routes: {read: follower, write: leader}
levels: [{name: only, read: fresh}]
phases:
  - {name: baseline, duration: 300ms}
  - name: latency
    duration: 2s
    impairments: [{kind: latency, target: leader, links: peer_out, delay: 40ms}]
`

// TestHealOnEveryExit: impairments are cleared on success, on interruption
// and on a worker panic (which is re-raised after healing).
func TestHealOnEveryExit(t *testing.T) {
	t.Parallel()
	links := impair.Topology{Members: []impair.MemberLinks{
		{Name: "f1", PeerProxy: "f1-peer", ClientProxy: "f1-client"},
		{Name: "f2", PeerProxy: "f2-peer", ClientProxy: "f2-client"},
		{Name: "f3", PeerProxy: "f3-peer", ClientProxy: "f3-client"}}}
	cases := []struct {
		name    string
		opts    fakedriver.Options
		cancel  time.Duration
		wantErr error
		panics  bool
		fail    bool
	}{
		{name: "success"},
		{name: "apply error", fail: true, wantErr: runner.ErrImpairment},
		{name: "interrupt", cancel: 800 * time.Millisecond, wantErr: runner.ErrInterrupted},
		// 800 ms after the first op: inside the latency phase (from 300 ms),
		// at any speed (a count of 2000 reads was not reached in the run's
		// 2.3 s under -race at load 30).
		{name: "panic", opts: fakedriver.Options{PanicFrom: 800 * time.Millisecond}, panics: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := fakedriver.New(tc.opts)
			pl, reg := plan(t, d, impairedProfile)
			imp := &fakeImpairer{fail: tc.fail}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			var res *runner.Result
			var err error
			panicked := func() (p any) {
				defer func() { p = recover() }()
				res, err = runner.Run(ctx, runner.Config{Plan: pl, Registry: reg, Impairer: imp, Links: links})
				return nil
			}()
			if (panicked != nil) != tc.panics {
				t.Fatalf("panicked = %v, want panic %v", panicked, tc.panics)
			}
			if imp.active() != 0 || imp.clears == 0 {
				t.Fatalf("impairments not healed: active %d, clears %d", imp.active(), imp.clears)
			}
			if tc.panics {
				return
			}
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil && !res.Partial {
				t.Errorf("interrupted run not marked partial")
			}
			if res.Results == nil || len(res.Results.Cells) == 0 {
				t.Errorf("no results kept")
			}
		})
	}
}

// TestUnreachable: an unreachable database is a setup error naming it.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	d := fakedriver.New(fakedriver.Options{Unreachable: true})
	pl, reg := plan(t, d, `
system: {driver: fake, endpoints: [fake://1]}
workload: {preset: c}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 1s}]
`)
	_, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
	if !errors.Is(err, runner.ErrSetup) || !errors.Is(err, drivers.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrSetup wrapping ErrUnreachable", err)
	}
}

// stalenessOf is a cell's staleness-check measurements.
type stalenessOf struct {
	checked, stale   int64
	behind, versions *hdrhistogram.Histogram
}

func staleness(t *testing.T, res *metrics.Results, scenario, phase int) stalenessOf {
	t.Helper()
	c := cell(t, res, scenario, phase)
	get := func(name string) metrics.Value {
		v, ok := res.Value(c, name)
		if !ok {
			t.Fatalf("no measure %s", name)
		}
		return v
	}
	return stalenessOf{checked: get(checkers.StalenessChecked).Count, stale: get(checkers.StalenessStale).Count,
		behind: get(checkers.StalenessBehind).Hist, versions: get(checkers.StalenessVersions).Hist}
}
