// Package merge combines the results directories of the shards of one run
// (pacbench run --shard I/N) into the inputs of one run's results: the
// cumulative measurements added exactly (counts and counters summed,
// HdrHistograms merged, so percentiles are recomputed, never averaged),
// the interval logs summed interval by interval on a grid from the common
// start, phase windows, load, probes and convergence combined, verdicts
// re-derived by their checks. It reads files and returns data; bench.Merge
// builds the summary from it with the code that builds a run's
// (report.Build) and writes it with the run's outputs.
//
// Functions are safe for concurrent use on distinct inputs.
package merge

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/profile"
)

// ErrUsage marks inputs that cannot be merged (not results directories,
// shards of different runs or profiles, overlapping, duplicate or missing
// shards): the CLI exits 2. Test with errors.Is.
var ErrUsage = errors.New("cannot merge")

func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// Options configure Read. The zero value refuses missing shards.
type Options struct {
	// AllowMissing merges the shards given even if some of the run's are
	// missing; the result is partial and says which.
	AllowMissing bool
}

// Merged is what the shards of one run add up to.
type Merged struct {
	// RunID is the run's common id.
	RunID string
	// Plan is the run's plan (the profile as run, its shard cleared).
	Plan *profile.Plan
	// Result is the run's result as the runner would have returned it,
	// on the merged clock (Result.Clock: zero at Base).
	Result *runner.Result
	// Base is the merged clock's zero: the common start barrier, or the
	// earliest first-phase start without one (each shard's times are then
	// aligned on its own first phase).
	Base time.Time
	// Interval of the interval logs.
	Interval time.Duration
	// Inputs are the shards, by index (nil: missing).
	Inputs []*Input
	// Shards says which of the run's shards were merged.
	Shards report.MergedShards
	// Logs holds the merged interval logs by file name.
	Logs map[string][]byte
	// Linearizability carries the shards' porcupine visualizations (the
	// first shard's of each non-linearizable cell).
	Linearizability []checkers.Verdict
	// Notes are problems that did not stop the merge.
	Notes []string
}

// Read reads the results directories dirs (shards of one run) and merges
// them. Errors wrapping ErrUsage say which inputs do not fit together.
func Read(dirs []string, o Options) (*Merged, error) {
	if len(dirs) == 0 {
		return nil, usage("no results directories")
	}
	ins := make([]*Input, 0, len(dirs))
	for _, d := range dirs {
		in, err := read(d)
		if err != nil {
			return nil, err
		}
		ins = append(ins, in)
	}
	byIndex, n, missing, err := group(ins, o.AllowMissing)
	if err != nil {
		return nil, err
	}
	m := &Merged{RunID: ins[0].Manifest.RunID, Inputs: byIndex,
		Shards: report.MergedShards{Count: n, Merged: []int{}, Missing: missing}}
	parts := m.parts()
	pp, err := runPlan(parts[0].in)
	if err != nil {
		return nil, err
	}
	m.Plan = pp
	m.Interval = time.Duration(ins[0].Manifest.IntervalMs * 1e6)
	if m.Interval <= 0 {
		return nil, usage("%s: manifest.json has no interval_ms: written by a pacbench that cannot be merged", ins[0].Dir)
	}
	if err := m.results(parts); err != nil {
		return nil, err
	}
	if err := m.logs(parts); err != nil {
		return nil, err
	}
	m.visualizations(parts)
	return m, nil
}

// parts orders the inputs by shard and sets the merged clock: every
// shard's times are shifted so that its anchor is at the merged zero.
func (m *Merged) parts() []part {
	var parts []part
	for _, in := range m.Inputs {
		if in == nil {
			continue
		}
		if m.Base.IsZero() || in.Anchor.Before(m.Base) {
			m.Base = in.Anchor
		}
		m.Shards.Merged = append(m.Shards.Merged, in.Shard.Index)
		parts = append(parts, part{in: in, offset: int64(in.Base.Sub(in.Anchor))})
	}
	return parts
}

// runPlan is the run's plan: the first shard's profile as run, unsharded.
func runPlan(in *Input) (*profile.Plan, error) {
	cp := *in.Manifest.Profile
	cp.Shard = ""
	pp, err := cp.Plan(profile.Overrides{})
	if err != nil {
		return nil, usage("%s: the profile as run does not plan: %v", in.Dir, err)
	}
	return pp, nil
}

