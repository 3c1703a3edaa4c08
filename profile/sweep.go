package profile

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sweep is a profile's sweep section: run the profile once per value of
// one field (a latency–throughput curve per level and its knee). The
// command line's --sweep, --knee-p99 and --sweep-warmup override it.
type Sweep struct {
	// Param is the swept field's path, as for -p ("load.rate").
	Param string `yaml:"param" json:"param"`
	// Values is the value list in the syntax of ParseSweepValues
	// ("250..4000x5", "500..2000+500", "100,200,400").
	Values string `yaml:"values" json:"values"`
	// KneeP99 is the bound on p99 response time that defines the knee
	// (default DefaultKneeP99).
	KneeP99 Duration `yaml:"knee_p99" json:"knee_p99,omitempty"`
	// KneeOp restricts the bound to one op kind ("read"); empty: every
	// op kind of the phase.
	KneeOp string `yaml:"knee_op" json:"knee_op,omitempty"`
	// Warmup runs before each value's phases as a phase of its own
	// (named WarmupPhase, Phase.Warmup): recorded, but left out of the
	// curve, the knee and the verdict. Zero: no warm-up.
	Warmup Duration `yaml:"warmup" json:"warmup,omitempty"`
}

// Sweep defaults and bounds.
const (
	// DefaultKneeP99 is the knee's p99 bound when none is given.
	DefaultKneeP99 = 20 * time.Millisecond
	// MaxSweepValues bounds a sweep's values (each is a whole run).
	MaxSweepValues = 100
	// WarmupPhase names the warm-up phase a sweep inserts.
	WarmupPhase = "warmup"
)

// ErrBadSweep: a sweep's values are not in the syntax of ParseSweepValues.
var ErrBadSweep = errors.New("bad sweep")

// ParseSweepValues expands a sweep's value list:
//
//   - "A..BxN": N values (2 ≤ N), geometric from A to B (0 < A < B): each
//     the previous times (B/A)^(1/(N-1)); "250..4000x5" is 250, 500,
//     1000, 2000, 4000.
//   - "A..B+S": linear from A by steps of S > 0 up to B included (A < B);
//     "500..2000+500" is 500, 1000, 1500, 2000.
//   - "V1,V2,…": the values as written (any scalars, e.g. levels).
//
// A and B integers make every generated value an integer (rounded;
// repeats dropped). Errors wrap ErrBadSweep and say what is wrong.
func ParseSweepValues(s string) ([]string, error) {
	lo, rest, isRange := strings.Cut(s, "..")
	if !isRange {
		return listValues(s)
	}
	var hi, step string
	var geometric bool
	if i := strings.LastIndexAny(rest, "x+"); i > 0 {
		hi, step, geometric = rest[:i], rest[i+1:], rest[i] == 'x'
	} else {
		return nil, fmt.Errorf("%w: %q: want A..BxN (geometric, N values) or A..B+S (linear, step S)", ErrBadSweep, s)
	}
	a, errA := strconv.ParseFloat(lo, 64)
	b, errB := strconv.ParseFloat(hi, 64)
	if errA != nil || errB != nil || !(a < b) || math.IsInf(b, 0) || (geometric && !(a > 0)) {
		return nil, fmt.Errorf("%w: %q: want numbers A < B (A > 0 for x)", ErrBadSweep, s)
	}
	ints := isInt(lo) && isInt(hi)
	var xs []float64
	if geometric {
		n, err := strconv.Atoi(step)
		if err != nil || n < 2 || n > MaxSweepValues {
			return nil, fmt.Errorf("%w: %q: the count after x must be an integer in [2, %d]", ErrBadSweep, s, MaxSweepValues)
		}
		for i := range n {
			xs = append(xs, a*math.Pow(b/a, float64(i)/float64(n-1)))
		}
		xs[n-1] = b
	} else {
		d, err := strconv.ParseFloat(step, 64)
		if err != nil || !(d > 0) || (b-a)/d >= MaxSweepValues {
			return nil, fmt.Errorf("%w: %q: the step after + must be > 0 and give at most %d values", ErrBadSweep, s, MaxSweepValues)
		}
		for i := 0; a+float64(i)*d <= b*(1+1e-12); i++ {
			xs = append(xs, a+float64(i)*d)
		}
	}
	return formatValues(xs, ints), nil
}

