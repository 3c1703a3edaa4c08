package profile_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/profile"
)

// localHead is a local 3-member etcd profile's head; the phases follow.
const localHead = `system: {driver: etcd, cluster: local, members: 3}
workload: {preset: b}
routes: {write: leader}
levels: [{read: linearizable}]
phases:
`

// nemesisPhase is a valid phase with a fault schedule (lines 6–13).
const nemesisPhase = `  - name: nemesis
    duration: 20s
    faults:
      draw: 4
      every: 5s
      from:
        - {kind: pause, targets: [m1, m2, m3], durations: [1s, 2s]}
        - {kind: partition, targets: [leader, m2], durations: [3s]}
`

// TestBadInput: the bad inputs of issue 14 — a skew on a driver that
// cannot take client timestamps, a kill aimed at every member, a schedule
// with no faults — and the schedule's own, each a problem at file:line.
func TestBadInput(t *testing.T) {
	t.Parallel()
	const sched = "  - name: n\n    duration: 10s\n    faults:\n"
	tests := []struct {
		name, phases string
		want         []string // "line:col: message", one per problem
	}{
		{"skew on etcd", "  - name: s\n    duration: 1s\n    impairments:\n      - {kind: client_clock_skew, target: leader, offset: -500ms}\n",
			[]string{"9:10: phases[0].impairments[0].kind: client_clock_skew needs client-side write timestamps: driver etcd cannot"}},
		{"drawn skew on etcd", sched + "      draw: 1\n      from: [{kind: client_clock_skew, target: leader, offset: 1s, durations: [1s]}]\n",
			[]string{"10:15: phases[0].faults.from[0].kind: client_clock_skew needs client-side write timestamps: driver etcd cannot"}},
		{"kill every member", "  - name: k\n    duration: 1s\n    impairments:\n      - {kind: kill, members: [m1, m2, m3]}\n",
			[]string{"9:9: phases[0].impairments[0]: kill would stop or isolate every member of the 3-member cluster"}},
		{"drawn kill of every member", sched + "      draw: 1\n      from: [{kind: kill, members: [m1, m2, m3], durations: [1s]}]\n",
			[]string{"10:14: phases[0].faults.from[0]: kill would stop or isolate every member of the 3-member cluster"}},
		{"no faults in the set", sched + "      draw: 2\n      from: []\n",
			[]string{"10:7: phases[0].faults.from: a schedule with no faults"}},
		{"schedule left empty", sched,
			[]string{"8:5: phases[0].faults: a schedule with no faults"}},
		{"draw 0", sched + "      draw: 0\n      from: [{kind: pause, target: m1, durations: [1s]}]\n",
			[]string{"9:7: phases[0].faults.draw: must be ≥ 1, got 0"}},
		{"longer than the phase", sched + "      draw: 1\n      from: [{kind: pause, target: m1, durations: [11s]}]\n",
			[]string{"10:52: phases[0].faults.from[0].durations[0]: 11s is longer than the phase (10s)"}},
		{"unknown kind", sched + "      draw: 1\n      from: [{kind: melt, target: m1, durations: [1s]}]\n",
			[]string{"10:15: phases[0].faults.from[0].kind: unknown value \"melt\""}},
		{"unknown target", sched + "      draw: 1\n      from: [{kind: pause, targets: [m1, m7], durations: [1s]}]\n",
			[]string{"10:42: phases[0].faults.from[0].targets[1]: unknown member \"m7\""}},
		{"unknown key", sched + "      draw: 1\n      from: [{kind: pause, target: m1, duration: 1s}]\n",
			[]string{"10:40: phases[0].faults.from[0].duration: unknown key \"duration\" (did you mean \"durations\"?)"}},
		{"with impairments", "  - name: both\n    duration: 10s\n    impairments: [{kind: pause, target: m1}]\n    faults: {draw: 1, from: [{kind: pause, target: m2, durations: [1s]}]}\n",
			[]string{"9:5: phases[0].faults: give either impairments or faults in one phase, not both"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := profile.Parse("bad.yaml", []byte(localHead+tt.phases), profile.Options{Registry: fakeRegistry()})
			var probs profile.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("Parse: %v, want Problems", err)
			}
			if len(probs) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(probs), len(tt.want), err)
			}
			for i, pr := range probs {
				if got := pr.String(); !strings.Contains(got, "bad.yaml:"+tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, got, "bad.yaml:"+tt.want[i])
				}
			}
		})
	}
}

// TestFaultsPlan: Plan draws a phase's faults with the run's seed, the
// same for the same seed and not for another, each inside the phase.
func TestFaultsPlan(t *testing.T) {
	t.Parallel()
	p, err := profile.Parse("n.yaml", []byte(localHead+nemesisPhase), profile.Options{Registry: fakeRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	draws := func(seed int64) []string {
		pl, err := p.Plan(profile.Overrides{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range pl.Phases[0].Drawn {
			if d.End() > 20*time.Second || d.Fault.Target == "" {
				t.Errorf("seed %d: drawn fault outside the phase or without a target: %+v", seed, d)
			}
			out = append(out, d.Fault.Kind+" "+d.Fault.Target+" @"+d.Start.String()+" for "+d.Duration.String())
		}
		if len(out) != 4 {
			t.Fatalf("seed %d: drew %d faults, want 4: %v", seed, len(out), out)
		}
		return out
	}
	a, b, c := draws(3), draws(3), draws(4)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("seed 3 drew differently:\n%v\n%v", a, b)
	}
	if reflect.DeepEqual(a, c) {
		t.Errorf("seeds 3 and 4 drew the same: %v", a)
	}
	if p.Phases[0].Drawn != nil {
		t.Errorf("Plan changed the parsed profile: %v", p.Phases[0].Drawn)
	}
}
