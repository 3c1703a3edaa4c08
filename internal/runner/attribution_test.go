package runner_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// link is a fake network link that the fake impairer takes down: while it
// is down every op blocks, and clearing the impairment releases the ops
// held with success, as Toxiproxy flushes the data a removed toxic held.
// An op held until its deadline times out. Safe for concurrent use.
type link struct {
	mu   sync.Mutex
	down bool
	up   chan struct{} // closed when the link comes back
}

func (l *link) pass(ctx context.Context) error {
	l.mu.Lock()
	if !l.down {
		l.mu.Unlock()
		return nil
	}
	up := l.up
	l.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return op.Errorf(op.Timeout, "link down: %w", ctx.Err())
	}
}

func (l *link) set(down bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if down && !l.down {
		l.up = make(chan struct{})
	}
	if !down && l.down {
		close(l.up)
	}
	l.down = down
}

// linkDriver is a database behind one link: it answers at once when the
// link is up.
type linkDriver struct{ l *link }

func (linkDriver) Name() string { return "link" }
func (linkDriver) Info() drivers.Info {
	return drivers.Info{Name: "link", Levels: []drivers.LevelDim{{Key: "read", Values: []string{"any"}, Default: "any"}}, Ops: []string{"read", "write"}}
}
func (linkDriver) ValidateLevels(drivers.Levels) error                            { return nil }
func (d linkDriver) Open(context.Context, drivers.Config) (drivers.Client, error) { return d, nil }
func (d linkDriver) Session(context.Context, drivers.SessionConfig) (drivers.Session, error) {
	return d, nil
}
func (d linkDriver) Read(ctx context.Context, _ string) (drivers.Value, error) {
	return drivers.Value{}, d.l.pass(ctx)
}
func (d linkDriver) Write(ctx context.Context, _ string, _ []byte) error { return d.l.pass(ctx) }
func (linkDriver) Close() error                                          { return nil }

// linkImpairer takes the link down on Apply (after a delay, as a real
// backend's API calls take time) and up on Clear.
type linkImpairer struct {
	l     *link
	delay time.Duration
}

func (i linkImpairer) Name() string { return "link" }
func (i linkImpairer) Apply(context.Context, []impair.Action) error {
	time.Sleep(i.delay)
	i.l.set(true)
	return nil
}
func (i linkImpairer) Clear(context.Context) error { i.l.set(false); return nil }
func (i linkImpairer) Heal(ctx context.Context) (impair.HealReport, error) {
	return impair.HealReport{}, i.Clear(ctx)
}
func (i linkImpairer) Pending() []string { return nil }

// TestPhaseAttribution (issue 11, "ops counted ok where none can be"): no
// op runs across a phase boundary. With the link down for the whole
// impaired phase, none of its ops succeeds, not even those still in flight
// when the phase ends (they would succeed if the heal came first); the
// ops issued while the impairment is being applied are not the impaired
// phase's, and the baseline's ops in flight when it ends do not meet the
// impairment. The windows say when the impairment took effect.
func TestPhaseAttribution(t *testing.T) {
	t.Parallel()
	for _, model := range []string{"load: {model: closed, workers: 4}", "load: {model: open, rate: 400, workers: 4}"} {
		t.Run(model, func(t *testing.T) {
			t.Parallel()
			l := &link{}
			reg := drivers.NewRegistry(linkDriver{l})
			pl, _ := planWith(t, reg, `
system:
  driver: link
  endpoints: [link://1]
  impairer: {api: "http://127.0.0.1:1"}
  nodes: [{name: n1, endpoint: "link://1"}, {name: n2, endpoint: "link://2"}]
  op_timeout: 300ms
workload: {records: 10, value_size: 64, mix: {read: 0.9, write: 0.1}, distribution: uniform}
`+model+`
levels: [{name: only, read: any}]
phases:
  - {name: baseline, duration: 500ms}
  - name: down
    duration: 1s
    impairments: [{kind: down, target: n2}]
  - {name: healed, duration: 500ms}
`, nil)
			links := impair.Topology{Members: []impair.MemberLinks{{Name: "n1", ClientProxy: "n1c"}, {Name: "n2", ClientProxy: "n2c"}}}
			res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Links: links,
				Impairer: linkImpairer{l: l, delay: 100 * time.Millisecond}})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			ok := func(pi int) (okOps, failed int64) {
				c := cellOrNil(res.Results, 0, pi)
				if c == nil {
					return 0, 0
				}
				for _, st := range c.Ops {
					if st != nil {
						okOps += st.OK
						failed += st.Count - st.OK
					}
				}
				return okOps, failed
			}
			for pi, name := range []string{"baseline", "down", "healed"} {
				okOps, failed := ok(pi)
				t.Logf("%s: %d ok, %d failed; window %+v", name, okOps, failed, res.Phases[pi])
				switch {
				case name == "down" && (okOps != 0 || failed == 0):
					t.Errorf("down phase: %d ops ok, %d failed; want none ok (the link is down from its first op to its last)", okOps, failed)
				case name != "down" && (failed != 0 || okOps == 0):
					t.Errorf("%s phase: %d ok, %d failed; want every op ok (the link is up)", name, okOps, failed)
				}
			}
			down := res.Phases[1]
			base := res.Phases[0]
			ev := down.Impairments[0]
			switch {
			case base.DrainedNs < base.EndNs:
				t.Errorf("baseline drained at %d before its end %d", base.DrainedNs, base.EndNs)
			case ev.AppliedNs < base.DrainedNs || down.StartNs < ev.AppliedNs:
				t.Errorf("impairment applied at %d: want after the baseline drained (%d) and before the phase started (%d)", ev.AppliedNs, base.DrainedNs, down.StartNs)
			case down.DrainedNs < down.EndNs || ev.ClearedNs < down.DrainedNs:
				t.Errorf("down phase ended %d, drained %d, impairment cleared %d: want end ≤ drained ≤ cleared", down.EndNs, down.DrainedNs, ev.ClearedNs)
			}
		})
	}
}

func cellOrNil(res *metrics.Results, scenario, phase int) *metrics.Cell {
	for _, c := range res.Cells {
		if c.Scenario == scenario && c.Phase == phase {
			return c
		}
	}
	return nil
}
