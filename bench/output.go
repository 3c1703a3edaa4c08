package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/internal/impair"
	runplan "github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/profile"
)

// execution is one Execute call: the plan, the run directory and the sinks.
type execution struct {
	o     Options
	plan  *profile.Plan
	clock metrics.Clock
	out   *Outcome
	dir   *sink.Dir
	sinks *sink.Set
	names report.Names

	ctx         context.Context
	stage       atomic.Int32 // what the run is doing (stage* constants)
	interrupted atomic.Int32 // the stage an interrupt arrived in (0: none)

	deaths []report.MemberDeath // local members that died during the run
	notes  []string             // for the summary and the manifest (deaths, heals)
}

// Stages of an execution, to tell what an interrupt cut short.
const (
	stageRunning int32 = iota + 1
	stageWriting
	stageLingering
	stageDone
)

// enter moves to the next stage, noting first whether ctx was cancelled
// during the one ending (the first such stage is kept).
func (x *execution) enter(stage int32) {
	if x.ctx.Err() != nil {
		x.interrupted.CompareAndSwap(0, x.stage.Load())
	}
	x.stage.Store(stage)
}

// newExecution applies the defaults and checks the options that need no
// I/O: the plan, the run id and the interval.
func newExecution(o Options) (*execution, error) {
	if o.Profile == nil || o.Registry == nil {
		return nil, errors.New("bench: profile and registry are required")
	}
	if o.OutDir == "" {
		o.OutDir = "results"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Sinks == nil {
		o.Sinks = sink.Default()
	}
	if o.Interval == 0 {
		o.Interval = time.Second
	}
	if o.Interval < MinInterval || o.Interval > MaxInterval {
		return nil, sink.Usage(fmt.Errorf("interval %s is outside %s…%s (each interval writes one histogram per series to %s)",
			o.Interval, MinInterval, MaxInterval, sink.HlogFile))
	}
	plan, err := o.Profile.Plan(o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("bench: plan: %w", err)
	}
	if err := checkStartAt(o.StartAt, time.Now()); err != nil {
		return nil, err
	}
	if o.RunID == "" {
		o.RunID = defaultRunID(o.OutDir, plan.Profile.Name, time.Now())
	} else if err := sink.ValidateRunID(o.RunID); err != nil {
		return nil, fmt.Errorf("--run-id: %w", err)
	}
	x := &execution{o: o, plan: plan, out: &Outcome{}, clock: metrics.NewClock(),
		names: report.NewNames(plan.ScenarioNames(), plan.PhaseNames())}
	return x, nil
}

// checkStartAt refuses a start barrier that is not in the future: a shard
// started after it could never line up with the others.
func checkStartAt(at, now time.Time) error {
	if at.IsZero() || at.After(now) {
		return nil
	}
	return sink.Usage(fmt.Errorf("--start-at %s is already past (now %s): start every shard before the instant, or give a later one",
		at.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339)))
}

// defaultRunID is "<UTC timestamp>-<profile>", made safe, with "-2", "-3",
// … appended while a run of that id exists in out.
func defaultRunID(out, profileName string, now time.Time) string {
	name := sanitize(profileName)
	if name == "" {
		name = "run"
	}
	id := now.UTC().Format("20060102-150405") + "-" + name
	id = id[:min(len(id), sink.MaxRunIDLen-8)]
	for n, base := 2, id; ; n++ {
		if _, err := os.Lstat(filepath.Join(out, id)); err != nil {
			return id // free (or --out is unusable: NewDir says so)
		}
		id = fmt.Sprintf("%s-%d", base, n)
	}
}

// openOutputs cleans what dead runs left, creates the staged run directory
// (refusing to replace anything silently), binds the sinks and starts
// them — all before anything else starts.
func (x *execution) openOutputs(ctx context.Context) error {
	o := x.o
	swept, err := sink.Sweep(o.OutDir, false)
	for _, line := range swept {
		fmt.Fprintf(o.Log, "results: %s\n", line)
	}
	x.out.Notes = append(x.out.Notes, swept...)
	if err != nil {
		x.out.Notes = append(x.out.Notes, err.Error())
	}
	dir, err := sink.NewDir(o.OutDir, o.RunID, o.Overwrite)
	if err != nil {
		return err
	}
	x.dir = dir
	set, err := o.Sinks.Open(ctx, sink.Config{MetricsAddr: o.MetricsAddr, RemoteWrite: o.RemoteWrite, Linger: o.Linger, Progress: o.Progress,
		ProgressTTY: o.ProgressTTY, Log: o.Log})
	if err != nil {
		_ = dir.Abort()
		return err
	}
	x.sinks = set
	if a, ok := set.Find("prometheus").(interface{ Addr() string }); ok {
		x.out.MetricsAddr = a.Addr()
	}
	if err := set.Start(x.info()); err != nil {
		x.discard()
		done, cancel := context.WithCancel(ctx)
		cancel() // nothing ran: no linger
		_ = set.Stop(done)
		return fmt.Errorf("%w: %w", ErrOutput, err)
	}
	x.ctx = ctx
	return nil
}

