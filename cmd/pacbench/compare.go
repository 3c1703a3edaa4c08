package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/internal/htmlreport"
)

type compareFlags struct {
	format, html string
	opts         htmlreport.CompareOptions
}

func newCompareCmd(env *Env) *cobra.Command {
	var f compareFlags
	cmd := &cobra.Command{
		Use:   "compare RUN_DIR[:LEVEL] RUN_DIR[:LEVEL]...",
		Short: "Compare runs: p50/p99/p99.9, throughput, availability, staleness side by side, deltas flagged against noise",
		Long: `compare matches the series (scenario × phase × op) of two or more runs and
prints each run's values with its delta against the first run. Each delta is
flagged significant (*) only when its whole bootstrap interval — resampling
the runs' measurement intervals — lies beyond the noise band: the larger of
--min-effect and how much the statistic varies between the runs' own
intervals; otherwise it is within noise (~), or there were too few intervals
to judge (?). Name a level (RUN_DIR:LEVEL) for every run to compare levels or
systems with each other (series then match on phase × op), e.g. etcd
linearizable against Cassandra QUORUM. compare.html is written with the
same table and the runs' percentile spectra overlaid.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(_ *cobra.Command, args []string) error { return runCompare(env, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "table", "stdout format: table|json (json: the comparison document)")
	fl.StringVar(&f.html, "html", "compare.html", "write the comparison page to `file` (\"off\": none)")
	fl.IntVar(&f.opts.Resamples, "resamples", htmlreport.DefaultResamples, "bootstrap resamples per run and series")
	fl.Uint64Var(&f.opts.Seed, "seed", 1, "seed of the bootstrap (same seed, same flags)")
	fl.Float64Var(&f.opts.Confidence, "confidence", htmlreport.DefaultConfidence, "coverage of the bootstrap interval (0…1)")
	fl.Float64Var(&f.opts.MinEffect, "min-effect", htmlreport.DefaultMinEffect, "smallest relative change of a latency or throughput that can be significant")
	fl.Float64Var(&f.opts.MinEffectAbs, "min-effect-abs", htmlreport.DefaultMinEffectAbs, "smallest change of availability or stale ratio that can be significant")
	return cmd
}

func runCompare(env *Env, f compareFlags, args []string) error {
	if f.format != "table" && f.format != "json" {
		return usageErr("--format: %q is not table or json", f.format)
	}
	o := f.opts
	switch {
	case o.Resamples < 100 || o.Resamples > 100_000:
		return usageErr("--resamples: %d is outside 100…100000", o.Resamples)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return usageErr("--confidence: %v is not between 0 and 1", o.Confidence)
	case !(o.MinEffect > 0) || !(o.MinEffectAbs > 0):
		return usageErr("--min-effect and --min-effect-abs must be positive")
	}
	targets := make([]htmlreport.Target, len(args))
	for i, a := range args {
		targets[i] = htmlreport.ParseTarget(a)
	}
	c, err := htmlreport.Compare(targets, o)
	if errors.Is(err, htmlreport.ErrUsage) {
		return usageErr("%v", err)
	}
	if err != nil {
		return runErr(err)
	}
	if f.format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(c)
	} else {
		err = htmlreport.WriteCompareTable(env.Stdout, c)
	}
	if err != nil {
		return runErr(fmt.Errorf("stdout: %w", err))
	}
	if f.html == "off" || f.html == "" {
		return nil
	}
	var b bytes.Buffer
	if err := htmlreport.RenderCompare(&b, c); err != nil {
		return runErr(err)
	}
	if err := htmlreport.WriteFile(f.html, b.Bytes()); err != nil {
		return runErr(fmt.Errorf("--html: %w", err))
	}
	fmt.Fprintf(env.Stderr, "compare: %s\n", f.html)
	return nil
}
