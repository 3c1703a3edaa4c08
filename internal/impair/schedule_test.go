package impair

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func testSchedule() Schedule {
	return Schedule{Draw: 4, Every: Duration(5 * time.Second), From: []Choice{
		{Spec: Spec{Kind: KindPause}, Targets: []string{"m1", "m2", "m3"}, Durations: []Duration{Duration(time.Second), Duration(2 * time.Second)}},
		{Spec: Spec{Kind: KindPartition}, Targets: []string{"m1", "leader"}, Durations: []Duration{Duration(3 * time.Second)}},
	}}
}

func TestScheduleDrawsReproducible(t *testing.T) {
	s := testSchedule()
	a := s.Draws(7, "nemesis", 20*time.Second)
	b := s.Draws(7, "nemesis", 20*time.Second)
	if len(a) != 4 || !reflect.DeepEqual(a, b) {
		t.Fatalf("same seed drew differently or not 4 faults:\n%v\n%v", a, b)
	}
	differ := 0
	for seed := int64(8); seed < 18; seed++ {
		if !reflect.DeepEqual(a, s.Draws(seed, "nemesis", 20*time.Second)) {
			differ++
		}
	}
	if differ < 9 {
		t.Errorf("only %d of 10 other seeds drew a different schedule", differ)
	}
	if reflect.DeepEqual(a, s.Draws(7, "other", 20*time.Second)) {
		t.Errorf("another phase drew the same schedule: %v", a)
	}
}

func TestScheduleDrawsFitSlots(t *testing.T) {
	s := testSchedule()
	for seed := int64(1); seed <= 200; seed++ {
		for i, d := range s.Draws(seed, "p", 20*time.Second) {
			lo, hi := time.Duration(i)*5*time.Second, time.Duration(i+1)*5*time.Second
			if d.Start.D() < lo || d.End() > hi {
				t.Fatalf("seed %d: fault %d [%s, %s) outside its slot [%s, %s)", seed, i, d.Start, d.End(), lo, hi)
			}
			if d.Fault.Target == "" || len(d.Fault.Members) > 0 {
				t.Fatalf("seed %d: fault %d has no single target: %+v", seed, i, d.Fault)
			}
		}
	}
	if got := (Schedule{Draw: 4, From: s.From}).Slot(20 * time.Second); got != 5*time.Second {
		t.Errorf("default slot = %s, want 5s", got)
	}
}

func TestValidateSchedule(t *testing.T) {
	members := []string{"m1", "m2", "m3"}
	sec := func(n int) Duration { return Duration(time.Duration(n) * time.Second) }
	tests := []struct {
		name string
		s    Schedule
		env  CheckEnv
		want []string // field: substring, one per problem
	}{
		{"ok", testSchedule(), CheckEnv{Members: members}, nil},
		{"no faults", Schedule{Draw: 2}, CheckEnv{}, []string{"from: a schedule with no faults"}},
		{"draw 0", Schedule{Draw: 0, From: testSchedule().From}, CheckEnv{}, []string{"draw: must be ≥ 1"}},
		{"longer than the phase", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: KindPause, Target: "m1"}, Durations: []Duration{sec(30)}}}},
			CheckEnv{}, []string{"from[0].durations[0]: 30s is longer than the phase"}},
		{"longer than a slot", Schedule{Draw: 4, From: []Choice{{Spec: Spec{Kind: KindPause, Target: "m1"}, Durations: []Duration{sec(6)}}}},
			CheckEnv{}, []string{"from[0].durations[0]: 6s is longer than a slot (5s)"}},
		{"slots beyond the phase", Schedule{Draw: 5, Every: sec(5), From: []Choice{{Spec: Spec{Kind: KindPause, Target: "m1"}, Durations: []Duration{sec(1)}}}},
			CheckEnv{}, []string{"every: 5 draws × every 5s = 25s, longer than the phase"}},
		{"unknown kind", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: "melt"}, Targets: []string{"m1"}, Durations: []Duration{sec(1)}}}},
			CheckEnv{}, []string{"from[0].kind: unknown value \"melt\""}},
		{"unknown target", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: KindPause}, Targets: []string{"m1", "m9"}, Durations: []Duration{sec(1)}}}},
			CheckEnv{Members: members}, []string{"from[0].targets[1]: unknown member \"m9\""}},
		{"kill every member", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: KindKill, Members: members}, Durations: []Duration{sec(1)}}}},
			CheckEnv{Members: members}, []string{"from[0]: kill would stop or isolate every member"}},
		{"targets and target", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: KindPause, Target: "m1"}, Targets: []string{"m2"}, Durations: []Duration{sec(1)}}}},
			CheckEnv{}, []string{"from[0].targets: give targets"}},
		{"no durations, twice listed", Schedule{Draw: 1, From: []Choice{{Spec: Spec{Kind: KindPause}, Targets: []string{"m2", "m2"}}}},
			CheckEnv{}, []string{"from[0].durations: required", "from[0].targets[1]: member \"m2\" listed twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ValidateSchedule(tt.s, 20*time.Second, tt.env)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i, fe := range got {
				if s := fe.Field + ": " + fe.Err.Error(); !strings.Contains(strings.TrimPrefix(s, ": "), tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, s, tt.want[i])
				}
			}
		})
	}
}
