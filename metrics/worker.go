package metrics

import (
	"math"
	"sync"

	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// sampleBuffer is the number of packed samples (a power of two: indexes
// are masked) a worker buffers before it
// flushes them into the interval's shared histograms (512 bytes per worker).
const sampleBuffer = 64

// Packed samples: histogram id in the top idBits, value in the low
// valueBits (values are clamped into their geometry first: ≤ 6e10 < 2^40).
const (
	valueBits = 40
	idBits    = 64 - valueBits
	valueMask = 1<<valueBits - 1
)

// Worker records the ops of one worker goroutine, which is one client
// session of one scenario. Its recording methods (Record, RecordAt,
// RecordOp, RecordRead, Read, ReadEvent, CheckRead, Write, WriteEvent,
// Queued) must be called
// only by that goroutine;
// they are safe against a concurrent Recorder.Collect, which is the only
// other user. They do not allocate.
//
// A Worker holds no histogram: it packs each observation (series and
// value) into a small buffer that it flushes into one shared histogram per
// series when full, and the Collect closing an interval flushes it too, so
// memory is O(series), not O(workers × series). Counters are kept for the
// phase of the last event only, so per-worker memory does not grow with the
// number of phases either.
type Worker struct {
	r                 *Recorder
	scenario, session int
	readers           []readChecker
	writers           []writeChecker
	queuers           []queueChecker
	meta              []measureMeta // r.layout.meta, one load nearer
	held              bool          // mu is held for the event being dispatched
	evPhase           int           // the phase of the event being dispatched
	mu                sync.Mutex    // guards the fields below against Collect
	target            *ivSet        // the open interval this worker records into
	block             block
	buf               [sampleBuffer]uint64
	n                 int
	rev               Read  // event scratch: handed to checks by pointer
	wev               Write // without escaping
	cellBase          int   // histogram id of (scenario, block.phase, 0)
}

type readChecker struct {
	c    ReadChecker
	base int
}

type writeChecker struct {
	c    WriteChecker
	base int
}

type queueChecker struct {
	c    QueueChecker
	base int
}

// block is a worker's counters for one phase.
type block struct {
	phase    int // -1: none yet
	dirty    bool
	spans    [op.NumKinds]span
	counters []int64
	clamped  int64
}

// span is the [first actual start, last completion] of a (phase, kind).
type span struct {
	first, last int64
}

func emptySpan() span { return span{first: math.MaxInt64, last: math.MinInt64} }

func (s *span) add(o span) {
	s.first = min(s.first, o.first)
	s.last = max(s.last, o.last)
}

// Scenario returns the scenario index the worker records into.
func (w *Worker) Scenario() int { return w.scenario }

// Session returns the session id given to NewWorker.
func (w *Worker) Session() int { return w.session }

// OpSample is one finished op: its phase, kind and outcome class, its
// completion time (run-clock ns) and its durations (ns).
type OpSample struct {
	Phase int
	Kind  op.Kind
	Class op.Class
	// EndNs is the completion time.
	EndNs int64
	// ResponseNs is what the summary calls latency: completion − intended
	// start in open loop, the service time in closed loop.
	ResponseNs int64
	// ServiceNs is completion − service start (when the request went to
	// the database, after pacbench's own waits).
	ServiceNs int64
	// WaitNs is the generator wait: time the op spent waiting for pacbench
	// itself (a write's per-key writer lock) between being issued and its
	// service start; negative when the op kind never waits (no sample).
	WaitNs int64
}

// Record records one finished op of the given kind and outcome class in
// phase: responseNs (completion − intended start; equal to serviceNs in
// closed loop) and serviceNs (completion − actual start). The completion
// time is read from the recorder's Clock; use RecordAt when the caller
// already has it. phase must be in [0, len(Options.Phases)), kind <
// op.NumKinds and class < op.NumClasses.
func (w *Worker) Record(phase int, kind op.Kind, class op.Class, responseNs, serviceNs int64) {
	w.RecordAt(phase, kind, class, w.r.clock.Now(), responseNs, serviceNs)
}

// RecordAt is Record with the op's completion time endNs (run-clock ns)
// given by the caller, which saves a clock read; no generator wait.
func (w *Worker) RecordAt(phase int, kind op.Kind, class op.Class, endNs, responseNs, serviceNs int64) {
	w.RecordOp(OpSample{Phase: phase, Kind: kind, Class: class, EndNs: endNs, ResponseNs: responseNs, ServiceNs: serviceNs, WaitNs: -1})
}

// RecordOp records one finished op (see OpSample).
func (w *Worker) RecordOp(s OpSample) {
	w.mu.Lock()
	w.enter(s.Phase)
	w.recordLocked(&s)
	w.mu.Unlock()
}

// RecordRead is RecordOp of a read op followed by Read of its event, under
// one lock (the runner's path for plain reads); it returns the oracle's
// verdict as Read does. ev.Phase must be s.Phase.
func (w *Worker) RecordRead(s OpSample, ev *Read) *Staleness {
	e := w.prepare(ev)
	w.mu.Lock()
	w.held = true
	w.evPhase = s.Phase
	w.enter(s.Phase)
	w.recordLocked(&s)
	w.dispatchReaders(e)
	w.unlock()
	return &e.Staleness
}

// recordLocked records the latencies of one op. w.mu is held and the
// block is in the op's phase.
func (w *Worker) recordLocked(s *OpSample) {
	sp := &w.block.spans[s.Kind]
	sp.first = min(sp.first, s.EndNs-s.ServiceNs)
	sp.last = max(sp.last, s.EndNs)
	if w.n > sampleBuffer-latencyMeasures { // room for all three
		w.flushSamples()
	}
	id := uint64(w.cellBase + latencyIndex(s.Kind, s.Class, 0))
	n := w.n
	w.buf[n&(sampleBuffer-1)] = id<<valueBits | uint64(w.clampLatency(s.ResponseNs))
	w.buf[(n+1)&(sampleBuffer-1)] = (id+1)<<valueBits | uint64(w.clampLatency(s.ServiceNs))
	n += 2
	if s.WaitNs >= 0 {
		w.buf[n&(sampleBuffer-1)] = (id+2)<<valueBits | uint64(w.clampLatency(s.WaitNs))
		n++
	}
	w.n = n
}

// Read reports one read to the checks and returns the oracle's verdict:
// for a checked read (ok, a value pacbench wrote for this key, or no value)
// it first asks the shared Oracle, whose verdict the checks see in
// Staleness (ev's own Staleness is ignored); other reads are untracked. ev
// is not retained; the verdict returned is valid until the worker's next
// Read.
func (w *Worker) Read(ev *Read) *Staleness {
	e := w.prepare(ev)
	if len(w.readers) > 0 {
		w.evPhase = e.Phase
		w.lockFor() // reads are always recorded (staleness): lock at once
		w.dispatchReaders(e)
		w.release()
	}
	return &e.Staleness
}

// prepare copies ev into the worker's event (unless it is already there)
// and fills in the oracle's verdict.
func (w *Worker) prepare(ev *Read) *Read {
	if ev != &w.rev {
		w.rev = *ev
	}
	e := &w.rev
	if e.Checked() {
		w.r.oracle.checkInto(e.Key, e.Seq, e.InvokeNs, &e.Staleness)
	} else {
		e.Staleness = Staleness{SinceAckNs: -1}
	}
	return e
}

// dispatchReaders hands e to every ReadChecker. w.mu is held.
func (w *Worker) dispatchReaders(e *Read) {
	for i := range w.readers {
		c := &w.readers[i]
		c.c.Read(e, Tally{w: w, base: c.base})
	}
}

// WriteEvent returns the worker's write event for the caller to fill and
// pass to Write (which then does not copy it); zeroed.
func (w *Worker) WriteEvent() *Write {
	w.wev = Write{}
	return &w.wev
}

// ReadEvent returns the worker's event for the caller to fill and pass to
// Read or RecordRead (which then do not copy it); zeroed, valid until the
// worker's next read.
func (w *Worker) ReadEvent() *Read {
	w.rev = Read{}
	return &w.rev
}

// CheckRead is Read for one successful read of key in phase, invoked (and,
// for the checks, returned) at invokeNs, that found a value with header h
// (found=false: the key had no value, which counts as seq 0). A found value
// whose header names another key is foreign (not checked).
func (w *Worker) CheckRead(phase int, key uint64, found bool, h workloads.Header, invokeNs int64) *Staleness {
	ev := w.ReadEvent() // built in place: Read does not copy it again
	*ev = Read{Phase: phase, Key: key, InvokeNs: invokeNs, ReturnNs: invokeNs, Class: op.OK, Found: found}
	if found {
		ev.Seq, ev.Foreign = h.Seq, h.Key != key
	}
	return w.Read(ev)
}

// Write reports one write outcome to the checks (after the oracle learnt
// it: Acked or Failed). Call it before the session invokes any later op.
// ev is not retained.
func (w *Worker) Write(ev *Write) {
	if ev != &w.wev {
		w.wev = *ev
	}
	w.evPhase = ev.Phase
	for i := range w.writers {
		c := &w.writers[i]
		c.c.Write(&w.wev, Tally{w: w, base: c.base}) // locks only if it records
	}
	w.release()
}

// Queued reports one op that waited for a free worker to the checks
// (QueueChecker). Like Write, it is called by the worker's goroutine only;
// ev is not retained.
func (w *Worker) Queued(ev *Queued) {
	w.evPhase = ev.Phase
	for i := range w.queuers {
		c := &w.queuers[i]
		c.c.Queued(ev, Tally{w: w, base: c.base})
	}
	w.release()
}

// lockFor takes the recording lock for the event being dispatched and
// enters its phase.
func (w *Worker) lockFor() {
	w.mu.Lock()
	w.held = true
	w.enter(w.evPhase)
}

// release drops the lock lockFor took, if it did.
func (w *Worker) release() {
	if w.held {
		w.unlock()
	}
}

func (w *Worker) unlock() {
	w.held = false
	w.mu.Unlock()
}

// enter makes phase the block's phase, flushing another phase's counters
// first. w.mu is held.
func (w *Worker) enter(phase int) {
	if phase != w.block.phase {
		w.switchPhase(phase)
	}
	w.block.dirty = true
}

func (w *Worker) switchPhase(phase int) {
	if w.block.dirty {
		w.flushBlock()
	}
	w.block.phase = phase
	w.cellBase = (w.scenario*w.r.nPhase + phase) * w.r.layout.histsPerCell
}

// clampLatency clamps a duration into the latency geometry, counting it.
func (w *Worker) clampLatency(v int64) int64 {
	if uint64(v) > LatencyHighestNs { // negative or too large
		return w.clamp(v, LatencyHighestNs)
	}
	return v
}

// observe records v into check histogram g (a global measure index).
func (w *Worker) observe(g int, v int64) {
	if !w.held {
		w.lockFor()
	}
	m := &w.meta[g]
	if uint64(v) > uint64(m.hi) { // negative or too large
		v = w.clamp(v, m.hi)
	}
	if w.n >= sampleBuffer {
		w.flushSamples()
	}
	w.buf[w.n&(sampleBuffer-1)] = uint64(w.cellBase+m.slot)<<valueBits | uint64(v)
	w.n++
}

// bucket counts one event of value v into buckets g, as a hit or not.
func (w *Worker) bucket(g int, v int64, hit bool) {
	if !w.held {
		w.lockFor()
	}
	m := &w.meta[g]
	b := m.bounds
	i := 0
	for i < len(b)-1 && v >= b[i] {
		i++
	}
	c := w.block.counters
	s := m.slot + 2*i
	c[s+1]++
	if hit {
		c[s]++
	}
}

// clamp brings v into [0, hi], counting it.
func (w *Worker) clamp(v, hi int64) int64 {
	w.block.clamped++
	return min(max(v, 0), hi)
}

// flushSamples moves the buffered samples into the target interval's
// histograms. w.mu is held.
func (w *Worker) flushSamples() {
	if w.n == 0 {
		return
	}
	set := w.target
	set.mu.Lock()
	set.record(w.r, w.buf[:w.n])
	set.mu.Unlock()
	w.n = 0
}

// flushBlock moves the block's counters into the target interval. w.mu is
// held.
func (w *Worker) flushBlock() {
	b := &w.block
	set := w.target
	set.mu.Lock()
	c := set.cell(w.r, w.scenario*w.r.nPhase+b.phase)
	for i, n := range b.counters {
		c.counters[i] += n
	}
	for k := range b.spans {
		c.spans[k].add(b.spans[k])
		b.spans[k] = emptySpan()
	}
	c.clamped += b.clamped
	set.mu.Unlock()
	clear(b.counters)
	b.clamped = 0
	b.dirty = false
}

// flushLocked moves everything buffered into the target interval. w.mu is
// held.
func (w *Worker) flushLocked() {
	w.flushSamples()
	if w.block.dirty {
		w.flushBlock()
	}
}

// latencyIndex is the cell-local histogram index of (kind, class) and
// measure m (0 response, 1 service, 2 generator wait).
func latencyIndex(kind op.Kind, class op.Class, m int) int {
	return (int(kind)*int(op.NumClasses)+int(class))*latencyMeasures + m
}

// latencyMeasures is the number of latency histograms per (kind, class).
const latencyMeasures = 3
