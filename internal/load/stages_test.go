package load_test

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/load"
)

func stagesSpec(workers int, start float64, stages, arrivals string) load.Spec {
	return load.Spec{Model: "stages", Workers: workers, Rate: start, Arrivals: arrivals, Options: map[string]string{load.KeyStages: stages}}
}

// countBefore counts the arrivals before t.
func countBefore(all []time.Duration, t time.Duration) int {
	n, _ := slices.BinarySearch(all, t)
	return n
}

// TestStagesUniform: the workers' arrivals interleave into the schedule
// the stages describe: a linear ramp has the ramp's integral of arrivals
// at every point, a step jumps, the last rate holds, a final 0 stops.
func TestStagesUniform(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 3, 16} {
		// 0 → 1000 ops/s over 2 s (1000 arrivals), 1000 held for 1 s, a
		// step to 200 for 1 s, then 200 held.
		s := load.Stages{}.Schedule(stagesSpec(workers, 0, "2s:1000, 1s:1000, 0s:200, 1s:200", ""))
		if !s.Open() || s.Workers() != workers {
			t.Fatalf("open %v workers %d", s.Open(), s.Workers())
		}
		all := arrivals(s, 3000/workers+2)
		for _, tc := range []struct {
			at   time.Duration
			want float64
		}{
			{500 * time.Millisecond, 62.5}, // ∫ 500t dt = 250 t² → 62.5 at 0.5 s
			{time.Second, 250}, {2 * time.Second, 1000}, {2500 * time.Millisecond, 1500},
			{3 * time.Second, 2000}, {3500 * time.Millisecond, 2100}, {4 * time.Second, 2200}, {4500 * time.Millisecond, 2300},
		} {
			if got := countBefore(all, tc.at); math.Abs(float64(got)-tc.want) > 1 {
				t.Errorf("%d workers: %d arrivals before %v, want %.1f", workers, got, tc.at, tc.want)
			}
			if got := s.Rate(tc.at) * tc.at.Seconds(); math.Abs(got-tc.want) > 1e-6 {
				t.Errorf("Rate(%v)·%v = %v, want %v", tc.at, tc.at, got, tc.want)
			}
		}
		// evenly spaced where the rate is constant: 1 ms apart in [2s, 3s)
		for i := 1; i < len(all); i++ {
			if all[i] > 2*time.Second+time.Millisecond && all[i] < 3*time.Second {
				if gap := all[i] - all[i-1]; (gap - time.Millisecond).Abs() > 2*time.Microsecond {
					t.Fatalf("%d workers: gap %v at %v, want 1ms", workers, gap, all[i])
				}
			}
		}
	}
	stop := load.Stages{}.Schedule(stagesSpec(2, 100, "1s:100, 0s:0", ""))
	p := stop.Pacer(1, 1)
	if got := p.Next(49, 0); got >= time.Second {
		t.Errorf("op 49 of worker 1 (arrival 99) due at %v, want before 1s", got)
	}
	if got := p.Next(50, 0); got != load.Never {
		t.Errorf("after a final 0 stage: due %v, want Never", got)
	}
}

// TestStagesPoisson: a non-homogeneous Poisson process: the union of the
// workers' arrivals follows the ramp's integral, with exponential gaps
// where the rate is constant; a seed reproduces it.
func TestStagesPoisson(t *testing.T) {
	t.Parallel()
	s := load.Stages{}.Schedule(stagesSpec(4, 500, "4s:4500, 4s:4500", load.ArrivalsPoisson))
	all := arrivals(s, 12_000)
	// ∫ over [0, 4s] of 500 + 1000t = 2000 + 8000 = 10000; [4s, 8s]: 18000
	for _, tc := range []struct {
		at   time.Duration
		want float64
	}{{2 * time.Second, 3000}, {4 * time.Second, 10000}, {6 * time.Second, 19000}} {
		got := float64(countBefore(all, tc.at))
		if math.Abs(got-tc.want) > 4*math.Sqrt(tc.want) { // 4 σ of a Poisson count, seeded: deterministic
			t.Errorf("%v arrivals before %v, want %v ± 4σ", got, tc.at, tc.want)
		}
	}
	var gaps []float64
	for i := 1; i < len(all); i++ {
		if all[i-1] > 4*time.Second && all[i] < 7*time.Second {
			gaps = append(gaps, float64(all[i]-all[i-1]))
		}
	}
	if cv := cv(gaps); math.Abs(cv-1) > 0.05 {
		t.Errorf("gap coefficient of variation %.3f at a constant rate, want 1 ± 0.05", cv)
	}
	a, b := s.Pacer(1, 9), s.Pacer(1, 9)
	for i := range uint64(200) {
		if x, y := a.Next(i, 0), b.Next(i, time.Hour); x != y {
			t.Fatalf("same seed, arrival %d: %v vs %v", i, x, y)
		}
	}
}

