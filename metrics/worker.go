package metrics

import (
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// Worker records the ops of one worker goroutine, which is one client
// session of one scenario. Its recording methods (Record, RecordAt,
// CheckRead, Wrote) must be called only by that goroutine; they are safe
// against a concurrent Recorder.Collect, which is the only other user. After
// warm-up (each series seen in both interval buffers) they do not allocate.
type Worker struct {
	r        *Recorder
	scenario int
	session  int

	mu     sync.Mutex // guards active against Collect's swap
	active *shard
	spare  *shard // owned by Collect

	sess         sessionTable // worker-goroutine only
	pendingEvict int64        // session evictions not yet in a shard
}

// shard is one interval's worth of a worker's measurements, indexed by
// dense arrays: series by (phase, kind, class), spans by (phase, kind),
// phases by phase.
type shard struct {
	series []seriesBuf
	spans  []span
	phases []phaseBuf
}

type seriesBuf struct {
	resp, svc *hdrhistogram.Histogram
	count     int64
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

func (s span) empty() bool { return s.first > s.last }

// phaseBuf holds one phase's read-check and session counters.
type phaseBuf struct {
	checked, stale, unchecked, lowerBound int64
	ryw, monotonic, evictions, clamped    int64
	versions, behind                      *hdrhistogram.Histogram
	vis                                   [NumVisibilityBuckets]visCount
}

func (p *phaseBuf) hasData() bool {
	return p.checked != 0 || p.unchecked != 0 || p.ryw != 0 || p.monotonic != 0 ||
		p.evictions != 0 || p.clamped != 0
}

func newShard(phases int) *shard {
	s := &shard{
		series: make([]seriesBuf, phases*seriesPerPhase),
		spans:  make([]span, phases*int(op.NumKinds)),
		phases: make([]phaseBuf, phases),
	}
	for i := range s.spans {
		s.spans[i] = emptySpan()
	}
	return s
}

// seriesPerPhase is the number of (kind, class) series of one phase.
const seriesPerPhase = int(op.NumKinds) * int(op.NumClasses)

func seriesIndex(phase int, kind op.Kind, class op.Class) int {
	return phase*seriesPerPhase + int(kind)*int(op.NumClasses) + int(class)
}

// Scenario returns the scenario index the worker records into.
func (w *Worker) Scenario() int { return w.scenario }

// Session returns the session id given to NewWorker.
func (w *Worker) Session() int { return w.session }

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
// given by the caller, which saves a clock read.
func (w *Worker) RecordAt(phase int, kind op.Kind, class op.Class, endNs, responseNs, serviceNs int64) {
	w.mu.Lock()
	s := w.active
	b := &s.series[seriesIndex(phase, kind, class)]
	if b.resp == nil {
		b.resp, b.svc = w.r.latPool.get(), w.r.latPool.get()
	}
	b.count++
	if c := recordClamped(b.resp, responseNs, LatencyHighestNs) +
		recordClamped(b.svc, serviceNs, LatencyHighestNs); c != 0 {
		s.phases[phase].clamped += c
	}
	sp := &s.spans[phase*int(op.NumKinds)+int(kind)]
	sp.first = min(sp.first, endNs-serviceNs)
	sp.last = max(sp.last, endNs)
	w.mu.Unlock()
}

// CheckRead checks one successful read of key in phase, invoked at invokeNs
// (run-clock ns), that found a value with header h (found=false: the key
// had no value, which counts as seq 0). It consults the shared Oracle and
// records the verdict (staleness in versions and ns, t-visibility bucket)
// and this session's read-your-writes and monotonic-reads violations, then
// returns the verdict. A found value whose header names another key is not
// checked (it is counted as unchecked).
func (w *Worker) CheckRead(phase int, key uint64, found bool, h workloads.Header, invokeNs int64) Staleness {
	var seq uint64
	st := Staleness{SinceAckNs: -1}
	mismatch := found && h.Key != key
	if found {
		seq = h.Seq
	}
	var ryw, mono, evicted bool
	if !mismatch {
		st = w.r.oracle.Check(key, seq, invokeNs)
		ryw, mono, evicted = w.sess.read(key, seq)
	}

	w.mu.Lock()
	p := &w.active.phases[phase]
	if evicted {
		w.pendingEvict++
	}
	p.evictions += w.pendingEvict
	w.pendingEvict = 0
	if ryw {
		p.ryw++
	}
	if mono {
		p.monotonic++
	}
	if !st.Tracked {
		p.unchecked++
		w.mu.Unlock()
		return st
	}
	p.checked++
	if st.SinceAckNs >= 0 {
		v := &p.vis[w.r.vis.index(st.SinceAckNs)]
		v.total++
		if !st.Stale {
			v.fresh++
		}
	}
	if st.Stale {
		p.stale++
		if st.LowerBound {
			p.lowerBound++
		}
		if p.versions == nil {
			p.versions, p.behind = w.r.verPool.get(), w.r.latPool.get()
		}
		p.clamped += recordClamped(p.versions, int64(min(st.Versions, VersionsHighest)), VersionsHighest) +
			recordClamped(p.behind, st.BehindNs, LatencyHighestNs)
		if st.Versions > VersionsHighest {
			p.clamped++
		}
	}
	w.mu.Unlock()
	return st
}

// Wrote tells the worker that this session's own write of seq to key was
// acknowledged (for read-your-writes). Call it before the session invokes
// any later read.
func (w *Worker) Wrote(key, seq uint64) {
	if w.sess.wrote(key, seq) {
		w.pendingEvict++
	}
}
