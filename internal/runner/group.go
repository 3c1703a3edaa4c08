package runner

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/plan"
)

// Gate modes: what a group's sessions may issue in the gate's phase.
const (
	// gatePending: the phase has not started (the previous one is over and
	// this one's impairments are being applied): nothing is issued.
	gatePending = iota
	// gateOpen: the phase runs; every op is issued in it.
	gateOpen
	// gateClosed: the phase's time is up: nothing more is issued in it
	// (open-loop arrivals still overdue are skipped); its ops in flight
	// complete under its impairments.
	gateClosed
	// gateStop: the group is over; sessions return.
	gateStop
)

// gate tells a group's sessions (workers and probes) which phase they are
// in and what they may issue. Only the group's goroutine changes it;
// sessions read it lock-free on every op. An op is attributed to the phase
// the gate admitted it in, and a phase ends only when every session has
// declared (through) that it issues nothing more in it, so every op of a
// phase runs under that phase's impairments, start to finish.
type gate struct {
	state  atomic.Int64                  // phase<<3 | mode
	mu     sync.Mutex                    // guards timers
	timers []*fineTimer                  // the sessions' fine timers, kicked at every change
	ch     atomic.Pointer[chan struct{}] // closed at every change of state
	starts []atomic.Int64                // run-clock start of each phase (written before it opens)
	bounds []time.Duration               // schedule time at which each phase starts; the last entry is the end
}

func newGate(phases []plan.Phase, starts []atomic.Int64) *gate {
	g := &gate{starts: starts, bounds: make([]time.Duration, len(phases)+1)}
	for i, ph := range phases {
		g.bounds[i+1] = g.bounds[i] + ph.Duration
	}
	for i := range starts {
		starts[i].Store(math.MaxInt64)
	}
	ch := make(chan struct{})
	g.ch.Store(&ch)
	return g
}

// load returns the gate's phase and mode.
func (g *gate) load() (phase, mode int) {
	s := g.state.Load()
	return int(s >> 3), int(s & 7)
}

// set publishes (phase, mode) and wakes every waiting session: those
// waiting on the change channel, and those in a fine-timer wait (kicked
// after the channel is closed, so a kicked wait sees it closed).
func (g *gate) set(phase, mode int) {
	g.state.Store(int64(phase)<<3 | int64(mode))
	ch := make(chan struct{})
	close(*g.ch.Swap(&ch))
	g.mu.Lock()
	for _, t := range g.timers {
		t.kick()
	}
	g.mu.Unlock()
}

// addTimer registers a session's fine timer to be kicked at every change.
func (g *gate) addTimer(t *fineTimer) {
	g.mu.Lock()
	g.timers = append(g.timers, t)
	g.mu.Unlock()
}

// dropTimer unregisters t (before it is closed).
func (g *gate) dropTimer(t *fineTimer) {
	g.mu.Lock()
	g.timers = slices.DeleteFunc(g.timers, func(x *fineTimer) bool { return x == t })
	g.mu.Unlock()
}

// changed returns a channel that is closed at the next set. Take it before
// loading the state it is meant to guard.
func (g *gate) changed() <-chan struct{} { return *g.ch.Load() }

