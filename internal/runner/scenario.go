package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/workloads"
)

// sessionIDs numbers a run's driver sessions: the loader's are negative,
// the workers' 1…S×W (scenario after scenario; W is load.max_workers for a
// pool that may grow), the probes' after them.
// Unique for any numbers of scenarios, workers and probes (validation
// bounds them far below the uint32 of the value header's writer). In a
// shard, workers keep the whole run's numbering (W is the run's workers,
// this shard's from its first worker on).
type sessionIDs struct {
	scenarios, workers, first, probes int
}

func newSessionIDs(p *plan.Plan) sessionIDs {
	ids := sessionIDs{scenarios: len(p.Scenarios), workers: p.Load.Schedule.Workers(), probes: len(p.Checks.Probes)}
	if p.Shard.Sharded() {
		ids.workers, ids.first = p.Shard.Workers, p.Shard.FirstWorker
	}
	if p.Load.Pooled() { // every executor the pool may start (unsharded: validated)
		ids.workers = p.Load.MaxWorkers
	}
	return ids
}

// global returns the run-wide index of this process's worker w.
func (s sessionIDs) global(w int) int { return s.first + w }

// worker returns the id of worker w of scenario si.
func (s sessionIDs) worker(si, w int) int { return 1 + si*s.workers + s.global(w) }

// probe returns the id of probe di of scenario si.
func (s sessionIDs) probe(si, di int) int { return 1 + s.scenarios*s.workers + si*s.probes + di }

// loader returns the id of loader session w.
func (sessionIDs) loader(w int) int { return -1 - w }

// newScenario opens the sessions of scenario si's workers, paced by the
// plan's load schedule and admitted by g. A pooled scenario
// (plan.Load.Pooled) opens load.max_workers sessions, of which the pool
// starts the first load.workers at once and the rest when arrivals find no
// worker free, and paces its arrivals by streams (newPool).
func (r *run) newScenario(ctx context.Context, si int, g *gate) (*scenarioRun, error) {
	p := r.plan
	sched := p.Load.Schedule
	sc := &scenarioRun{r: r, index: si, open: sched.Open(), g: g}
	n := sched.Workers()
	if p.Load.Pooled() {
		n = p.Load.MaxWorkers
	}
	for w := range n {
		wk, err := r.newWorker(ctx, sc, w)
		if err != nil {
			sc.close()
			return nil, err
		}
		sc.workers = append(sc.workers, wk)
	}
	if p.Load.Pooled() {
		sc.newPool(ctx)
	}
	return sc, nil
}

// seed returns the seed of worker w of scenario si.
func (r *run) seed(si, w int) int64 {
	return r.plan.Seed*1_000_003 + int64(si)*10_007 + int64(r.ids.global(w))
}

// newWorker opens worker w of sc: its session(s), generator, recorder and
// pacer; an open-loop worker that paces itself (not a pool's executor)
// gets a fine timer.
func (r *run) newWorker(ctx context.Context, sc *scenarioRun, w int) (*worker, error) {
	p := r.plan
	si := sc.index
	id := r.ids.worker(si, w)
	sessions, err := r.openSessions(ctx, si, id, w)
	if err != nil {
		return nil, err
	}
	sess := sessions[0]
	if err := r.stampWrites(sessions, w); err != nil {
		for _, s := range sessions {
			_ = s.Close()
		}
		return nil, err
	}
	seed := r.seed(si, w)
	// Each worker derives its per-op contexts from its own cancelable
	// context: a per-op context registers with its parent under the
	// parent's mutex, which would otherwise be one mutex shared by all
	// workers on every op.
	wctx, wcancel := context.WithCancel(ctx)
	wk := &worker{
		sc: sc, id: id, sess: sess,
		gen:       workloads.NewGenerator(p.Workload, r.ks, seed),
		rec:       r.rec.NewWorkerFor(metrics.WorkerInfo{Scenario: si, Session: id, Index: w}),
		buf:       make([]byte, max(p.Workload.ValueSize, workloads.HeaderSize)),
		ctx:       wctx,
		cancel:    wcancel,
		timeout:   r.opTimeout(),
		timer:     time.NewTimer(time.Hour),
		index:     w,
		sessions:  sessions,
		moveEvery: p.Checks.SessionMoves,
		conv:      r.newConvBins(),
	}
	wk.through.Store(-1)
	wk.timer.Stop()
	wk.scanner, _ = sess.(drivers.Scanner)
	wk.caser, _ = sess.(drivers.CASer)
	wk.inserter, _ = sess.(drivers.Inserter)
	if !p.Load.Pooled() {
		wk.pacer = p.Load.Schedule.Pacer(w, uint64(seed))
		sc.addFine(wk)
	}
	return wk, nil
}

// addFine gives open-loop worker w its fine timer (none on failure: Go
// timers only).
func (sc *scenarioRun) addFine(w *worker) {
	if !sc.open {
		return
	}
	if w.fine, _ = newFineTimer(sc.r.clock); w.fine != nil {
		sc.g.addTimer(w.fine)
	}
}

