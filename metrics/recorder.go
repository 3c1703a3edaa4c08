package metrics

import (
	"fmt"
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
	// staleness and session guarantees; others are not checked.
	Keys int
	// RingSize is the per-key number of recent acked writes the oracle
	// remembers (default DefaultRingSize; rounded up to a power of two). A
	// stale read's time staleness is exact while the read lags by fewer
	// than about RingSize writes of its key, a lower bound beyond.
	RingSize int
	// SessionKeys caps each worker's session table (default
	// DefaultSessionKeys slots, 24 bytes each, allocated on first use with
	// min(Keys, SessionKeys) rounded up to a power of two).
	SessionKeys int
	// Clock is the run clock Record reads completion times from and the
	// first interval starts at. Pass the runner's clock so all times share
	// one base; the zero Clock means NewClock() at NewRecorder.
	Clock Clock
}

// Recorder gathers the measurements of one run. NewWorker, Collect,
// Results and Recycle are goroutine-safe; recording goes through Workers.
type Recorder struct {
	scenarios, phases []string
	nScen, nPhase     int
	clock             Clock
	oracle            *Oracle
	vis               visBounds
	latPool, verPool  *histPool
	sessKeys          int

	mu       sync.Mutex // guards everything below
	workers  []*Worker
	last     int64                // end of the previous interval
	cells    []*cell              // [scenario*nPhase+phase], nil until used
	ivSeries []*IntervalSeries    // Collect scratch, by global series index
	ivStale  []*IntervalStaleness // Collect scratch, by cell index
}

// cell is the cumulative state of one (scenario, phase).
type cell struct {
	ops [op.NumKinds]cellKind
	st  phaseBuf // counters, cumulative Versions/Behind and visibility
}

type cellKind struct {
	count     [op.NumClasses]int64
	resp, svc [op.NumClasses]*hdrhistogram.Histogram
	span      span
}

// NewRecorder returns a Recorder for o.
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
		vis:       newVisBounds(),
		latPool:   newHistPool(NewLatencyHistogram),
		verPool:   newHistPool(NewVersionsHistogram),
		sessKeys:  o.SessionKeys,
	}
	r.last = clock.Now()
	r.cells = make([]*cell, r.nScen*r.nPhase)
	r.ivSeries = make([]*IntervalSeries, r.nScen*r.nPhase*seriesPerPhase)
	r.ivStale = make([]*IntervalStaleness, r.nScen*r.nPhase)
	return r
}

// Oracle returns the staleness oracle shared by all workers.
func (r *Recorder) Oracle() *Oracle { return r.oracle }

// Clock returns the run clock the recorder uses.
func (r *Recorder) Clock() Clock { return r.clock }

// NewWorker returns a Worker for one worker goroutine (one client session)
// of scenario; session is an id for the caller's bookkeeping. It panics if
// scenario is out of range (a programming error).
func (r *Recorder) NewWorker(scenario int, session int) *Worker {
	if scenario < 0 || scenario >= r.nScen {
		panic(fmt.Sprintf("metrics: NewWorker: scenario %d out of range [0,%d)", scenario, r.nScen))
	}
	w := &Worker{
		r:        r,
		scenario: scenario,
		session:  session,
		active:   newShard(r.nPhase),
		spare:    newShard(r.nPhase),
		sess:     newSessionTable(r.oracle.Keys(), r.sessKeys),
	}
	r.mu.Lock()
	r.workers = append(r.workers, w)
	r.mu.Unlock()
	return w
}