func (x *execution) info() sink.Info {
	return runInfo(x.plan, x.o.RunID, x.o.Version, x.names, x.clock.Base(), x.o.Interval, x.dir)
}

// runInfo is what the sinks of a run (or of a merge) start with.
func runInfo(p *profile.Plan, runID, version string, names report.Names, base time.Time, interval time.Duration, dir *sink.Dir) sink.Info {
	levels := make([]string, len(p.Scenarios))
	for i, s := range p.Scenarios {
		levels[i] = s.Levels.String()
	}
	shard := ""
	if p.Shard.Sharded() {
		shard = p.Shard.String()
	}
	return sink.Info{RunID: runID, Profile: p.Profile.Name, Version: version, System: p.Profile.System.Driver, Shard: shard,
		Mode: p.Mode, Scenarios: p.ScenarioNames(), Phases: p.PhaseNames(), Levels: levels, Names: names,
		ClockBase: base, Interval: interval, Dir: dir}
}

// discard finishes the sinks and removes the staged directory: nothing
// was measured.
func (x *execution) discard() {
	x.sinks.Finish(&sink.End{})
	_ = x.dir.Abort()
}

// run runs the plan, feeding every interval to the sinks. A sink that
// fails stops the run early (ErrOutput).
func (x *execution) run(ctx context.Context, cfg runner.Config) (*runner.Result, error) {
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	cfg.OnTick = func(t runner.Tick) {
		st := sink.Tick{Interval: t.Interval, Phase: t.Phase, Elapsed: t.Elapsed, Ops: t.Ops, Errors: t.Errors,
			P99: t.P99, Final: t.Final, Checks: t.Recorder.Checks()}
		if err := x.sinks.AddInterval(st, t.Recorder.Results); err != nil && runCtx.Err() == nil {
			fmt.Fprintf(x.o.Log, "output failed at %s, stopping the run: %v\n", t.Elapsed.Round(time.Millisecond), err)
			cancel(fmt.Errorf("%w at %s of the run: %w", ErrOutput, t.Elapsed.Round(time.Millisecond), err))
		}
	}
	cfg.OnImpairments = func(active []impair.Action) { x.sinks.Impairments(active) }
	x.enter(stageRunning)
	res, err := runner.Run(runCtx, cfg)
	if cause := context.Cause(runCtx); errors.Is(cause, ErrOutput) {
		err = fmt.Errorf("run stopped early: %w", cause)
	}
	return res, err
}

// finish writes the results (summary first), commits the run directory
// and says what an interrupt after the last phase did.
func (x *execution) finish(res *runner.Result, cfg runner.Config, runErr error) (*Outcome, error) {
	x.enter(stageWriting)
	if res == nil || res.Recorder == nil {
		x.discard()
		return x.out, runErr
	}
	drv, _ := x.o.Registry.Lookup(x.plan.Profile.System.Driver)
	sum := report.Build(report.Input{RunID: x.o.RunID, Plan: x.plan, Result: res, Driver: drv})
	man := x.manifest(res, cfg, runErr)
	if runErr != nil {
		sum.Partial = true
	}
	var cs *metrics.Checks
	if res.Results != nil {
		cs = res.Results.Checks
	}
	if err := EvaluateThresholds(x.plan.Profile, cs, sum); err != nil {
		x.notes = append(x.notes, err.Error())
	}
	end := &sink.End{Summary: sum, Manifest: man, Results: res.Results, Linearizability: res.Linearizability, Err: runErr}
	if m, err := report.NewMeasurements(x.o.RunID, res); err != nil {
		x.notes = append(x.notes, err.Error())
	} else {
		end.Measurements = m
	}
	for _, n := range x.notes {
		end.AddNote(n)
	}
	if runErr == nil && x.interrupted.Load() == stageRunning {
		end.AddNote("interrupt received after the last phase ended: the measurements were complete")
	}
	x.sinks.Finish(end)
	werr := x.sinks.WriteFiles(x.dir, end)
	note, cerr := x.dir.Commit()
	x.out.Summary = sum
	if cerr == nil {
		x.out.Dir = x.dir.Path()
	}
	if note != "" {
		fmt.Fprintf(x.o.Log, "results: %s\n", note)
		x.out.Notes = append(x.out.Notes, note)
	}
	if werr != nil || cerr != nil {
		return x.out, errors.Join(runErr, fmt.Errorf("%w: results incomplete: %w", ErrOutput, errors.Join(werr, cerr)))
	}
	return x.out, runErr
}

