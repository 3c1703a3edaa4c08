package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/profile"
)

func addSweepFlags(fl *pflag.FlagSet, f *runFlags) {
	fl.StringVar(&f.sweep, "sweep", "", "run once per value of a field, `PATH=VALUES`: A..BxN (N values, geometric), A..B+S (linear, step S) or V1,V2,… (e.g. load.rate=250..4000x5); overrides the profile's sweep")
	fl.DurationVar(&f.kneeP99, "knee-p99", 0, "a sweep's knee: the highest value up to which the schedule kept up and p99 stayed at or under this (default the profile's sweep.knee_p99, else 20ms)")
	fl.StringVar(&f.kneeOp, "knee-op", "", "op kind the --knee-p99 bound applies to (default: every op kind)")
	fl.DurationVar(&f.sweepWarmup, "sweep-warmup", 0, "warm-up phase before each sweep value's phases: recorded, left out of the curves and the knee (default the profile's sweep.warmup)")
}

// sweepSpec resolves the sweep from --sweep and the profile's sweep
// section (the flags win).
func sweepSpec(f runFlags, prof *profile.Profile) (profile.Sweep, []string, error) {
	var sw profile.Sweep
	if prof.Sweep != nil {
		sw = *prof.Sweep
	}
	src := "sweep.values"
	if f.sweep != "" {
		path, spec, _ := strings.Cut(f.sweep, "=")
		sw.Param, sw.Values, src = path, spec, "--sweep"
	}
	if f.kneeP99 < 0 {
		return sw, nil, usageErr("--knee-p99: must be positive, got %s", f.kneeP99)
	}
	if f.kneeP99 > 0 {
		sw.KneeP99 = profile.Duration(f.kneeP99)
	}
	if f.kneeOp != "" {
		sw.KneeOp = f.kneeOp
	}
	if f.sweepWarmup < 0 || f.sweepWarmup > profile.MaxPhaseDuration {
		return sw, nil, usageErr("--sweep-warmup: want a duration in [0, %s], got %s", profile.MaxPhaseDuration, f.sweepWarmup)
	}
	if f.sweepWarmup > 0 {
		sw.Warmup = profile.Duration(f.sweepWarmup)
	}
	if f.sweep != "" {
		if _, _, err := profile.ParseSweepFlag(f.sweep); err != nil {
			return sw, nil, usageErr("--sweep: %v", err)
		}
	}
	values, err := profile.ParseSweepValues(sw.Values)
	if err != nil {
		return sw, nil, usageErr("%s: %v", src, err)
	}
	return sw, values, nil
}

// runSweep runs a sweep: one run per value with the value set as an
// override, then the curves and knees (stdout: the sweep table, or the
// summary document with --format json).
func runSweep(ctx context.Context, env *Env, f runFlags, opts bench.Options) error {
	sw, values, err := sweepSpec(f, opts.Profile)
	if err != nil {
		return err
	}
	sets, err := parseOverrides(f.params) // already checked by prepareRun
	if err != nil {
		return err
	}
	at := func(v string) (*profile.Profile, error) {
		ov := profile.Override{Path: sw.Param, Value: v, Source: fmt.Sprintf("--sweep %s=%s", sw.Param, v)}
		p, err := loadProfile(env, f.profile, append(append([]profile.Override(nil), sets...), ov))
		if err == nil {
			err = addThresholds(p, f.thresholds)
		}
		return p, err
	}
	out, err := bench.Sweep(ctx, bench.SweepOptions{Options: opts, Param: sw.Param, Values: values, ProfileAt: at,
		KneeP99: sw.KneeP99.D(), KneeOp: sw.KneeOp, Warmup: sw.Warmup.D()})
	var ee *exitError
	if errors.As(err, &ee) {
		return err // a value's profile is invalid: exit 2 with its problems
	}
	if errors.Is(err, bench.ErrUsage) {
		return usageErr("%v", err)
	}
	if out != nil && out.Summary != nil {
		if werr := writeSweepOut(env, f, out.Summary); werr != nil {
			return runErr(fmt.Errorf("stdout: %w", werr))
		}
		fmt.Fprintf(env.Stderr, "results: %s\n", out.Dir)
	}
	if err != nil {
		return runErr(err)
	}
	return sweepThresholds(out)
}

func writeSweepOut(env *Env, f runFlags, sum *report.Summary) error {
	if f.format == "json" {
		format, err := env.Formats.Lookup(f.format)
		if err != nil {
			return err
		}
		return format(env.Stdout, sum)
	}
	return report.WriteSweepTable(env.Stdout, sum.Sweep)
}

// sweepThresholds: exit 3 if a value's thresholds failed.
func sweepThresholds(out *bench.SweepOutcome) error {
	for _, p := range out.Points {
		if p != nil && p.Summary != nil {
			if err := thresholdsErr(p.Summary.Thresholds); err != nil {
				return err
			}
		}
	}
	return nil
}
