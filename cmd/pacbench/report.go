package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/threshold"
)

func newReportCmd(env *Env) *cobra.Command {
	var thresholds []string
	cmd := &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "(Re)build RUN_DIR/report.html from the run's files (summary.json, manifest.json, interval logs)",
		Long: `report rebuilds the self-contained HTML report of a run from the files in its
results directory alone, replacing report.html atomically. Every run writes
report.html by itself; use this after upgrading pacbench, or for a run whose
report was not written. For a sweep's directory (its summary.json has a sweep
section) it rebuilds the sweep's page: the curves per level and their knees.

It also evaluates the run's thresholds (its profile's and --threshold's, as
run) and any --threshold given here on the run's summary.json, prints each
with its measured values and exits 3 if one fails.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			ths, doc, err := dirThresholds(args[0], thresholds)
			if err != nil {
				return err
			}
			path, err := htmlreport.WriteReport(args[0])
			if errors.Is(err, htmlreport.ErrUsage) {
				return usageErr("%v", err)
			}
			if err != nil {
				return runErr(err)
			}
			fmt.Fprintln(env.Stdout, path)
			if len(ths) == 0 {
				return nil
			}
			rs, err := threshold.Evaluate(ths, doc)
			if err != nil {
				return runErr(err)
			}
			if err := report.WriteThresholds(env.Stdout, rs); err != nil {
				return runErr(fmt.Errorf("stdout: %w", err))
			}
			return thresholdsErr(rs)
		},
	}
	cmd.Flags().StringArrayVar(&thresholds, "threshold", nil, "also evaluate this `condition` on the run's summary (repeatable; exit 3 if one fails)")
	return cmd
}
