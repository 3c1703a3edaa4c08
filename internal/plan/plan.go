// Package plan is what the runner executes: a validated profile.Plan
// resolved into typed values (durations, modes, routes, the system to open,
// the checks) and, per run, the load model's Schedule. The runner reads
// nothing else; it does not import package profile. The profile as run
// stays in profile.Plan for the manifest.
//
// A Plan is plain data after New: safe to share read-only between
// goroutines (its Schedule is safe for concurrent use).
package plan

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// ErrInvalid: the profile.Plan cannot be resolved (it did not come from a
// validated profile).
var ErrInvalid = errors.New("plan: invalid")

// Mode is how a run's scenarios share the phases.
type Mode uint8

// Modes.
const (
	// SideBySide: all scenarios run together inside the same phases.
	SideBySide Mode = iota
	// Sequential: each scenario runs the whole phase list alone.
	Sequential
)

// String returns the profile's word for m.
func (m Mode) String() string {
	if m == Sequential {
		return profile.ModeSequential
	}
	return profile.ModeSideBySide
}

// Ring sizes of the staleness oracle (checks.ring_size unset): a deeper
// history keeps time staleness exact further behind (a partitioned
// follower is hundreds of versions behind) at ~1.5 KiB per written key, so
// it is the default for key spaces up to SmallKeyspace keys.
const (
	SmallKeyspace     = 100_000
	SmallKeyspaceRing = 64
)

// Plan is one run, typed.
type Plan struct {
	// Name of the profile (for logs).
	Name string
	// Seed for key choice, op mix and arrivals.
	Seed int64
	// System to open.
	System System
	// Routes of reads and writes.
	Routes Routes
	// Workload is the validated workload.
	Workload workloads.Spec
	// LoadRecords: write every record once before measuring.
	LoadRecords bool
	// Load is the load model of every scenario.
	Load Load
	// Scenarios in profile order.
	Scenarios []Scenario
	// Phases in order.
	Phases []Phase
	// Mode says how scenarios share the phases.
	Mode Mode
	// Checks configures consistency checking.
	Checks Checks
	// Shard is the part of a sharded run this plan runs (zero: the whole
	// run). Workload and Load are already this shard's.
	Shard Shard
}

// Shard is one process's part of a run split over several: Workload is
// its key slice (workloads.Spec.ForShard) and Load.Schedule its workers
// (load.Part). Worker numbering stays global so that seeds, session ids
// and open-loop offsets are the whole run's.
type Shard struct {
	workloads.Shard
	// FirstWorker is the global index of this shard's first worker in
	// each scenario; Workers the whole run's workers per scenario.
	FirstWorker, Workers int
}

// System is the database under test as the runner opens it.
type System struct {
	// Driver is the registered driver name.
	Driver string
	// Endpoints of an existing deployment (a local cluster's replace them).
	Endpoints []string
	// Nodes names the members when the driver reports no topology.
	Nodes []Node
	// Options are the driver's own (validated by the driver at Open).
	Options map[string]string
	// OpTimeout bounds every op (> 0).
	OpTimeout time.Duration
}

// Node is one named member of an existing deployment.
type Node struct {
	Name, Endpoint string
}

// Route is where one kind of op goes. The zero Route is the driver's own
// routing; otherwise Member is a role word (impair.RoleLeader, …), a member
// name or a member's endpoint.
type Route struct {
	Member string
}

// Any reports whether r leaves routing to the driver.
func (r Route) Any() bool { return r.Member == "" }

// Routes of reads and writes.
type Routes struct {
	Read, Write Route
	// Writers, when set, replace Write: worker i of a scenario writes
	// through Writers[i mod len(Writers)].
	Writers []Route
	// SplitBrain: during phases with a partition impairment, writers of
	// different routes write a key at the same time (one per route);
	// elsewhere one writer at a time per key (profile.Routes.SplitBrain).
	SplitBrain bool
}

// WriteRoutes returns the write routes: Writers, or Write alone.
func (r Routes) WriteRoutes() []Route {
	if len(r.Writers) > 0 {
		return r.Writers
	}
	return []Route{r.Write}
}

