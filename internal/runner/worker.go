package runner

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// scenarioRun is one scenario's worker group.
type scenarioRun struct {
	r       *run
	index   int
	workers []*worker
	open    bool  // the load model's times are arrivals (open loop)
	g       *gate // the group's gate

	pool          *pool // a growing pool (load.max_workers); nil: each worker paces itself
	probes        *probeCounters
	deltas        []time.Duration
	probeSessions []drivers.Session
}

// worker is one client session: one goroutine, one driver session, one
// generator, one recorder worker.
type worker struct {
	sc       *scenarioRun
	id       int
	sess     drivers.Session
	gen      *workloads.Generator
	rec      *metrics.Worker
	pacer    load.Pacer
	buf      []byte
	ctx      context.Context    // the worker's own child of the run context
	cancel   context.CancelFunc // cancels ctx (at close)
	timeout  time.Duration
	scanner  drivers.Scanner
	caser    drivers.CASer
	inserter drivers.Inserter
	timer    *time.Timer
	fine     *fineTimer // open loop on Linux: precise waits (nil: Go timers only)
	// started and maxLag are written only by the worker's goroutine; they
	// are per worker (not per scenario) so that no cache line is shared
	// between workers on the per-op path.
	started atomic.Int64 // ops started
	maxLag  atomic.Int64 // largest open-loop schedule lag, ns
	// The lag split (noteLag): the part while the worker was still busy
	// with its previous op, and the rest (the worker idle, the generator
	// late): largest and summed, ns.
	maxBusyLag, busyLag atomic.Int64
	maxGenLag, genLag   atomic.Int64
	skipped             atomic.Int64 // open-loop arrivals skipped (their phase was over)
	// through is the last phase in which the worker issues nothing more
	// (read by the group to end a phase).
	through atomic.Int64
	// sessions holds one session per read member when sessions move
	// between members (checks.session_moves); sessions[0] otherwise.
	sessions                  []drivers.Session
	moveEvery, sinceMove, cur int
	// conv counts checked/stale reads in convergence bins per phase (nil
	// for phases that do not follow an impaired one).
	conv [][]convBin
	// index of the worker within its scenario.
	index int
	// queued counts the ops this worker ran that had waited for a worker
	// (written only by the worker's goroutine); qev is the event scratch.
	queued atomic.Int64
	qev    metrics.Queued
	// inflight (a pool's arrival stream) counts the ops it handed to the
	// pool's executors that have not completed.
	inflight atomic.Int64
}

// convBin counts the reads of one convergence bin.
type convBin struct{ checked, stale int64 }

// aborted reports whether err comes from the run cancelling its own ops
// (interrupt), which is not a database outcome and is not recorded.
func (w *worker) aborted(err error) bool {
	return err != nil && w.ctx.Err() != nil && errors.Is(err, context.Canceled)
}

// exec runs one op issued at issued (run-clock ns; after pacing) and
// records it. Response time is completion − intended start in open loop
// and the service time in closed loop; service time starts when the
// request goes to the database, after pacbench's own waits (a write's
// per-key writer lock), whose length is recorded as the generator wait.
// waitedNs ≥ 0 is the time the op waited for a free worker (then it is
// reported to the checks as Queued); negative when it did not.
func (w *worker) exec(o workloads.Op, phase int, intended, issued, waitedNs int64) {
	r := w.sc.r
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	defer cancel()
	var err error
	var end int64       // completion, when the op already read the clock
	var v drivers.Value // what a plain read returned
	start := issued     // service start
	waits := false      // the op takes a key's writer lock
	kind := o.Kind
	switch o.Kind {
	case op.Read:
		v, err = w.sess.Read(ctx, r.ks.Key(o.Key))
		end = r.clock.Now()
	case op.Write:
		start, err = w.write(ctx, phase, o.Key, nil)
		waits = true
	case op.Insert:
		waits = true
		key, ok := r.ks.NextInsert()
		if !ok {
			kind = op.Write
			start, err = w.write(ctx, phase, o.Key, nil)
			break
		}
		start, err = w.write(ctx, phase, key, w.inserter)
		// Acknowledge whatever the outcome (as YCSB does): a failed insert
		// must not freeze the "latest" window for the rest of the run.
		r.ks.AckInsert(key)
	case op.Scan:
		if w.scanner == nil {
			err = op.Errorf(op.Other, "scan: %w", drivers.ErrUnsupported)
			break
		}
		_, err = w.scanner.Scan(ctx, r.ks.Key(o.Key), max(o.ScanLen, 1))
	case op.RMW:
		start, err = w.rmw(ctx, phase, o.Key)
		waits = true
	case op.CAS:
		start, err = w.cas(ctx, phase, o.Key, start)
		waits = w.caser != nil
	}
	if end == 0 {
		end = r.clock.Now()
	}
	if w.aborted(err) {
		return
	}
	if waitedNs >= 0 {
		w.noteQueued(phase, kind, waitedNs)
	}
	s := metrics.OpSample{Phase: phase, Kind: kind, Class: op.ClassOf(err), EndNs: end,
		ResponseNs: end - intended, ServiceNs: end - start, WaitNs: -1}
	if !w.sc.open {
		s.ResponseNs = s.ServiceNs // closed loop: latency is service time
	}
	if waits {
		s.WaitNs = start - issued
	}
	if kind == op.Read { // the op and its check under one recording lock
		w.convergence(phase, w.rec.RecordRead(s, w.readEvent(phase, o.Key, v, err, start, end)), start)
		return
	}
	w.rec.RecordOp(s)
}

