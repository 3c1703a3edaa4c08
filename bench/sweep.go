package bench

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/profile"
)

// Files of a sweep's results directory, beside SweepPointsDir.
const (
	// SweepPointsDir holds one results directory per value, in run order
	// ("01-250", "02-500", …), each a complete run of its own.
	SweepPointsDir = "points"
	// SweepCSVFile is the curves as CSV (report.SweepCSV).
	SweepCSVFile = "sweep.csv"
)

// SweepOptions configure Sweep. The embedded Options apply to every
// value's run (its Profile is ignored; OutDir and RunID name the sweep's
// directory, default as for Execute); zero values are documented defaults.
type SweepOptions struct {
	Options
	// Param is the swept field's path ("load.rate"); Values its values.
	Param  string
	Values []string
	// ProfileAt returns the profile with Param set to a value, validated
	// (the -p path). Every value's profile is made before anything starts:
	// an error is a usage error (ErrUsage).
	ProfileAt func(value string) (*profile.Profile, error)
	// KneeP99 bounds the knee's p99 (default profile.DefaultKneeP99);
	// KneeOp the op kind it applies to ("": every op kind).
	KneeP99 time.Duration
	KneeOp  string
	// Warmup runs before each value's phases (profile.Profile.WithWarmup);
	// zero: none.
	Warmup time.Duration
}

// SweepOutcome is what Sweep produced.
type SweepOutcome struct {
	// Summary holds the sweep section (nil if nothing was written).
	Summary *report.Summary
	// Dir is the sweep's results directory ("" if none).
	Dir string
	// Points are the values' outcomes, in run order (nil: not run).
	Points []*Outcome
}

// Sweep runs the profile once per value, one after another, each value a
// complete Execute into <dir>/points/NN-value, then writes the sweep's
// summary.json (report.Sweep: curves and knees), sweep.csv and report.html
// (the curves drawn, sink.WriteSweepReport); the whole
// directory appears atomically at the end. A value whose run fails is
// recorded as failed and the sweep goes on; an interrupt stops it (what
// ran is written). The error joins the values' errors.
func Sweep(ctx context.Context, o SweepOptions) (*SweepOutcome, error) {
	profiles, err := sweepProfiles(o)
	if err != nil {
		return nil, err
	}
	if o.OutDir == "" {
		o.OutDir = "results"
	}
	if o.RunID == "" {
		o.RunID = defaultRunID(o.OutDir, profiles[0].Name+"-sweep", time.Now())
	}
	dir, err := sink.NewDir(o.OutDir, o.RunID, o.Overwrite)
	if err != nil {
		return nil, err
	}
	bound := o.KneeP99
	if bound <= 0 {
		bound = profile.DefaultKneeP99
	}
	sw := &report.Sweep{Param: o.Param, Values: o.Values, KneeP99Ms: float64(bound) / 1e6, KneeOp: o.KneeOp,
		FellBehindMargin: report.FellBehindMargin, WarmupS: o.Warmup.Seconds(), Points: []report.SweepPoint{}, Curves: []report.Curve{}}
	started := time.Now()
	out := &SweepOutcome{}
	runs, errs := sweepRuns(ctx, o, profiles, filepath.Join(dir.StagePath(), SweepPointsDir), out)
	report.BuildSweep(sw, runs)
	sum := &report.Summary{Schema: report.Schema, RunID: o.RunID, Profile: profiles[0].Name, Mode: profiles[0].Mode,
		Partial: ctx.Err() != nil || len(runs) < len(o.Values), StartedAt: started.UTC().Format(time.RFC3339Nano),
		EndedAt: time.Now().UTC().Format(time.RFC3339Nano), Scenarios: []report.Scenario{}, Sweep: sw}
	if werr := writeSweep(dir, sum); werr != nil {
		_ = dir.Abort()
		return out, errors.Join(errs, werr)
	}
	note, cerr := dir.Commit()
	if cerr != nil {
		return out, errors.Join(errs, cerr)
	}
	if note != "" {
		sum.Notes = append(sum.Notes, note)
	}
	out.Summary, out.Dir = sum, dir.Path()
	return out, errs
}

// sweepProfiles makes every value's profile (with its warm-up) up front.
func sweepProfiles(o SweepOptions) ([]*profile.Profile, error) {
	if len(o.Values) == 0 || o.ProfileAt == nil {
		return nil, sink.Usage(errors.New("sweep: no values (want e.g. --sweep load.rate=250..4000x5)"))
	}
	if len(o.Values) > profile.MaxSweepValues {
		return nil, sink.Usage(fmt.Errorf("sweep: %d values, at most %d", len(o.Values), profile.MaxSweepValues))
	}
	out := make([]*profile.Profile, 0, len(o.Values))
	for _, v := range o.Values {
		p, err := o.ProfileAt(v)
		if err == nil {
			p, err = p.WithWarmup(o.Warmup)
		}
		if err != nil {
			return nil, sink.Usage(fmt.Errorf("sweep %s=%s: %w", o.Param, v, err))
		}
		out = append(out, p)
	}
	return out, nil
}

// sweepRuns executes each value's profile into points (inside the
// sweep's staging directory), stopping at an interrupt.
func sweepRuns(ctx context.Context, o SweepOptions, profiles []*profile.Profile, points string, out *SweepOutcome) ([]report.SweepRun, error) {
	var runs []report.SweepRun
	var errs []error
	for i, p := range profiles {
		if ctx.Err() != nil {
			break
		}
		value := o.Values[i]
		po := o.Options
		po.Profile, po.OutDir, po.RunID, po.Overwrite = p, points, fmt.Sprintf("%02d-%s", i+1, sanitize(value)), false
		if o.Log != nil {
			fmt.Fprintf(o.Log, "sweep: %s=%s (%d of %d)\n", o.Param, value, i+1, len(profiles))
		}
		res, err := Execute(ctx, po)
		out.Points = append(out.Points, res)
		run := report.SweepRun{Point: report.SweepPoint{Value: value}, Warmup: p.WarmupPhases()}
		if res != nil && res.Summary != nil {
			run.Summary, run.Point.Partial = res.Summary, res.Summary.Partial
		}
		if res != nil && res.Dir != "" {
			run.Point.Dir = SweepPointsDir + "/" + filepath.Base(res.Dir)
		}
		if err != nil {
			run.Point.Error = err.Error()
			errs = append(errs, fmt.Errorf("sweep %s=%s: %w", o.Param, value, err))
		}
		runs = append(runs, run)
	}
	return runs, errors.Join(errs...)
}

// writeSweep writes summary.json, sweep.csv and report.html into the
// sweep's directory.
func writeSweep(dir *sink.Dir, sum *report.Summary) error {
	b, _, err := sink.MarshalJSON(sum)
	if err != nil {
		return fmt.Errorf("sweep: summary: %w", err)
	}
	if err := dir.WriteFile("summary.json", b); err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	c, err := report.SweepCSV(sum.Sweep)
	if err != nil {
		return fmt.Errorf("sweep: csv: %w", err)
	}
	if err := dir.WriteFile(SweepCSVFile, c); err != nil {
		return err
	}
	return sink.WriteSweepReport(dir)
}
