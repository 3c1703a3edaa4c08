package impair

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Schedule keys: the YAML keys of a Schedule and of its choices, used in
// FieldError.Field.
const (
	KeyDraw      = "draw"
	KeyEvery     = "every"
	KeyFrom      = "from"
	KeyTargets   = "targets"
	KeyDurations = "durations"
)

// MaxDraws bounds a schedule's draw count (each drawn fault is an apply
// and a heal, a killed member's restart among them).
const MaxDraws = 1000

// Schedule is a phase's randomised faults (phases[].faults, Jepsen's
// nemesis): Draw faults drawn from the set From (kind × target × duration)
// with the run's seed, one per slot of length Every from the phase's
// start, so drawn faults never overlap and each is healed before the next
// is applied. Plain data: safe to share read-only.
type Schedule struct {
	// Draw is how many faults are drawn (≥ 1).
	Draw int `yaml:"draw" json:"draw"`
	// Every is the slot length: fault i starts at a drawn offset within
	// [i×Every, (i+1)×Every) and ends inside the same slot. 0: the phase's
	// duration divided by Draw.
	Every Duration `yaml:"every" json:"every,omitempty"`
	// From is the set faults are drawn from.
	From []Choice `yaml:"from" json:"from"`
}

// Choice is one entry of a schedule's set: a fault (its kind and
// parameters, as an impairment writes them) with the targets and the
// durations it may be drawn with; the set holds their product.
type Choice struct {
	// Spec is the fault; its Target (or Members) is the one target when
	// Targets is empty.
	Spec `yaml:",inline"`
	// Targets are the members (names or role words) one of which is drawn
	// as the fault's target; empty: the Spec's own target.
	Targets []string `yaml:"targets" json:"targets,omitempty"`
	// Durations are how long the fault may last (one is drawn), each > 0
	// and at most the slot length.
	Durations []Duration `yaml:"durations" json:"durations"`
}

// Drawn is one fault a schedule drew: what, when (from the phase's start)
// and for how long.
type Drawn struct {
	// Fault is the impairment applied (one target).
	Fault Spec `json:"fault"`
	// Start is the offset from the phase's start at which it is applied.
	Start Duration `json:"start"`
	// Duration is how long it stays before it is healed.
	Duration Duration `json:"duration"`
}

// String renders the fault as validate and the logs show it: "pause m1
// at +415ms for 2s" (several members joined with "+").
func (d Drawn) String() string {
	return fmt.Sprintf("%s %s at +%s for %s", d.Fault.Kind, strings.Join(d.Fault.targets(), "+"), d.Start, d.Duration)
}

// End is the offset from the phase's start at which the fault is healed.
func (d Drawn) End() time.Duration { return d.Start.D() + d.Duration.D() }

// Slot returns the slot length of a schedule in a phase of duration
// phase: Every, or phase / Draw when Every is 0 (0 when Draw < 1).
func (s Schedule) Slot(phase time.Duration) time.Duration {
	if s.Every > 0 {
		return s.Every.D()
	}
	if s.Draw < 1 {
		return 0
	}
	return phase / time.Duration(s.Draw)
}

// candidate is one element of the set: a fault with one target and one
// duration.
type candidate struct {
	spec Spec
	dur  Duration
}

// candidates expands the set into its elements, in order.
func (s Schedule) candidates() []candidate {
	var out []candidate
	for _, c := range s.From {
		for _, sp := range c.specs() {
			for _, d := range c.Durations {
				out = append(out, candidate{spec: sp, dur: d})
			}
		}
	}
	return out
}

// specs returns the choice's fault once per target.
func (c Choice) specs() []Spec {
	if len(c.Targets) == 0 {
		return []Spec{c.cloneSpec()}
	}
	out := make([]Spec, 0, len(c.Targets))
	for _, t := range c.Targets {
		sp := c.cloneSpec()
		sp.Target = t
		out = append(out, sp)
	}
	return out
}

func (c Choice) cloneSpec() Spec {
	sp := c.Spec
	sp.Members = slices.Clone(c.Members)
	return sp
}

// Draws draws the schedule's faults for the phase named phase, lasting
// duration, with seed: the same (seed, phase, schedule, duration) always
// give the same draws; each fault lies inside its slot (millisecond
// offsets). A schedule Validate rejects may draw nothing.
func (s Schedule) Draws(seed int64, phase string, duration time.Duration) []Drawn {
	cands := s.candidates()
	slot := s.Slot(duration)
	if len(cands) == 0 || s.Draw < 1 || slot <= 0 {
		return nil
	}
	h := fnv.New64a()
	h.Write([]byte(phase))
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	out := make([]Drawn, 0, s.Draw)
	for i := range s.Draw {
		c := cands[rng.IntN(len(cands))]
		spare := (slot - c.dur.D()) / time.Millisecond
		off := time.Duration(0)
		if spare > 0 {
			off = time.Duration(rng.Int64N(int64(spare)+1)) * time.Millisecond
		}
		out = append(out, Drawn{Fault: c.spec, Start: Duration(time.Duration(i)*slot + off), Duration: c.dur})
	}
	return out
}