// Load is the load model of the run's scenarios.
type Load struct {
	// Model is the model's name (load.model), for the results.
	Model string
	// Schedule paces each scenario's workers (one Pacer per worker).
	Schedule load.Schedule
	// MaxWorkers (open loop) is the most workers a scenario's pool may
	// grow to when an arrival finds no worker free; ≤ Schedule.Workers()
	// means no growth (each worker paces its own arrivals, as before).
	MaxWorkers int
}

// Pooled reports whether the scenarios run a growing pool: an open-loop
// schedule whose MaxWorkers exceeds its pre-allocated workers.
func (l Load) Pooled() bool {
	return l.Schedule != nil && l.Schedule.Open() && l.MaxWorkers > l.Schedule.Workers()
}

// Scenario is one entry of the level matrix.
type Scenario struct {
	// Name of the scenario.
	Name string
	// Levels always holds the "read" and "write" keys.
	Levels drivers.Levels
}

// Phase is one time window with its impairments.
type Phase struct {
	Name     string
	Duration time.Duration
	// Impairments active during the phase (empty: healthy network).
	Impairments []impair.Spec
	// Faults are the faults drawn from the phase's fault schedule (the
	// profile's phases[].faults, drawn with the run's seed), in time order
	// and never overlapping: each applied at its start offset from the
	// phase's start and healed at its end. A phase has Impairments or
	// Faults, not both.
	Faults []impair.Drawn
}

// Impaired reports whether the phase has impairments or drawn faults.
func (p Phase) Impaired() bool { return len(p.Impairments) > 0 || len(p.Faults) > 0 }

// Specs returns every impairment the phase may apply: its impairments,
// then its drawn faults (a new slice).
func (p Phase) Specs() []impair.Spec {
	out := append([]impair.Spec(nil), p.Impairments...)
	for _, d := range p.Faults {
		out = append(out, d.Fault)
	}
	return out
}

// Checks configures consistency checking, with defaults resolved.
type Checks struct {
	// LinearizableKeys sampled per scenario and phase (0: off).
	LinearizableKeys int
	// MaxHistory bounds the ops kept per sampled key and phase (0: the
	// checker's default).
	MaxHistory int
	// CheckTimeout bounds porcupine per (scenario, phase) (0: the
	// checker's default).
	CheckTimeout time.Duration
	// Probes are the t-visibility probe delays (empty: off).
	Probes []time.Duration
	// RingSize of the staleness oracle (0: the recorder's default).
	RingSize int
	// SessionMoves: sessions move between read members every N ops (0: off).
	SessionMoves int
}

// New resolves pp (a validated profile's plan) with the load models of
// models (nil: load.Builtin()). Errors wrap ErrInvalid.
func New(pp *profile.Plan, models *load.Registry) (*Plan, error) {
	if pp == nil || pp.Profile == nil {
		return nil, fmt.Errorf("%w: no profile plan", ErrInvalid)
	}
	if models == nil {
		models = load.Builtin()
	}
	p := pp.Profile
	spec := pp.LoadSpec()
	m, err := models.Lookup(spec.Model)
	if err != nil {
		return nil, fmt.Errorf("%w: load.model: %w", ErrInvalid, err)
	}
	if errs := m.Check(spec); len(errs) > 0 {
		return nil, fmt.Errorf("%w: load.%s: %s", ErrInvalid, errs[0].Field, errs[0].Msg)
	}
	if p.System.OpTimeout <= 0 {
		return nil, fmt.Errorf("%w: system.op_timeout %s", ErrInvalid, p.System.OpTimeout)
	}
	sched, sh, err := shard(m.Schedule(spec), pp.Shard)
	if err != nil {
		return nil, err
	}
	wl := pp.Workload.ForShard(pp.Shard)
	out := &Plan{
		Name:        p.Name,
		Seed:        pp.Seed,
		System:      system(p.System),
		Routes:      routes(p.Routes),
		Workload:    wl,
		LoadRecords: p.Workload.Load == nil || *p.Workload.Load,
		Load:        Load{Model: spec.Model, Schedule: sched, MaxWorkers: p.Load.MaxWorkers},
		Mode:        SideBySide,
		Checks:      checks(p.Checks, wl),
		Shard:       sh,
	}
	if pp.Mode == profile.ModeSequential {
		out.Mode = Sequential
	}
	for _, s := range pp.Scenarios {
		out.Scenarios = append(out.Scenarios, Scenario{Name: s.Name, Levels: maps.Clone(s.Levels)})
	}
	for _, ph := range pp.Phases {
		out.Phases = append(out.Phases, Phase{Name: ph.Name, Duration: ph.Duration.D(),
			Impairments: append([]impair.Spec(nil), ph.Impairments...), Faults: append([]impair.Drawn(nil), ph.Drawn...)})
	}
	if len(out.Scenarios) == 0 || len(out.Phases) == 0 {
		return nil, fmt.Errorf("%w: %d scenarios, %d phases", ErrInvalid, len(out.Scenarios), len(out.Phases))
	}
	return out, nil
}

