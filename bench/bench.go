// Package bench runs one whole pacbench invocation as a library: it brings
// up the system under test (a local etcd cluster when the profile asks for
// one), picks the impairment backend, serves Prometheus metrics, runs the
// plan, and writes the results directory atomically — also when the run
// fails or is interrupted. cmd/pacbench only parses flags and profiles and
// calls Execute.
package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/exporter"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/profile"
)

// Options configure Execute. Zero values are documented defaults.
type Options struct {
	// Profile to run (required, already validated).
	Profile *profile.Profile
	// Overrides from the command line (--duration, --seed).
	Overrides profile.Overrides
	// Registry of drivers (required).
	Registry *drivers.Registry
	// OutDir is the parent of the run directory (default "results").
	OutDir string
	// RunID names the run directory (default: UTC timestamp + profile name).
	RunID string
	// MetricsAddr serves /metrics there during the run ("" = off).
	MetricsAddr string
	// Linger keeps the metrics endpoint up this long after the run.
	Linger time.Duration
	// Interval between measurement collections (default 1s).
	Interval time.Duration
	// Progress receives the status line every interval (nil: none).
	Progress io.Writer
	// ProgressTTY rewrites one status line in place instead of printing one
	// line per interval.
	ProgressTTY bool
	// Log receives run events (nil: none).
	Log io.Writer
	// Getenv reads environment variables (credentials); default os.Getenv.
	Getenv func(string) string
	// Version of pacbench, recorded in the manifest.
	Version string
	// DryRun makes the impairment backend change nothing and print what it
	// would do instead.
	DryRun bool
	// DryRunOut receives dry-run commands (default Log).
	DryRunOut io.Writer
	// Exe is the binary re-executed for local cluster members (default
	// os.Executable()).
	Exe string
	// Impairers holds the impairment backends (default impair.Builtin()).
	Impairers *impair.Registry
}

// Outcome is what Execute produced.
type Outcome struct {
	// Summary of the run (nil if the run never started measuring and no
	// results were written).
	Summary *report.Summary
	// Dir is the results directory written ("" if none).
	Dir string
	// MetricsAddr is the address /metrics was served on ("" if off).
	MetricsAddr string
}

