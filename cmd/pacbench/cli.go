package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/registry"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/profiles"
	"github.com/pacbench/pacbench/workloads"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// Exit codes (DESIGN.md, CLI contract).
const (
	ExitOK    = 0 // success
	ExitRun   = 1 // the run failed (database, impairment, I/O, interrupted)
	ExitUsage = 2 // bad flags, bad arguments, invalid profile
	// ExitThreshold: the run completed and its results were written, but a
	// threshold (profile thresholds: or --threshold) failed.
	ExitThreshold = 3
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

func runErr(err error) error { return &exitError{code: ExitRun, err: err} }

// runErrIf is runErr for a possibly nil error.
func runErrIf(err error) error {
	if err == nil {
		return nil
	}
	return runErr(err)
}

// Env is the injected environment of a command invocation, so commands are
// testable end to end.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// LookupEnv resolves ${NAME} in profiles (default: from Getenv, a
	// variable being set when it is not empty; main passes os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// Context is cancelled on the first SIGINT/SIGTERM (main) or by the
	// test: a graceful stop.
	Context context.Context
	// Abandon is closed on the second signal: stop waiting for heals and
	// the local cluster, report what may be left in place. Nil: never.
	Abandon <-chan struct{}
	// HealHint, if set, is told what a forced exit would leave in place
	// and how to remove it (the third signal prints it).
	HealHint func(string)
	// StderrTTY says whether stderr is a terminal (status line in place).
	StderrTTY bool
	// Exe is the binary re-executed for local cluster members.
	Exe string
	// Registry of drivers (default: every built-in driver).
	Registry *drivers.Registry
	// Impairers holds the impairment backends (default impair.Builtin()).
	Impairers *impair.Registry
	// Sinks are the outputs of a run (default: sink.Default()).
	Sinks *sink.Registry
	// Formats are the stdout formats of run (default: sink.DefaultFormats()).
	Formats *sink.Formats
}

func main() {
	cluster.MaybeRunMember()
	// Toxiproxy logs through zerolog's global logger; keep it quiet.
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	iv, ctx := newInterrupts(context.Background(), os.Stderr, os.Exit)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go iv.watch(sigs)
	fi, _ := os.Stderr.Stat()
	env := Env{
		Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, LookupEnv: os.LookupEnv, Context: ctx, Abandon: iv.Abandon(),
		StderrTTY: fi != nil && fi.Mode()&os.ModeCharDevice != 0, HealHint: iv.SetHint,
	}
	code := Main(os.Args[1:], env)
	signal.Stop(sigs)
	os.Exit(code)
}

// Main runs the pacbench command line with args and returns the exit code.
func Main(args []string, env Env) int {
	if env.Registry == nil {
		env.Registry = registry.Default()
	}
	if env.Impairers == nil {
		env.Impairers = impair.Builtin()
	}
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.LookupEnv == nil {
		get := env.Getenv
		env.LookupEnv = func(k string) (string, bool) { v := get(k); return v, v != "" }
	}
	if env.Context == nil {
		env.Context = context.Background()
	}
	if env.Formats == nil {
		env.Formats = sink.DefaultFormats()
	}
	root := newRoot(&env)
	root.SetArgs(args)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(env.Context)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		fmt.Fprintf(env.Stderr, "pacbench: %v\n", ee.err)
		if ee.code == ExitUsage && !errors.Is(err, profile.ErrInvalid) {
			fmt.Fprintln(env.Stderr, "run 'pacbench --help' for usage")
		}
		return ee.code
	}
	// cobra's own errors (unknown command, bad flag) are usage errors.
	fmt.Fprintf(env.Stderr, "pacbench: %v\nrun 'pacbench --help' for usage\n", err)
	return ExitUsage
}

