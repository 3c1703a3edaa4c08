package metrics

import (
	"context"
	"fmt"
	"slices"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/op"
)

// Options configures a Recorder.
type Options struct {
	// Scenarios are the scenario names (index = scenario id); at least one
	// scenario slot exists even if empty.
	Scenarios []string
	// Phases are the phase names (index = phase id); at least one phase
	// slot exists even if empty.
	Phases []string
	// Keys is the oracle's capacity: key indexes [0, Keys) are tracked for
	// staleness and the session guarantees; others are not checked.
	Keys int
	// RingSize is the per-key number of recent acked writes the oracle
	// remembers (default DefaultRingSize; rounded up to a power of two). A
	// stale read's time staleness is exact while the read lags by fewer
	// than about RingSize writes of its key, a lower bound beyond.
	RingSize int
	// Checks are the checks every worker feeds (nil: none; latency only).
	Checks *Checks
	// Clock is the run clock Record reads completion times from and the
	// first interval starts at. Pass the runner's clock so all times share
	// one base; the zero Clock means NewClock() at NewRecorder.
	Clock Clock
}

// Recorder gathers the measurements of one run. NewWorker, Collect,
// Results, Finish and Recycle are goroutine-safe; recording goes through
// Workers.
type Recorder struct {
	scenarios, phases []string
	nScen, nPhase     int
	clock             Clock
	oracle            *Oracle
	layout            layout
	latPool, verPool  *histPool
	latCounts         *countsPool // the open interval's recording form of latPool's histograms
	verCounts         *countsPool // and of verPool's

	mu      sync.Mutex // guards everything below
	workers []*Worker
	cur     *ivSet  // the open interval
	spare   *ivSet  // a closed interval's set, reused as the next one
	last    int64   // end of the previous interval
	cells   []*cell // cumulative, [scenario*nPhase+phase], nil until used
}

// layout is where every measure lives in a cell.
type layout struct {
	checks   *Checks
	measures []Measure
	owner    []int // measure → check index
	// slot: counters → their counter slot (= the measure index), buckets →
	// their first counter slot (hits, total per bucket, after one slot per
	// measure); histograms → index among the check histograms; -1 for
	// ratios and verdicts.
	slot          []int
	meta          []measureMeta // by measure: what the record path needs
	nCounters     int
	nCheckHists   int
	checkHistBase int // cell-local index of the first check histogram
	histsPerCell  int
	histUnit      []Unit // by cell-local histogram index
}

// measureMeta is what the record path needs of one measure, in one place:
// a histogram's cell-local index and largest trackable value, a buckets'
// first counter slot and bounds.
type measureMeta struct {
	slot   int
	hi     int64
	bounds []int64
}

func newLayout(c *Checks) layout {
	l := layout{checks: c, checkHistBase: int(op.NumKinds) * int(op.NumClasses) * latencyMeasures}
	if c == nil {
		c = &Checks{}
		l.checks = c
	}
	l.measures = c.measures
	for i := range c.list {
		end := len(c.measures)
		if i+1 < len(c.base) {
			end = c.base[i+1]
		}
		for range c.measures[c.base[i]:end] {
			l.owner = append(l.owner, i)
		}
	}
	for range l.checkHistBase {
		l.histUnit = append(l.histUnit, UnitNanoseconds)
	}
	// Counter g lives at counter slot g (so a Tally adds without a lookup;
	// other measures leave theirs unused); buckets follow.
	l.nCounters = len(c.measures)
	for g, m := range c.measures {
		s := -1
		switch m.Kind {
		case KindCounter:
			s = g
		case KindBuckets:
			s = l.nCounters
			l.nCounters += 2 * len(m.Bounds)
		case KindHistogram:
			s = l.nCheckHists
			l.nCheckHists++
			l.histUnit = append(l.histUnit, m.Unit)
		}
		l.slot = append(l.slot, s)
	}
	l.histsPerCell = l.checkHistBase + l.nCheckHists
	for g, m := range c.measures {
		mm := measureMeta{slot: l.slot[g], hi: highestFor(m.Unit), bounds: m.Bounds}
		if m.Kind == KindHistogram {
			mm.slot += l.checkHistBase // the cell-local histogram index
		}
		l.meta = append(l.meta, mm)
	}
	return l
}

