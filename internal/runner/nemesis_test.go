package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
)

const nemesisProfile = `
system:
  driver: fake
  endpoints: [fake://1]
  impairer: {api: "http://127.0.0.1:1"}
  nodes: [{name: f1, endpoint: "fake://1"}, {name: f2, endpoint: "fake://2"}, {name: f3, endpoint: "fake://3"}]
workload: {records: 10, value_size: 64, mix: {read: 0.9, write: 0.1}, distribution: uniform}
load: {model: closed, workers: 2}
levels: [{name: only, read: fresh}]
seed: 5
phases:
  - {name: baseline, duration: 100ms}
  - name: nemesis
    duration: 1200ms
    faults:
      draw: 3
      every: 400ms
      from:
        - {kind: partition, targets: [f1, f2], durations: [100ms, 200ms]}
        - {kind: latency, targets: [f3], delay: 5ms, durations: [150ms]}
`

// TestNemesisSchedule: the runner applies each drawn fault at its drawn
// offset and heals it at its drawn end (both from the phase's start), inside the phase, records every action
// with its fault's number, and leaves nothing applied on any exit path.
func TestNemesisSchedule(t *testing.T) {
	t.Parallel()
	links := impair.Topology{Members: []impair.MemberLinks{
		{Name: "f1", PeerProxy: "f1-peer", ClientProxy: "f1-client"},
		{Name: "f2", PeerProxy: "f2-peer", ClientProxy: "f2-client"},
		{Name: "f3", PeerProxy: "f3-peer", ClientProxy: "f3-client"}}}
	for _, tc := range []struct {
		name   string
		cancel time.Duration
		fail   bool
		want   error
	}{
		{name: "success"},
		{name: "apply error", fail: true, want: runner.ErrImpairment},
		{name: "interrupt", cancel: 600 * time.Millisecond, want: runner.ErrInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pl, reg := plan(t, fakedriver.New(fakedriver.Options{}), nemesisProfile)
			drawn := pl.Phases[1].Faults
			if len(drawn) != 3 {
				t.Fatalf("plan drew %d faults, want 3", len(drawn))
			}
			imp := &fakeImpairer{fail: tc.fail}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, cancel)
			}
			res, err := runner.Run(ctx, runner.Config{Plan: pl, Registry: reg, Impairer: imp, Links: links})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if imp.active() != 0 || imp.clears == 0 {
				t.Fatalf("faults not healed: active %d, clears %d", imp.active(), imp.clears)
			}
			if tc.want != nil {
				return
			}
			win := res.Phases[1]
			seen := map[int]bool{}
			for _, ev := range win.Impairments {
				d := drawn[ev.Fault-1]
				seen[ev.Fault] = true
				if ev.Action.Member != d.Fault.Target || ev.Action.Kind != d.Fault.Kind {
					t.Errorf("fault %d: action %+v, drawn %+v", ev.Fault, ev.Action, d.Fault)
				}
				if ev.AppliedNs < win.StartNs+int64(d.Start) || ev.ClearedNs < win.StartNs+int64(d.End()) || ev.ClearedNs > win.EndNs {
					t.Errorf("fault %d (+%s for %s): applied at +%s, healed at +%s, phase ended at +%s", ev.Fault, d.Start, d.Duration,
						time.Duration(ev.AppliedNs-win.StartNs), time.Duration(ev.ClearedNs-win.StartNs), time.Duration(win.EndNs-win.StartNs))
				}
			}
			if len(seen) != 3 || imp.clears < 3 {
				t.Errorf("faults carried out %v, clears %d; want 3 faults, each healed", seen, imp.clears)
			}
		})
	}
}