func newRoot(env *Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "pacbench",
		Short: "Measure the PACELC latency/consistency trade-off of real databases",
		Long: `pacbench runs the same workload through Cassandra, MongoDB and etcd at several
consistency levels under scheduled network impairments, and reports latency
percentiles, staleness, availability and consistency violations.

With no profile, 'pacbench run' starts a local 3-member etcd cluster and runs
the built-in quickstart: linearizable vs serializable reads through a follower.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr("%v", err) })
	root.AddCommand(newRunCmd(env), newValidateCmd(env), newDriversCmd(env), newHealCmd(env),
		newVersionCmd(env), newClusterCmd(env), newCalibrateCmd(env), newReportCmd(env), newCompareCmd(env), newMergeCmd(env))
	return root
}

// metricsAddrEnv names the environment variable that, when set and
// --metrics-addr is not given, replaces the flag's loopback default (the
// compose stack's pacbench service sets it to 0.0.0.0:9464 so that
// Prometheus scrapes it by service name).
const metricsAddrEnv = "PACBENCH_METRICS_ADDR"

type runFlags struct {
	profile, out, format, metricsAddr, runID string
	thresholds                               []string
	shard, startAt, remoteWrite              string
	params                                   []string // -p PATH=VALUE
	sweep, kneeOp                            string   // --sweep PATH=VALUES, --knee-op
	kneeP99, sweepWarmup                     time.Duration
	duration, linger, interval, healTimeout  time.Duration
	seed                                     int64
	quiet, dryRun, overwrite                 bool
	runIDSet                                 bool // --run-id given (even empty)
	metricsFromEnv                           bool // metricsAddr is $PACBENCH_METRICS_ADDR
}

func newRunCmd(env *Env) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a profile (default: the built-in quickstart on a local etcd cluster)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.runIDSet = cmd.Flags().Changed("run-id")
			if v := env.Getenv(metricsAddrEnv); v != "" && !cmd.Flags().Changed("metrics-addr") {
				f.metricsAddr, f.metricsFromEnv = v, true
			}
			return runRun(cmd.Context(), env, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "", "profile YAML `file` (default: built-in quickstart)")
	fl.StringArrayVarP(&f.params, "param", "p", nil, "set a profile field, `PATH=VALUE` (repeatable): load.rate=2000, levels[0].read=QUORUM, system.endpoints=a:1,b:2")
	fl.DurationVar(&f.duration, "duration", 0, "override every phase's duration (e.g. 5s), but a warm-up's and a fault schedule's")
	fl.StringVar(&f.out, "out", "results", "parent `dir` of the run's results directory")
	fl.StringVar(&f.format, "format", "table", "stdout format: table|json (json: the summary document alone)")
	fl.StringVar(&f.metricsAddr, "metrics-addr", "127.0.0.1:9464", "serve Prometheus /metrics on `host:port` (\"off\" disables; default $"+metricsAddrEnv+" if set)")
	fl.DurationVar(&f.linger, "linger", 0, "keep /metrics up this long after the run so the last scrape is not lost")
	fl.DurationVar(&f.interval, "interval", time.Second, fmt.Sprintf("measurement interval (hlog, metrics), %s to %s; progress prints at most once a second", bench.MinInterval, bench.MaxInterval))
	fl.Int64Var(&f.seed, "seed", 0, "override the profile's seed (deterministic keys, mix and arrivals)")
	fl.StringVar(&f.runID, "run-id", "", "name of the results directory inside --out: letters, digits, '.', '_', '-' (default: timestamp-profile)")
	fl.BoolVar(&f.overwrite, "overwrite", false, "replace an existing run directory of that --run-id (only one pacbench wrote)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress on stderr")
	fl.DurationVar(&f.healTimeout, "heal-timeout", impair.DefaultClearTimeout, "how long to wait for the impairment backend to heal before reporting what is left in place")
	fl.StringArrayVar(&f.thresholds, "threshold", nil, "pass/fail `condition` on the results, e.g. 'read.p99(baseline) < 20ms' (repeatable; exit 3 if one fails; docs/results.md#thresholds)")
	fl.StringVar(&f.shard, "shard", "", "run shard `I/N` of a run split over N processes (0 ≤ I < N): keys k mod N = I, 1/N of the workers and rate; overrides the profile's shard")
	fl.StringVar(&f.startAt, "start-at", "", "start barrier: begin the first phase at this RFC 3339 `instant` (e.g. 2030-01-01T00:05:00Z), later phases at their planned offsets; refused if already past")
	fl.StringVar(&f.remoteWrite, "remote-write", "", "also push the metrics to a Prometheus remote-write `url` every interval and at the end (e.g. http://127.0.0.1:9090/api/v1/write; for short runs and pods that end)")
	addSweepFlags(fl, &f)
	fl.BoolVar(&f.dryRun, "dry-run", false, "print each phase's impairment commands (netem: docker exec tc/iptables; toxiproxy: toxics) and exit without running")
	return cmd
}

// checkRunFlags rejects bad flags before anything starts (exit 2).
func checkRunFlags(env *Env, f runFlags) (sink.Format, error) {
	format, err := env.Formats.Lookup(f.format)
	if err != nil {
		return nil, usageErr("--format: %v", err)
	}
	if f.duration < 0 {
		return nil, usageErr("--duration: must be positive, got %s", f.duration)
	}
	if f.interval < bench.MinInterval || f.interval > bench.MaxInterval {
		return nil, usageErr("--interval: %s is outside %s…%s (each interval writes one histogram per series to the interval log)",
			f.interval, bench.MinInterval, bench.MaxInterval)
	}
	if f.linger < 0 {
		return nil, usageErr("--linger: must not be negative, got %s", f.linger)
	}
	if f.runIDSet {
		if err := sink.ValidateRunID(f.runID); err != nil {
			return nil, usageErr("--run-id: %v", err)
		}
	}
	if f.metricsAddr != "off" {
		if err := sink.ValidateListenAddr(f.metricsAddr); err != nil {
			name := "--metrics-addr"
			if f.metricsFromEnv {
				name = "$" + metricsAddrEnv
			}
			return nil, usageErr("%s: %v (or \"off\")", name, err)
		}
	}
	if f.remoteWrite != "" {
		if _, err := sink.ValidateRemoteWrite(f.remoteWrite); err != nil {
			return nil, usageErr("%v", err)
		}
	}
	return format, nil
}

func runRun(ctx context.Context, env *Env, f runFlags) error {
	format, prof, startAt, err := prepareRun(env, f)
	if err != nil {
		return err
	}
	if f.dryRun {
		if err := bench.DryRun(prof, env.Impairers, env.Stdout); err != nil {
			return runErr(err)
		}
		return nil
	}
	if env.HealHint != nil {
		env.HealHint(healHint(prof, f.profile))
	}
	if f.sweep != "" || prof.Sweep != nil {
		return runSweep(ctx, env, f, executeOptions(env, f, prof, startAt))
	}
	out, err := bench.Execute(ctx, executeOptions(env, f, prof, startAt))
	if errors.Is(err, bench.ErrUsage) {
		return usageErr("%v", err)
	}
	if err := printOutcome(env, format, out); err != nil {
		return err
	}
	if out != nil && out.Interrupt != "" {
		fmt.Fprintf(env.Stderr, "pacbench: %s\n", out.Interrupt)
	}
	if err != nil {
		if errors.Is(err, runner.ErrInterrupted) {
			return runErr(fmt.Errorf("%w\n(%s)", err, stopReport(out)))
		}
		return runErr(err)
	}
	if out != nil && out.Summary != nil {
		return thresholdsErr(out.Summary.Thresholds)
	}
	return nil
}

// prepareRun checks run's flags and loads the profile with its overrides,
// thresholds and shard: every usage error (exit 2) before anything starts.
func prepareRun(env *Env, f runFlags) (sink.Format, *profile.Profile, time.Time, error) {
	fail := func(err error) (sink.Format, *profile.Profile, time.Time, error) {
		return nil, nil, time.Time{}, err
	}
	format, err := checkRunFlags(env, f)
	if err != nil {
		return fail(err)
	}
	if f.healTimeout <= 0 || f.healTimeout > 10*time.Minute {
		return fail(usageErr("--heal-timeout: want a duration in (0, 10m], got %s", f.healTimeout))
	}
	startAt, err := parseStartAt(f.startAt, time.Now())
	if err != nil {
		return fail(err)
	}
	sets, err := parseOverrides(f.params)
	if err != nil {
		return fail(err)
	}
	prof, err := loadProfile(env, f.profile, sets)
	if err != nil {
		return fail(err)
	}
	if err := addThresholds(prof, f.thresholds); err != nil {
		return fail(err)
	}
	if err := checkShard(prof, f.shard); err != nil {
		return fail(err)
	}
	return format, prof, startAt, nil
}

// executeOptions are bench.Execute's options for run's flags and env.
func executeOptions(env *Env, f runFlags, prof *profile.Profile, startAt time.Time) bench.Options {
	addr := f.metricsAddr
	if addr == "off" {
		addr = ""
	}
	var progress io.Writer
	if !f.quiet {
		progress = env.Stderr
	}
	return bench.Options{
		Profile:     prof,
		Overrides:   profile.Overrides{Duration: f.duration, Seed: f.seed, Shard: f.shard},
		StartAt:     startAt,
		Registry:    env.Registry,
		Sinks:       env.Sinks,
		OutDir:      f.out,
		RunID:       f.runID,
		Overwrite:   f.overwrite,
		MetricsAddr: addr,
		RemoteWrite: f.remoteWrite,
		Linger:      f.linger,
		Interval:    f.interval,
		Progress:    progress,
		ProgressTTY: env.StderrTTY,
		Log:         logWriter(env, f.quiet),
		Getenv:      env.Getenv,
		Version:     version,
		DryRun:      f.dryRun,
		DryRunOut:   env.Stderr,
		Exe:         env.Exe,
		Impairers:   env.Impairers,
		Abandon:     env.Abandon,
		HealTimeout: f.healTimeout,
		ProfileFile: f.profile,
	}
}

// printOutcome writes the summary in format on stdout, its notes and the
// results directory on stderr (nothing without a summary).
func printOutcome(env *Env, format sink.Format, out *bench.Outcome) error {
	if out == nil || out.Summary == nil {
		return nil
	}
	if err := format(env.Stdout, out.Summary); err != nil {
		return runErr(fmt.Errorf("stdout: %w", err))
	}
	for _, n := range out.Summary.Notes {
		fmt.Fprintf(env.Stderr, "note: %s\n", n)
	}
	if out.Dir != "" {
		fmt.Fprintf(env.Stderr, "results: %s\n", out.Dir)
	}
	return nil
}

// parseStartAt reads --start-at: an RFC 3339 instant in the future (zero
// when not given).
func parseStartAt(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, usageErr("--start-at: %q is not an RFC 3339 instant (e.g. 2030-01-01T00:05:00Z): %v", s, err)
	}
	if !at.After(now) {
		return time.Time{}, usageErr("--start-at %s is already past (now %s): start every shard before the instant, or give a later one",
			at.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339))
	}
	return at, nil
}

// checkShard validates --shard against the profile (exit 2): the shard
// must be well formed and the run splittable that many ways.
func checkShard(p *profile.Profile, shard string) error {
	if shard == "" {
		return nil
	}
	if _, err := workloads.ParseShard(shard); err != nil {
		return usageErr("--shard: %v", err)
	}
	if _, err := p.Plan(profile.Overrides{Shard: shard}); err != nil {
		return usageErr("--shard %s: %v", shard, err)
	}
	return nil
}

func logWriter(env *Env, quiet bool) io.Writer {
	if quiet {
		return io.Discard
	}
	return env.Stderr
}

// parseOverrides parses the -p settings; a malformed one is a usage error.
func parseOverrides(specs []string) ([]profile.Override, error) {
	out := make([]profile.Override, 0, len(specs))
	for _, s := range specs {
		ov, err := profile.ParseOverride(s)
		if err != nil {
			return nil, usageErr("-p: %v", err)
		}
		out = append(out, ov)
	}
	return out, nil
}

// loadProfile reads and validates a profile file, or the built-in
// quickstart when path is empty, with the overrides sets applied and
// ${…} expanded from the environment. Invalid profiles are usage errors.
func loadProfile(env *Env, path string, sets []profile.Override) (*profile.Profile, error) {
	name, data := "quickstart.yaml (built-in)", profiles.Quickstart()
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, usageErr("--profile: %v", err)
		}
		name, data = path, b
	}
	p, err := profile.Parse(name, data, profile.Options{Registry: env.Registry, Impairers: env.Impairers,
		Set: sets, LookupEnv: env.LookupEnv})
	if err != nil {
		return nil, &exitError{code: ExitUsage, err: fmt.Errorf("invalid profile:\n%w", err)}
	}
	return p, nil
}

func newValidateCmd(env *Env) *cobra.Command {
	var params []string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check profiles; report every problem with file:line (exit 2 if any)",
		Long: `Check profiles; report every problem with file:line (exit 2 if any).
With -p, each profile is checked with the overrides applied and printed as
it would run (YAML, defaults and overrides applied).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			sets, err := parseOverrides(params)
			if err != nil {
				return err
			}
			bad := 0
			for _, path := range args {
				if !validateOne(env, path, sets) {
					bad++
				}
			}
			if bad > 0 {
				return &exitError{code: ExitUsage, err: fmt.Errorf("%d of %d profiles invalid: %w", bad, len(args), profile.ErrInvalid)}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "set a profile field, `PATH=VALUE` (repeatable), as for run")
	return cmd
}