// results merges the cumulative measurements and the runner's other
// results into m.Result.
func (m *Merged) results(parts []part) error {
	checks, err := checkers.Registry(checkers.Config{})
	if err != nil {
		return fmt.Errorf("merge: checks: %w", err)
	}
	scen, phases := m.Plan.ScenarioNames(), m.Plan.PhaseNames()
	for i := range parts {
		res, err := parts[i].in.Measurements.Results(checks, scen, phases)
		if err != nil {
			return usage("%s: %s: %v", parts[i].in.Dir, report.MeasurementsFile, err)
		}
		parts[i].res = res
	}
	r := &runner.Result{Results: cells(parts, checks, scen, phases), Clock: metrics.ClockAt(m.Base),
		Load: loads(parts), Probes: probes(parts)}
	if r.Phases, err = phaseWindows(parts); err != nil {
		return err
	}
	if r.Convergence, err = convergence(parts); err != nil {
		return err
	}
	if r.Start, r.End, err = wallSpan(parts); err != nil {
		return err
	}
	first := parts[0].in.Manifest
	r.Members, r.Aliases = first.Topology.Members, first.Topology.Aliases
	r.ReadEndpoints, r.WriteEndpoints = first.Topology.ReadEndpoints, first.Topology.WriteEndpoints
	r.Partial = len(m.Shards.Missing) > 0
	for _, p := range parts {
		if p.in.Manifest.Partial {
			r.Partial = true
			m.Notes = append(m.Notes, fmt.Sprintf("shard %s is partial: %s", p.in.Shard, p.in.Manifest.Error))
		}
		for _, n := range p.in.Manifest.Notes {
			m.Notes = append(m.Notes, fmt.Sprintf("shard %s: %s", p.in.Shard, n))
		}
		if len(p.in.Manifest.Phases) < len(first.Phases) {
			r.Partial = true
		}
	}
	if len(m.Shards.Missing) > 0 {
		m.Notes = append(m.Notes, fmt.Sprintf("partial merge: shard%s %s of %d missing", plural(len(m.Shards.Missing)),
			joinInts(m.Shards.Missing), m.Shards.Count))
	}
	m.Result = r
	return nil
}

// logs merges every interval log.
func (m *Merged) logs(parts []part) error {
	m.Logs = map[string][]byte{}
	comment := fmt.Sprintf("pacbench merge of shards %s of %d, run %s", joinInts(m.Shards.Merged), m.Shards.Count, m.RunID)
	for _, name := range LogFiles {
		l := newLogMerge(name, m.Interval)
		var without []string
		for _, p := range parts {
			ok, err := l.add(p)
			if err != nil {
				return err
			}
			if !ok {
				without = append(without, p.in.Shard.String())
			}
		}
		if len(without) == len(parts) {
			continue
		}
		if len(without) > 0 {
			m.Notes = append(m.Notes, fmt.Sprintf("%s: shards %v have none: the merged log lacks their intervals", name, without))
		}
		b, err := l.write(m.Base.UnixMilli(), comment)
		if err != nil {
			return err
		}
		m.Logs[name] = b
	}
	return nil
}

// visualizations collects porcupine's visualization of every cell whose
// merged verdict is false, from the first shard that wrote one.
func (m *Merged) visualizations(parts []part) {
	names := report.NewNames(m.Plan.ScenarioNames(), m.Plan.PhaseNames())
	for _, c := range m.Result.Results.Cells {
		for _, v := range c.Values {
			if v.Verdict == nil || v.Verdict.OK == nil || *v.Verdict.OK {
				continue
			}
			file := names.VisualizationFile(c.Scenario, c.Phase)
			for _, p := range parts {
				if b, err := fs.ReadFile(p.in.fsys, file); err == nil {
					m.Linearizability = append(m.Linearizability, checkers.Verdict{Scenario: c.Scenario, Phase: c.Phase,
						Linearizable: v.Verdict.OK, Visualization: b})
					if len(parts) > 1 {
						m.Notes = append(m.Notes, fmt.Sprintf("%s is shard %s's visualization (each shard checked its own keys)", file, p.in.Shard))
					}
					break
				}
			}
		}
	}
	slices.SortFunc(m.Linearizability, func(a, b checkers.Verdict) int { return (a.Scenario-b.Scenario)*1000 + a.Phase - b.Phase })
}
