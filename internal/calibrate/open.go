package calibrate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/pacbench/pacbench/workloads"
)

// OpenSchema names the OpenReport's JSON layout.
const OpenSchema = "pacbench.calibration.open/v1"

// Side names of an open-loop calibration.
const (
	SideRaw      = "raw"
	SidePacbench = "pacbench"
	SideCompare  = "compare"
)

// RunOpen calibrates pacbench's open loop (issue 18): at a fixed rate on
// one etcd cluster, it alternates a raw clientv3 loop paced by the
// simplest correct pacer (RunRawOpen) and `pacbench run` of the same
// open-loop profile, each in a process of its own (so the CPU time
// measured is that side's alone: not the local cluster's members nor its
// in-process Toxiproxy, which stay in this process), and reports the CPU
// time per op of each side pair by pair and the spread of their ratio.
// o.CompareExe adds a third side (another pacbench binary). The order of
// the sides alternates from pair to pair (A B C, C B A, …). Zero fields
// take their defaults (RunOpen's own: DefaultRate, DefaultOpenWorkers,
// DefaultOpenDuration). Linux only (/proc). Errors from bad options wrap
// ErrInvalidOptions.
func RunOpen(ctx context.Context, o Options) (_ *OpenReport, err error) {
	if o.Workers == 0 {
		o.Workers = DefaultOpenWorkers
	}
	if o.Duration == 0 {
		o.Duration = DefaultOpenDuration
	}
	if o, err = o.withDefaults(); err != nil {
		return nil, err
	}
	if o.Exe == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("calibrate: this binary: %w", err)
		}
	}
	rep := &OpenReport{Schema: OpenSchema, Settings: openSettings(o)}
	tg, err := startTarget(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, tg.close()) }()
	raw, endpoints, s := tg.raw, tg.endpoints, &rep.Settings
	s.LocalCluster, s.Members = tg.local, raw.members
	s.ReadMember, s.ReadEndpoint, s.WriteMember, s.WriteEndpoint = tg.routes()
	spec, errs := workloads.FromProfile(workloadConfig(o.Records, o.ValueSize, o.ReadRatio))
	if len(errs) > 0 {
		return nil, fmt.Errorf("calibrate: workload: %w", errs[0])
	}
	if err := raw.load(ctx, o, spec); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pacbench-calibrate-open-")
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	defer os.RemoveAll(dir)
	sides := openSides(o, endpoints, s, dir)
	for i := range o.Pairs {
		p, err := runOpenPair(ctx, o, sides, i)
		if err != nil {
			return nil, err
		}
		rep.Pairs = append(rep.Pairs, p)
	}
	rep.Settings.LoadAvgEnd = loadAvg()
	rep.summarize()
	return rep, nil
}

// openSide is one side of an open-loop calibration: how to run it as a
// child process for pair i.
type openSide struct {
	name string
	run  func(ctx context.Context, i int) (OpenSide, error)
}

// openSides returns the sides to alternate: raw, pacbench (this binary)
// and, with o.CompareExe, the other binary.
func openSides(o Options, endpoints []string, s *OpenSettings, dir string) []openSide {
	spec := RawOpenSpec{ReadEndpoint: s.ReadEndpoint, WriteEndpoint: s.WriteEndpoint,
		Serializable: o.Level == LevelSerializable, Rate: o.Rate, Workers: o.Workers, Records: o.Records,
		ValueSize: o.ValueSize, ReadRatio: o.ReadRatio, OpTimeout: o.OpTimeout, Warmup: o.Warmup, Duration: o.Duration}
	sides := []openSide{
		{SideRaw, func(ctx context.Context, i int) (OpenSide, error) {
			sp := spec
			sp.Seed = o.Seed + int64(i)
			return runRawChild(ctx, o.Exe, sp)
		}},
		{SidePacbench, func(ctx context.Context, i int) (OpenSide, error) {
			return runPacbenchChild(ctx, o.Exe, o, endpoints, s, dir, i)
		}},
	}
	if o.CompareExe != "" {
		sides = append(sides, openSide{SideCompare, func(ctx context.Context, i int) (OpenSide, error) {
			return runPacbenchChild(ctx, o.CompareExe, o, endpoints, s, dir, i)
		}})
	}
	return sides
}

// runOpenPair runs every side once, in order for even pairs and in reverse
// for odd ones.
func runOpenPair(ctx context.Context, o Options, sides []openSide, i int) (OpenPair, error) {
	p := OpenPair{Index: i + 1, LoadAvg: loadAvg()}
	for k := range sides {
		sd := sides[k]
		if i%2 == 1 {
			sd = sides[len(sides)-1-k]
		}
		runtime.GC()
		r, err := sd.run(ctx, i)
		if err != nil {
			return p, fmt.Errorf("calibrate: pair %d: %s: %w", i+1, sd.name, err)
		}
		fmt.Fprintf(o.Log, "pair %d/%d %-8s %8.0f ops/s  %6.1f µs CPU/op  read p99 %.3f ms  max lag %.1f ms  errors %d\n",
			i+1, o.Pairs, sd.name, r.AchievedOps, r.CPUPerOpUs, r.ReadP99Ms, r.MaxLagMs, r.Errors)
		switch sd.name {
		case SideRaw:
			p.Raw = r
		case SidePacbench:
			p.Pacbench = r
		default:
			p.Compare = &r
		}
	}
	p.Order = orderOf(sides, i)
	p.finish()
	return p, nil
}

// orderOf names the sides in the order pair i ran them.
func orderOf(sides []openSide, i int) []string {
	out := make([]string, len(sides))
	for k := range sides {
		if i%2 == 1 {
			out[k] = sides[len(sides)-1-k].name
		} else {
			out[k] = sides[k].name
		}
	}
	return out
}