// validateOne checks one profile, printing its problems or an ok line
// (and, with overrides, the profile after them); it reports whether the
// profile is valid.
func validateOne(env *Env, path string, sets []profile.Override) bool {
	p, err := loadProfile(env, path, sets)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) && errors.Is(err, profile.ErrInvalid) {
			fmt.Fprintln(env.Stdout, strings.TrimPrefix(ee.err.Error(), "invalid profile:\n"))
		} else {
			fmt.Fprintf(env.Stdout, "%s: %v\n", path, err)
		}
		return false
	}
	plan, err := p.Plan(profile.Overrides{})
	if err != nil {
		fmt.Fprintf(env.Stdout, "%s: %v\n", path, err)
		return false
	}
	var total time.Duration
	for _, ph := range plan.Phases {
		total += ph.Duration.D()
	}
	th := ""
	if n := len(p.Thresholds); n > 0 {
		th = fmt.Sprintf(", %d thresholds", n)
	}
	fmt.Fprintf(env.Stdout, "%s: ok — %s, %d scenarios × %d phases (%s), %s%s\n", path, p.System.Driver,
		len(plan.Scenarios), len(plan.Phases), total, plan.Mode, th)
	printDrawn(env.Stdout, plan)
	if note := poolNote(plan.Profile); note != "" {
		fmt.Fprintf(env.Stdout, "%s: %s\n", path, note)
	}
	if len(sets) > 0 {
		b, err := p.YAML()
		if err != nil {
			fmt.Fprintf(env.Stdout, "%s: cannot print the profile: %v\n", path, err)
			return false
		}
		fmt.Fprintf(env.Stdout, "# %s after %s\n%s", path, strings.Join(p.Overrides, " "), b)
	}
	return true
}

