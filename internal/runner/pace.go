package runner

import (
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/internal/load"
)

// loop runs the worker's ops until its group stops: it asks its pacer when
// the next op is due (on the schedule's clock), waits at the gate until
// that op's phase admits it, issues it and records it in the phase it was
// issued in.
func (w *worker) loop() {
	r, g := w.sc.r, w.sc.g
	skipper, _ := w.pacer.(load.Skipper)
	var now time.Duration // schedule time at which the previous op completed (closed loop)
	var end int64         // run-clock time at which the previous op completed
	hint := 0
	for n := uint64(0); ; {
		at := w.pacer.Next(n, now)
		hint = g.phaseAt(at, hint)
		phase, intended, ok := w.admit(hint, at)
		if !ok {
			return
		}
		if phase < 0 { // the arrival's phase is over: skip to what is not
			next := n + 1
			if skipper != nil {
				next = max(next, skipper.Skip(n, g.resume()))
			}
			w.skipped.Add(int64(next - n))
			n = next
			continue
		}
		n++
		o := w.gen.Next()
		start := r.clock.Now()
		waited := int64(-1) // the part of its lag the op waited for its worker
		if !w.sc.open {
			intended = start
		} else if start > intended {
			waited = w.noteLag(intended, start, end)
		}
		w.started.Add(1)
		if w.sc.pool != nil {
			// The stream is busy (no worker free) only while a hand-over
			// waits; a quick one leaves the next op's lag to the generator.
			end = 0
			if w.sc.pool.dispatch(w, job{o: o, phase: phase, intended: intended, issued: start, busy: waited}) {
				end = r.clock.Now()
			}
			continue
		}
		if waited == 0 {
			waited = -1 // its worker was free: the generator was late
		}
		w.exec(o, phase, intended, start, waited)
		w.moveSession()
		end = r.clock.Now()
		if !w.sc.open {
			now = g.schedTime(phase, end)
		}
	}
}

// noteLag accounts an open-loop op's schedule lag (start − intended > 0),
// split into the time its worker was still busy with its previous op
// (which completed at prevEnd: waiting on the database, the op's recording
// included) and the rest, when the worker was free but the op had not
// started: the generator late (CPU starvation, GC, the pacer's wake-up).
// Written only by the worker's goroutine. It returns the busy part.
func (w *worker) noteLag(intended, start, prevEnd int64) int64 {
	lag := start - intended
	busy := min(max(prevEnd-intended, 0), lag)
	gen := lag - busy
	storeMax(&w.maxLag, lag)
	storeMax(&w.maxBusyLag, busy)
	storeMax(&w.maxGenLag, gen)
	w.busyLag.Store(w.busyLag.Load() + busy)
	w.genLag.Store(w.genLag.Load() + gen)
	return busy
}

// storeMax raises a to v (a has one writer).
func storeMax(a *atomic.Int64, v int64) {
	if v > a.Load() {
		a.Store(v)
	}
}

// admit waits at the gate until the op due at schedule time at (in phase
// pi) may be issued. It returns the phase the op is issued in and, for an
// open-loop arrival, its intended start on the run clock (closed loop: 0).
// phase < 0 means skip the arrival: its phase is over. ok is false when
// the group stops. While it waits, the worker is through the phases it
// has nothing more to issue in.
func (w *worker) admit(pi int, at time.Duration) (phase int, intended int64, ok bool) {
	g := w.sc.g
	for {
		ch := g.changed()
		ph, mode := g.load()
		var done int
		switch {
		case mode == gateStop:
			return 0, 0, false
		case w.sc.open && (ph > pi || ph == pi && mode == gateClosed):
			return -1, 0, true
		case w.sc.open && ph == pi && mode == gateOpen:
			t := g.realTime(pi, at)
			if w.sleepUntil(t, ch) {
				return pi, t, true
			}
			continue // the gate changed meanwhile
		case !w.sc.open && mode == gateOpen && ph >= pi:
			if ph == pi && !w.sleepUntil(g.realTime(pi, at), ch) {
				continue
			}
			return ph, 0, true
		case w.sc.open:
			done = pi - 1 // the arrival's phase has not opened yet
		case mode == gateClosed:
			done = ph
		default:
			done = ph - 1
		}
		if w.inflight.Load() > 0 { // a pool stream: its ops still run
			w.timerWait(time.Millisecond, ch)
			continue
		}
		markThrough(&w.through, done)
		if !g.wait(ch, w.ctx.Done()) {
			return 0, 0, false
		}
	}
}

// sleepUntil waits until the run clock reaches t; it returns false when ch
// (the gate's change channel) is closed first. Open loop on Linux waits on
// the worker's fineTimer (which the gate kicks when it changes); otherwise
// a Go timer, spinning through the last 50 µs.
func (w *worker) sleepUntil(t int64, ch <-chan struct{}) bool {
	if w.fine != nil {
		ok, err := w.fine.wait(t, ch)
		if err == nil {
			return ok
		}
		w.sc.g.dropTimer(w.fine)
		_ = w.fine.close()
		w.fine = nil // Go timers from now on
	}
	clock := w.sc.r.clock
	d := time.Duration(t - clock.Now())
	if d <= 0 {
		return true
	}
	if d < 50*time.Microsecond {
		for clock.Now() < t {
			select {
			case <-ch:
				return false
			default:
			}
		}
		return true
	}
	return w.timerWait(d, ch)
}

// timerWait waits d on the worker's Go timer or until ch is closed; it
// returns false when ch was closed.
func (w *worker) timerWait(d time.Duration, ch <-chan struct{}) bool {
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-ch:
		w.timer.Stop()
		return false
	}
}
