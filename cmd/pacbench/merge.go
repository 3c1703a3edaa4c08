package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/bench"
)

type mergeFlags struct {
	out, format  string
	allowMissing bool
}

func newMergeCmd(env *Env) *cobra.Command {
	var f mergeFlags
	cmd := &cobra.Command{
		Use:   "merge DIR... -o DIR",
		Short: "Merge the results directories of a run's shards (run --shard I/N) into one results directory",
		Long: `merge builds one results directory from the results directories of the
shards of one run (pacbench run --shard I/N, same profile and run id): every
histogram is the exact sum of the shards' HdrHistograms (percentiles
recomputed from the sums, never averaged), every counter the sum, the
interval logs summed interval by interval from the common start
(--start-at), verdicts re-derived from the merged data, thresholds
re-evaluated. The merged directory is a normal results directory: report,
compare and thresholds work on it. Shards of different runs or profiles,
overlapping or duplicate shards and missing shards are refused (exit 2);
--allow-missing merges what is there and marks the result partial. -o names
the new directory, which must not exist; it is written atomically.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runMerge(cmd, env, f, args) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "the merged results `dir` to create (must not exist)")
	fl.BoolVar(&f.allowMissing, "allow-missing", false, "merge even if shards of the run are missing (the result is partial)")
	fl.StringVar(&f.format, "format", "table", "stdout format: table|json (json: the merged summary document alone)")
	return cmd
}

func runMerge(cmd *cobra.Command, env *Env, f mergeFlags, dirs []string) error {
	format, err := env.Formats.Lookup(f.format)
	if err != nil {
		return usageErr("--format: %v", err)
	}
	if f.out == "" {
		return usageErr("merge: -o DIR is required (the merged results directory to create)")
	}
	out, err := bench.Merge(cmd.Context(), bench.MergeOptions{Dirs: dirs, Out: f.out, AllowMissing: f.allowMissing,
		Registry: env.Registry, Sinks: env.Sinks, Version: version})
	if errors.Is(err, bench.ErrUsage) {
		return usageErr("%v", err)
	}
	if perr := printOutcome(env, format, out); perr != nil {
		return perr
	}
	if err != nil {
		return runErr(err)
	}
	return thresholdsErr(out.Summary.Thresholds)
}
