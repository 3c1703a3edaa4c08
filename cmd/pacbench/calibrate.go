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
// raw etcd client on one cluster, alternating raw and pacbench runs
// (closed loop, or --open at a fixed rate).
func newCalibrateCmd(env *Env) *cobra.Command {
	var (
		o         calibrate.Options
		format    string
		endpoints string
		quiet     bool
		open      bool
	)
	cmd := &cobra.Command{
		Use:   "calibrate",
		Short: "Measure pacbench's own overhead against a raw etcd client (alternating runs)",
		Long: `calibrate runs, on one etcd cluster (a local 3-member cluster unless
--endpoints is given), a minimal raw clientv3 closed loop (A) and pacbench's
engine with the same settings (B), alternating A B A B, and prints for each
pair the throughput ratio pacbench/raw and the service-time p50/p99
difference, then their min/median/max over the pairs.

With --open it compares CPU time per op at a fixed rate instead: a raw
clientv3 loop paced by the simplest correct pacer and 'pacbench run' of the
same open-loop profile, each in a process of its own (so neither counts the
cluster or its proxies), alternating; --compare-exe adds another pacbench
binary (e.g. an older build) as a third side.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkCalibrateFlags(cmd, &o, format, open); err != nil {
				return err
			}
			if endpoints != "" {
				o.Endpoints = strings.Split(endpoints, ",")
			}
			o.Exe = env.Exe
			o.Log = env.Stderr
			if quiet {
				o.Log = io.Discard
			}
			var rep interface{ WriteText(io.Writer) error }
			var err error
			if open {
				rep, err = calibrate.RunOpen(cmd.Context(), o)
			} else {
				rep, err = calibrate.Run(cmd.Context(), o)
			}
			if errors.Is(err, calibrate.ErrInvalidOptions) {
				return usageErr("%v", err)
			}
			if err != nil {
				return runErr(err)
			}
			return writeCalibration(env, format, rep)
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&o.Pairs, "pairs", calibrate.DefaultPairs, "number of A (raw) B (pacbench) pairs")
	fl.DurationVar(&o.Duration, "duration", 0, fmt.Sprintf("measured time of every run (default %s; --open: %s)", calibrate.DefaultDuration, calibrate.DefaultOpenDuration))
	fl.DurationVar(&o.Warmup, "warmup", calibrate.DefaultWarmup, "unmeasured warm-up before every run (0: none)")
	fl.IntVar(&o.Workers, "workers", 0, fmt.Sprintf("concurrent workers (sessions) on both sides (default %d; --open: %d)", calibrate.DefaultWorkers, calibrate.DefaultOpenWorkers))
	fl.IntVar(&o.Records, "records", calibrate.DefaultRecords, "number of keys (uniformly drawn)")
	fl.IntVar(&o.ValueSize, "value-size", calibrate.DefaultValueSize, "bytes per written value (at least 32)")
	fl.Float64Var(&o.ReadRatio, "read-ratio", calibrate.DefaultReadRatio, "fraction of reads, 0…1 (the rest are writes)")
	fl.StringVar(&o.Level, "level", calibrate.DefaultLevel, "etcd read level: serializable|linearizable")
	fl.StringVar(&o.ReadVia, "read-via", calibrate.DefaultReadVia, "member reads are pinned to: leader|follower")
	fl.StringVar(&o.WriteVia, "write-via", calibrate.DefaultWriteVia, "member writes are pinned to: leader|follower")
	fl.StringVar(&endpoints, "endpoints", "", "comma-separated client URLs of a running etcd cluster (default: start a local one)")
	fl.StringVar(&format, "format", "table", "stdout format: table|json")
	fl.BoolVar(&quiet, "quiet", false, "no progress on stderr")
	fl.BoolVar(&open, "open", false, "open loop at --rate: CPU per op of pacbench vs a raw paced loop, each side its own process")
	fl.Float64Var(&o.Rate, "rate", calibrate.DefaultRate, "--open: target ops/s of both sides")
	fl.StringVar(&o.CompareExe, "compare-exe", "", "--open: another pacbench `binary` measured as a third side")
	cmd.AddCommand(newRawOpenCmd(env))
	return cmd
}

// checkCalibrateFlags rejects out-of-range flags (exit 2) and turns the
// flags' spellings into Options (an explicit 0 warm-up: none; an explicit
// 0 read ratio: write only).
func checkCalibrateFlags(cmd *cobra.Command, o *calibrate.Options, format string, open bool) error {
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
		{"pairs", o.Pairs < 1}, {"duration", fl.Changed("duration") && o.Duration <= 0},
		{"workers", fl.Changed("workers") && o.Workers < 1},
		{"records", o.Records < 1}, {"value-size", o.ValueSize < 1},
		{"read-ratio", o.ReadRatio < 0 || o.ReadRatio > 1}, {"warmup", o.Warmup < 0},
		{"rate", !(o.Rate > 0)}, {"rate", fl.Changed("rate") && !open}, {"compare-exe", o.CompareExe != "" && !open},
	} {
		if c.bad {
			return usageErr("--%s: %s is out of range (or needs --open)", c.name, fl.Lookup(c.name).Value)
		}
	}
	if o.Warmup == 0 {
		o.Warmup = -1 // an explicit 0: no warm-up
	}
	return nil
}

// writeCalibration prints a calibration report as format says.
func writeCalibration(env *Env, format string, rep interface{ WriteText(io.Writer) error }) error {
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
}

// newRawOpenCmd is the hidden `pacbench calibrate raw-open`: the raw side
// of `calibrate --open`, run by it as a child process, reading its
// calibrate.RawOpenSpec as JSON on stdin and printing its result as JSON.
func newRawOpenCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:    "raw-open",
		Short:  "The raw side of calibrate --open (run by it; spec as JSON on stdin)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var spec calibrate.RawOpenSpec
			if err := json.NewDecoder(cmd.InOrStdin()).Decode(&spec); err != nil {
				return usageErr("raw-open: spec on stdin: %v", err)
			}
			res, err := calibrate.RunRawOpen(cmd.Context(), spec, env.Stderr)
			if err != nil {
				return runErr(err)
			}
			return writeCalibration(env, "json", rawResult(res))
		},
	}
}

// rawResult lets a RawOpenResult go through writeCalibration.
type rawResult calibrate.RawOpenResult

func (rawResult) WriteText(io.Writer) error { return nil }