// NewRecorder returns a Recorder for o. It panics if scenarios × phases
// is too large to address (over about 130,000 cells: a programming error;
// profiles are bounded far below).
func NewRecorder(o Options) *Recorder {
	clock := o.Clock
	if clock.IsZero() {
		clock = NewClock()
	}
	r := &Recorder{
		scenarios: append([]string(nil), o.Scenarios...),
		phases:    append([]string(nil), o.Phases...),
		nScen:     max(len(o.Scenarios), 1),
		nPhase:    max(len(o.Phases), 1),
		clock:     clock,
		oracle:    newOracle(o.Keys, o.RingSize),
		layout:    newLayout(o.Checks),
		latPool:   newHistPool(NewLatencyHistogram),
		verPool:   newHistPool(NewVersionsHistogram),
		latCounts: newCountsPool(newGeometry(LatencyLowestNs, LatencyHighestNs, SignificantDigits)),
		verCounts: newCountsPool(newGeometry(VersionsLowest, VersionsHighest, SignificantDigits)),
	}
	if ids := r.nScen * r.nPhase * r.layout.histsPerCell; ids >= 1<<idBits {
		panic(fmt.Sprintf("metrics: NewRecorder: %d scenarios × %d phases is too many to record", r.nScen, r.nPhase))
	}
	r.last = clock.Now()
	r.cells = make([]*cell, r.nScen*r.nPhase)
	r.cur = r.newSet()
	return r
}

// Oracle returns the staleness oracle shared by all workers.
func (r *Recorder) Oracle() *Oracle { return r.oracle }

// Clock returns the run clock the recorder uses.
func (r *Recorder) Clock() Clock { return r.clock }

// Checks returns the checks the recorder runs (never nil; maybe empty).
func (r *Recorder) Checks() *Checks { return r.layout.checks }

// NewWorker returns a Worker for one worker goroutine (one client session)
// of scenario; session is an id for the caller's bookkeeping. It panics if
// scenario is out of range (a programming error).
func (r *Recorder) NewWorker(scenario, session int) *Worker {
	return r.NewWorkerFor(WorkerInfo{Scenario: scenario, Session: session})
}

// NewWorkerFor is NewWorker with the worker's index within its scenario
// (info.Keys is filled in from the oracle).
func (r *Recorder) NewWorkerFor(info WorkerInfo) *Worker {
	if info.Scenario < 0 || info.Scenario >= r.nScen {
		panic(fmt.Sprintf("metrics: NewWorker: scenario %d out of range [0,%d)", info.Scenario, r.nScen))
	}
	info.Keys = r.oracle.Keys()
	w := &Worker{
		r:        r,
		scenario: info.Scenario,
		session:  info.Session,
		meta:     r.layout.meta,
		block:    block{phase: -1, counters: make([]int64, r.layout.nCounters)},
	}
	for k := range w.block.spans {
		w.block.spans[k] = emptySpan()
	}
	c := r.layout.checks
	for i, ch := range c.list {
		cw := ch.NewWorker(info)
		if rc, ok := cw.(ReadChecker); ok {
			w.readers = append(w.readers, readChecker{c: rc, base: c.base[i]})
		}
		if wc, ok := cw.(WriteChecker); ok {
			w.writers = append(w.writers, writeChecker{c: wc, base: c.base[i]})
		}
		if qc, ok := cw.(QueueChecker); ok {
			w.queuers = append(w.queuers, queueChecker{c: qc, base: c.base[i]})
		}
	}
	r.mu.Lock()
	w.target = r.cur
	r.workers = append(r.workers, w)
	r.mu.Unlock()
	return w
}