// start runs every worker in its goroutine (a pooled scenario: its
// arrival streams and the pool's first load.workers executors) and returns
// the through counters of the goroutines that pace arrivals.
func (sc *scenarioRun) start(wg *sync.WaitGroup) []*atomic.Int64 {
	if sc.pool != nil {
		return sc.pool.start(wg)
	}
	out := make([]*atomic.Int64, 0, len(sc.workers))
	for _, w := range sc.workers {
		out = append(out, &w.through)
		sc.goRun(wg, w.loop)
	}
	return out
}

// goRun runs f in a goroutine counted by wg, reporting a panic.
func (sc *scenarioRun) goRun(wg *sync.WaitGroup, f func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			if p := recover(); p != nil {
				sc.r.workerPanic(p)
			}
		}()
		f()
	}()
}

func (sc *scenarioRun) close() {
	ws := sc.workers
	if sc.pool != nil {
		ws = append(ws[:len(ws):len(ws)], sc.pool.streams...)
	}
	for _, w := range ws {
		if w.sess != nil {
			_ = w.sess.Close()
		}
		w.cancel()
		if w.fine != nil {
			sc.g.dropTimer(w.fine)
			_ = w.fine.close()
		}
	}
}

// stats reports how the load model was honoured over elapsedNs of phase
// time (on the schedule clock in open loop).
func (sc *scenarioRun) stats(elapsedNs int64) LoadStats {
	load := sc.r.plan.Load
	var maxLag, maxBusy, maxGen, busy, gen int64
	st := LoadStats{Model: load.Model, Workers: len(sc.workers), KeptUp: true}
	paced := sc.workers
	for _, w := range sc.workers {
		st.NoWorkerOps += w.queued.Load()
	}
	if sc.pool != nil {
		paced = sc.pool.streams
		st.Workers, st.MaxWorkers, st.PeakWorkers = len(paced), len(sc.workers), int(sc.pool.peak())
	}
	for _, w := range paced {
		st.Ops += w.started.Load()
		st.Skipped += w.skipped.Load()
		maxLag = max(maxLag, w.maxLag.Load())
		maxBusy, maxGen = max(maxBusy, w.maxBusyLag.Load()), max(maxGen, w.maxGenLag.Load())
		busy, gen = busy+w.busyLag.Load(), gen+w.genLag.Load()
	}
	if elapsedNs > 0 {
		st.AchievedRate = float64(st.Ops) / (float64(elapsedNs) / 1e9)
	}
	if sc.open {
		st.TargetRate = load.Schedule.Rate(time.Duration(elapsedNs))
		st.MaxScheduleLagMs = float64(maxLag) / 1e6
		st.MaxBusyLagMs, st.BusyLagMs = float64(maxBusy)/1e6, float64(busy)/1e6
		st.MaxGeneratorLagMs, st.GeneratorLagMs = float64(maxGen)/1e6, float64(gen)/1e6
		st.judge()
	}
	return st
}

// judge sets KeptUp and BehindReason of open-loop stats: behind when an
// op's lag of either kind exceeded MaxGeneratorLag, arrivals were skipped
// or the achieved rate fell below 95 % of the target; the generator's
// fault (not kept up) when its own lag exceeded the limit or was the
// larger part of the lag in all, the busy workers' otherwise.
func (st *LoadStats) judge() {
	limit := float64(MaxGeneratorLag) / 1e6
	behind := st.MaxGeneratorLagMs > limit || st.MaxBusyLagMs > limit || st.Skipped > 0 || st.AchievedRate < 0.95*st.TargetRate
	switch {
	case !behind:
		st.KeptUp, st.BehindReason = true, ""
	case st.MaxGeneratorLagMs > limit || st.GeneratorLagMs > st.BusyLagMs:
		st.KeptUp, st.BehindReason = false, BehindGenerator
	default:
		st.KeptUp, st.BehindReason = true, BehindWorkersBusy
	}
}

// stampWrites hands worker w's sessions the clock of its write route when
// the plan skews a client clock (client_clock_skew): they stamp their
// writes with it. A session that cannot take client timestamps is a setup
// error then.
func (r *run) stampWrites(sessions []drivers.Session, w int) error {
	if r.cfg.WriteClocks == nil || !r.skewsClientClock() {
		return nil
	}
	member := r.writerMembers[r.writeRoute(w)]
	if member == "" {
		return nil
	}
	clock := r.cfg.WriteClocks.Clock(member)
	for _, s := range sessions {
		ts, ok := s.(drivers.ClientTimestamper)
		if !ok {
			return fmt.Errorf("%w: a phase skews the writers' clock via %s, but %s sessions take no client write timestamps", drivers.ErrUnsupported, member, r.driver.Name())
		}
		ts.StampWrites(clock.Now)
	}
	return nil
}

// skewsClientClock reports whether some phase has a client_clock_skew.
func (r *run) skewsClientClock() bool {
	for _, ph := range r.plan.Phases {
		for _, s := range ph.Impairments {
			if impair.ClassOf(s.Kind) == impair.ClassClient {
				return true
			}
		}
	}
	return false
}
