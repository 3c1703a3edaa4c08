package metrics

import (
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/op"
)

// Interval is what one Collect gathered: every series that recorded ops
// between StartNs and EndNs (run-clock ns), merged over workers. The caller
// owns it; it may hand its histograms back with Recorder.Recycle.
type Interval struct {
	StartNs, EndNs int64
	// Series is ordered by (scenario, phase, kind, class).
	Series []IntervalSeries
	// Checks holds the check measurements of each (scenario, phase) that
	// had any in this interval, in that order (Values indexed like
	// Results.Measures; counts over this interval only).
	Checks []IntervalCell
}

// IntervalSeries is one series' latencies over one interval, merged over
// workers (values in ns; TotalCount is the op count).
type IntervalSeries struct {
	Key               SeriesKey
	Response, Service *hdrhistogram.Histogram
	// Wait is the generator wait (nil for op kinds that never wait).
	Wait *hdrhistogram.Histogram
}

// IntervalCell is one (scenario, phase)'s check values over one interval.
type IntervalCell struct {
	Scenario, Phase int
	Values          []Value
}

// SeriesKey identifies a series: the unit of every histogram and counter.
type SeriesKey struct {
	Scenario, Phase int
	Kind            op.Kind
	Class           op.Class
}

// Results is a copy of the cumulative results as of the last Collect.
type Results struct {
	// Scenarios and Phases are the names given in Options (index = id).
	Scenarios []string
	Phases    []string
	// Checks is the registry the recorder ran (never nil; maybe empty) and
	// Measures its measures: Cell.Values is indexed alike.
	Checks   *Checks
	Measures []Measure
	// Cells has one Cell per (scenario, phase) that saw ops or verdicts,
	// ordered by scenario then phase.
	Cells []*Cell
}

// Cell is the cumulative measurement of one (scenario, phase).
type Cell struct {
	Scenario, Phase int
	// Ops holds only the kinds that occurred.
	Ops map[op.Kind]*OpStats
	// Values holds every check measure (see Results.Measures).
	Values []Value
	// Clamped counts values recorded at the edge of a histogram's range
	// because they fell outside it (negative, > 60 s, > 1e9 versions).
	Clamped int64
}

// OpStats is the cumulative measurement of one op kind in one cell.
type OpStats struct {
	// Count is the number of attempted ops, OK the successful ones.
	Count, OK int64
	// Errors counts failed ops by class (only classes that occurred).
	Errors map[op.Class]int64
	// Response and Service hold latencies in ns by outcome class (only
	// classes that occurred; op.OK for successes). Errors keep their latency.
	Response, Service map[op.Class]*hdrhistogram.Histogram
	// Wait holds the generator wait in ns by outcome class, for op kinds
	// that wait (writes: the per-key writer lock); empty otherwise.
	Wait map[op.Class]*hdrhistogram.Histogram
	// FirstNs is the earliest actual start (completion − service time) and
	// LastNs the latest completion of these ops, in run-clock ns.
	FirstNs, LastNs int64
}

// Cell returns the cell of (scenario, phase), or nil if it saw no ops.
func (r *Results) Cell(scenario, phase int) *Cell {
	for _, c := range r.Cells {
		if c.Scenario == scenario && c.Phase == phase {
			return c
		}
	}
	return nil
}

// Value returns the value of the measure named name in c (ok false if the
// recorder ran no such measure).
func (r *Results) Value(c *Cell, name string) (Value, bool) {
	if r.Checks == nil || c == nil {
		return Value{}, false
	}
	i, ok := r.Checks.Index(name)
	if !ok || i >= len(c.Values) {
		return Value{}, false
	}
	return c.Values[i], true
}
