// Package bench runs one whole pacbench invocation as a library: it brings
// up the system under test (a local etcd cluster when the profile asks for
// one), picks the impairment backend, serves Prometheus metrics, runs the
// plan, and writes the results directory atomically — also when the run
// fails or is interrupted. cmd/pacbench only parses flags and profiles and
// calls Execute.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/impair"
	runplan "github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/internal/sink"
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
	// Sinks are the run's outputs, in order (default sink.Default()).
	Sinks *sink.Registry
	// OutDir is the parent of the run directory (default "results").
	OutDir string
	// RunID names the run directory: one path element of safe characters
	// (sink.ValidateRunID). Default: UTC timestamp + profile name, with
	// "-2", "-3", … appended if that run exists.
	RunID string
	// Overwrite replaces an existing run directory of that id, but only if
	// it is a pacbench run; without it an existing directory is refused.
	Overwrite bool
	// MetricsAddr serves /metrics there during the run ("" = off).
	MetricsAddr string
	// RemoteWrite pushes the metrics to this Prometheus remote-write URL
	// every interval and at the end ("" = off).
	RemoteWrite string
	// Linger keeps the metrics endpoint up this long after the run.
	Linger time.Duration
	// Interval between measurement collections (default 1s; MinInterval
	// to MaxInterval).
	Interval time.Duration
	// Progress receives the status line, at most once a second (nil: none).
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
	// Abandon, when closed (a second interrupt), stops all waiting: a stuck
	// heal is given up (what may be left is reported) and a local cluster
	// is killed instead of stopped. Nil: never.
	Abandon <-chan struct{}
	// HealTimeout bounds each heal of the impairment backend (default
	// impair.DefaultClearTimeout).
	HealTimeout time.Duration
	// StartAt, if set, is the start barrier (--start-at): the first phase
	// opens at this wall-clock instant, later phases at their planned
	// offsets from it (runner.Config.StartAt), and measurement intervals
	// are aligned on it. An instant already past is a usage error
	// (ErrUsage), found before anything starts.
	StartAt time.Time
	// ProfileFile is the profile's path as the user gave it, for the
	// `pacbench heal --profile` command printed when impairments are left
	// in place ("" for a built-in or in-code profile).
	ProfileFile string
}

// Bounds of Options.Interval: each interval writes one histogram per
// series to the interval log and updates /metrics.
const (
	MinInterval = 100 * time.Millisecond
	MaxInterval = time.Minute
)

// Sentinel errors of Execute, for callers to branch on.
var (
	// ErrUsage: the options are unusable (bad run id, run directory
	// exists, bad metrics address, port in use, interval out of bounds).
	// Found before anything starts; the CLI exits 2.
	ErrUsage = sink.ErrUsage
	// ErrOutput: an output failed during the run (e.g. the disk is full);
	// the run was stopped early and what could be kept was written.
	ErrOutput = errors.New("output failed")
)

// Outcome is what Execute produced.
type Outcome struct {
	// Summary of the run (nil if the run never started measuring and no
	// results were written).
	Summary *report.Summary
	// Dir is the results directory written ("" if none).
	Dir string
	// MetricsAddr is the address /metrics was served on ("" if off).
	MetricsAddr string
	// Interrupt, when set, says that an interrupt (ctx cancelled) arrived
	// after the last phase had ended, and what it did.
	Interrupt string
	// Notes are problems that did not fail the run (leftovers of dead runs
	// cleaned up, results written elsewhere).
	Notes []string
	// Heal is the account of the run's impairments (nil when no phase was
	// impaired): what was removed and what may be left in place.
	Heal *impair.HealStatus
	// HealCommand finishes a heal that did not ("" when nothing is left).
	HealCommand string
}

// Execute runs opts.Profile end to end. Usage errors (wrapping ErrUsage)
// are found before anything starts. The results directory is written
// whenever measuring started, even if the run then failed or was
// interrupted (marked partial). Errors wrap ErrUsage, ErrOutput,
// runner.ErrSetup, runner.ErrInterrupted or describe the failure.
func Execute(ctx context.Context, o Options) (*Outcome, error) {
	x, err := newExecution(o)
	if err != nil {
		return nil, err
	}
	if err := x.openOutputs(ctx); err != nil {
		return nil, err
	}
	defer x.stopOutputs(ctx)
	cfg, started, err := x.startSystem(ctx)
	if err != nil {
		started.stop()
		x.discard()
		return x.out, err
	}
	defer started.stop()
	res, runErr := x.run(ctx, cfg)
	// A member that died on its own, or a heal that leaves impairments in
	// place, fails the run (exit 1) and is noted in the summary and the
	// manifest, but does not make its measurements partial.
	deaths, deathNotes, deathErr := started.deaths(x.clock, res)
	healNotes, healErr := settleHeal(cfg.Impairer, x.out, x.plan.Profile.System, o.ProfileFile)
	x.deaths, x.notes = deaths, append(deathNotes, healNotes...)
	out, err := x.finish(res, cfg, runErr)
	return out, errors.Join(err, deathErr, healErr)
}