func (x *execution) manifest(res *runner.Result, cfg runner.Config, runErr error) *report.Manifest {
	man := &report.Manifest{
		Schema:    report.ManifestSchema,
		RunID:     x.o.RunID,
		Partial:   res.Partial || runErr != nil,
		Versions:  Versions(x.o.Version, x.plan.Profile.System.Driver),
		Profile:   x.plan.Profile,
		Overrides: x.plan.Profile.Overrides,
		Env:       x.plan.Profile.Env,
		Topology: report.Topology{Members: res.Members, Aliases: res.Aliases, Links: cfg.Links,
			ReadEndpoints: res.ReadEndpoints, WriteEndpoints: res.WriteEndpoints, WriterEndpoints: res.WriterEndpoints},
		StartedAt:   res.Start.UTC().Format(time.RFC3339Nano),
		EndedAt:     res.End.UTC().Format(time.RFC3339Nano),
		ClockBase:   x.clock.Base().UTC().Format(time.RFC3339Nano),
		IntervalMs:  float64(x.o.Interval) / 1e6,
		Phases:      res.Phases,
		Load:        res.Load,
		Audits:      res.Audits,
		Notes:       append([]string(nil), res.Errors...),
		MembersDied: x.deaths,
	}
	if runErr != nil {
		man.Error = runErr.Error()
	}
	man.Shard = manifestShard(cfg.Plan)
	man.StartBarrier = startBarrier(x.o.StartAt, cfg, res)
	return man
}

// manifestShard describes the plan's part of a sharded run (nil: whole).
func manifestShard(p *runplan.Plan) *report.ManifestShard {
	if p == nil || !p.Shard.Sharded() {
		return nil
	}
	sh := p.Shard
	return &report.ManifestShard{Index: sh.Index, Count: sh.Count, Keys: fmt.Sprintf("k mod %d = %d", sh.Count, sh.Index),
		Records: p.Workload.Records, FirstWorker: sh.FirstWorker, Workers: p.Load.Schedule.Workers(), TotalWorkers: sh.Workers}
}

// startBarrier records the barrier and each phase's skew (nil: none).
func startBarrier(at time.Time, cfg runner.Config, res *runner.Result) *report.StartBarrier {
	if at.IsZero() {
		return nil
	}
	gap := cfg.PhaseGap
	if gap <= 0 && cfg.Plan != nil {
		gap = runner.DefaultPhaseGap(cfg.Plan.System.OpTimeout)
	}
	b := &report.StartBarrier{At: at.UTC().Format(time.RFC3339Nano), PhaseGapMs: float64(gap) / 1e6, Phases: []report.PhaseSkew{}}
	base := res.Clock.Base()
	for _, w := range res.Phases {
		b.Phases = append(b.Phases, report.PhaseSkew{Name: w.Name,
			PlannedAt: base.Add(time.Duration(w.PlannedNs)).UTC().Format(time.RFC3339Nano),
			SkewMs:    float64(w.StartNs-w.PlannedNs) / 1e6})
	}
	return b
}

// stopOutputs stops the sinks (the metrics endpoint lingers, cut short by
// ctx) and says what an interrupt after the last phase did.
func (x *execution) stopOutputs(ctx context.Context) {
	x.enter(stageLingering)
	deadline, cancel := context.WithTimeout(ctx, x.o.Linger+10*time.Second)
	defer cancel()
	if err := x.sinks.Stop(deadline); err != nil {
		fmt.Fprintf(x.o.Log, "outputs: %v\n", err)
	}
	x.enter(stageDone)
	complete := "results written completely"
	if x.out.Dir == "" {
		complete = "no results were written"
	}
	switch x.interrupted.Load() {
	case stageRunning:
		if x.out.Summary != nil && !x.out.Summary.Partial {
			x.out.Interrupt = "interrupt received after the last phase ended: the run was complete; " + complete
		}
	case stageWriting:
		x.out.Interrupt = "interrupt received during result writing: " + complete
	case stageLingering:
		x.out.Interrupt = "interrupt received while /metrics lingered: /metrics closed early; " + complete
	}
}