// wait blocks until ch (from changed) is closed; false if done was closed
// first.
func (g *gate) wait(ch, done <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

// phaseAt returns the phase whose schedule window holds schedule time t
// (len(phases) past the end), searching from hint.
func (g *gate) phaseAt(t time.Duration, hint int) int {
	n := len(g.bounds) - 1
	i := min(max(hint, 0), n)
	for i > 0 && t < g.bounds[i] {
		i--
	}
	for i < n && t >= g.bounds[i+1] {
		i++
	}
	return i
}

// resume returns the schedule time from which open-loop arrivals are not
// over yet: the gate phase's start, or its end once it is closed.
func (g *gate) resume() time.Duration {
	ph, mode := g.load()
	if mode >= gateClosed {
		ph++
	}
	return g.bounds[min(ph, len(g.bounds)-1)]
}

// realTime maps schedule time t of phase pi (started) to the run clock.
func (g *gate) realTime(pi int, t time.Duration) int64 {
	return g.starts[pi].Load() + int64(t-g.bounds[pi])
}

// schedTime maps run-clock time now during (or after) phase pi to the
// schedule clock.
func (g *gate) schedTime(pi int, now int64) time.Duration {
	return g.bounds[pi] + time.Duration(now-g.starts[pi].Load())
}

// markThrough records that the session issues nothing more in phases ≤ pi.
// Only the session's goroutine writes through.
func markThrough(through *atomic.Int64, pi int) {
	if int64(pi) > through.Load() {
		through.Store(int64(pi))
	}
}

// group is the scenarios that run together through the phases (all of
// them side by side; one at a time in sequential mode).
type group struct {
	r          *run
	gate       *gate
	scs        []*scenarioRun
	names      []string
	through    []*atomic.Int64 // one per session (workers and probes)
	hard       context.Context // cancelled to abort ops in flight
	cancelHard context.CancelFunc
	wg         sync.WaitGroup
	// measured is the phases' time run, ns: on the run clock (closed
	// loop: workers issue until the gate closes) and on the schedule clock
	// (open loop: a phase's arrivals end at its planned duration even when
	// its timer fires late).
	measured, scheduled int64
	stopped             bool
}

// runGroup runs the scenarios in idx together through every phase.
func (r *run) runGroup(ctx context.Context, idx []int) error {
	g, err := r.newGroup(ctx, idx)
	if err != nil {
		return err
	}
	defer g.cancelHard()
	runErr := g.run(ctx)
	g.stop(runErr != nil)
	if runErr == nil {
		g.auditGroup(ctx, idx)
	}
	for _, sc := range g.scs {
		elapsed := g.measured
		if sc.open {
			elapsed = g.scheduled
		}
		r.res.Load[sc.index] = sc.stats(elapsed)
		r.res.Probes = append(r.res.Probes, sc.probeStats()...)
		r.res.Convergence = append(r.res.Convergence, sc.convergenceStats()...)
		sc.close()
	}
	return runErr
}

// newGroup opens the group's sessions and starts them; they wait at the
// gate until the first phase opens.
func (r *run) newGroup(ctx context.Context, idx []int) (*group, error) {
	p := r.plan
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	g := &group{r: r, gate: newGate(p.Phases, r.phaseAt), hard: hard, cancelHard: cancelHard}
	for _, si := range idx {
		sc, err := r.newScenario(hard, si, g.gate)
		if err != nil {
			for _, s := range g.scs {
				s.close()
			}
			cancelHard()
			return nil, fmt.Errorf("%w: scenario %s: %w", ErrSetup, p.Scenarios[si].Name, err)
		}
		g.scs = append(g.scs, sc)
		g.names = append(g.names, p.Scenarios[si].Name)
	}
	r.phaseMu.Lock()
	r.scenarios = g.scs
	r.phaseMu.Unlock()
	for _, sc := range g.scs {
		g.through = append(g.through, sc.start(&g.wg)...)
		if len(p.Checks.Probes) > 0 {
			th, err := sc.startProbes(hard, &g.wg, p.Checks.Probes)
			if err != nil {
				r.res.Errors = append(r.res.Errors, fmt.Sprintf("scenario %s: %v (no visibility probes)", p.Scenarios[sc.index].Name, err))
			}
			g.through = append(g.through, th...)
		}
	}
	return g, nil
}

// run takes the group through the phases: apply a phase's impairments,
// open it, wait its duration, drain it, clear its impairments, next.
func (g *group) run(ctx context.Context) error {
	r := g.r
	for pi, ph := range r.plan.Phases {
		win := PhaseWindow{Name: ph.Name, Index: pi, Scenarios: g.names}
		g.gate.set(pi, gatePending) // the previous phase has drained: nothing is issued until pi opens
		planned, err := r.awaitPlanned(ctx, len(r.res.Phases))
		if err != nil {
			r.res.Partial = true
			g.stop(true)
			return err
		}
		win.PlannedNs = planned
		r.logf("phase %s (%s) %s", ph.Name, ph.Duration, strings.Join(g.names, ", "))
		if len(ph.Impairments) > 0 {
			evs, err := r.applyPhase(ctx, ph)
			win.Impairments = evs
			if err != nil {
				r.res.Partial = true
				g.stop(true)
				r.clearImpairments()
				win.StartNs, win.EndNs = r.clock.Now(), r.clock.Now()
				r.res.Phases = append(r.res.Phases, win)
				return err
			}
		}
		win.StartNs = g.open(pi)
		if len(ph.Faults) > 0 {
			err = g.nemesis(ctx, ph, win.StartNs, &win)
		} else {
			err = g.wait(ctx, ph, ph.Duration)
		}
		win.EndNs = r.clock.Now()
		g.measured += win.EndNs - win.StartNs
		g.scheduled += min(win.EndNs-win.StartNs, int64(ph.Duration))
		if err == nil {
			win.DrainedNs = g.drain(ctx, pi)
			if ctx.Err() != nil {
				err = fmt.Errorf("%w after phase %s: %w", ErrInterrupted, ph.Name, context.Cause(ctx))
			}
		}
		if err != nil {
			r.res.Partial = true
			g.stop(true) // abort the ops in flight before healing under them
		}
		if ph.Impaired() {
			r.clearImpairments()
			for i := range win.Impairments {
				if win.Impairments[i].ClearedNs == 0 { // a drawn fault healed in the phase keeps its heal time
					win.Impairments[i].ClearedNs = r.clock.Now()
				}
			}
		}
		r.res.Phases = append(r.res.Phases, win)
		if err != nil {
			return err
		}
	}
	return nil
}

// open starts phase pi now (its impairments are in place) and returns the
// start on the run clock.
func (g *group) open(pi int) int64 {
	r := g.r
	now := r.clock.Now()
	r.phaseAt[pi].Store(now)
	r.phase.Store(int32(pi))
	g.gate.set(pi, gateOpen)
	return now
}

// nemesis waits out phase ph, started at start (run clock), carrying out
// its drawn faults: each applied at its start offset and healed at its
// end (the heal clears what the phase applied: drawn faults never
// overlap, and such a phase has no other impairments), each action
// recorded in win. A fault whose time has passed (a slow heal before it)
// is applied at once. On an error the fault in place is left to the
// caller's heal, as a phase's impairments are.
func (g *group) nemesis(ctx context.Context, ph plan.Phase, start int64, win *PhaseWindow) error {
	r := g.r
	until := func(offset time.Duration) error {
		return g.wait(ctx, ph, time.Duration(start+int64(offset)-r.clock.Now()))
	}
	for i, d := range ph.Faults {
		if err := until(d.Start.D()); err != nil {
			return err
		}
		r.logf("fault %d/%d of phase %s: %s", i+1, len(ph.Faults), ph.Name, d)
		evs, err := r.apply(ctx, ph.Name, []impair.Spec{d.Fault})
		first := len(win.Impairments)
		for _, ev := range evs {
			ev.Fault = i + 1
			win.Impairments = append(win.Impairments, ev)
		}
		if err != nil {
			return err
		}
		if err := until(d.End()); err != nil {
			return err
		}
		r.clearImpairments()
		now := r.clock.Now()
		for j := first; j < len(win.Impairments); j++ {
			win.Impairments[j].ClearedNs = now
		}
	}
	return until(ph.Duration)
}

// wait waits d (none when d ≤ 0) within phase ph, or until the
// interruption or worker panic that ends the run.
func (g *group) wait(ctx context.Context, ph plan.Phase, d time.Duration) error {
	timer := time.NewTimer(max(d, 0))
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w in phase %s: %w", ErrInterrupted, ph.Name, context.Cause(ctx))
	case <-g.r.failCh:
		return fmt.Errorf("worker panic in phase %s", ph.Name)
	}
}

