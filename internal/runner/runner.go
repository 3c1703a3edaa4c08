// Package runner is pacbench's engine: it takes a typed plan (package
// plan; it never reads the profile), opens driver sessions, loads the
// records, runs every scenario's workers through the phases, paced by the
// plan's load model, collects per-interval measurements and returns the
// results.
//
// Phases are separated by a gate (group.go): a phase starts once its
// impairments have taken effect, and ends only when every op issued in it
// has completed, before its impairments are cleared; each op is recorded
// in the phase that admitted it. Impairments are healed on every exit
// path.
//
// Run may be called concurrently with distinct Configs; one run's state is
// its own.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// Sentinel errors callers branch on.
var (
	// ErrInterrupted: the run was stopped early (signal or cancelled
	// context); the Result is partial but complete up to the stop.
	ErrInterrupted = errors.New("run interrupted")
	// ErrSetup: the run could not start (driver, topology, routes, load).
	ErrSetup = errors.New("run setup failed")
	// ErrImpairment: a phase's impairments could not be applied (the run
	// stops there; what was applied is healed).
	ErrImpairment = errors.New("impairment failed")
)

// Config is everything one run needs. Fields are read once at Run.
type Config struct {
	// Plan to run (required): the typed plan (plan.New), never the profile.
	Plan *plan.Plan
	// Registry holds the drivers (required).
	Registry *drivers.Registry
	// Endpoints overrides the plan's system endpoints (a local cluster's).
	Endpoints []string
	// Links names every member's impairable links (a local cluster's, or
	// built from the profile's system.nodes). Aliases are filled by Run.
	Links impair.Topology
	// Impairer applies the phases' impairments; required when any phase has
	// impairments.
	Impairer impair.Backend
	// WriteClocks are the clocks of the write routes (by the member each
	// goes to) that client_clock_skew offsets, shared with Impairer's
	// client-clock backend; when a phase skews a client clock, each
	// writer's session stamps its writes with its route's clock
	// (drivers.ClientTimestamper). Nil: no client clock is skewed.
	WriteClocks *impair.ClientClocks
	// Credentials for the database (never logged).
	Credentials drivers.Credentials
	// Clock is the run clock (zero value: a new clock at Run).
	Clock metrics.Clock
	// Interval between measurement collections (default 1s).
	Interval time.Duration
	// OnTick, if set, is called from the collector goroutine after every
	// interval with what it merged, and once more after the workers
	// stopped with the final partial interval (Tick.Final); calls never
	// overlap. It must not block for long.
	OnTick func(Tick)
	// OnImpairments, if set, is called whenever the active impairment set
	// changes (nil slice: healed).
	OnImpairments func(active []impair.Action)
	// Log receives one line per run event (phase start, impairment applied,
	// errors). Nil discards.
	Log io.Writer
	// Checks are run after the built-in checks (internal/checkers.Registry),
	// for programs that add their own.
	Checks []metrics.Check
	// StartAt, if set, is the run's start barrier (wall clock), common to
	// the shards of a sharded run: the first phase opens at it, and phase
	// k (counted over the whole run) at StartAt + the planned durations
	// of the phases before it + k × PhaseGap, or as soon as the phase
	// before it drained if that is later (the phase window then records
	// the skew). Measurement intervals are aligned on it (collections at
	// StartAt + n × Interval). Zero: phases start as soon as they can.
	StartAt time.Time
	// PhaseGap is the time planned between two phases under StartAt for
	// draining one and applying the next one's impairments (default
	// DefaultPhaseGap: the op timeout + 1 s).
	PhaseGap time.Duration
}

// DefaultPhaseGap returns the time planned between two phases of a run
// with a start barrier when Config.PhaseGap is zero: the op timeout (the
// longest an op of the ending phase can stay in flight) plus one second.
func DefaultPhaseGap(opTimeout time.Duration) time.Duration { return opTimeout + time.Second }

// Tick is what the collector hands to OnTick after each interval.
type Tick struct {
	// Interval holds the interval's merged histograms per series.
	Interval *metrics.Interval
	// Recorder gives access to cumulative results (Results()).
	Recorder *metrics.Recorder
	// Phase is the name of the phase running at the end of the interval.
	Phase string
	// Elapsed is the run clock at the end of the interval.
	Elapsed time.Duration
	// Ops and Errors completed during the interval (all scenarios).
	Ops, Errors int64
	// P99 of ok response times during the interval (all series merged).
	P99 time.Duration
	// Final marks the last interval, collected after every worker stopped
	// (so every op of the run is in some tick).
	Final bool
}