// TestStagesSkip: the stages pacers jump over the ops due before t:
// exactly (uniform), and never landing before t (Poisson).
func TestStagesSkip(t *testing.T) {
	t.Parallel()
	s := load.Stages{}.Schedule(stagesSpec(3, 10, "1s:3000, 0s:50, 2s:50", ""))
	for w := range 3 {
		p := s.Pacer(w, 1).(load.Skipper)
		pn := s.Pacer(w, 1)
		for _, tc := range []struct {
			n  uint64
			to time.Duration
		}{{0, 0}, {0, 500 * time.Millisecond}, {10, time.Second}, {400, time.Second}, {0, 2 * time.Second}, {0, time.Hour}} {
			want := tc.n
			for pn.Next(want, 0) < tc.to {
				want++
			}
			if got := p.Skip(tc.n, tc.to); got != want {
				t.Errorf("worker %d Skip(%d, %v) = %d, want %d", w, tc.n, tc.to, got, want)
			}
		}
	}
	ps := load.Stages{}.Schedule(stagesSpec(2, 0, "1s:2000", load.ArrivalsPoisson)).Pacer(0, 3)
	n := ps.(load.Skipper).Skip(0, 1500*time.Millisecond)
	if next := ps.Next(n, 0); next < 1500*time.Millisecond {
		t.Errorf("Poisson after Skip: op %d due %v, before the target", n, next)
	}
	// ∫ over [0, 1.5s] = 1000 + 1000 = 2000 arrivals, 1000 per worker
	if n < 900 || n > 1100 {
		t.Errorf("Poisson skip counted %d ops of worker 0, want about 1000", n)
	}
}

// TestRamp: worker i is active while the target is above i; each active
// worker's ops follow each other after think time; inactive ones wait for
// the target to rise again, or for ever.
func TestRamp(t *testing.T) {
	t.Parallel()
	s := load.Ramp{}.Schedule(load.Spec{Model: "ramp", Workers: 4, ThinkTime: 10 * time.Millisecond,
		Options: map[string]string{load.KeyStages: "4s:4, 2s:4, 0s:1, 1s:1, 2s:3"}})
	if s.Open() || s.Workers() != 4 || s.Rate(time.Second) != 0 {
		t.Fatalf("open %v workers %d rate %v", s.Open(), s.Workers(), s.Rate(time.Second))
	}
	near := func(got, want time.Duration) bool { return (got - want).Abs() <= time.Microsecond }
	// target: 0 → 4 over [0, 4s], 4 until 6 s, a step down to 1 until 7 s,
	// 1 → 3 over [7s, 9s], then 3.
	for _, tc := range []struct {
		worker    int
		n         uint64
		now, want time.Duration
	}{
		{0, 0, 0, 0},               // the target is above 0 from the first instant
		{2, 0, 0, 2 * time.Second}, // it passes 2 at 2 s
		{3, 0, 0, 3 * time.Second}, // and 3 at 3 s
		{3, 1, 4 * time.Second, 4*time.Second + 10*time.Millisecond}, // active: think time
		{3, 1, 6 * time.Second, load.Never},                          // stepped down; never above 3 again
		{1, 1, 6 * time.Second, 7 * time.Second},                     // above 1 again right after 7 s
		{2, 1, 6 * time.Second, 8 * time.Second},                     // above 2 again after 8 s
		{0, 5, 6*time.Second + time.Millisecond, 6*time.Second + 11*time.Millisecond},
	} {
		if got := s.Pacer(tc.worker, 1).Next(tc.n, tc.now); !near(got, tc.want) {
			t.Errorf("worker %d Next(%d, %v) = %v, want %v", tc.worker, tc.n, tc.now, got, tc.want)
		}
	}
}