// printDrawn lists the faults the plan's fault schedules draw with its
// seed (what a run with that seed applies, and when).
func printDrawn(w io.Writer, plan *profile.Plan) {
	for _, ph := range plan.Phases {
		for i, d := range ph.Drawn {
			fmt.Fprintf(w, "  phase %s fault %d/%d (seed %d): %s\n", ph.Name, i+1, len(ph.Drawn), plan.Seed, d)
		}
	}
}

// poolNote returns validate's note on an open-loop pool that Little's law
// finds too small under faults: when every op waits out system.op_timeout
// (a partitioned coordinator), rate × op_timeout workers are busy, and with
// fewer the other ops wait for them ("" when the pool covers it or the
// model has no constant rate).
func poolNote(p *profile.Profile) string {
	l := p.Load
	if l.Model != profile.ModelOpen || !(l.Rate > 0) {
		return ""
	}
	timeout := p.System.OpTimeout.D()
	need := int(math.Ceil(l.Rate * timeout.Seconds()))
	if have := max(l.Workers, l.MaxWorkers); have >= need {
		return ""
	}
	return fmt.Sprintf("note: load: at most %d workers for %g ops/s; ops that wait out system.op_timeout (%s) under a fault "+
		"keep rate × timeout = %d busy, and the others then wait for them (no_worker): set load.max_workers ≥ %d",
		max(l.Workers, l.MaxWorkers), l.Rate, timeout, need, need)
}