// Collect closes the interval ending at nowNs (run-clock ns): it swaps every
// worker's interval buffers (briefly taking each worker's mutex), merges
// them into the returned Interval and into the cumulative results, and
// resets them for reuse. A worker buffer that was idle for the whole
// interval gives its histograms back to a pool. Call it from one goroutine
// at a time (concurrent calls are serialized).
func (r *Recorder) Collect(nowNs int64) *Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	iv := &Interval{StartNs: r.last, EndNs: nowNs}
	r.last = nowNs
	for _, w := range r.workers {
		w.mu.Lock()
		w.active, w.spare = w.spare, w.active
		s := w.spare
		w.mu.Unlock()
		r.drain(w.scenario, s)
	}
	for gi, is := range r.ivSeries {
		if is == nil {
			continue
		}
		r.ivSeries[gi] = nil
		ck := &r.cell(is.Key.Scenario, is.Key.Phase).ops[is.Key.Kind]
		c := is.Key.Class
		ck.count[c] += is.Response.TotalCount()
		if ck.resp[c] == nil {
			ck.resp[c], ck.svc[c] = NewLatencyHistogram(), NewLatencyHistogram()
		}
		ck.resp[c].Merge(is.Response)
		ck.svc[c].Merge(is.Service)
		iv.Series = append(iv.Series, *is)
	}
	for ci, ist := range r.ivStale {
		if ist == nil {
			continue
		}
		r.ivStale[ci] = nil
		cst := &r.cell(ist.Scenario, ist.Phase).st
		cst.checked += ist.Checked
		cst.stale += ist.Stale
		cst.unchecked += ist.Unchecked
		cst.lowerBound += ist.LowerBound
		cst.ryw += ist.RYWViolations
		cst.monotonic += ist.MonotonicViolations
		if ist.Versions != nil {
			if cst.versions == nil {
				cst.versions, cst.behind = NewVersionsHistogram(), NewLatencyHistogram()
			}
			cst.versions.Merge(ist.Versions)
			cst.behind.Merge(ist.Behind)
		}
		for i, b := range ist.Visibility {
			cst.vis[i].fresh += b.Fresh
			cst.vis[i].total += b.Total
		}
		iv.Staleness = append(iv.Staleness, *ist)
	}
	return iv
}

// cell returns the cumulative cell of (scenario, phase), creating it.
// r.mu is held.
func (r *Recorder) cell(scenario, phase int) *cell {
	ci := scenario*r.nPhase + phase
	if r.cells[ci] == nil {
		c := &cell{}
		for k := range c.ops {
			c.ops[k].span = emptySpan()
		}
		r.cells[ci] = c
	}
	return r.cells[ci]
}

// drain moves one worker's filled interval buffer into the Collect scratch
// and the cumulative cells, and resets it. r.mu is held; the worker no
// longer touches s.
func (r *Recorder) drain(scenario int, s *shard) {
	base := scenario * r.nPhase * seriesPerPhase
	for i := range s.series {
		b := &s.series[i]
		if b.resp == nil {
			continue
		}
		if b.count == 0 { // idle for a whole interval: give the memory back
			r.latPool.put(b.resp)
			r.latPool.put(b.svc)
			b.resp, b.svc = nil, nil
			continue
		}
		is := r.ivSeries[base+i]
		if is == nil {
			phase, rest := i/seriesPerPhase, i%seriesPerPhase
			is = &IntervalSeries{
				Key: SeriesKey{
					Scenario: scenario, Phase: phase,
					Kind:  op.Kind(rest / int(op.NumClasses)),
					Class: op.Class(rest % int(op.NumClasses)),
				},
				Response: r.latPool.get(),
				Service:  r.latPool.get(),
			}
			r.ivSeries[base+i] = is
		}
		is.Response.Merge(b.resp)
		is.Service.Merge(b.svc)
		b.resp.Reset()
		b.svc.Reset()
		b.count = 0
	}
	for i := range s.spans {
		sp := &s.spans[i]
		if sp.empty() {
			continue
		}
		phase, kind := i/int(op.NumKinds), i%int(op.NumKinds)
		r.cell(scenario, phase).ops[kind].span.add(*sp)
		*sp = emptySpan()
	}
	for phase := range s.phases {
		p := &s.phases[phase]
		if p.versions != nil && p.stale == 0 {
			r.verPool.put(p.versions)
			r.latPool.put(p.behind)
			p.versions, p.behind = nil, nil
		}
		if !p.hasData() {
			continue
		}
		ci := scenario*r.nPhase + phase
		ist := r.ivStale[ci]
		if ist == nil {
			ist = &IntervalStaleness{Scenario: scenario, Phase: phase, Visibility: VisibilityBuckets()}
			r.ivStale[ci] = ist
		}
		ist.Checked += p.checked
		ist.Stale += p.stale
		ist.Unchecked += p.unchecked
		ist.LowerBound += p.lowerBound
		ist.RYWViolations += p.ryw
		ist.MonotonicViolations += p.monotonic
		if p.stale != 0 {
			if ist.Versions == nil {
				ist.Versions, ist.Behind = r.verPool.get(), r.latPool.get()
			}
			ist.Versions.Merge(p.versions)
			ist.Behind.Merge(p.behind)
			p.versions.Reset()
			p.behind.Reset()
		}
		for j := range p.vis {
			ist.Visibility[j].Fresh += p.vis[j].fresh
			ist.Visibility[j].Total += p.vis[j].total
		}
		// Counters that only the cumulative results carry.
		cst := &r.cell(scenario, phase).st
		cst.evictions += p.evictions
		cst.clamped += p.clamped
		*p = phaseBuf{versions: p.versions, behind: p.behind}
	}
}

