package runner

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/workloads"
)

// pool is a pooled open-loop scenario's workers (load.max_workers >
// load.workers), as k6's arrival-rate executors' pre-allocated and maximum
// VUs: load.workers arrival streams pace the schedule (each its pacer, its
// share of the rate, its generator) and hand every due op to an idle
// executor; when none is idle the pool starts another of its executors
// (sessions opened up front, ids unique), up to load.max_workers; at the
// maximum the op waits for the first free executor and is counted as
// having waited for a worker (metrics.Queued), its wait part of its
// response time (measured from the intended start: no coordinated
// omission) and none of its service time.
type pool struct {
	sc      *scenarioRun
	streams []*worker       // pace arrivals; no session, no recorder
	jobs    chan job        // unbuffered: a send succeeds when an executor is idle
	mu      sync.Mutex      // guards next
	next    int             // executors started (sc.workers[:next])
	started atomic.Int64    // = next, for stats
	wg      *sync.WaitGroup // the group's (executors started later join it)
}

// job is one due op handed from a stream to an executor.
type job struct {
	o        workloads.Op
	phase    int
	intended int64 // run-clock ns
	issued   int64 // when the stream reached it
	// busy is the part of the stream's lag spent blocked handing its
	// previous op over (no worker free), −1 when it was not late.
	busy     int64
	queued   bool // the pool was at its maximum: it waited for a worker
	inflight *atomic.Int64
}

// newPool builds sc's arrival streams: load.workers of them, each with the
// pacer and seed a worker of that index has unpooled.
func (sc *scenarioRun) newPool(ctx context.Context) {
	r := sc.r
	sched := r.plan.Load.Schedule
	p := &pool{sc: sc, jobs: make(chan job)}
	for i := range sched.Workers() {
		seed := r.seed(sc.index, i)
		wctx, cancel := context.WithCancel(ctx)
		s := &worker{sc: sc, index: i, ctx: wctx, cancel: cancel, timer: time.NewTimer(time.Hour),
			gen: workloads.NewGenerator(r.plan.Workload, r.ks, seed), pacer: sched.Pacer(i, uint64(seed))}
		s.through.Store(-1)
		s.timer.Stop()
		sc.addFine(s)
		p.streams = append(p.streams, s)
	}
	sc.pool = p
}

// start runs the streams and the first load.workers executors; once every
// stream has returned, the executors finish their ops and return. It
// returns the streams' through counters (a stream is through a phase only
// when the ops it handed over in it have completed).
func (p *pool) start(wg *sync.WaitGroup) []*atomic.Int64 {
	p.wg = wg
	for range len(p.streams) {
		p.grow(nil)
	}
	var streams sync.WaitGroup
	out := make([]*atomic.Int64, 0, len(p.streams))
	for _, s := range p.streams {
		out = append(out, &s.through)
		streams.Add(1)
		p.sc.goRun(wg, func() {
			defer streams.Done()
			s.loop()
		})
	}
	go func() {
		streams.Wait()
		close(p.jobs)
	}()
	return out
}

// grow starts the next executor, with first (if not nil) as its first
// job, so that the stream growing the pool does not wait for the new
// goroutine to be scheduled; false when all are running. Called by the
// streams (and start).
func (p *pool) grow(first *job) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.next >= len(p.sc.workers) {
		return false
	}
	w := p.sc.workers[p.next]
	p.next++
	p.started.Store(int64(p.next))
	p.sc.goRun(p.wg, func() { w.serve(first, p.jobs) })
	return true
}

// peak returns the number of executors started (they never stop before
// the scenario ends): the most that ran at once.
func (p *pool) peak() int64 { return p.started.Load() }

// dispatch hands j, due now, from stream s to an idle executor, starting
// one if none is idle and the pool may grow, else waiting for the first
// free one. It returns when an executor took j (or the run stopped), and
// whether it had to wait for one (the pool at its maximum).
func (p *pool) dispatch(s *worker, j job) (waited bool) {
	j.inflight = &s.inflight
	s.inflight.Add(1)
	select {
	case p.jobs <- j:
		return false
	default:
	}
	if p.grow(&j) {
		return false
	}
	j.queued = true
	select {
	case p.jobs <- j:
	case <-s.ctx.Done():
		s.inflight.Add(-1)
	}
	return true
}

// serve runs first (if not nil), then the jobs handed to executor w, until
// the streams are done.
func (w *worker) serve(first *job, jobs <-chan job) {
	if first != nil {
		w.run(first)
	}
	for j := range jobs {
		w.run(&j)
	}
}

// run executes one job: the wait for a worker, when there was one, is the
// stream's busy lag plus the time from the stream reaching the op to an
// executor taking it.
func (w *worker) run(j *job) {
	taken := w.sc.r.clock.Now()
	waited := int64(-1)
	if j.queued || j.busy > 0 {
		waited = max(j.busy, 0) + taken - j.issued
	}
	w.exec(j.o, j.phase, j.intended, taken, waited)
	w.moveSession()
	j.inflight.Add(-1)
}