// PhaseWindow records when a phase ran and what was injected, on the run
// clock (ns since the clock's base). Between two phases no op is issued:
// the previous phase drains, its impairments are cleared, the next one's
// are applied, and only then does the next phase start.
type PhaseWindow struct {
	Name      string   `json:"name"`
	Index     int      `json:"index"`
	Scenarios []string `json:"scenarios"`
	// StartNs is when the phase's impairments had taken effect; its first
	// op is issued after it.
	StartNs int64 `json:"start_ns"`
	// PlannedNs is, in a run with a start barrier (Config.StartAt), when
	// the phase was planned to start; StartNs − PlannedNs is this
	// process's skew (0: no barrier).
	PlannedNs int64 `json:"planned_ns,omitempty"`
	// EndNs is when the phase's time was up: no op was issued after it
	// (except open-loop arrivals of the phase that were overdue, until
	// DrainedNs).
	EndNs int64 `json:"end_ns"`
	// DrainedNs is when the last op issued in the phase had completed; the
	// phase's impairments stayed in place until then.
	DrainedNs   int64             `json:"drained_ns,omitempty"`
	Impairments []ImpairmentEvent `json:"impairments,omitempty"`
}

// ImpairmentEvent is one applied action with its window on the run clock.
type ImpairmentEvent struct {
	Action    impair.Action `json:"action"`
	Describe  string        `json:"describe"`
	AppliedNs int64         `json:"applied_ns"`
	ClearedNs int64         `json:"cleared_ns"`
	Error     string        `json:"error,omitempty"`
	// Fault is the number (from 1) of the drawn fault of the phase's
	// schedule this action carries out; 0: one of the phase's impairments.
	Fault int `json:"fault,omitempty"`
}

// Reasons an open-loop scenario fell behind its schedule
// (LoadStats.BehindReason).
const (
	// BehindGenerator: the generator was late with workers free (CPU
	// starvation, GC, pacing); KeptUp is false.
	BehindGenerator = "generator"
	// BehindWorkersBusy: every late op waited for its worker, busy with
	// a previous op (the database was slow); the achieved rate fell below
	// 95 % of the target, arrivals were skipped or an op waited more than
	// MaxGeneratorLag for its worker. KeptUp stays true.
	BehindWorkersBusy = "workers_busy"
)

// MaxGeneratorLag is the largest generator lag (LoadStats) of one op with
// which a scenario still kept up, and the largest wait for a busy worker
// before it is reported as BehindWorkersBusy.
const MaxGeneratorLag = time.Second

// LoadStats reports whether a scenario's load model was honoured.
type LoadStats struct {
	Model string `json:"model"`
	// Workers per scenario.
	Workers int `json:"workers"`
	// TargetRate in ops/s (open loop: the schedule's mean over the
	// measured time; 0 in closed loop).
	TargetRate float64 `json:"target_rate_ops,omitempty"`
	// AchievedRate in ops/s started over the scenario's measured time: the
	// phases' time run (open loop: their scheduled time, however late a
	// phase's timer fired).
	AchievedRate float64 `json:"achieved_rate_ops"`
	// MaxScheduleLagMs is the largest delay between an op's intended and
	// actual start (open loop), in ms.
	MaxScheduleLagMs float64 `json:"max_schedule_lag_ms,omitempty"`
	// The schedule lag split (open loop): BusyLagMs is the time ops
	// waited, summed over ops, because their worker was still busy with
	// its previous op (waiting on the database), MaxBusyLagMs the largest
	// such wait of one op; GeneratorLagMs and MaxGeneratorLagMs the same
	// for the rest of the lag, when the worker was free but the op had not
	// started (the generator late: CPU starvation, GC, pacing), in ms.
	BusyLagMs         float64 `json:"busy_lag_ms,omitempty"`
	MaxBusyLagMs      float64 `json:"max_busy_lag_ms,omitempty"`
	GeneratorLagMs    float64 `json:"generator_lag_ms,omitempty"`
	MaxGeneratorLagMs float64 `json:"max_generator_lag_ms,omitempty"`
	// KeptUp is false when the open-loop generator fell behind its
	// schedule on its own: an op started more than MaxGeneratorLag after
	// its intended start (or after its worker became free, if later).
	// Lag while workers were busy waiting on the database does not count
	// (BehindReason says when that kept the schedule from being met).
	KeptUp bool `json:"kept_up"`
	// BehindReason says why an open-loop scenario did not keep its
	// schedule (BehindGenerator, BehindWorkersBusy; empty when it did).
	BehindReason string `json:"behind_reason,omitempty"`
	// Ops started.
	Ops int64 `json:"ops"`
	// Skipped counts open-loop arrivals never issued: still overdue when
	// their phase had drained for an op timeout (every worker was busy).
	Skipped int64 `json:"skipped_ops,omitempty"`
	// NoWorkerOps counts the open-loop ops that could not start on time
	// because no worker was free (their worker still busy with its
	// previous op, or the pool at MaxWorkers); per series in each op's
	// no_worker object.
	NoWorkerOps int64 `json:"no_worker_ops,omitempty"`
	// MaxWorkers is load.max_workers and PeakWorkers the most workers the
	// pool ran at once (both only for a pool that may grow past Workers).
	MaxWorkers  int `json:"max_workers,omitempty"`
	PeakWorkers int `json:"peak_workers,omitempty"`
}