// Recycle hands the histograms of an Interval returned by Collect back to
// the recorder's pools; the caller must not use iv afterwards. Optional: it
// only saves allocations.
func (r *Recorder) Recycle(iv *Interval) {
	for i := range iv.Series {
		r.latPool.put(iv.Series[i].Response)
		r.latPool.put(iv.Series[i].Service)
	}
	for i := range iv.Staleness {
		r.verPool.put(iv.Staleness[i].Versions)
		r.latPool.put(iv.Staleness[i].Behind)
	}
	*iv = Interval{}
}

// Results returns a deep copy of the cumulative results as of the last
// Collect; it is safe to read while the run continues.
func (r *Recorder) Results() *Results {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := &Results{
		Scenarios: append([]string(nil), r.scenarios...),
		Phases:    append([]string(nil), r.phases...),
	}
	for ci, c := range r.cells {
		if c == nil {
			continue
		}
		res.Cells = append(res.Cells, c.export(ci/r.nPhase, ci%r.nPhase))
	}
	return res
}

// export deep-copies a cumulative cell. r.mu is held.
func (c *cell) export(scenario, phase int) *Cell {
	out := &Cell{
		Scenario:            scenario,
		Phase:               phase,
		Ops:                 map[op.Kind]*OpStats{},
		RYWViolations:       c.st.ryw,
		MonotonicViolations: c.st.monotonic,
		SessionEvictions:    c.st.evictions,
		Clamped:             c.st.clamped,
		Staleness: StalenessStats{
			Checked:    c.st.checked,
			Stale:      c.st.stale,
			Unchecked:  c.st.unchecked,
			LowerBound: c.st.lowerBound,
			Versions:   cloneOr(c.st.versions, NewVersionsHistogram),
			Behind:     cloneOr(c.st.behind, NewLatencyHistogram),
		},
		Visibility: VisibilityBuckets(),
	}
	for i, v := range c.st.vis {
		out.Visibility[i].Fresh, out.Visibility[i].Total = v.fresh, v.total
	}
	for k := range c.ops {
		ck := &c.ops[k]
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
			s.Response[class] = ck.resp[cl].Clone()
			s.Service[class] = ck.svc[cl].Clone()
		}
		if s != nil {
			out.Ops[op.Kind(k)] = s
		}
	}
	return out
}

func cloneOr(h *hdrhistogram.Histogram, newFn func() *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if h == nil {
		return newFn()
	}
	return h.Clone()
}