// ivSet is one interval's shared state: one histogram per series and
// check histogram, and each cell's counters, filled by worker flushes.
type ivSet struct {
	mu sync.Mutex // guards everything below (worker flushes)
	// counts are the histograms being recorded (by histogram id); when the
	// interval closes, Collect drains them into hists, which closeCell
	// hands on.
	counts []*counts
	hists  []*hdrhistogram.Histogram
	cells  []*ivCell
}

// ivCell is one (scenario, phase)'s counters in an interval.
type ivCell struct {
	used     bool
	counters []int64
	spans    [op.NumKinds]span
	clamped  int64
}

func (r *Recorder) newSet() *ivSet {
	n := r.nScen * r.nPhase * r.layout.histsPerCell
	return &ivSet{
		counts: make([]*counts, n),
		hists:  make([]*hdrhistogram.Histogram, n),
		cells:  make([]*ivCell, r.nScen*r.nPhase),
	}
}

// cell returns the interval cell ci, marking it used. s.mu is held.
func (s *ivSet) cell(r *Recorder, ci int) *ivCell {
	c := s.cells[ci]
	if c == nil {
		c = &ivCell{counters: make([]int64, r.layout.nCounters)}
		for k := range c.spans {
			c.spans[k] = emptySpan()
		}
		s.cells[ci] = c
	}
	c.used = true
	return c
}

// record adds packed samples to the set's histograms. s.mu is held.
func (s *ivSet) record(r *Recorder, samples []uint64) {
	per, cs := r.layout.histsPerCell, s.counts
	for _, x := range samples {
		id := int(x >> valueBits)
		c := cs[id]
		if c == nil {
			c = r.countsPool(r.layout.histUnit[id%per]).get()
			s.counts[id] = c
			s.cell(r, id/per)
		}
		c.add(int64(x & valueMask))
	}
}

// drain moves the recorded counts into histograms (set.hists) and the
// counts back to their pools. No worker records into s any more.
func (s *ivSet) drain(r *Recorder) {
	per := r.layout.histsPerCell
	for id, c := range s.counts {
		if c == nil {
			continue
		}
		u := r.layout.histUnit[id%per]
		h := r.pool(u).get()
		c.drainInto(h)
		r.countsPool(u).put(c)
		s.counts[id], s.hists[id] = nil, h
	}
}

func (r *Recorder) countsPool(u Unit) *countsPool {
	if u == UnitVersions {
		return r.verCounts
	}
	return r.latCounts
}

func (r *Recorder) pool(u Unit) *histPool {
	if u == UnitVersions {
		return r.verPool
	}
	return r.latPool
}

// Collect closes the interval ending at nowNs (run-clock ns): it flushes
// every worker's buffered samples and counters into the interval (briefly
// taking each worker's lock) and points the worker at the next interval,
// so every op belongs to exactly one interval; then it merges the closed
// interval into the cumulative results and returns it. Call it from one
// goroutine at a time (concurrent calls are serialized).
func (r *Recorder) Collect(nowNs int64) *Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	iv := &Interval{StartNs: r.last, EndNs: nowNs}
	r.last = nowNs
	next := r.spare
	if next == nil {
		next = r.newSet()
	}
	r.spare = nil
	for _, w := range r.workers {
		w.mu.Lock()
		w.flushLocked()
		w.target = next
		w.mu.Unlock()
	}
	closing := r.cur
	r.cur = next
	// No worker points at closing any more: it is ours alone.
	closing.drain(r)
	for ci, c := range closing.cells {
		if c != nil && c.used {
			r.closeCell(closing, ci, c, iv)
		}
	}
	r.spare = closing
	return iv
}