func newDriversCmd(env *Env) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "drivers",
		Short: "List drivers and their consistency levels",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var infos []drivers.Info
			for _, n := range env.Registry.Names() {
				d, _ := env.Registry.Lookup(n)
				infos = append(infos, d.Info())
			}
			switch format {
			case "json":
				enc := json.NewEncoder(env.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(infos)
			case "table":
			default:
				return usageErr("--format: %q is not table or json", format)
			}
			for _, in := range infos {
				fmt.Fprintf(env.Stdout, "%s — %s\n", in.Name, in.Description)
				tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', 0)
				for _, l := range in.Levels {
					fmt.Fprintf(tw, "  %s\t%s\t(default %s)\t%s\n", l.Key, strings.Join(l.Values, " "), orDash(l.Default), l.Doc)
				}
				_ = tw.Flush()
				if len(in.Ops) > 0 {
					fmt.Fprintf(env.Stdout, "  ops: %s\n", strings.Join(in.Ops, " "))
				}
				if len(in.Options) > 0 {
					opts := make([]string, 0, len(in.Options))
					for _, o := range in.Options {
						opts = append(opts, o.Key)
					}
					sort.Strings(opts)
					fmt.Fprintf(env.Stdout, "  options: %s\n", strings.Join(opts, " "))
				}
				fmt.Fprintln(env.Stdout)
			}
			writeImpairers(env.Stdout, env.Impairers)
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table|json")
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newVersionCmd(env *Env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pacbench's version and the versions of the clients it embeds",
		Args:  cobra.NoArgs,
		Run: func(*cobra.Command, []string) {
			fmt.Fprintf(env.Stdout, "pacbench %s (%s %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			v := bench.Versions(version, "")
			keys := make([]string, 0, len(v))
			for k := range v {
				if strings.Contains(k, "/") {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(env.Stdout, "  %s %s\n", k, v[k])
			}
		},
	}
}

func newClusterCmd(env *Env) *cobra.Command {
	c := &cobra.Command{Use: "cluster", Short: "Start local database clusters in the foreground"}
	var members int
	etcd := &cobra.Command{
		Use:   "etcd",
		Short: "Start the local 3-member etcd cluster (behind Toxiproxy) until Ctrl-C",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if members < 1 {
				return usageErr("--members: must be at least 1")
			}
			cl, err := cluster.StartEtcd(cmd.Context(), cluster.EtcdOptions{Members: members, Exe: env.Exe})
			if err != nil {
				return runErr(fmt.Errorf("local etcd cluster: %w", err))
			}
			defer cl.Stop()
			fmt.Fprintf(env.Stdout, "ETCD_ENDPOINTS=%s\n", strings.Join(cl.Endpoints(), ","))
			fmt.Fprintf(env.Stdout, "TOXIPROXY_API=%s\n", cl.ToxiproxyAPI())
			for _, m := range cl.Topology().Members {
				from := slices.Sorted(maps.Values(m.PeerFrom))
				fmt.Fprintf(env.Stdout, "member %s: client proxy %s, peer proxy %s, peer proxies by dialer %s\n", m.Name, m.ClientProxy, m.PeerProxy, strings.Join(from, " "))
			}
			fmt.Fprintln(env.Stderr, "cluster running; Ctrl-C to stop")
			<-cmd.Context().Done()
			fmt.Fprintln(env.Stderr, "stopping cluster")
			return nil
		},
	}
	etcd.Flags().IntVar(&members, "members", 3, "number of members")
	c.AddCommand(etcd)
	return c
}