// shard returns this shard's part of the whole run's schedule (s itself
// when unsharded).
func shard(s load.Schedule, sh workloads.Shard) (load.Schedule, Shard, error) {
	if err := sh.Validate(); err != nil {
		return nil, Shard{}, fmt.Errorf("%w: shard: %w", ErrInvalid, err)
	}
	if !sh.Sharded() {
		return s, Shard{}, nil
	}
	total := s.Workers()
	first, n := sh.Split(total)
	if n < 1 {
		return nil, Shard{}, fmt.Errorf("%w: shard %s: %d workers cannot be split %d ways", ErrInvalid, sh, total, sh.Count)
	}
	return load.Part(s, first, n), Shard{Shard: sh, FirstWorker: first, Workers: total}, nil
}

func system(s profile.System) System {
	out := System{Driver: s.Driver, Endpoints: append([]string(nil), s.Endpoints...),
		Options: maps.Clone(s.Options), OpTimeout: s.OpTimeout.D()}
	for _, n := range s.Nodes {
		out.Nodes = append(out.Nodes, Node{Name: n.Name, Endpoint: n.Endpoint})
	}
	return out
}

func routes(r profile.Routes) Routes {
	out := Routes{Read: route(r.Read), Write: route(r.Write), SplitBrain: r.SplitBrain}
	for _, w := range r.Writers {
		out.Writers = append(out.Writers, route(w))
	}
	return out
}

func route(s string) Route {
	if s == profile.RouteAny {
		return Route{}
	}
	return Route{Member: s}
}

func checks(c profile.Checks, w workloads.Spec) Checks {
	out := Checks{LinearizableKeys: c.LinearizableKeys, MaxHistory: c.MaxHistory, CheckTimeout: c.CheckTimeout.D(),
		RingSize: c.RingSize, SessionMoves: c.SessionMoves}
	if out.RingSize <= 0 && w.Capacity() <= SmallKeyspace {
		out.RingSize = SmallKeyspaceRing
	}
	for _, d := range c.Probes {
		out.Probes = append(out.Probes, d.D())
	}
	return out
}

// Duration returns the planned time of the phases (sequential mode runs
// them once per scenario), not counting the transitions between phases.
func (p *Plan) Duration() time.Duration {
	var d time.Duration
	for _, ph := range p.Phases {
		d += ph.Duration
	}
	if p.Mode == Sequential {
		d *= time.Duration(len(p.Scenarios))
	}
	return d
}

// ScenarioNames returns the scenarios' names in order (a new slice).
func (p *Plan) ScenarioNames() []string {
	out := make([]string, len(p.Scenarios))
	for i, s := range p.Scenarios {
		out[i] = s.Name
	}
	return out
}

// PhaseNames returns the phases' names in order (a new slice).
func (p *Plan) PhaseNames() []string {
	out := make([]string, len(p.Phases))
	for i, ph := range p.Phases {
		out[i] = ph.Name
	}
	return out
}
