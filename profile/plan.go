package profile

import (
	"fmt"
	"maps"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/workloads"
)

// Overrides are command-line overrides applied when planning a run.
type Overrides struct {
	// Duration replaces every phase's duration (--duration) but a warm-up's
	// and a fault schedule's phase; 0 keeps them.
	Duration time.Duration
	// Seed replaces the profile's seed (--seed); 0 keeps it.
	Seed int64
	// Shard replaces the profile's shard ("I/N", --shard); "" keeps it.
	Shard string
}

// Plan is a profile expanded into what the runner executes. Plain data:
// safe to share read-only between goroutines.
type Plan struct {
	// Profile is the profile as run: a copy with defaults and overrides
	// (seed, phase durations) applied, for the manifest.
	Profile *Profile
	// Workload is the validated workload (preset, explicit fields, defaults).
	Workload workloads.Spec
	// Scenarios has one entry per level set, in profile order.
	Scenarios []Scenario
	// Phases are the profile's phases with durations overridden.
	Phases []Phase
	// Mode is ModeSideBySide or ModeSequential.
	Mode string
	// Seed for key choice, op mix and arrivals.
	Seed int64
	// Shard is the part of a sharded run to plan (zero: the whole run).
	// Workload and Scenarios stay the whole run's: internal/plan applies
	// the shard (key slice, workers and rate).
	Shard workloads.Shard
}

// Scenario is one entry of the level matrix.
type Scenario struct {
	// Name is the level set's explicit name or its values joined with "/".
	Name string `json:"name"`
	// Levels always holds the "read" and "write" keys (possibly empty).
	Levels drivers.Levels `json:"levels"`
}

// Duration returns the total planned time of the phases (sequential mode
// runs them once per scenario).
func (pl *Plan) Duration() time.Duration {
	var d time.Duration
	for _, ph := range pl.Phases {
		d += ph.Duration.D()
	}
	if pl.Mode == ModeSequential {
		d *= time.Duration(len(pl.Scenarios))
	}
	return d
}

// Plan expands the profile into a Plan, applying o. It applies defaults to
// a copy (so profiles built in code plan like parsed ones) and re-checks
// everything it can without the driver, impairment and load-model
// registries; failures are Problems
// (without lines for profiles not read from a file), unwrapping to
// ErrInvalid. p is not modified. Safe for concurrent use on a shared p.
func (p *Profile) Plan(o Overrides) (*Plan, error) {
	if o.Duration < 0 {
		return nil, fmt.Errorf("profile: plan: negative duration override %s", o.Duration)
	}
	cp := p.clone()
	cp.applyDefaults("", func(string) bool { return false })
	if o.Seed != 0 {
		cp.Seed = o.Seed
	}
	if o.Shard != "" {
		cp.Shard = o.Shard
	}
	if o.Duration > 0 {
		for i := range cp.Phases {
			// A warm-up keeps its duration, and so does a fault schedule's
			// phase: its slots and fault durations are written for it.
			if !cp.Phases[i].Warmup && cp.Phases[i].Faults == nil {
				cp.Phases[i].Duration = Duration(o.Duration)
			}
		}
	}
	c := newChecker("")
	c.validate(cp, p.checkedWith)
	if err := c.result(); err != nil {
		return nil, err
	}
	for i := range cp.Phases {
		if f := cp.Phases[i].Faults; f != nil {
			cp.Phases[i].Drawn = f.Draws(cp.Seed, cp.Phases[i].Name, cp.Phases[i].Duration.D())
		}
	}
	spec, errs := workloads.FromProfile(cp.Workload)
	if len(errs) > 0 { // unreachable after validate; kept for safety
		return nil, fmt.Errorf("profile: plan: %w", errs[0])
	}
	pl := &Plan{
		Profile:   cp,
		Workload:  spec,
		Scenarios: make([]Scenario, len(cp.Levels)),
		Phases:    cp.Phases,
		Mode:      cp.Mode,
		Seed:      cp.Seed,
	}
	if cp.Shard != "" {
		pl.Shard, _ = workloads.ParseShard(cp.Shard) // validated above
	}
	for i, ls := range cp.Levels {
		pl.Scenarios[i] = Scenario{Name: ls.Name, Levels: scenarioLevels(ls.Levels)}
	}
	return pl, nil
}

// LoadSpec returns the load section as the load models read it.
func (pl *Plan) LoadSpec() load.Spec { return loadSpec(pl.Profile.Load) }

func loadSpec(l LoadModel) load.Spec {
	return load.Spec{Model: l.Model, Workers: l.Workers, ThinkTime: l.ThinkTime.D(), Rate: l.Rate,
		Arrivals: l.Arrivals, Options: maps.Clone(l.Options)}
}

// clone deep-copies the parts of p that planning or the runner might
// change or that alias user data (slices and maps).
func (p *Profile) clone() *Profile {
	cp := *p
	cp.System.Endpoints = append([]string(nil), p.System.Endpoints...)
	cp.System.Nodes = append([]Node(nil), p.System.Nodes...)
	cp.Routes.Writers = append([]string(nil), p.Routes.Writers...)
	cp.System.Options = maps.Clone(p.System.Options)
	cp.Workload.Mix = maps.Clone(p.Workload.Mix)
	cp.Load.Options = maps.Clone(p.Load.Options)
	if p.Workload.Load != nil {
		v := *p.Workload.Load
		cp.Workload.Load = &v
	}
	cp.Levels = make([]LevelSet, len(p.Levels))
	for i, ls := range p.Levels {
		ls.Levels = maps.Clone(ls.Levels)
		cp.Levels[i] = ls
	}
	cp.Phases = make([]Phase, len(p.Phases))
	for i, ph := range p.Phases {
		ph.Impairments = append([]Impairment(nil), ph.Impairments...)
		for j := range ph.Impairments {
			ph.Impairments[j].Members = append([]string(nil), ph.Impairments[j].Members...)
		}
		if ph.Faults != nil {
			f := cloneFaults(*ph.Faults)
			ph.Faults = &f
		}
		ph.Drawn = append([]impair.Drawn(nil), ph.Drawn...)
		cp.Phases[i] = ph
	}
	cp.Checks.Probes = append([]Duration(nil), p.Checks.Probes...)
	cp.Thresholds = append([]Threshold(nil), p.Thresholds...)
	cp.Overrides = append([]string(nil), p.Overrides...)
	if p.Sweep != nil {
		sw := *p.Sweep
		cp.Sweep = &sw
	}
	cp.Env = maps.Clone(p.Env)
	return &cp
}

// ScenarioNames returns the scenarios' names in plan order (a new slice).
func (pl *Plan) ScenarioNames() []string {
	out := make([]string, len(pl.Scenarios))
	for i, s := range pl.Scenarios {
		out[i] = s.Name
	}
	return out
}

// PhaseNames returns the phases' names in plan order (a new slice).
func (pl *Plan) PhaseNames() []string {
	out := make([]string, len(pl.Phases))
	for i, p := range pl.Phases {
		out[i] = p.Name
	}
	return out
}

// cloneFaults deep-copies a fault schedule.
func cloneFaults(f Faults) Faults {
	f.From = append([]impair.Choice(nil), f.From...)
	for i := range f.From {
		c := &f.From[i]
		c.Members = append([]string(nil), c.Members...)
		c.Targets = append([]string(nil), c.Targets...)
		c.Durations = append([]impair.Duration(nil), c.Durations...)
	}
	return f
}