func listValues(s string) ([]string, error) {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v == "" {
			return nil, fmt.Errorf("%w: %q: empty value in the list", ErrBadSweep, s)
		}
		out = append(out, v)
	}
	if len(out) > MaxSweepValues {
		return nil, fmt.Errorf("%w: %d values, at most %d", ErrBadSweep, len(out), MaxSweepValues)
	}
	return out, nil
}

func isInt(s string) bool {
	_, err := strconv.ParseInt(s, 10, 64)
	return err == nil
}

// formatValues writes xs as integers (repeats dropped) or shortest floats.
func formatValues(xs []float64, ints bool) []string {
	var out []string
	for _, x := range xs {
		v := strconv.FormatFloat(x, 'g', 12, 64)
		if ints {
			v = strconv.FormatFloat(math.Round(x), 'f', 0, 64)
		}
		if len(out) == 0 || out[len(out)-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// ParseSweepFlag parses --sweep PATH=VALUES into the path and its values.
func ParseSweepFlag(s string) (string, []string, error) {
	path, spec, ok := strings.Cut(s, "=")
	if !ok || path == "" {
		return "", nil, fmt.Errorf("%w: %q: want PATH=VALUES (e.g. load.rate=250..4000x5)", ErrBadSweep, s)
	}
	if _, err := parsePath(path); err != nil {
		return "", nil, fmt.Errorf("%w: %q: %v", ErrBadSweep, s, err)
	}
	vs, err := ParseSweepValues(spec)
	return path, vs, err
}

// sweep checks the sweep section: a param path, values that parse, a
// positive bound and warm-up, and no phase already named WarmupPhase when
// it inserts one. Whether each value suits the field is checked when the
// value's profile is parsed (the -p path).
func (c *checker) sweep(p *Profile) {
	sw := p.Sweep
	if sw == nil {
		return
	}
	if _, err := parsePath(sw.Param); err != nil || sw.Param == "" {
		c.add("sweep.param", "want the path of a profile field, e.g. load.rate (%v)", err)
	}
	if _, err := ParseSweepValues(sw.Values); err != nil {
		c.add("sweep.values", "%v", err)
	}
	if sw.KneeP99 < 0 {
		c.add("sweep.knee_p99", "must be positive, got %s", sw.KneeP99)
	}
	c.durationIn("sweep.warmup", sw.Warmup, true, MaxPhaseDuration)
	if sw.Warmup > 0 {
		for i, ph := range p.Phases {
			if ph.Name == WarmupPhase && !ph.Warmup {
				c.add(fmt.Sprintf("phases[%d].name", i), "%q is the phase sweep.warmup inserts: rename this phase or drop sweep.warmup", WarmupPhase)
			}
		}
	}
}

// WithWarmup returns a copy of p with a warm-up phase of d (Phase.Warmup,
// named WarmupPhase, no impairments) before its phases; p itself if d is
// zero. The copy shares nothing mutable with p.
func (p *Profile) WithWarmup(d time.Duration) (*Profile, error) {
	if d <= 0 {
		return p, nil
	}
	for _, ph := range p.Phases {
		if ph.Name == WarmupPhase {
			return nil, fmt.Errorf("profile %s: phase %q exists: a sweep warm-up cannot be inserted", p.Name, WarmupPhase)
		}
	}
	cp := p.clone()
	cp.Phases = append([]Phase{{Name: WarmupPhase, Duration: Duration(d), Warmup: true}}, cp.Phases...)
	return cp, nil
}

// WarmupPhases names p's warm-up phases (Phase.Warmup).
func (p *Profile) WarmupPhases() []string {
	var out []string
	for _, ph := range p.Phases {
		if ph.Warmup {
			out = append(out, ph.Name)
		}
	}
	return out
}