// startSystem brings up the system under test and picks the impairment
// backend; the returned system stops what it started (also on error).
func (x *execution) startSystem(ctx context.Context) (runner.Config, *system, error) {
	o, plan := x.o, x.plan
	stop := &system{log: o.Log}
	typed, err := runplan.New(plan, nil)
	if err != nil {
		return runner.Config{}, stop, fmt.Errorf("bench: plan: %w", err)
	}
	cfg := runner.Config{
		Plan:     typed,
		Registry: o.Registry,
		Clock:    x.clock,
		Interval: o.Interval,
		Log:      o.Log,
		StartAt:  o.StartAt,
		Credentials: drivers.Credentials{
			Username: envOr(o.Getenv, plan.Profile.System.Credentials.UsernameEnv),
			Password: envOr(o.Getenv, plan.Profile.System.Credentials.PasswordEnv),
		},
	}
	sys := plan.Profile.System
	imp := ImpairerOptions{Registry: o.Impairers, Getenv: o.Getenv, RunID: o.RunID}
	if o.DryRun {
		imp.DryRun = o.DryRunOut
		if imp.DryRun == nil {
			imp.DryRun = o.Log
		}
	}
	if sys.Cluster == "local" {
		fmt.Fprintf(o.Log, "starting local %s cluster (%d members, each its own process)\n", sys.Driver, max(sys.Members, 3))
		t0 := time.Now()
		c, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{Members: sys.Members, Exe: o.Exe, Abandon: o.Abandon})
		if err != nil {
			return cfg, stop, fmt.Errorf("%w: local etcd cluster: %w", runner.ErrSetup, err)
		}
		stop.cluster = c
		for _, line := range c.Cleaned() {
			fmt.Fprintf(o.Log, "local clusters: %s\n", line)
			x.out.Notes = append(x.out.Notes, "local clusters: "+line)
		}
		fmt.Fprintf(o.Log, "cluster up in %s: %s\n", time.Since(t0).Round(time.Millisecond), strings.Join(c.Endpoints(), " "))
		cfg.Endpoints = c.Endpoints()
		cfg.Links = c.Topology()
		imp.LocalAPI = c.ToxiproxyAPI()
		imp.Processes = c.Processes()
	} else {
		cfg.Links = sys.Links()
	}
	if Impaired(plan.Phases) {
		imp.Kinds = profile.UsedKinds(plan.Phases)
		cfg.WriteClocks = impair.NewClientClocks()
		imp.ClientClocks = cfg.WriteClocks
		b, err := OpenImpairer(sys.Impairer, cfg.Links, imp)
		if err != nil {
			return cfg, stop, fmt.Errorf("%w: %w", runner.ErrSetup, err)
		}
		cfg.Impairer = impair.NewGuard(b, impair.GuardOptions{Abandon: o.Abandon, ClearTimeout: o.HealTimeout})
	}
	return cfg, stop, nil
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
		topo.Members = append(topo.Members, cluster.ProxyTopology(max(sys.Members, 3)).Members...)
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
	imp := ImpairerOptions{Registry: reg, DryRun: w, Kinds: profile.UsedKinds(plan.Phases)}
	if sys.Cluster == profile.ClusterLocal {
		imp.Processes = impair.DryRunProcesses{W: w, Of: "the local cluster's member"}
	}
	b, err := OpenImpairer(sys.Impairer, topo, imp)
	if err != nil {
		return err
	}
	ctx := context.Background()
	if pf, ok := b.(impair.Preflighter); ok {
		fmt.Fprintln(w, "# preflight, before the first phase (a dry run does not check the outputs)")
		var all []impair.Action
		for _, ph := range plan.Phases {
			actions, err := impair.Resolve(phaseSpecs(ph), topo)
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
		if len(ph.Impairments) > 0 {
			if err := dryApply(ctx, b, topo, w, ph.Name, ph.Impairments, "end of phase "+ph.Name); err != nil {
				return err
			}
		}
		for i, d := range ph.Drawn {
			fmt.Fprintf(w, "# fault %d/%d of phase %s, drawn with seed %d: %s\n", i+1, len(ph.Drawn), ph.Name, plan.Seed, d)
			if err := dryApply(ctx, b, topo, w, ph.Name, []impair.Spec{d.Fault}, fmt.Sprintf("+%s", d.Start.D()+d.Duration.D())); err != nil {
				return err
			}
		}
	}
	return nil
}

// phaseSpecs returns every impairment a phase may apply: its impairments,
// then its drawn faults.
func phaseSpecs(ph profile.Phase) []impair.Spec {
	out := append([]impair.Spec(nil), ph.Impairments...)
	for _, d := range ph.Drawn {
		out = append(out, d.Fault)
	}
	return out
}

// dryApply prints and dry-applies specs of phase, then their heal (at
// when).
func dryApply(ctx context.Context, b impair.Backend, topo impair.Topology, w io.Writer, phase string, specs []impair.Spec, when string) error {
	actions, err := impair.Resolve(specs, topo)
	if err != nil {
		return fmt.Errorf("phase %s: %w", phase, err)
	}
	for _, a := range actions {
		fmt.Fprintf(w, "# %s: %s\n", b.Name(), impair.Describe(a))
	}
	if err := b.Apply(ctx, actions); err != nil {
		return fmt.Errorf("phase %s: %w", phase, err)
	}
	fmt.Fprintf(w, "# %s: heal\n", when)
	if err := b.Clear(ctx); err != nil {
		return fmt.Errorf("phase %s: clear: %w", phase, err)
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
