package calibrate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// Schema names the Report's JSON layout.
const Schema = "pacbench.calibration/v1"

// Phase names of the pacbench side's plan. The short cooldown phase after
// the measured one only marks when the measured phase ended (its start is
// logged), to bound the CPU-time window.
const (
	phaseWarmup   = "warmup"
	phaseMeasure  = "measure"
	phaseCooldown = "cooldown"
	cooldown      = 200 * time.Millisecond
)

// Run calibrates pacbench against a raw client as o says and returns the
// report. It starts (and stops) a local etcd cluster when o.Endpoints is
// empty. ctx cancels the calibration between and inside runs (the error
// then wraps ctx's error). Errors from bad options wrap ErrInvalidOptions.
func Run(ctx context.Context, o Options) (_ *Report, err error) {
	if o, err = o.withDefaults(); err != nil {
		return nil, err
	}
	rep := &Report{Schema: Schema, Settings: Settings{
		Pairs: o.Pairs, DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(),
		Workers: o.Workers, Records: o.Records, ValueSize: o.ValueSize, ReadRatio: o.ReadRatio,
		Level: o.Level, ReadVia: o.ReadVia, WriteVia: o.WriteVia, Machine: thisMachine(),
	}}
	tg, err := startTarget(ctx, o)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, tg.close()) }()
	raw, endpoints, s := tg.raw, tg.endpoints, &rep.Settings
	s.LocalCluster, s.Members = tg.local, raw.members
	s.ReadMember, s.ReadEndpoint, s.WriteMember, s.WriteEndpoint = tg.routes()

	plan, err := pacbenchPlan(o, endpoints, s.ReadMember, s.WriteMember)
	if err != nil {
		return nil, err
	}
	reg := drivers.NewRegistry(etcd.New())
	if err := raw.load(ctx, o, plan.Workload); err != nil {
		return nil, err
	}
	for i := range o.Pairs {
		runtime.GC() // both sides start from a collected heap
		a, err := raw.run(ctx, o, plan, int64(i))
		if err != nil {
			return nil, fmt.Errorf("calibrate: pair %d: raw: %w", i+1, err)
		}
		fmt.Fprintf(o.Log, "pair %d/%d A raw:      %8.0f ops/s  p50 %.3f ms  p99 %.3f ms  errors %d\n",
			i+1, o.Pairs, a.ThroughputOps, a.P50Ms, a.P99Ms, a.Errors)
		runtime.GC()
		b, err := runPacbench(ctx, plan, reg, endpoints, int64(i))
		if err != nil {
			return nil, fmt.Errorf("calibrate: pair %d: pacbench: %w", i+1, err)
		}
		fmt.Fprintf(o.Log, "pair %d/%d B pacbench: %8.0f ops/s  p50 %.3f ms  p99 %.3f ms  errors %d\n",
			i+1, o.Pairs, b.ThroughputOps, b.P50Ms, b.P99Ms, b.Errors)
		rep.Pairs = append(rep.Pairs, newPair(i+1, a, b))
	}
	rep.Settings.LoadAvgEnd = loadAvg()
	rep.summarize()
	return rep, nil
}

// pacbenchPlan builds pacbench's side: the same closed loop as a profile
// built in code (one scenario; a warm-up phase, then the measured phase).
func pacbenchPlan(o Options, endpoints []string, readMember, writeMember string) (*profile.Plan, error) {
	mix := map[string]float64{}
	if o.ReadRatio > 0 {
		mix["read"] = o.ReadRatio
	}
	if o.ReadRatio < 1 {
		mix["write"] = 1 - o.ReadRatio
	}
	phases := []profile.Phase{{Name: phaseMeasure, Duration: profile.Duration(o.Duration)},
		{Name: phaseCooldown, Duration: profile.Duration(cooldown)}}
	if o.Warmup > 0 {
		phases = slices.Insert(phases, 0, profile.Phase{Name: phaseWarmup, Duration: profile.Duration(o.Warmup)})
	}
	p := &profile.Profile{
		Name:     "calibration",
		Seed:     o.Seed,
		System:   profile.System{Driver: "etcd", Endpoints: endpoints, OpTimeout: profile.Duration(o.OpTimeout)},
		Workload: profile.Workload{Records: o.Records, ValueSize: o.ValueSize, Mix: mix, Distribution: workloads.Uniform},
		Load:     profile.LoadModel{Model: "closed", Workers: o.Workers},
		Routes:   profile.Routes{Read: readMember, Write: writeMember},
		Levels:   []profile.LevelSet{{Name: o.Level, Levels: map[string]string{"read": o.Level}}},
		Phases:   phases,
	}
	pl, err := p.Plan(profile.Overrides{})
	if err != nil {
		return nil, fmt.Errorf("calibrate: plan: %w", err)
	}
	return pl, nil
}