// ValidateSchedule reports every problem with a phase's schedule, the
// phase lasting phase: a draw count ≥ 1, a set with faults, durations > 0
// that fit a slot, slots that fit the phase, and every fault of the set —
// each target alone, as it is applied — by Validate with env (a fault that
// would stop or isolate every member, a skew the driver cannot take, …).
// Field paths are relative to the schedule ("from[1].targets[0]"); Index
// is 0. Pure: safe for concurrent use.
func ValidateSchedule(s Schedule, phase time.Duration, env CheckEnv) []FieldError {
	var out []FieldError
	add := func(key, format string, args ...any) {
		out = append(out, FieldError{Field: key, Err: Invalidf(format, args...)})
	}
	switch {
	case s.Draw < 1:
		add(KeyDraw, "must be ≥ 1, got %d (a schedule with no faults: leave faults out)", s.Draw)
	case s.Draw > MaxDraws:
		add(KeyDraw, "at most %d, got %d", MaxDraws, s.Draw)
	}
	slot := s.Slot(phase)
	switch {
	case s.Every < 0:
		add(KeyEvery, "must not be negative, got %s", s.Every)
	case s.Every > 0 && s.Draw >= 1 && s.Draw <= MaxDraws && time.Duration(s.Draw)*s.Every.D() > phase:
		add(KeyEvery, "%d draws × every %s = %s, longer than the phase (%s)", s.Draw, s.Every, time.Duration(s.Draw)*s.Every.D(), phase)
	}
	if len(s.From) == 0 {
		add(KeyFrom, "a schedule with no faults: list at least one (e.g. from: [{kind: pause, targets: [m1, m2], durations: [2s]}])")
	}
	for i, c := range s.From {
		path := fmt.Sprintf("%s[%d]", KeyFrom, i)
		out = append(out, validateChoice(c, path, phase, slot, env)...)
	}
	return out
}

// validateChoice checks one entry of a schedule's set, its fields at path.
func validateChoice(c Choice, path string, phase, slot time.Duration, env CheckEnv) []FieldError {
	var out []FieldError
	add := func(key, format string, args ...any) {
		out = append(out, FieldError{Field: path + "." + key, Err: Invalidf(format, args...)})
	}
	if len(c.Targets) > 0 && (c.Target != "" || len(c.Members) > 0) {
		add(KeyTargets, "give targets (one is drawn) or target/members (the one target), not both")
	}
	if len(c.Durations) == 0 {
		add(KeyDurations, "required: how long the fault lasts (e.g. durations: [1s, 2s])")
	}
	for j, d := range c.Durations {
		key := fmt.Sprintf("%s[%d]", KeyDurations, j)
		switch {
		case d <= 0:
			add(key, "must be > 0, got %s", d)
		case d.D() > phase:
			add(key, "%s is longer than the phase (%s)", d, phase)
		case slot > 0 && d.D() > slot:
			add(key, "%s is longer than a slot (%s): drawn faults must not overlap (raise every, or draw fewer)", d, slot)
		}
	}
	for j, t := range c.Targets {
		if slices.Index(c.Targets, t) < j {
			add(fmt.Sprintf("%s[%d]", KeyTargets, j), "member %q listed twice", t)
		}
	}
	seen := map[string]bool{}
	for j, sp := range c.specs() {
		inner := env
		if env.Written != nil {
			inner.Written = func(_ int, key string) bool {
				return env.Written(0, path+"."+key) || (key == KeyTarget && len(c.Targets) > 0)
			}
		}
		for _, fe := range Validate([]Spec{sp}, inner) {
			field := fe.Field
			if len(c.Targets) > 0 && field == KeyTarget {
				field = fmt.Sprintf("%s[%d]", KeyTargets, j)
			}
			if field != "" {
				field = "." + field
			}
			fe.Field, fe.Index = path+field, 0
			if k := fe.Field + "\x00" + fe.Err.Error(); !seen[k] {
				seen[k] = true
				out = append(out, fe)
			}
		}
	}
	return out
}

// Kinds returns the fault kinds the schedule may draw, in set order.
func (s Schedule) Kinds() []string {
	var out []string
	for _, c := range s.From {
		if !slices.Contains(out, c.Kind) {
			out = append(out, c.Kind)
		}
	}
	return out
}