// TestStagesAndRampCheck: every problem of a stage list is found, at its
// options key.
func TestStagesAndRampCheck(t *testing.T) {
	t.Parallel()
	long := strings.TrimSuffix(strings.Repeat("1s:1,", load.MaxStages+1), ",")
	for _, tc := range []struct {
		m    load.Model
		spec load.Spec
		want string // "" = valid
	}{
		{load.Stages{}, stagesSpec(1, 0, "10s:100", ""), ""},
		{load.Stages{}, stagesSpec(1, 5, "0s:0", ""), ""},
		{load.Stages{}, stagesSpec(1, 0, "", ""), "options.stages: required"},
		{load.Stages{}, stagesSpec(1, 0, "10s", ""), `options.stages: stage 1 "10s": want DURATION:OPS/S`},
		{load.Stages{}, stagesSpec(1, 0, "10s:5, soon:5", ""), `stage 2 "soon:5": duration "soon" is not a Go duration ≥ 0`},
		{load.Stages{}, stagesSpec(1, 0, "-1s:5", ""), `duration "-1s"`},
		{load.Stages{}, stagesSpec(1, 0, "1s:lots", ""), `stage 1 "1s:lots": ops/s "lots" is not a number in [0, 1e+08]`},
		{load.Stages{}, stagesSpec(1, 0, "1s:-5", ""), `ops/s "-5"`},
		{load.Stages{}, stagesSpec(1, 0, "1s:NaN", ""), `ops/s "NaN"`},
		{load.Stages{}, stagesSpec(1, 0, "1s:1e9", ""), `ops/s "1e9"`},
		{load.Stages{}, stagesSpec(1, 0, long, ""), "1001 stages, at most 1000"},
		{load.Stages{}, stagesSpec(1, 0, "100h:1, 100h:1", ""), "the stages last more than 168h0m0s"},
		{load.Stages{}, stagesSpec(1, 0, "1s:0, 2s:0", ""), "every rate is 0"},
		{load.Stages{}, stagesSpec(1, -1, "1s:1", ""), "rate: the start rate must not be negative"},
		{load.Stages{}, stagesSpec(1, 0, "1s:1", "bursty"), `arrivals: unknown value "bursty"`},
		{load.Ramp{}, load.Spec{Workers: 4, Options: map[string]string{"stages": "1s:4", "start": "2"}}, ""},
		{load.Ramp{}, load.Spec{Workers: 4, Options: map[string]string{"stages": "1s:5"}}, `stage 1 "1s:5": workers "5" is not a number in [0, 4] (load.workers = 4 sessions are opened)`},
		{load.Ramp{}, load.Spec{Workers: 4, Options: map[string]string{"stages": "1s:1", "start": "9"}}, `options.start: want a number of workers in [0, 4] (load.workers), got "9"`},
		{load.Ramp{}, load.Spec{Workers: 4, Options: map[string]string{"stages": "1s:0"}}, "every target is 0 workers"},
		{load.Ramp{}, load.Spec{Workers: 4, Options: map[string]string{}}, "options.stages: required"},
	} {
		var msgs []string
		for _, e := range tc.m.Check(tc.spec) {
			msgs = append(msgs, e.Field+": "+e.Msg)
		}
		got := strings.Join(msgs, "\n")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s Check(%v) = %q, want %q", tc.m.Info().Name, tc.spec.Options, got, tc.want)
		}
	}
}