// noteQueued counts an op of kind that waited waitedNs for a worker and
// reports it to the checks.
func (w *worker) noteQueued(phase int, kind op.Kind, waitedNs int64) {
	w.queued.Add(1)
	w.qev = metrics.Queued{Phase: phase, Kind: kind, WaitNs: waitedNs}
	w.rec.Queued(&w.qev)
}

// read reads key, invoked at start, as part of an rmw or cas, and reports
// the read to the checks (unless the run aborted it); it returns the value
// and the read's completion time.
func (w *worker) read(ctx context.Context, phase int, key uint64, start int64) (drivers.Value, int64, error) {
	v, err := w.sess.Read(ctx, w.sc.r.ks.Key(key))
	ret := w.sc.r.clock.Now()
	if !w.aborted(err) {
		w.convergence(phase, w.rec.Read(w.readEvent(phase, key, v, err, start, ret)), start)
	}
	return v, ret, err
}

// readEvent describes one read for the checks (decoding the value's
// header), in the recorder worker's own event (no copy, no allocation).
func (w *worker) readEvent(phase int, key uint64, v drivers.Value, err error, start, ret int64) *metrics.Read {
	ev := w.rec.ReadEvent()
	*ev = metrics.Read{Phase: phase, Key: key, InvokeNs: start, ReturnNs: ret, Class: op.ClassOf(err),
		Overlapped: w.sc.r.split.overlaps(phase)}
	if err == nil && v.Found {
		ev.Found = true
		if h, herr := workloads.DecodeHeader(v.Data); herr == nil && h.Key == key {
			ev.Seq = h.Seq
		} else {
			ev.Foreign = true // not ours: not checked
		}
	}
	return ev
}

// convergence counts a checked read into its bin when the phase follows an
// impaired one ("how soon is eventual").
func (w *worker) convergence(phase int, st *metrics.Staleness, invoke int64) {
	if phase >= len(w.conv) || w.conv[phase] == nil || !st.Tracked {
		return
	}
	b := (invoke - w.sc.r.phaseStart(phase)) / int64(ConvergenceBin)
	bins := w.conv[phase]
	if b < 0 || b >= int64(len(bins)) {
		return
	}
	bins[b].checked++
	if st.Stale {
		bins[b].stale++
	}
}

// moveSession switches the worker to the next read member's session every
// moveEvery ops, as clients behind a load balancer do.
func (w *worker) moveSession() {
	if w.moveEvery <= 0 || len(w.sessions) < 2 {
		return
	}
	w.sinceMove++
	if w.sinceMove < w.moveEvery {
		return
	}
	w.sinceMove = 0
	w.cur = (w.cur + 1) % len(w.sessions)
	w.sess = w.sessions[w.cur]
	w.scanner, _ = w.sess.(drivers.Scanner)
	w.caser, _ = w.sess.(drivers.CASer)
	w.inserter, _ = w.sess.(drivers.Inserter)
}

// write writes key with the next seq while holding the key's writer lock,
// so writes to one key never overlap. It returns the service start (after
// the lock was acquired).
func (w *worker) write(ctx context.Context, phase int, key uint64, ins drivers.Inserter) (int64, error) {
	r := w.sc.r
	orc := r.rec.Oracle()
	overlap := w.lockKey(phase, key)
	defer w.unlockKey(overlap, key)
	seq := orc.NextSeq(key)
	start := r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: start}.Encode(w.buf)
	var err error
	if ins != nil {
		err = ins.Insert(ctx, r.ks.Key(key), w.buf)
	} else {
		err = w.sess.Write(ctx, r.ks.Key(key), w.buf)
	}
	w.ack(overlap, phase, key, seq, start, err)
	return start, err
}