// closeCell moves one interval cell into iv and the cumulative cell, and
// resets it. r.mu is held.
func (r *Recorder) closeCell(set *ivSet, ci int, c *ivCell, iv *Interval) {
	scenario, phase := ci/r.nPhase, ci%r.nPhase
	cum := r.cell(scenario, phase)
	base := ci * r.layout.histsPerCell
	for k := range op.NumKinds {
		for cl := range op.NumClasses {
			id := base + latencyIndex(k, cl, 0)
			resp := set.hists[id]
			if resp == nil {
				continue
			}
			svc, wait := set.hists[id+1], set.hists[id+2]
			set.hists[id], set.hists[id+1], set.hists[id+2] = nil, nil, nil
			ck := &cum.ops[k]
			ck.count[cl] += resp.TotalCount()
			ck.resp[cl].merge(resp, UnitNanoseconds)
			ck.svc[cl].merge(svc, UnitNanoseconds)
			ck.wait[cl].merge(wait, UnitNanoseconds)
			iv.Series = append(iv.Series, IntervalSeries{
				Key:      SeriesKey{Scenario: scenario, Phase: phase, Kind: k, Class: cl},
				Response: resp, Service: svc, Wait: wait,
			})
		}
		cum.ops[k].span.add(c.spans[k])
		c.spans[k] = emptySpan()
	}
	cum.clamped += c.clamped
	if vals, any := r.checkValues(set, base, c); any {
		for i, n := range c.counters {
			cum.counters[i] += n
		}
		for g, v := range vals {
			if v.Hist != nil {
				cum.hists[r.layout.slot[g]].merge(v.Hist, r.layout.measures[g].Unit)
			}
		}
		iv.Checks = append(iv.Checks, IntervalCell{Scenario: scenario, Phase: phase, Values: vals})
	}
	clear(c.counters)
	c.clamped = 0
	c.used = false
}

// checkValues takes the interval values of one cell's measures out of set
// (histograms are moved); any reports whether there was any check data.
func (r *Recorder) checkValues(set *ivSet, base int, c *ivCell) (vals []Value, any bool) {
	l := &r.layout
	if len(l.measures) == 0 {
		return nil, false
	}
	vals = make([]Value, len(l.measures))
	for g, m := range l.measures {
		s := l.slot[g]
		switch m.Kind {
		case KindCounter:
			vals[g].Count = c.counters[s]
			any = any || c.counters[s] != 0
		case KindBuckets:
			vals[g].Buckets = bucketsFrom(m.Bounds, c.counters[s:s+2*len(m.Bounds)])
			for _, n := range c.counters[s : s+2*len(m.Bounds)] {
				any = any || n != 0
			}
		case KindHistogram:
			id := base + l.checkHistBase + s
			vals[g].Hist, set.hists[id] = set.hists[id], nil
			any = any || vals[g].Hist != nil
		}
	}
	return vals, any
}

// bucketsFrom builds the buckets of bounds from (hits, total) counters.
func bucketsFrom(bounds []int64, counters []int64) []Bucket {
	out := bucketLayout(bounds)
	for i := range out {
		out[i].Hits, out[i].Total = counters[2*i], counters[2*i+1]
	}
	return out
}

// Recycle hands the histograms of an Interval returned by Collect back to
// the recorder's pools; the caller must not use iv afterwards. Optional: it
// only saves allocations.
func (r *Recorder) Recycle(iv *Interval) {
	for i := range iv.Series {
		s := &iv.Series[i]
		r.latPool.put(s.Response)
		r.latPool.put(s.Service)
		r.latPool.put(s.Wait)
	}
	for _, c := range iv.Checks {
		for g, v := range c.Values {
			if v.Hist != nil && g < len(r.layout.measures) {
				r.pool(r.layout.measures[g].Unit).put(v.Hist)
			}
		}
	}
	*iv = Interval{}
}