// Execute runs opts.Profile end to end. The results directory is written
// whenever measuring started, even if the run then failed or was
// interrupted (marked partial). Errors wrap runner.ErrSetup,
// runner.ErrInterrupted or describe the failure.
func Execute(ctx context.Context, o Options) (*Outcome, error) {
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
	plan, err := o.Profile.Plan(o.Overrides)
	if err != nil {
		return nil, fmt.Errorf("bench: plan: %w", err)
	}
	if o.RunID == "" {
		o.RunID = time.Now().UTC().Format("20060102-150405") + "-" + sanitize(plan.Profile.Name)
	}
	out := &Outcome{}
	clock := metrics.NewClock()
	cfg := runner.Config{
		Plan:     plan,
		Registry: o.Registry,
		Clock:    clock,
		Interval: o.Interval,
		Log:      o.Log,
		Credentials: drivers.Credentials{
			Username: envOr(o.Getenv, plan.Profile.System.Credentials.UsernameEnv),
			Password: envOr(o.Getenv, plan.Profile.System.Credentials.PasswordEnv),
		},
	}
	// System bring-up.
	sys := plan.Profile.System
	imp := ImpairerOptions{Registry: o.Impairers, Getenv: o.Getenv}
	if o.DryRun {
		imp.DryRun = o.DryRunOut
		if imp.DryRun == nil {
			imp.DryRun = o.Log
		}
	}
	if sys.Cluster == "local" {
		fmt.Fprintf(o.Log, "starting local %s cluster (%d members, each its own process)\n", sys.Driver, max(sys.Members, 3))
		t0 := time.Now()
		c, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{Members: sys.Members, Exe: o.Exe})
		if err != nil {
			return nil, fmt.Errorf("%w: local etcd cluster: %w", runner.ErrSetup, err)
		}
		defer c.Stop()
		fmt.Fprintf(o.Log, "cluster up in %s: %s\n", time.Since(t0).Round(time.Millisecond), strings.Join(c.Endpoints(), " "))
		cfg.Endpoints = c.Endpoints()
		cfg.Links = c.Topology()
		imp.LocalAPI = c.ToxiproxyAPI()
	} else {
		cfg.Links = sys.Links()
	}
	if Impaired(plan.Phases) {
		if cfg.Impairer, err = OpenImpairer(sys.Impairer, cfg.Links, imp); err != nil {
			return nil, fmt.Errorf("%w: %w", runner.ErrSetup, err)
		}
	}
	// Metrics endpoint.
	var exp *exporter.Exporter
	levels := make([]string, len(plan.Scenarios))
	for i, s := range plan.Scenarios {
		levels[i] = s.Levels.String()
	}
	if o.MetricsAddr != "" {
		exp, err = exporter.New(exporter.Options{})
		if err != nil {
			return nil, fmt.Errorf("bench: metrics: %w", err)
		}
		srv, err := exporter.Serve(ctx, o.MetricsAddr, exp.Handler())
		if err != nil {
			return nil, fmt.Errorf("%w: metrics endpoint %s: %w", runner.ErrSetup, o.MetricsAddr, err)
		}
		out.MetricsAddr = srv.Addr()
		fmt.Fprintf(o.Log, "metrics on http://%s/metrics\n", srv.Addr())
		defer func() {
			if o.Linger > 0 {
				fmt.Fprintf(o.Log, "keeping /metrics up for %s\n", o.Linger)
				select {
				case <-time.After(o.Linger):
				case <-ctx.Done():
				}
			}
			srv.Close()
		}()
		exp.SetRunInfo(map[string]string{"run_id": o.RunID, "profile": plan.Profile.Name, "version": o.Version,
			"system": sys.Driver, "mode": plan.Mode})
		cfg.OnImpairments = func(active []impair.Action) { exp.SetImpairments(exporter.ActiveFromActions(active)) }
	}
	// Interval consumers: hlog, exporter, progress.
	// The interval log streams to a hidden file next to the run directory
	// and is moved into it at the end (memory stays flat however long the
	// run).
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("bench: results: %w", err)
	}
	hlogFile, err := os.CreateTemp(o.OutDir, "."+o.RunID+".hlog-")
	if err != nil {
		return nil, fmt.Errorf("bench: results: %w", err)
	}
	defer os.Remove(hlogFile.Name())
	defer hlogFile.Close()
	hlogBuf := bufio.NewWriter(hlogFile)
	hlog := report.NewHlogWriter(hlogBuf, clock.Base().UnixMilli(), "pacbench "+o.Version+" run "+o.RunID)
	scNames, phNames := plan.ScenarioNames(), plan.PhaseNames()
	var progMu sync.Mutex
	cfg.OnTick = func(t runner.Tick) {
		if err := hlog.Add(t.Interval, scNames, phNames); err != nil {
			fmt.Fprintf(o.Log, "hlog: %v\n", err)
		}
		if exp != nil {
			exp.Update(sys.Driver, levels, t.Recorder.Results(), t.Interval)
		}
		if o.Progress != nil {
			progMu.Lock()
			printProgress(o.Progress, o.ProgressTTY, t, cfg.Interval)
			progMu.Unlock()
		}
	}
	res, runErr := runner.Run(ctx, cfg)
	if o.Progress != nil && o.ProgressTTY {
		fmt.Fprintln(o.Progress)
	}
	if res == nil || res.Recorder == nil {
		return out, runErr
	}
	if exp != nil && res.Results != nil {
		exp.Update(sys.Driver, levels, res.Results, &metrics.Interval{})
	}
	drv, _ := o.Registry.Lookup(sys.Driver)
	sum := report.Build(report.Input{RunID: o.RunID, Plan: plan, Result: res, Driver: drv})
	out.Summary = sum
	man := &report.Manifest{
		Schema:    "pacbench.manifest/v1",
		RunID:     o.RunID,
		Partial:   res.Partial || runErr != nil,
		Versions:  Versions(o.Version, sys.Driver),
		Profile:   plan.Profile,
		Topology:  map[string]any{"members": res.Members, "aliases": res.Aliases, "links": cfg.Links, "read_endpoints": res.ReadEndpoints, "write_endpoints": res.WriteEndpoints},
		StartedAt: res.Start.UTC().Format(time.RFC3339Nano),
		EndedAt:   res.End.UTC().Format(time.RFC3339Nano),
		ClockBase: clock.Base().UTC().Format(time.RFC3339Nano),
		Phases:    res.Phases,
		Load:      res.Load,
		Notes:     res.Errors,
	}
	if runErr != nil {
		man.Error = runErr.Error()
		sum.Partial = true
	}
	files, err := report.Files(sum, man, res.Results)
	if err != nil {
		return out, errors.Join(runErr, err)
	}
	if err := errors.Join(hlogBuf.Flush(), hlogFile.Close()); err != nil {
		return out, errors.Join(runErr, fmt.Errorf("bench: interval log: %w", err))
	}
	for _, v := range res.Linearizability {
		if len(v.Visualization) > 0 && v.Scenario < len(plan.Scenarios) && v.Phase < len(plan.Phases) {
			files[report.VisualizationFile(plan.Scenarios[v.Scenario].Name, plan.Phases[v.Phase].Name)] = v.Visualization
		}
	}
	dir := filepath.Join(o.OutDir, o.RunID)
	if err := report.WriteDir(dir, files, map[string]string{"intervals.hlog": hlogFile.Name()}); err != nil {
		return out, errors.Join(runErr, err)
	}
	out.Dir = dir
	return out, runErr
}