// Result is the outcome of a run. It is complete up to the moment the run
// stopped, even when Run returns an error.
type Result struct {
	// Results are the recorder's cumulative measurements (nil if the run
	// never got to measuring).
	Results *metrics.Results
	// Recorder is the run's recorder (nil if never started).
	Recorder *metrics.Recorder
	// Phases as they ran.
	Phases []PhaseWindow
	// Members as the driver saw them at start, and the role aliases used.
	Members []drivers.Member
	Aliases map[string]string
	// ReadEndpoints / WriteEndpoints the sessions were pinned to
	// (WriteEndpoints: the first write route's).
	ReadEndpoints, WriteEndpoints []string
	// WriterEndpoints are the endpoints of each write route, when the plan
	// has several (routes.writers); nil otherwise.
	WriterEndpoints [][]string
	// Load per scenario (index = scenario).
	Load []LoadStats
	// Partial is true when the run stopped before its last phase ended.
	Partial bool
	// Linearizability has porcupine's verdict per (scenario, phase) when
	// checks.linearizable_keys > 0.
	Linearizability []checkers.Verdict
	// Probes are the t-visibility probe results (checks.probes).
	Probes []ProbeStats
	// Convergence has, for every phase that follows an impaired phase,
	// the staleness of its reads in ConvergenceBin-wide bins.
	Convergence []ConvergenceBins
	// Audits are the lost-write audits, one per group of scenarios that
	// ran together (none when the audit is off).
	Audits []AuditStats
	// Start and End wall times; BaseTime is the run clock's base.
	Start, End time.Time
	// Clock is the run clock.
	Clock metrics.Clock
	// Errors are non-fatal problems (failed heals, close errors).
	Errors []string
}

// Run executes cfg.Plan. It always clears impairments it applied before
// returning (also on error, cancellation and panic). On cancellation it
// returns the partial Result and an error wrapping ErrInterrupted.
func Run(ctx context.Context, cfg Config) (res *Result, err error) {
	if cfg.Plan == nil || cfg.Registry == nil {
		return nil, fmt.Errorf("%w: plan and registry are required", ErrSetup)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.Clock == (metrics.Clock{}) {
		cfg.Clock = metrics.NewClock()
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if cfg.PhaseGap <= 0 {
		cfg.PhaseGap = DefaultPhaseGap(cfg.Plan.System.OpTimeout)
	}
	r := &run{cfg: cfg, plan: cfg.Plan, clock: cfg.Clock, failCh: make(chan struct{}),
		phaseAt: make([]atomic.Int64, len(cfg.Plan.Phases)), ids: newSessionIDs(cfg.Plan)}
	r.res = &Result{Start: time.Now(), Clock: cfg.Clock}
	defer func() {
		// Heal on every exit path, panics included.
		if p := recover(); p != nil {
			r.heal()
			r.res.End = time.Now()
			panic(p)
		}
		r.heal()
		r.res.End = time.Now()
		res = r.res
	}()
	err = r.execute(ctx)
	if pv := r.panicked.Load(); pv != nil {
		// A worker panicked: heal (deferred above) and re-raise it here, on
		// the caller's goroutine, instead of crashing the process unhealed.
		panic(pv)
	}
	return r.res, err
}

// workerPanic records the first panic of a worker goroutine and stops the run.
func (r *run) workerPanic(p any) {
	if r.panicked.CompareAndSwap(nil, fmt.Sprintf("pacbench worker panic: %v\n%s", p, debug.Stack())) {
		close(r.failCh)
	}
}

type run struct {
	cfg   Config
	plan  *plan.Plan
	clock metrics.Clock
	res   *Result

	driver drivers.Driver
	client drivers.Client
	topo   impair.Topology
	ks     *workloads.Keyspace
	rec    *metrics.Recorder

	readEP, writeEP []string
	writers         [][]string  // endpoints of each write route (writers[0] = writeEP)
	writerMembers   []string    // the member each write route goes to ("" = driver routing)
	split           *splitLocks // split-brain writers' locks (nil: one writer at a time per key)
	ids             sessionIDs

	phase     atomic.Int32 // current phase index
	phaseMu   sync.Mutex
	phaseAt   []atomic.Int64 // start ns of each phase (MaxInt64 until it starts)
	applied   []impair.Action
	healed    atomic.Bool
	logMu     sync.Mutex
	scenarios []*scenarioRun
	panicked  atomic.Value  // string: first worker panic with its stack
	failCh    chan struct{} // closed on the first worker panic
}

func (r *run) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.cfg.Log, "%7.2fs  %s\n", float64(r.clock.Now())/1e9, fmt.Sprintf(format, args...))
}