// ack tells the oracle and the checks how the write of seq to key,
// started at start, ended; a write that overlapped other routes' writes
// (split-brain) reports under the key's oracle lock.
func (w *worker) ack(overlap bool, phase int, key, seq uint64, start int64, err error) {
	orc := w.sc.r.rec.Oracle()
	now := w.sc.r.clock.Now()
	if overlap {
		orc.Lock(key)
		defer orc.Unlock(key)
	}
	out := metrics.Acked
	if err == nil {
		orc.Acked(key, seq, start, now)
		if !overlap && w.sc.r.split != nil {
			orc.Settle(key, now) // after split-brain writes: judged again
		}
	} else {
		orc.Failed(key, seq, start)
		out = metrics.Indeterminate
	}
	ev := w.rec.WriteEvent() // the recorder worker's own: no copy, no allocation
	*ev = metrics.Write{Phase: phase, Key: key, Seq: seq, InvokeNs: start, ReturnNs: now, Outcome: out}
	w.rec.Write(ev)
}

// rmw reads then writes one key, holding its writer lock throughout.
func (w *worker) rmw(ctx context.Context, phase int, key uint64) (int64, error) {
	r := w.sc.r
	orc := r.rec.Oracle()
	overlap := w.lockKey(phase, key)
	defer w.unlockKey(overlap, key)
	start := r.clock.Now()
	if _, _, err := w.read(ctx, phase, key, start); err != nil {
		return start, err
	}
	seq := orc.NextSeq(key)
	wstart := r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: wstart}.Encode(w.buf)
	err := w.sess.Write(ctx, r.ks.Key(key), w.buf)
	w.ack(overlap, phase, key, seq, wstart, err)
	return start, err
}

// cas reads the key's current value and swaps in the next version if the
// key is still at the version read (the driver's Value.Version); a lost
// comparison is a conflict.
func (w *worker) cas(ctx context.Context, phase int, key uint64, start int64) (int64, error) {
	r := w.sc.r
	if w.caser == nil {
		return start, op.Errorf(op.Other, "cas: %w", drivers.ErrUnsupported)
	}
	orc := r.rec.Oracle()
	overlap := w.lockKey(phase, key)
	defer w.unlockKey(overlap, key)
	start = r.clock.Now()
	v, _, err := w.read(ctx, phase, key, start)
	if err != nil {
		return start, err
	}
	seq := orc.NextSeq(key)
	wstart := r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: wstart}.Encode(w.buf)
	swapped, err := w.caser.CAS(ctx, r.ks.Key(key), v.Version, w.buf)
	if err == nil && !swapped {
		w.notApplied(overlap, phase, key, seq, wstart)
		return start, op.Errorf(op.Conflict, "cas: comparison failed")
	}
	w.ack(overlap, phase, key, seq, wstart, err)
	return start, err
}

// notApplied tells the oracle and the checks that the CAS of seq to key,
// started at start, lost its comparison (see ack for overlap).
func (w *worker) notApplied(overlap bool, phase int, key, seq uint64, start int64) {
	orc := w.sc.r.rec.Oracle()
	if overlap {
		orc.Lock(key)
		defer orc.Unlock(key)
	}
	orc.Failed(key, seq, start)
	ev := w.rec.WriteEvent()
	*ev = metrics.Write{Phase: phase, Key: key, Seq: seq, InvokeNs: start, ReturnNs: w.sc.r.clock.Now(), Outcome: metrics.NotApplied}
	w.rec.Write(ev)
}

// openSessions opens the worker's session(s): one pinned to the read route,
// or, when sessions move (checks.session_moves > 0), one per member; worker
// w writes through its write route (routes.writers).
func (r *run) openSessions(ctx context.Context, si, id, w int) ([]drivers.Session, error) {
	p := r.plan
	reads := [][]string{r.readEP}
	if p.Checks.SessionMoves > 0 && len(r.res.Members) > 1 {
		reads = reads[:0]
		for _, m := range r.res.Members {
			reads = append(reads, []string{m.Endpoint})
		}
	}
	out := make([]drivers.Session, 0, len(reads))
	for _, ep := range reads {
		s, err := r.client.Session(ctx, drivers.SessionConfig{Levels: p.Scenarios[si].Levels, ReadEndpoints: ep,
			WriteEndpoints: r.writers[r.writeRoute(w)], ID: id})
		if err != nil {
			for _, o := range out {
				_ = o.Close()
			}
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// ConvergenceBin is the width of the bins in which reads are counted after
// an impaired phase to measure how soon staleness returns to baseline.
const ConvergenceBin = 100 * time.Millisecond

// newConvBins allocates convergence bins for every phase that directly
// follows an impaired phase and has none itself.
func (r *run) newConvBins() [][]convBin {
	phases := r.plan.Phases
	out := make([][]convBin, len(phases))
	for i := 1; i < len(phases); i++ {
		if phases[i-1].Impaired() && !phases[i].Impaired() {
			out[i] = make([]convBin, int(phases[i].Duration/ConvergenceBin)+1)
		}
	}
	return out
}