func printProgress(w io.Writer, tty bool, t runner.Tick, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	rate := float64(t.Ops) / interval.Seconds()
	line := fmt.Sprintf("%6.1fs  phase %-10s  %8.0f ops/s  errors %-6d  p99 %s",
		t.Elapsed.Seconds(), t.Phase, rate, t.Errors, t.P99.Round(10*time.Microsecond))
	if tty {
		fmt.Fprintf(w, "\r\033[K%s", line)
		return
	}
	fmt.Fprintln(w, line)
}

func envOr(get func(string) string, name string) string {
	if name == "" {
		return ""
	}
	return get(name)
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// DryRun prints, phase by phase, what the profile's impairments would do
// without touching a database or the network: each action, then what the
// backend would run (netem: the exact docker exec / tc / iptables
// commands; Toxiproxy: the API requests). Roles cannot be discovered
// without a live system, so "leader"/"primary" are taken to be the first
// node and "follower"/"secondary" the second, and the output says so.
// reg nil means impair.Builtin().
func DryRun(p *profile.Profile, reg *impair.Registry, w io.Writer) error {
	plan, err := p.Plan(profile.Overrides{})
	if err != nil {
		return fmt.Errorf("bench: plan: %w", err)
	}
	sys := plan.Profile.System
	topo := sys.Links()
	if sys.Cluster == profile.ClusterLocal {
		for i := 1; i <= max(sys.Members, 3); i++ {
			n := fmt.Sprintf("m%d", i)
			topo.Members = append(topo.Members, impair.MemberLinks{Name: n, ClientProxy: n + "-client", PeerProxy: n + "-peer"})
		}
	}
	topo.Aliases = map[string]string{}
	if len(topo.Members) > 0 {
		topo.Aliases[impair.RoleLeader], topo.Aliases[impair.RolePrimary] = topo.Members[0].Name, topo.Members[0].Name
	}
	if len(topo.Members) > 1 {
		topo.Aliases[impair.RoleFollower], topo.Aliases[impair.RoleSecondary] = topo.Members[1].Name, topo.Members[1].Name
	}
	fmt.Fprintf(w, "# dry run of %s: nothing is executed; roles assumed: leader/primary=%s follower/secondary=%s\n",
		plan.Profile.Name, topo.Aliases[impair.RoleLeader], topo.Aliases[impair.RoleFollower])
	b, err := OpenImpairer(sys.Impairer, topo, ImpairerOptions{Registry: reg, DryRun: w})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if pf, ok := b.(impair.Preflighter); ok {
		fmt.Fprintln(w, "# preflight, before the first phase (a dry run does not check the outputs)")
		var all []impair.Action
		for _, ph := range plan.Phases {
			actions, err := impair.Resolve(ph.Impairments, topo)
			if err != nil {
				return fmt.Errorf("phase %s: %w", ph.Name, err)
			}
			all = append(all, actions...)
		}
		if err := pf.Preflight(ctx, all); err != nil {
			return err
		}
	}
	for _, ph := range plan.Phases {
		fmt.Fprintf(w, "# phase %s (%s)\n", ph.Name, ph.Duration.D())
		if len(ph.Impairments) == 0 {
			continue
		}
		actions, err := impair.Resolve(ph.Impairments, topo)
		if err != nil {
			return fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		for _, a := range actions {
			fmt.Fprintf(w, "# %s: %s\n", b.Name(), impair.Describe(a))
		}
		if err := b.Apply(ctx, actions); err != nil {
			return fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		fmt.Fprintf(w, "# end of phase %s: heal\n", ph.Name)
		if err := b.Clear(ctx); err != nil {
			return fmt.Errorf("phase %s: clear: %w", ph.Name, err)
		}
	}
	return nil
}

// Versions lists pacbench's, Go's and the key modules' versions for the
// manifest (module versions come from the binary's build info).
func Versions(pacbench, driver string) map[string]string {
	v := map[string]string{"pacbench": pacbench, "go": runtime.Version(), "driver": driver}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	for _, d := range bi.Deps {
		switch d.Path {
		case "go.etcd.io/etcd/client/v3", "go.etcd.io/etcd/server/v3", "github.com/apache/cassandra-gocql-driver/v2",
			"go.mongodb.org/mongo-driver/v2", "github.com/Shopify/toxiproxy/v2", "github.com/HdrHistogram/hdrhistogram-go",
			"github.com/anishathalye/porcupine", "github.com/prometheus/client_golang":
			v[d.Path] = d.Version
		}
	}
	return v
}