func (r *run) execute(ctx context.Context) error {
	p := r.plan
	d, err := r.cfg.Registry.Lookup(p.System.Driver)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	r.driver = d
	endpoints := r.cfg.Endpoints
	if len(endpoints) == 0 {
		endpoints = p.System.Endpoints
	}
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client, err := d.Open(openCtx, drivers.Config{
		Endpoints:   endpoints,
		Options:     p.System.Options,
		Credentials: r.cfg.Credentials,
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrSetup, d.Name(), err)
	}
	r.client = client
	defer func() {
		if cerr := client.Close(); cerr != nil {
			r.res.Errors = append(r.res.Errors, fmt.Sprintf("close client: %v", cerr))
		}
	}()
	if err := r.resolveTopology(openCtx, endpoints); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	if pf, ok := r.cfg.Impairer.(impair.Preflighter); ok {
		if err := r.preflight(ctx, pf); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	if pr, ok := client.(drivers.Preparer); ok {
		if err := pr.Prepare(openCtx); err != nil {
			return fmt.Errorf("%w: %s: prepare schema: %w", ErrSetup, d.Name(), err)
		}
	}
	r.ks = workloads.NewKeyspace(p.Workload)
	names, phases := p.ScenarioNames(), p.PhaseNames()
	checks, err := r.newChecks()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	r.rec = metrics.NewRecorder(metrics.Options{Scenarios: names, Phases: phases, Keys: r.ks.Capacity(),
		RingSize: p.Checks.RingSize, Checks: checks, Clock: r.clock})
	r.res.Recorder = r.rec
	if p.LoadRecords {
		if err := r.load(ctx); err != nil {
			if ctx.Err() != nil {
				r.res.Partial = true
				return fmt.Errorf("%w during load: %w", ErrInterrupted, ctx.Err())
			}
			return fmt.Errorf("%w: load %d records: %w", ErrSetup, p.Workload.Records, err)
		}
	}
	err = r.measure(ctx)
	if r.panicked.Load() == nil {
		// Check what was recorded, also after an interruption (bounded).
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		r.finishChecks(cctx)
		cancel()
		r.res.Results = r.rec.Results()
	}
	return err
}

// resolveTopology asks the driver for members and roles, fixes the role
// aliases for the whole run and resolves the read and write routes.
func (r *run) resolveTopology(ctx context.Context, endpoints []string) error {
	var members []drivers.Member
	if t, ok := r.client.(drivers.Topologist); ok {
		m, err := t.Topology(ctx)
		if err != nil {
			return fmt.Errorf("%s: topology: %w", r.driver.Name(), err)
		}
		members = m
	}
	if len(members) == 0 {
		for _, n := range r.plan.System.Nodes {
			members = append(members, drivers.Member{Name: n.Name, Endpoint: n.Endpoint, Role: "node"})
		}
		if len(members) == 0 {
			for _, e := range endpoints {
				members = append(members, drivers.Member{Name: e, Endpoint: e, Role: "node"})
			}
		}
	}
	// Name members after the link topology (cluster or profile nodes) when
	// the driver calls them something else (addresses).
	links := r.cfg.Links
	for i := range members {
		if ln := matchLink(links, members[i]); ln != "" {
			members[i].Name = ln
		}
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	aliases := map[string]string{}
	for _, m := range members {
		role := m.Role
		if _, seen := aliases[role]; !seen && role != "" {
			aliases[role] = m.Name
		}
	}
	r.res.Members = members
	r.res.Aliases = aliases
	topo := impair.Topology{Aliases: aliases}
	for _, m := range members {
		ml := impair.MemberLinks{Name: m.Name, Role: m.Role}
		for _, l := range links.Members {
			if l.Name == m.Name {
				ml = l
				ml.Role = m.Role
			}
		}
		topo.Members = append(topo.Members, ml)
	}
	r.topo = topo
	var err error
	if r.readEP, _, err = routeEndpoints(r.plan.Routes.Read, members, aliases); err != nil {
		return fmt.Errorf("routes.read: %w", err)
	}
	for i, rt := range r.plan.Routes.WriteRoutes() {
		eps, member, err := routeEndpoints(rt, members, aliases)
		if err != nil {
			if len(r.plan.Routes.Writers) > 0 {
				return fmt.Errorf("routes.writers[%d]: %w", i, err)
			}
			return fmt.Errorf("routes.write: %w", err)
		}
		r.writers, r.writerMembers = append(r.writers, eps), append(r.writerMembers, member)
	}
	r.writeEP = r.writers[0]
	r.split = newSplitLocks(r.plan, len(r.writers))
	r.res.ReadEndpoints, r.res.WriteEndpoints = r.readEP, r.writeEP
	if len(r.writers) > 1 {
		r.res.WriterEndpoints = r.writers
	}
	return nil
}

// writeRoute is the index of the write route worker w of a scenario
// writes through.
func (r *run) writeRoute(w int) int { return w % len(r.writers) }

// matchLink returns the link-topology name of member m: same name, same
// endpoint, or same host.
func matchLink(t impair.Topology, m drivers.Member) string {
	for _, l := range t.Members {
		if l.Name == m.Name {
			return l.Name
		}
	}
	for _, l := range t.Members {
		if l.Endpoint != "" && hostOf(l.Endpoint) == hostOf(m.Endpoint) {
			return l.Name
		}
	}
	// A driver that reports bare addresses (no port) matches on the host.
	if _, _, err := net.SplitHostPort(hostOf(m.Endpoint)); err != nil {
		for _, l := range t.Members {
			if l.Endpoint != "" && hostOnly(l.Endpoint) == hostOf(m.Endpoint) {
				return l.Name
			}
		}
	}
	return ""
}

// routeEndpoints returns the endpoints of route rt and the member it
// designates (nil and "" for the driver's own routing).
func routeEndpoints(rt plan.Route, members []drivers.Member, aliases map[string]string) ([]string, string, error) {
	if rt.Any() {
		return nil, "", nil
	}
	route := rt.Member
	name := route
	if a, ok := aliases[route]; ok {
		name = a
	}
	for _, m := range members {
		if m.Name == name || hostOf(m.Endpoint) == hostOf(route) {
			return []string{m.Endpoint}, m.Name, nil
		}
	}
	known := make([]string, 0, len(members))
	for _, m := range members {
		known = append(known, m.Name+"("+m.Role+")")
	}
	return nil, "", fmt.Errorf("no member for route %q (members: %s)", route, strings.Join(known, ", "))
}

func hostOf(s string) string {
	return strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
}

// hostOnly strips scheme and port: "http://127.0.0.1:2379" → "127.0.0.1".
func hostOnly(s string) string {
	s = hostOf(s)
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// load writes every record once (seq 0) through the write route.
func (r *run) load(ctx context.Context) error {
	n := r.plan.Workload.Records
	workers := min(r.plan.Load.Schedule.Workers(), 16)
	if workers < 1 {
		workers = 1
	}
	r.logf("loading %d records with %d writers", n, workers)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess, err := r.client.Session(ctx, drivers.SessionConfig{Levels: r.plan.Scenarios[0].Levels, ReadEndpoints: r.readEP, WriteEndpoints: r.writeEP, ID: r.ids.loader(w)})
			if err != nil {
				errs[w] = err
				return
			}
			defer sess.Close()
			buf := make([]byte, max(r.plan.Workload.ValueSize, workloads.HeaderSize))
			for k := w; k < n; k += workers {
				if ctx.Err() != nil {
					errs[w] = ctx.Err()
					return
				}
				workloads.Header{Key: uint64(k), Writer: 0, Seq: 0, Invoke: r.clock.Now()}.Encode(buf)
				var err error
				for attempt := 0; attempt < 5; attempt++ {
					octx, cancel := context.WithTimeout(ctx, r.opTimeout()*2)
					err = sess.Write(octx, r.ks.Key(uint64(k)), buf)
					cancel()
					if err == nil || ctx.Err() != nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				if err != nil {
					errs[w] = fmt.Errorf("key %d: %w", k, err)
					return
				}
				r.rec.Oracle().Loaded(uint64(k))
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *run) opTimeout() time.Duration { return r.plan.System.OpTimeout }

// measure runs the phases (side by side: all scenarios at once; sequential:
// one scenario after another through all phases).
func (r *run) measure(ctx context.Context) error {
	p := r.plan
	r.res.Load = make([]LoadStats, len(p.Scenarios))
	collectorDone := make(chan struct{})
	stopCollector := make(chan struct{})
	go r.collector(stopCollector, collectorDone)
	defer func() {
		close(stopCollector)
		<-collectorDone
		r.tick(r.clock.Now(), true)
		r.res.Results = r.rec.Results()
	}()
	groups := [][]int{}
	if p.Mode == plan.Sequential {
		for i := range p.Scenarios {
			groups = append(groups, []int{i})
		}
	} else {
		all := make([]int, len(p.Scenarios))
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	}
	for _, g := range groups {
		if err := r.runGroup(ctx, g); err != nil {
			return err
		}
	}
	return nil
}

// preflight asks the backend, before anything is loaded or measured,
// whether it can apply every phase's impairments (bounded to a minute).
func (r *run) preflight(ctx context.Context, pf impair.Preflighter) error {
	var all []impair.Action
	for _, ph := range r.plan.Phases {
		actions, err := impair.Resolve(ph.Specs(), r.topo)
		if err != nil {
			return fmt.Errorf("phase %s: %w", ph.Name, err)
		}
		all = append(all, actions...)
	}
	pctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r.logf("impairment preflight: %d actions", len(all))
	return pf.Preflight(pctx, all)
}

// applyPhase applies phase ph's impairments (all at once, before it
// opens).
func (r *run) applyPhase(ctx context.Context, ph plan.Phase) ([]ImpairmentEvent, error) {
	return r.apply(ctx, ph.Name, ph.Impairments)
}

// apply resolves specs, impairments of the phase named phase, and applies
// them on top of what is active (bounded to 10 s); it returns one event
// per action, applied now.
func (r *run) apply(ctx context.Context, phase string, specs []impair.Spec) ([]ImpairmentEvent, error) {
	if r.cfg.Impairer == nil {
		return nil, fmt.Errorf("%w: phase %s has impairments but no impairment backend is configured", ErrSetup, phase)
	}
	actions, err := impair.Resolve(specs, r.topo)
	if err != nil {
		return nil, fmt.Errorf("%w: phase %s: %w", ErrSetup, phase, err)
	}
	events := make([]ImpairmentEvent, 0, len(actions))
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	r.phaseMu.Lock()
	r.applied = append(r.applied, actions...)
	r.healed.Store(false)
	r.phaseMu.Unlock()
	err = r.cfg.Impairer.Apply(actx, actions)
	now := r.clock.Now()
	for _, a := range actions {
		ev := ImpairmentEvent{Action: a, Describe: impair.Describe(a), AppliedNs: now}
		if err != nil {
			ev.Error = err.Error()
		}
		events = append(events, ev)
		r.logf("impairment: %s", ev.Describe)
	}
	if err != nil {
		return events, fmt.Errorf("%w: phase %s: apply: %w", ErrImpairment, phase, err)
	}
	if r.cfg.OnImpairments != nil {
		r.cfg.OnImpairments(actions)
	}
	return events, nil
}

func (r *run) clearImpairments() {
	// At least 15 s; longer when the backend needs it (a killed member's restart).
	ctx, cancel := context.WithTimeout(context.Background(), impair.ClearTimeout(r.cfg.Impairer, 15*time.Second))
	defer cancel()
	if err := r.cfg.Impairer.Clear(ctx); err != nil {
		r.res.Errors = append(r.res.Errors, fmt.Sprintf("clear impairments: %v", err))
		r.logf("clear impairments failed: %v", err)
	} else {
		r.logf("impairments cleared")
	}
	r.phaseMu.Lock()
	r.applied = nil
	r.phaseMu.Unlock()
	r.healed.Store(true)
	if r.cfg.OnImpairments != nil {
		r.cfg.OnImpairments(nil)
	}
}

// heal clears whatever is still applied; safe to call more than once.
func (r *run) heal() {
	if r.cfg.Impairer == nil {
		return
	}
	r.phaseMu.Lock()
	pending := len(r.applied) > 0
	r.phaseMu.Unlock()
	if pending || !r.healed.Load() {
		r.clearImpairments()
	}
}

// collector merges measurements every interval until stop is closed; with
// a start barrier, at the barrier plus whole intervals.
func (r *run) collector(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	if !r.cfg.StartAt.IsZero() {
		r.alignedCollector(stop)
		return
	}
	t := time.NewTicker(r.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.tick(r.clock.Now(), false)
	}
}

// alignedCollector collects at barrier + n × interval (n of any sign), so
// that the intervals of every shard of a run cover the same times.
func (r *run) alignedCollector(stop <-chan struct{}) {
	iv := int64(r.cfg.Interval)
	barrier := r.barrierNs()
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		now := r.clock.Now()
		next := barrier + (floorDiv(now-barrier, iv)+1)*iv
		t.Reset(time.Duration(next - now))
		select {
		case <-stop:
			return
		case <-t.C:
		}
		r.tick(r.clock.Now(), false) // at or just after next: ops keep their true interval
	}
}

// floorDiv is a/b rounded towards −∞ (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// barrierNs returns the start barrier on the run clock.
func (r *run) barrierNs() int64 { return int64(r.cfg.StartAt.Sub(r.clock.Base())) }

// awaitPlanned waits, in a run with a start barrier, until the planned
// start of the run's phase number k (counted over every group) and
// returns it on the run clock (0 without a barrier). It returns early
// with an error when ctx is cancelled or a worker panicked.
func (r *run) awaitPlanned(ctx context.Context, k int) (int64, error) {
	if r.cfg.StartAt.IsZero() {
		return 0, nil
	}
	planned := r.barrierNs() + int64(k)*int64(r.cfg.PhaseGap)
	for j := range k {
		planned += int64(r.plan.Phases[j%len(r.plan.Phases)].Duration)
	}
	if d := time.Duration(planned - r.clock.Now()); d > 0 {
		if k == 0 {
			r.logf("waiting %s for the start barrier %s", d.Round(time.Millisecond), r.cfg.StartAt.UTC().Format(time.RFC3339Nano))
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return planned, fmt.Errorf("%w waiting for the start barrier: %w", ErrInterrupted, context.Cause(ctx))
		case <-r.failCh:
			return planned, errors.New("worker panic before the start barrier")
		}
	} else if k == 0 {
		r.logf("start barrier %s passed %s ago: starting late", r.cfg.StartAt.UTC().Format(time.RFC3339Nano), (-d).Round(time.Millisecond))
	}
	return planned, nil
}

// tick collects the interval ending at now and hands it to OnTick.
func (r *run) tick(now int64, final bool) {
	iv := r.rec.Collect(now)
	if r.cfg.OnTick == nil {
		return
	}
	tick := Tick{Interval: iv, Recorder: r.rec, Elapsed: time.Duration(now), Final: final}
	if pi := int(r.phase.Load()); pi < len(r.plan.Phases) {
		tick.Phase = r.plan.Phases[pi].Name
	}
	tick.Ops, tick.Errors, tick.P99 = summarizeInterval(iv)
	r.cfg.OnTick(tick)
}

func summarizeInterval(iv *metrics.Interval) (ops, errs int64, p99 time.Duration) {
	var merged *hdrhistogram.Histogram
	for _, s := range iv.Series {
		n := s.Response.TotalCount()
		ops += n
		if s.Key.Class != op.OK {
			errs += n
			continue
		}
		if merged == nil {
			merged = metrics.NewLatencyHistogram()
		}
		merged.Merge(s.Response)
	}
	if merged != nil {
		v, _ := metrics.Quantile(merged, 0.99)
		p99 = time.Duration(v)
	}
	return ops, errs, p99
}