// Finish runs every check that is a Finisher (after the last op and the
// last Collect) and stores their verdicts, which Results then carries.
// Verdicts naming an unknown measure, a measure of another check or one
// that is not a KindVerdict, or a (scenario, phase) where no op ran, are
// ignored.
func (r *Recorder) Finish(ctx context.Context, info FinishInfo) {
	c := r.layout.checks
	for ci, ch := range c.list {
		f, ok := ch.(Finisher)
		if !ok {
			continue
		}
		vs := f.Finish(ctx, info)
		r.mu.Lock()
		for _, v := range vs {
			g, ok := c.byName[v.Measure]
			if !ok || r.layout.owner[g] != ci || r.layout.measures[g].Kind != KindVerdict ||
				v.Scenario < 0 || v.Scenario >= r.nScen || v.Phase < 0 || v.Phase >= r.nPhase {
				continue
			}
			c := r.cells[v.Scenario*r.nPhase+v.Phase]
			if c == nil {
				continue // no op ran there: nothing was judged
			}
			vv := v.Verdict
			c.verdicts[g] = &vv
		}
		r.mu.Unlock()
	}
}

// CellValue is a measurement a check made outside the record path (the
// lost-write audit reads the database after a group of scenarios ended)
// for one (scenario, phase) cell and one of its measures (by Name): Count
// is added to a KindCounter, each of Observe is recorded into a
// KindHistogram, and Verdict (when set) becomes a KindVerdict's value.
type CellValue struct {
	Scenario, Phase int
	Measure         string
	Count           int64
	Observe         []int64
	Verdict         *Verdict
}

