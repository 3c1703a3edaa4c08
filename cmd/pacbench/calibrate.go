package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/internal/calibrate"
)

// newCalibrateCmd is `pacbench calibrate`: pacbench's overhead against a
// raw etcd client on one cluster, alternating raw and pacbench runs.
func newCalibrateCmd(env *Env) *cobra.Command {
	var (
		o         calibrate.Options
		format    string
		endpoints string
		quiet     bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure pacbench's own overhead against a raw etcd client (alternating runs)",
		Long: `calibrate runs, on one etcd cluster (a local 3-member cluster unless
--endpoints is given), a minimal raw clientv3 closed loop (A) and pacbench's
engine with the same settings (B), alternating A B A B, and prints for each
pair the throughput ratio pacbench/raw and the service-time p50/p99
difference, then their min/median/max over the pairs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageErr("--format: %q is not table or json", format)
			}
			fl := cmd.Flags()
			if fl.Changed("read-ratio") && o.ReadRatio == 0 {
				o.WriteOnly = true
			}
			for _, c := range []struct {
				name string
				bad  bool
			}{
				{"pairs", o.Pairs < 1}, {"duration", o.Duration <= 0}, {"workers", o.Workers < 1},
				{"records", o.Records < 1}, {"value-size", o.ValueSize < 1},
				{"read-ratio", o.ReadRatio < 0 || o.ReadRatio > 1}, {"warmup", o.Warmup < 0},
			} {
				if c.bad {
					return usageErr("--%s: %s is out of range", c.name, fl.Lookup(c.name).Value)
				}
			}
			if o.Warmup == 0 {
				o.Warmup = -1 // an explicit 0: no warm-up
			}
			if endpoints != "" {
				o.Endpoints = strings.Split(endpoints, ",")
			}
			o.Exe = env.Exe
			o.Log = env.Stderr
			if quiet {
				o.Log = io.Discard
			}
			rep, err := calibrate.Run(cmd.Context(), o)
			if errors.Is(err, calibrate.ErrInvalidOptions) {
				return usageErr("%v", err)
			}
			if err != nil {
				return runErr(err)
			}
			if format == "json" {
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return runErr(fmt.Errorf("write report: %w", err))
				}
				return nil
			}
			if err := rep.WriteText(env.Stdout); err != nil {
				return runErr(fmt.Errorf("write report: %w", err))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Pairs, "pairs", calibrate.DefaultPairs, "number of A (raw) B (pacbench) pairs")
	fl.DurationVar(&o.Duration, "duration", calibrate.DefaultDuration, "measured time of every run")
	fl.DurationVar(&o.Warmup, "warmup", calibrate.DefaultWarmup, "unmeasured warm-up before every run (0: none)")
	fl.IntVar(&o.Workers, "workers", calibrate.DefaultWorkers, "concurrent closed-loop workers (sessions) on both sides")
	fl.IntVar(&o.Records, "records", calibrate.DefaultRecords, "number of keys (uniformly drawn)")
	fl.IntVar(&o.ValueSize, "value-size", calibrate.DefaultValueSize, "bytes per written value (at least 32)")
	fl.Float64Var(&o.ReadRatio, "read-ratio", calibrate.DefaultReadRatio, "fraction of reads, 0…1 (the rest are writes)")
	fl.StringVar(&o.Level, "level", calibrate.DefaultLevel, "etcd read level: serializable|linearizable")
	fl.StringVar(&o.ReadVia, "read-via", calibrate.DefaultReadVia, "member reads are pinned to: leader|follower")
	fl.StringVar(&o.WriteVia, "write-via", calibrate.DefaultWriteVia, "member writes are pinned to: leader|follower")
	fl.StringVar(&endpoints, "endpoints", "", "comma-separated client URLs of a running etcd cluster (default: start a local one)")
	fl.StringVar(&format, "format", "table", "stdout format: table|json")
	fl.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	return cmd
}