// runPacbench runs the plan through pacbench's engine (run index i shifts
// the seed so every run draws fresh keys, as the raw side does) and returns
// the measured phase.
func runPacbench(ctx context.Context, pp *profile.Plan, reg *drivers.Registry, endpoints []string, i int64) (Side, error) {
	pl, err := plan.New(pp, nil)
	if err != nil {
		return Side{}, fmt.Errorf("calibrate: %w", err)
	}
	pl.Seed = pp.Seed + i
	marks := &cpuMarks{}
	res, err := runner.Run(ctx, runner.Config{Plan: pl, Registry: reg, Endpoints: endpoints, Log: marks})
	if err != nil {
		return Side{}, err
	}
	measure := slices.IndexFunc(pl.Phases, func(p plan.Phase) bool { return p.Name == phaseMeasure })
	var win *runner.PhaseWindow
	for k := range res.Phases {
		if res.Phases[k].Index == measure {
			win = &res.Phases[k]
		}
	}
	if win == nil || res.Results == nil {
		return Side{}, errors.New("no measured phase in the result")
	}
	svc := metrics.NewLatencyHistogram()
	var side Side
	for _, c := range res.Results.Cells {
		if c.Phase != measure {
			continue
		}
		for _, st := range c.Ops {
			side.OK += st.OK
			side.Errors += st.Count - st.OK
			if h := st.Service[op.OK]; h != nil {
				svc.Merge(h)
			}
		}
	}
	side.DurationS = float64(win.EndNs-win.StartNs) / 1e9
	if cpu, ok := marks.window(); ok {
		side.cpu = cpu
	}
	return side.finish(svc), nil
}

// cpuMarks is the runner's log writer on the pacbench side: it reads the
// process CPU time when the measured phase starts and when the cooldown
// phase starts (the runner logs "phase <name> (…)" as each phase begins).
// The runner serializes its log writes; the fields are read after Run.
type cpuMarks struct {
	start, end time.Duration
	seen       int
}

// Write implements io.Writer.
func (m *cpuMarks) Write(p []byte) (int, error) {
	switch {
	case bytes.Contains(p, []byte("phase "+phaseMeasure+" (")):
		m.start, m.seen = processCPU(), m.seen|1
	case bytes.Contains(p, []byte("phase "+phaseCooldown+" (")):
		m.end, m.seen = processCPU(), m.seen|2
	}
	return len(p), nil
}

// window returns the CPU time spent between the two marks.
func (m *cpuMarks) window() (time.Duration, bool) {
	return m.end - m.start, m.seen == 3
}

// processCPU returns the user+system CPU time of this process so far (its
// children, the local cluster's members, excluded).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// finish fills the throughput, the CPU per op and the percentiles from svc
// (ns).
func (s Side) finish(svc *hdrhistogram.Histogram) Side {
	if s.DurationS > 0 {
		s.ThroughputOps = float64(s.OK) / s.DurationS
	}
	if n := s.OK + s.Errors; n > 0 && s.cpu > 0 {
		s.CPUPerOpUs = float64(s.cpu) / 1e3 / float64(n)
	}
	p50, _ := metrics.Quantile(svc, 0.5)
	p99, _ := metrics.Quantile(svc, 0.99)
	s.P50Ms = float64(p50) / 1e6
	s.P99Ms = float64(p99) / 1e6
	s.MeanMs = svc.Mean() / 1e6
	return s
}

// loadAvg returns the 1-minute load average, or -1 when unknown.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// newClient returns a raw client pinned to eps, configured as pacbench's
// etcd driver configures its own (no endpoint auto-sync, no logging).
func newClient(eps []string, dialTimeout time.Duration) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: dialTimeout, Logger: zap.NewNop()})
}

// target is the cluster a calibration measures: a local one it started or
// the one o.Endpoints names, and the raw side's clients on it.
type target struct {
	endpoints []string
	local     bool
	raw       *rawSide
	cluster   *cluster.Etcd // the local cluster (nil: none started)
}

// startTarget starts a local 3-member etcd cluster unless o.Endpoints
// names one, connects the raw side to it and logs the members reads and
// writes go through. Release it with close.
func startTarget(ctx context.Context, o Options) (*target, error) {
	t := &target{endpoints: o.Endpoints}
	if len(t.endpoints) == 0 {
		fmt.Fprintln(o.Log, "starting a local 3-member etcd cluster")
		c, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{Exe: o.Exe})
		if err != nil {
			return nil, fmt.Errorf("calibrate: local etcd cluster: %w", err)
		}
		t.cluster, t.endpoints, t.local = c, c.Endpoints(), true
	}
	raw, err := openRaw(ctx, o, t.endpoints)
	if err != nil {
		return nil, errors.Join(err, t.close())
	}
	t.raw = raw
	rm, re, wm, we := t.routes()
	fmt.Fprintf(o.Log, "reads via %s (%s), writes via %s (%s)\n", rm, re, wm, we)
	return t, nil
}

// routes returns the members reads and writes go through and their
// client URLs.
func (t *target) routes() (readMember, readEndpoint, writeMember, writeEndpoint string) {
	r, w := t.raw.readMember, t.raw.writeMember
	return r.Name, r.ClientURLs[0], w.Name, w.ClientURLs[0]
}

// close closes the raw side's clients and stops the local cluster.
func (t *target) close() error {
	if t.raw != nil {
		t.raw.close()
	}
	if t.cluster == nil {
		return nil
	}
	if err := t.cluster.Stop(); err != nil {
		return fmt.Errorf("calibrate: stop local cluster: %w", err)
	}
	return nil
}