// runRawChild runs the raw side as `exe calibrate raw-open` with spec on
// stdin.
func runRawChild(ctx context.Context, exe string, spec RawOpenSpec) (OpenSide, error) {
	in, err := json.Marshal(spec)
	if err != nil {
		return OpenSide{}, fmt.Errorf("calibrate: %w", err)
	}
	c := &childRun{exe: exe, args: []string{"calibrate", "raw-open"}, stdin: in}
	if err := c.run(ctx); err != nil {
		return OpenSide{}, err
	}
	var res RawOpenResult
	if err := json.Unmarshal(c.stdout, &res); err != nil {
		return OpenSide{}, fmt.Errorf("calibrate: raw side's result: %w", err)
	}
	side := OpenSide{Ops: res.Ops, Errors: res.Errors, ReadP50Ms: res.ReadResponseP50Ms,
		ReadP99Ms: res.ReadResponseP99Ms, MaxLagMs: res.MaxLagMs}
	return side.finish(c.cpu, spec.Duration), nil
}

// runPacbenchChild runs `exe run` of the open-loop calibration profile
// (written into dir) with its results under dir, and reads the measured
// phase from the summary it prints.
func runPacbenchChild(ctx context.Context, exe string, o Options, endpoints []string, s *OpenSettings, dir string, i int) (OpenSide, error) {
	prof, err := openProfile(o, endpoints, s.ReadMember, s.WriteMember, o.Seed+int64(i))
	if err != nil {
		return OpenSide{}, err
	}
	path := filepath.Join(dir, "calibration-open.yaml")
	if err := os.WriteFile(path, prof, 0o600); err != nil {
		return OpenSide{}, fmt.Errorf("calibrate: %w", err)
	}
	c := &childRun{exe: exe, args: []string{"run", "--profile", path, "--out", dir,
		"--run-id", "pair" + strconv.Itoa(i+1) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"--format", "json", "--metrics-addr", "off"}}
	if err := c.run(ctx); err != nil {
		return OpenSide{}, err
	}
	side, err := measuredPhase(c.stdout)
	if err != nil {
		return OpenSide{}, err
	}
	return side.finish(c.cpu, o.Duration), nil
}

// openProfile is the pacbench side's profile (JSON, which is YAML): the
// raw side's workload, rate, workers, level and members, as an open loop
// with uniform arrivals; a warm-up phase, the measured phase and a short
// cooldown phase whose start marks the measured phase's end.
func openProfile(o Options, endpoints []string, readMember, writeMember string, seed int64) ([]byte, error) {
	w := workloadConfig(o.Records, o.ValueSize, o.ReadRatio)
	phases := []map[string]any{
		{"name": phaseMeasure, "duration": o.Duration.String()},
		{"name": phaseCooldown, "duration": cooldown.String()},
	}
	if o.Warmup > 0 {
		phases = append([]map[string]any{{"name": phaseWarmup, "duration": o.Warmup.String()}}, phases...)
	}
	p := map[string]any{
		"name": "calibration-open", "seed": seed,
		"system":   map[string]any{"driver": "etcd", "endpoints": endpoints, "op_timeout": o.OpTimeout.String()},
		"workload": map[string]any{"records": w.Records, "value_size": w.ValueSize, "mix": w.Mix, "distribution": w.Distribution},
		"load":     map[string]any{"model": "open", "rate": o.Rate, "workers": o.Workers},
		"routes":   map[string]any{"read": readMember, "write": writeMember},
		"levels":   []map[string]any{{"name": o.Level, "read": o.Level}},
		"phases":   phases,
	}
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("calibrate: open profile: %w", err)
	}
	return b, nil
}

// summaryDoc is the part of summary.json an open-loop calibration reads.
type summaryDoc struct {
	Scenarios []struct {
		Load *struct {
			MaxScheduleLagMs float64 `json:"max_schedule_lag_ms"`
			KeptUp           bool    `json:"kept_up"`
		} `json:"load"`
		Phases []struct {
			Name string `json:"name"`
			Ops  map[string]struct {
				Count     int64 `json:"count"`
				OK        int64 `json:"ok"`
				LatencyMs struct {
					P50 *float64 `json:"p50"`
					P99 *float64 `json:"p99"`
				} `json:"latency_ms"`
			} `json:"ops"`
		} `json:"phases"`
	} `json:"scenarios"`
}

// measuredPhase reads the measured phase's figures from a summary
// document.
func measuredPhase(doc []byte) (OpenSide, error) {
	var d summaryDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return OpenSide{}, fmt.Errorf("calibrate: pacbench side's summary: %w", err)
	}
	if len(d.Scenarios) != 1 {
		return OpenSide{}, fmt.Errorf("calibrate: pacbench side's summary has %d scenarios, want 1", len(d.Scenarios))
	}
	sc := d.Scenarios[0]
	var side OpenSide
	if sc.Load != nil {
		side.MaxLagMs = sc.Load.MaxScheduleLagMs
		kept := sc.Load.KeptUp
		side.KeptUp = &kept
	}
	for _, ph := range sc.Phases {
		if ph.Name != phaseMeasure {
			continue
		}
		for kind, op := range ph.Ops {
			side.Ops += op.Count
			side.Errors += op.Count - op.OK
			if kind == "read" && op.LatencyMs.P99 != nil && op.LatencyMs.P50 != nil {
				side.ReadP50Ms, side.ReadP99Ms = *op.LatencyMs.P50, *op.LatencyMs.P99
			}
		}
		return side, nil
	}
	return OpenSide{}, errors.New("calibrate: pacbench side's summary has no measured phase")
}
