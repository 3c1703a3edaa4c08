package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/merge"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
)

// MergeOptions configure Merge. Zero values are documented defaults.
type MergeOptions struct {
	// Dirs are the shards' results directories (pacbench run --shard).
	Dirs []string
	// Out is the merged results directory to create; it must not exist
	// (its last element is a run-id-like name: sink.ValidateRunID).
	Out string
	// AllowMissing merges even if some of the run's shards are not in
	// Dirs; the result is marked partial and lists them.
	AllowMissing bool
	// Registry of drivers, for the levels in the database's words in the
	// summary (nil: none).
	Registry *drivers.Registry
	// Sinks are the outputs (default sink.Default()); the streaming
	// interval logs are replaced by the merged ones, and sinks that need
	// a run (Prometheus, progress) are not enabled.
	Sinks *sink.Registry
	// Version of pacbench, recorded in the manifest.
	Version string
}

// Merge builds one results directory from the results directories of the
// shards of one run: the same files as a run's (summary.json built by
// report.Build from the merged measurements, thresholds re-evaluated,
// manifest.json listing the shards, summary.csv, measurements.json, .hgrm
// files, the interval logs summed interval by interval, report.html),
// written atomically through the run's outputs, never over an existing
// directory. Inputs that do not fit together are errors wrapping ErrUsage
// (found before anything is written).
func Merge(ctx context.Context, o MergeOptions) (*Outcome, error) {
	parent, name := filepath.Dir(filepath.Clean(o.Out)), filepath.Base(filepath.Clean(o.Out))
	if o.Out == "" {
		return nil, sink.Usage(errors.New("merge: -o DIR is required"))
	}
	if err := sink.ValidateRunID(name); err != nil {
		return nil, sink.Usage(fmt.Errorf("-o %s: %w", o.Out, err))
	}
	if err := sink.CheckTarget(parent, name, false); err != nil {
		return nil, err
	}
	m, err := merge.Read(o.Dirs, merge.Options{AllowMissing: o.AllowMissing})
	if errors.Is(err, merge.ErrUsage) {
		return nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err != nil {
		return nil, err
	}
	var drv drivers.Driver
	if o.Registry != nil {
		drv, _ = o.Registry.Lookup(m.Plan.Profile.System.Driver)
	}
	sum := report.Build(report.Input{RunID: m.RunID, Plan: m.Plan, Result: m.Result, Driver: drv})
	sum.Shards = &m.Shards
	checks := m.Result.Results.Checks
	notes := append([]string(nil), m.Notes...)
	if err := EvaluateThresholds(m.Plan.Profile, checks, sum); err != nil {
		notes = append(notes, err.Error())
	}
	end := &sink.End{Summary: sum, Manifest: mergedManifest(m, o.Version), Results: m.Result.Results,
		Linearizability: m.Linearizability}
	if end.Measurements, err = report.NewMeasurements(m.RunID, m.Result); err != nil {
		return nil, err
	}
	for _, n := range notes {
		end.AddNote(n)
	}
	return writeMerged(ctx, o, m, parent, name, end)
}

// writeMerged writes end into the new directory parent/name through the
// outputs, with the merged interval logs in place of the streaming ones.
func writeMerged(ctx context.Context, o MergeOptions, m *merge.Merged, parent, name string, end *sink.End) (*Outcome, error) {
	reg := o.Sinks
	if reg == nil {
		reg = sink.Default()
	}
	reg = reg.Clone()
	for sinkName, file := range map[string]string{"hlog": report.IntervalLogFile, "checks": report.ChecksLogFile} {
		files := map[string][]byte{}
		if b, ok := m.Logs[file]; ok {
			files[file] = b
		}
		if err := reg.Replace(sinkName, sink.FilesFactory(files)); err != nil {
			return nil, fmt.Errorf("merge: outputs: %w", err)
		}
	}
	dir, err := sink.NewDir(parent, name, false)
	if err != nil {
		return nil, err
	}
	set, err := reg.Open(ctx, sink.Config{})
	if err != nil {
		_ = dir.Abort()
		return nil, err
	}
	info := runInfo(m.Plan, m.RunID, o.Version, report.NewNames(m.Plan.ScenarioNames(), m.Plan.PhaseNames()), m.Base, m.Interval, dir)
	if err := set.Start(info); err != nil {
		set.Finish(&sink.End{})
		_ = dir.Abort()
		return nil, fmt.Errorf("%w: %w", ErrOutput, err)
	}
	set.Finish(end)
	werr := set.WriteFiles(dir, end)
	note, cerr := dir.Commit()
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	_ = set.Stop(stopped)
	out := &Outcome{Summary: end.Summary}
	if cerr == nil {
		out.Dir = dir.Path()
	}
	if note != "" {
		out.Notes = append(out.Notes, note)
	}
	if werr != nil || cerr != nil {
		return out, fmt.Errorf("%w: results incomplete: %w", ErrOutput, errors.Join(werr, cerr))
	}
	return out, nil
}

// mergedManifest is the merged run's manifest: the first shard's profile,
// versions and topology, the merged clock and phases, and the shards.
func mergedManifest(m *merge.Merged, version string) *report.Manifest {
	var first *report.Manifest
	var inputs []report.MergedInput
	var maxSkew *float64
	for _, in := range m.Inputs {
		if in == nil {
			continue
		}
		if first == nil {
			first = in.Manifest
		}
		im := in.Manifest
		inputs = append(inputs, report.MergedInput{Index: in.Shard.Index, Dir: in.Dir, StartedAt: im.StartedAt,
			EndedAt: im.EndedAt, Partial: im.Partial, ClockBase: im.ClockBase})
		if b := im.StartBarrier; b != nil {
			for _, ph := range b.Phases {
				if maxSkew == nil || ph.SkewMs > *maxSkew {
					v := ph.SkewMs
					maxSkew = &v
				}
			}
		}
	}
	res := m.Result
	versions := Versions(version, m.Plan.Profile.System.Driver)
	versions["shards_pacbench"] = first.Versions["pacbench"]
	man := &report.Manifest{
		Schema: report.ManifestSchema, RunID: m.RunID, Partial: res.Partial, Versions: versions,
		Profile: m.Plan.Profile, Topology: first.Topology,
		StartedAt: res.Start.UTC().Format(time.RFC3339Nano), EndedAt: res.End.UTC().Format(time.RFC3339Nano),
		ClockBase: m.Base.UTC().Format(time.RFC3339Nano), IntervalMs: float64(m.Interval) / 1e6,
		Phases: res.Phases, Load: res.Load,
		Merged: &report.MergedManifest{MergedShards: m.Shards, Inputs: inputs, MaxSkewMs: maxSkew},
	}
	if b := first.StartBarrier; b != nil {
		man.StartBarrier = &report.StartBarrier{At: b.At, PhaseGapMs: b.PhaseGapMs, Phases: mergedSkews(m)}
	}
	return man
}

// mergedSkews is, per phase, the planned start and the largest skew of
// any shard.
func mergedSkews(m *merge.Merged) []report.PhaseSkew {
	var out []report.PhaseSkew
	for _, in := range m.Inputs {
		if in == nil || in.Manifest.StartBarrier == nil {
			continue
		}
		for i, ph := range in.Manifest.StartBarrier.Phases {
			if i >= len(out) {
				out = append(out, ph)
				continue
			}
			out[i].SkewMs = max(out[i].SkewMs, ph.SkewMs)
		}
	}
	return out
}
