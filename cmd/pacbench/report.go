package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/internal/htmlreport"
)

func newReportCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "report RUN_DIR",
		Short: "(Re)build RUN_DIR/report.html from the run's files (summary.json, manifest.json, interval logs)",
		Long: `report rebuilds the self-contained HTML report of a run from the files in its
results directory alone, replacing report.html atomically. Every run writes
report.html by itself; use this after upgrading pacbench, or for a run whose
report was not written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			path, err := htmlreport.WriteReport(args[0])
			if errors.Is(err, htmlreport.ErrUsage) {
				return usageErr("%v", err)
			}
			if err != nil {
				return runErr(err)
			}
			fmt.Fprintln(env.Stdout, path)
			return nil
		},
	}
}
