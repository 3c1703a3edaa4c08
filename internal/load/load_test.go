package load_test

import (
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/load"
)

func TestRegistry(t *testing.T) {
	t.Parallel()
	reg := load.Builtin()
	if got := reg.Names(); !slices.Equal(got, []string{"closed", "open", "ramp", "stages"}) {
		t.Errorf("Names() = %v", got)
	}
	if _, err := reg.Lookup("ramping"); !errors.Is(err, load.ErrUnknownModel) || err.Error() != `unknown load model "ramping" (want closed, open, ramp, stages)` {
		t.Errorf("Lookup(ramping) = %v", err)
	}
	for key, want := range map[string][]string{load.KeyRate: {"open", "stages"}, load.KeyThinkTime: {"closed", "ramp"}, load.KeyOptions: {"ramp", "stages"}} {
		if got := reg.Using(key); !slices.Equal(got, want) {
			t.Errorf("Using(%s) = %v, want %v", key, got, want)
		}
	}
	for _, m := range []load.Model{load.Closed{}, nil} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%v) did not panic", m)
				}
			}()
			if m == nil {
				m = emptyName{}
			}
			reg.Register(m)
		}()
	}
}

type emptyName struct{ load.Closed }

func (emptyName) Info() load.Info { return load.Info{} }

// TestClosed: the first op at once, every next one think time after the
// previous completed; no target rate.
func TestClosed(t *testing.T) {
	t.Parallel()
	s := load.Closed{}.Schedule(load.Spec{Model: "closed", Workers: 3, ThinkTime: 5 * time.Millisecond})
	if s.Workers() != 3 || s.Open() || s.Rate(time.Second) != 0 {
		t.Fatalf("schedule %d workers, open %v, rate %v", s.Workers(), s.Open(), s.Rate(time.Second))
	}
	p := s.Pacer(0, 1)
	for _, tc := range []struct {
		n         uint64
		now, want time.Duration
	}{{0, 0, 0}, {1, 7 * time.Millisecond, 12 * time.Millisecond}, {2, time.Second, time.Second + 5*time.Millisecond}} {
		if got := p.Next(tc.n, tc.now); got != tc.want {
			t.Errorf("Next(%d, %v) = %v, want %v", tc.n, tc.now, got, tc.want)
		}
	}
}

// arrivals merges the first n arrivals of every worker of s.
func arrivals(s load.Schedule, n int) []time.Duration {
	var all []time.Duration
	for w := range s.Workers() {
		p := s.Pacer(w, uint64(1000+w))
		for i := range n {
			all = append(all, p.Next(uint64(i), 0))
		}
	}
	slices.Sort(all)
	return all
}

// TestOpenUniform: the workers' schedules interleave into one evenly
// spaced schedule at the target rate.
func TestOpenUniform(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{1, 3, 8} {
		s := load.Open{}.Schedule(load.Spec{Model: "open", Workers: workers, Rate: 1000})
		if !s.Open() || s.Rate(time.Second) != 1000 {
			t.Fatalf("open %v rate %v", s.Open(), s.Rate(time.Second))
		}
		all := arrivals(s, 100)
		for i, at := range all {
			if want := time.Duration(i) * time.Millisecond; (at - want).Abs() > time.Microsecond {
				t.Fatalf("%d workers: arrival %d at %v, want %v", workers, i, at, want)
			}
		}
	}
}

// TestOpenPoisson: the union of the workers' Poisson pacers has the target
// mean rate and exponential gaps (coefficient of variation 1), and a seed
// reproduces its schedule.
func TestOpenPoisson(t *testing.T) {
	t.Parallel()
	s := load.Open{}.Schedule(load.Spec{Model: "open", Workers: 4, Rate: 2000, Arrivals: load.ArrivalsPoisson})
	all := arrivals(s, 25_000)
	horizon := all[len(all)/2] // every worker has arrivals beyond it
	n := 0
	var gaps []float64
	for i, at := range all {
		if at >= horizon {
			break
		}
		n++
		if i > 0 {
			gaps = append(gaps, float64(at-all[i-1]))
		}
	}
	rate := float64(n) / horizon.Seconds()
	if math.Abs(rate-2000)/2000 > 0.03 {
		t.Errorf("mean rate %.1f ops/s, want 2000 ± 3%%", rate)
	}
	if cv := cv(gaps); math.Abs(cv-1) > 0.05 {
		t.Errorf("gap coefficient of variation %.3f, want 1 ± 0.05 (exponential)", cv)
	}
	a, b := s.Pacer(2, 42), s.Pacer(2, 42)
	for i := range uint64(100) {
		if x, y := a.Next(i, 0), b.Next(i, time.Hour); x != y {
			t.Fatalf("same seed, arrival %d: %v vs %v", i, x, y)
		}
	}
}

// cv is the coefficient of variation of xs (1 for exponential gaps).
func cv(xs []float64) float64 {
	var mean, sq float64
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return math.Sqrt(sq/float64(len(xs))) / mean
}

func TestOpenCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec load.Spec
		want []string // fields with a problem
	}{
		{load.Spec{Rate: 10}, nil},
		{load.Spec{Rate: 10, Arrivals: load.ArrivalsPoisson}, nil},
		{load.Spec{}, []string{load.KeyRate}},
		{load.Spec{Rate: -1, Arrivals: "bursty"}, []string{load.KeyRate, load.KeyArrivals}},
		{load.Spec{Rate: math.NaN()}, []string{load.KeyRate}},
	} {
		var got []string
		for _, e := range (load.Open{}).Check(tc.spec) {
			got = append(got, e.Field)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("Check(%+v) fields %v, want %v", tc.spec, got, tc.want)
		}
	}
}

// TestSkip: the built-in pacers jump over the ops due before t: exactly
// (uniform), or with the right number in distribution (Poisson, whose
// next arrival after t is again exponential).
func TestSkip(t *testing.T) {
	t.Parallel()
	c := load.ConstantPacer{Freq: 300, Offset: 1700 * time.Microsecond}
	for _, tc := range []struct {
		n  uint64
		to time.Duration
	}{{0, 0}, {0, time.Second}, {5, time.Second}, {299, time.Second}, {400, time.Second}, {0, 1700 * time.Microsecond}, {0, 1234567 * time.Microsecond}} {
		want := tc.n
		for c.Next(want, 0) < tc.to {
			want++
		}
		if got := c.Skip(tc.n, tc.to); got != want {
			t.Errorf("ConstantPacer.Skip(%d, %v) = %d, want %d", tc.n, tc.to, got, want)
		}
	}
	const rate, gap = 5000.0, 2 * time.Second
	var skipped []float64
	for seed := range uint64(200) {
		p := load.NewPoissonPacer(rate, seed)
		n := p.Skip(3, 10*time.Millisecond)
		m := p.Skip(n, 10*time.Millisecond+gap)
		if next := p.Next(m, 0); next < 10*time.Millisecond+gap {
			t.Fatalf("after Skip, op %d is due at %v, before the skip target", m, next)
		}
		skipped = append(skipped, float64(m-n))
	}
	var mean float64
	for _, k := range skipped {
		mean += k
	}
	mean /= float64(len(skipped))
	if want := rate * gap.Seconds(); math.Abs(mean-want) > 0.01*want {
		t.Errorf("Poisson skip over %v: %.1f arrivals on average, want %.0f ± 1%%", gap, mean, want)
	}
}
