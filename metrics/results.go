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
	// Staleness holds the read checks and session counters of each
	// (scenario, phase) that had any in this interval, in that order.
	Staleness []IntervalStaleness
}

// IntervalSeries is one series' latencies over one interval, merged over
// workers (values in ns; TotalCount is the op count).
type IntervalSeries struct {
	Key               SeriesKey
	Response, Service *hdrhistogram.Histogram
}

// SeriesKey identifies a series: the unit of every histogram and counter.
type SeriesKey struct {
	Scenario, Phase int
	Kind            op.Kind
	Class           op.Class
}

// IntervalStaleness is one (scenario, phase)'s read checks over one
// interval; the fields mean what their namesakes in Cell and
// StalenessStats mean, counted over this interval only.
type IntervalStaleness struct {
	Scenario, Phase int
	// Checked, Stale, Unchecked and LowerBound count reads (see
	// StalenessStats).
	Checked, Stale, Unchecked, LowerBound int64
	// RYWViolations and MonotonicViolations count session violations.
	RYWViolations, MonotonicViolations int64
	// Versions and Behind (ns) hold the stale reads; nil when Stale is 0.
	Versions, Behind *hdrhistogram.Histogram
	// Visibility has NumVisibilityBuckets buckets (see VisibilityBuckets).
	Visibility []VisibilityBucket
}

// Results is a deep copy of the cumulative results as of the last Collect.
type Results struct {
	// Scenarios and Phases are the names given in Options (index = id).
	Scenarios []string
	Phases    []string
	// Cells has one Cell per (scenario, phase) that saw ops, ordered by
	// scenario then phase.
	Cells []*Cell
}

// Cell is the cumulative measurement of one (scenario, phase).
type Cell struct {
	Scenario, Phase int
	// Ops holds only the kinds that occurred.
	Ops map[op.Kind]*OpStats
	// Staleness covers checked reads only (CheckRead).
	Staleness StalenessStats
	// RYWViolations counts reads that returned a seq below the session's
	// own last acked write to the key; MonotonicViolations reads that
	// returned a seq below the highest the session had already read.
	RYWViolations, MonotonicViolations int64
	// Visibility has NumVisibilityBuckets buckets of t = read invoke − ack
	// time of c (see VisibilityBuckets); Fresh/Total is P(consistent | t).
	Visibility []VisibilityBucket
	// SessionEvictions counts session-table slots reused for another key
	// (only when Keys exceeds Options.SessionKeys); each may hide, never
	// invent, a session violation.
	SessionEvictions int64
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
	// FirstNs is the earliest actual start (completion − service time) and
	// LastNs the latest completion of these ops, in run-clock ns.
	FirstNs, LastNs int64
}

// StalenessStats is the staleness of the checked reads of one cell.
type StalenessStats struct {
	// Checked reads got a verdict; Stale of them returned a seq below c.
	Checked, Stale int64
	// Unchecked reads could not be judged (see Staleness.Tracked).
	Unchecked int64
	// LowerBound counts stale reads whose time staleness is a lower bound.
	LowerBound int64
	// Versions (c − seq) and Behind (time staleness, ns) of the stale reads;
	// never nil (empty when Stale is 0).
	Versions, Behind *hdrhistogram.Histogram
}

// VisibilityBucket counts the checked reads whose t (ns since c was acked)
// fell in [LowerNs, UpperNs), and how many of them were fresh.
type VisibilityBucket struct {
	LowerNs, UpperNs int64
	Fresh, Total     int64
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