// Add merges values into the cumulative results (Results carries them;
// no interval does). Values naming an unknown measure, a cell out of
// range, or a kind the value does not fit are refused, all of them,
// before anything is added. Goroutine-safe.
func (r *Recorder) Add(values []CellValue) error {
	c := r.layout.checks
	for _, v := range values {
		g, ok := c.byName[v.Measure]
		if !ok {
			return fmt.Errorf("metrics: add: unknown measure %q", v.Measure)
		}
		if v.Scenario < 0 || v.Scenario >= r.nScen || v.Phase < 0 || v.Phase >= r.nPhase {
			return fmt.Errorf("metrics: add %s: cell (%d, %d) out of range", v.Measure, v.Scenario, v.Phase)
		}
		k := r.layout.measures[g].Kind
		if (v.Count != 0 && k != KindCounter) || (len(v.Observe) > 0 && k != KindHistogram) || (v.Verdict != nil && k != KindVerdict) {
			return fmt.Errorf("metrics: add %s: value does not fit its kind", v.Measure)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range values {
		g := c.byName[v.Measure]
		cl := r.cell(v.Scenario, v.Phase)
		m := r.layout.measures[g]
		switch m.Kind {
		case KindCounter:
			cl.counters[r.layout.slot[g]] += v.Count
		case KindHistogram:
			if len(v.Observe) == 0 {
				continue
			}
			h := newHistogramFor(m.Unit)
			hi := highestFor(m.Unit)
			for _, x := range v.Observe {
				if uint64(x) > uint64(hi) {
					x = min(max(x, 0), hi)
					cl.clamped++
				}
				_ = h.RecordValue(x)
			}
			cl.hists[r.layout.slot[g]].merge(h, m.Unit)
		case KindVerdict:
			if v.Verdict != nil {
				vv := *v.Verdict
				cl.verdicts[g] = &vv
			}
		}
	}
	return nil
}

// cell is the cumulative state of one (scenario, phase).
type cell struct {
	ops      [op.NumKinds]cellKind
	counters []int64
	hists    []cow      // check histograms, by slot
	verdicts []*Verdict // by measure index
	clamped  int64
}

type cellKind struct {
	count     [op.NumClasses]int64
	resp, svc [op.NumClasses]cow
	wait      [op.NumClasses]cow
	span      span
}

// cow is a cumulative histogram shared copy-on-write with Results: a
// histogram Results handed out is never modified again; the next merge
// into it first copies it. So Results costs no copy, and a histogram is
// copied only when it is both handed out and then changed (at most once
// per interval), and the recorder never holds two copies.
type cow struct {
	h      *hdrhistogram.Histogram
	shared bool
}

// merge adds from (nil: nothing) to the histogram, creating it with u's
// geometry, or copying it first if Results handed it out.
func (c *cow) merge(from *hdrhistogram.Histogram, u Unit) {
	if from == nil {
		return
	}
	switch {
	case c.h == nil:
		c.h = newHistogramFor(u)
	case c.shared:
		c.h, c.shared = c.h.Clone(), false
	}
	c.h.Merge(from)
}

// share returns the histogram for Results (nil if none), which must not
// change it.
func (c *cow) share() *hdrhistogram.Histogram {
	if c.h != nil {
		c.shared = true
	}
	return c.h
}

// cell returns the cumulative cell of (scenario, phase), creating it.
// r.mu is held.
func (r *Recorder) cell(scenario, phase int) *cell {
	ci := scenario*r.nPhase + phase
	if r.cells[ci] == nil {
		c := &cell{
			counters: make([]int64, r.layout.nCounters),
			hists:    make([]cow, r.layout.nCheckHists),
			verdicts: make([]*Verdict, len(r.layout.measures)),
		}
		for k := range c.ops {
			c.ops[k].span = emptySpan()
		}
		r.cells[ci] = c
	}
	return r.cells[ci]
}

// Results returns the cumulative results as of the last Collect (and
// Finish): a copy that is safe to read while the run continues. Its
// histograms are shared read-only snapshots (the recorder copies one before
// it next changes it, so a snapshot never changes): do not modify them.
func (r *Recorder) Results() *Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Results{
		Scenarios: append([]string(nil), r.scenarios...),
		Phases:    append([]string(nil), r.phases...),
		Checks:    r.layout.checks,
		Measures:  slices.Clone(r.layout.measures),
	}
	for ci, c := range r.cells {
		if c != nil {
			res.Cells = append(res.Cells, r.export(c, ci/r.nPhase, ci%r.nPhase))
		}
	}
	return res
}

// export copies a cumulative cell. r.mu is held.
func (r *Recorder) export(c *cell, scenario, phase int) *Cell {
	out := &Cell{Scenario: scenario, Phase: phase, Ops: map[op.Kind]*OpStats{}, Clamped: c.clamped}
	for k := range c.ops {
		if s := c.ops[k].export(); s != nil {
			out.Ops[op.Kind(k)] = s
		}
	}
	if len(r.layout.measures) > 0 {
		out.Values = make([]Value, len(r.layout.measures))
	}
	for g, m := range r.layout.measures {
		s := r.layout.slot[g]
		switch m.Kind {
		case KindCounter:
			out.Values[g].Count = c.counters[s]
		case KindBuckets:
			out.Values[g].Buckets = bucketsFrom(m.Bounds, c.counters[s:s+2*len(m.Bounds)])
		case KindHistogram:
			out.Values[g].Hist = c.hists[s].share()
		case KindVerdict:
			if v := c.verdicts[g]; v != nil {
				vv := *v
				out.Values[g].Verdict = &vv
			}
		}
	}
	return out
}

// export copies one op kind's cumulative state (nil if it saw no op).
func (ck *cellKind) export() *OpStats {
	var s *OpStats
	for cl, n := range ck.count {
		if n == 0 {
			continue
		}
		if s == nil {
			s = &OpStats{
				Errors:   map[op.Class]int64{},
				Response: map[op.Class]*hdrhistogram.Histogram{},
				Service:  map[op.Class]*hdrhistogram.Histogram{},
				Wait:     map[op.Class]*hdrhistogram.Histogram{},
				FirstNs:  ck.span.first,
				LastNs:   ck.span.last,
			}
		}
		class := op.Class(cl)
		s.Count += n
		if class == op.OK {
			s.OK = n
		} else {
			s.Errors[class] = n
		}
		s.Response[class] = ck.resp[cl].share()
		s.Service[class] = ck.svc[cl].share()
		if h := ck.wait[cl].share(); h != nil {
			s.Wait[class] = h
		}
	}
	return s
}