// drain ends phase pi: nothing more is issued in it; it returns (on the
// run clock) when every op issued in the phase has completed, bounded by an
// op timeout plus 5 s (a session still busy then is reported), or at once
// when the run is interrupted.
func (g *group) drain(ctx context.Context, pi int) int64 {
	r := g.r
	g.gate.set(pi, gateClosed)
	bound := r.opTimeout() + 5*time.Second
	if !g.waitThrough(ctx, pi, bound) && ctx.Err() == nil {
		busy := 0
		for _, th := range g.through {
			if th.Load() < int64(pi) {
				busy++
			}
		}
		msg := fmt.Sprintf("phase %s: %d sessions still had an op in flight %s after its end", r.plan.Phases[pi].Name, busy, bound)
		r.res.Errors = append(r.res.Errors, msg)
		r.logf("%s", msg)
	}
	return r.clock.Now()
}

// waitThrough waits up to d until every session is through phase pi; false
// on timeout, interruption or worker panic.
func (g *group) waitThrough(ctx context.Context, pi int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		done := true
		for _, th := range g.through {
			if th.Load() < int64(pi) {
				done = false
				break
			}
		}
		if done {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return false
		case <-g.r.failCh:
			return false
		}
	}
}

// stop ends the group: sessions return (aborting their ops in flight when
// hard); it waits for them, bounded by an op timeout plus 5 s, then aborts
// what is left. Idempotent.
func (g *group) stop(hard bool) {
	if g.stopped {
		return
	}
	g.stopped = true
	if hard {
		g.cancelHard()
	}
	ph, _ := g.gate.load()
	g.gate.set(ph, gateStop)
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(g.r.opTimeout() + 5*time.Second):
		g.cancelHard()
		<-done
	}
}

// phaseStart returns the run-clock start of phase pi of the group running
// (MaxInt64 if it has not started).
func (r *run) phaseStart(pi int) int64 { return r.phaseAt[pi].Load() }

// await waits until a phase is open and returns it; sessions that issue no
// open-loop arrivals (probes) use it. While it waits, the session is
// through the phases it has nothing more to issue in. ok is false when the
// group stops or done is closed.
func (g *gate) await(through *atomic.Int64, done <-chan struct{}) (phase int, ok bool) {
	for {
		ch := g.changed()
		ph, mode := g.load()
		switch {
		case mode == gateStop:
			return 0, false
		case mode == gateOpen:
			return ph, true
		case mode == gateClosed:
			markThrough(through, ph)
		default:
			markThrough(through, ph-1)
		}
		if !g.wait(ch, done) {
			return 0, false
		}
	}
}
