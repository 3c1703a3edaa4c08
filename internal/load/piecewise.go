package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bounds of a stage list (options.stages of the stages and ramp models).
const (
	// MaxStages bounds the stages of one list.
	MaxStages = 1000
	// MaxStagesDuration bounds the stages' total duration (a week, like a
	// run's planned time).
	MaxStagesDuration = 7 * 24 * time.Hour
	// MaxRate bounds an arrival rate in ops/s per scenario: 100× the
	// engine's measured capacity on two cores (docs/performance.md).
	MaxRate = 1e8
)

// KeyStages is the load.options key of a stage list.
const KeyStages = "stages"

// stage is one step of a piecewise-linear target: from the previous
// stage's target (or the start value) to to over d. d = 0 is a jump.
type stage struct {
	d  time.Duration
	to float64
}

// parseStages parses "DUR:VALUE, DUR:VALUE, …" (Go durations ≥ 0, values
// in [0, limit]); what names the values in messages ("ops/s", "workers").
func parseStages(s string, limit float64, what string) ([]stage, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("required: stages as DURATION:%s, … (e.g. \"10s:1000, 20s:1000\")", strings.ToUpper(what))
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxStages {
		return nil, fmt.Errorf("%d stages, at most %d", len(parts), MaxStages)
	}
	out := make([]stage, 0, len(parts))
	var total time.Duration
	for i, part := range parts {
		ds, vs, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, fmt.Errorf("stage %d %q: want DURATION:%s (e.g. 10s:500)", i+1, strings.TrimSpace(part), strings.ToUpper(what))
		}
		d, err := time.ParseDuration(strings.TrimSpace(ds))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("stage %d %q: duration %q is not a Go duration ≥ 0 (e.g. 10s, 0s for a step)", i+1, strings.TrimSpace(part), ds)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(vs), 64)
		if err != nil || math.IsNaN(v) || v < 0 || v > limit {
			return nil, fmt.Errorf("stage %d %q: %s %q is not a number in [0, %g]", i+1, strings.TrimSpace(part), what, vs, limit)
		}
		if total += d; total > MaxStagesDuration {
			return nil, fmt.Errorf("the stages last more than %s", MaxStagesDuration)
		}
		out = append(out, stage{d: d, to: v})
	}
	return out, nil
}

// ramp is a piecewise-linear function of time: start at 0, each stage
// moving linearly to its target, the last target held for ever after.
// Read-only after newRamp: safe for concurrent use.
type ramp struct {
	at   []float64 // stage i runs from at[i] to at[i+1] seconds
	from []float64 // value at at[i]
	area []float64 // integral of the value over [0, at[i]]
}

func newRamp(start float64, stages []stage) *ramp {
	r := &ramp{at: []float64{0}, from: []float64{start}, area: []float64{0}}
	t, v, a := 0.0, start, 0.0
	for _, st := range stages {
		d := st.d.Seconds()
		a += (v + st.to) / 2 * d
		t += d
		v = st.to
		r.at, r.from, r.area = append(r.at, t), append(r.from, v), append(r.area, a)
	}
	return r
}

// last is the index of the final breakpoint (the held value).
func (r *ramp) last() int { return len(r.at) - 1 }

// seg returns the index i of the stage holding t (at[i] ≤ t < at[i+1]),
// last() after the end.
func (r *ramp) seg(t float64) int {
	lo, hi := 0, r.last()
	for lo < hi { // the last i with at[i] ≤ t
		mid := (lo + hi + 1) / 2
		if r.at[mid] <= t {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// slope of stage i (0 for the held value and for steps).
func (r *ramp) slope(i int) float64 {
	if i >= r.last() || r.at[i+1] == r.at[i] {
		return 0
	}
	return (r.from[i+1] - r.from[i]) / (r.at[i+1] - r.at[i])
}

// value at t seconds.
func (r *ramp) value(t float64) float64 {
	i := r.seg(t)
	return r.from[i] + r.slope(i)*(t-r.at[i])
}

// integral of the value over [0, t].
func (r *ramp) integral(t float64) float64 {
	if t <= 0 {
		return 0
	}
	i := r.seg(t)
	x := t - r.at[i]
	return r.area[i] + r.from[i]*x + r.slope(i)*x*x/2
}

// inverse returns the first t with integral(t) = c (c ≥ 0), or +Inf when
// the integral never reaches c (the value is 0 from some point on).
func (r *ramp) inverse(c float64) float64 {
	if c <= 0 {
		return 0
	}
	lo, hi := 0, r.last()
	for lo < hi { // the last i with area[i] < c
		mid := (lo + hi + 1) / 2
		if r.area[mid] < c {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	i := lo
	b, a, rest := r.from[i], r.slope(i)/2, c-r.area[i]
	// a·x² + b·x = rest; the stable root 2·rest / (b + √(b² + 4a·rest)).
	disc := b*b + 4*a*rest
	if disc < 0 {
		disc = 0
	}
	den := b + math.Sqrt(disc)
	if den <= 0 {
		return math.Inf(1)
	}
	x := 2 * rest / den
	if i < r.last() {
		x = min(x, r.at[i+1]-r.at[i])
	}
	return r.at[i] + x
}

// firstAbove returns the first time t ≥ from (seconds) with value(t) > k,
// or +Inf if there is none.
func (r *ramp) firstAbove(k, from float64) float64 {
	for i := r.seg(max(from, 0)); i <= r.last(); i++ {
		lo := max(from, r.at[i])
		hi := math.Inf(1)
		if i < r.last() {
			hi = r.at[i+1]
		}
		if lo >= hi && i < r.last() {
			continue
		}
		v0, s := r.from[i]+r.slope(i)*(lo-r.at[i]), r.slope(i)
		switch {
		case v0 > k:
			return lo
		case s > 0 && r.from[i+1] > k: // it crosses k inside this stage
			return math.Nextafter(min(lo+(k-v0)/s, hi), math.Inf(1))
		}
	}
	return math.Inf(1)
}

// seconds converts schedule seconds to a Duration (Never for +Inf or
// beyond what a Duration holds).
func seconds(t float64) time.Duration {
	if math.IsInf(t, 1) || t*1e9 >= float64(Never) {
		return Never
	}
	return time.Duration(math.Ceil(t * 1e9))
}
