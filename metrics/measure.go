package metrics

import (
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/op"
)

// Kind is what a Measure holds.
type Kind uint8

// Measure kinds.
const (
	// KindCounter is a count of events (int64), summed over workers and
	// intervals.
	KindCounter Kind = iota + 1
	// KindRatio is Num/Den of two counters of the same check, derived when
	// rendered; it has no value when Den is 0 (null, never 0).
	KindRatio
	// KindHistogram is an HdrHistogram of observations (geometry by Unit);
	// an empty one has no percentiles.
	KindHistogram
	// KindBuckets counts events by value bucket (Bounds) and, per bucket,
	// how many of them were hits (t-visibility: fresh reads by time since
	// the newest acked write).
	KindBuckets
	// KindVerdict is a tri-state verdict per (scenario, phase) set at the
	// end of the run by a Finisher (linearizability); nil when not judged.
	KindVerdict
)

// Unit is the unit of a measure's recorded values.
type Unit uint8

// Units. They decide the histogram geometry and how values are shown: the
// summary shows durations in ms, Prometheus in seconds.
const (
	// UnitCount: plain counts (events, reads).
	UnitCount Unit = iota
	// UnitNanoseconds: durations in ns (latency geometry, 1 µs–60 s).
	UnitNanoseconds
	// UnitVersions: a number of versions (versions geometry, 1–1e9).
	UnitVersions
)

// Measure describes one named, self-describing measurement a check
// publishes. Renderers (summary, CSV, table, Prometheus) use only this
// description, never the check's code.
type Measure struct {
	// Name is the measure's id, unique in a Checks registry ("staleness.stale").
	Name string
	// Help says what is counted or observed, with units.
	Help string
	// Kind and Unit: see the constants.
	Kind Kind
	Unit Unit
	// Num and Den name the counters (same check) of a KindRatio.
	Num, Den string
	// Bounds are the exclusive upper bounds (in Unit) of a KindBuckets'
	// buckets, ascending; the last may be math.MaxInt64 (open-ended).
	Bounds []int64
	// Given (KindCounter only) names an earlier KindVerdict measure of the
	// same check: in a cell where that verdict is absent (not judged) the
	// counter has no value — null in summary.json, empty in the CSV, "-"
	// in the table — instead of 0 (the audit's lost count of a phase that
	// was not audited). Prometheus still exports the counter (0).
	Given string
	// Metric is the Prometheus family the measure is exported as (zero:
	// not exported).
	Metric Metric
}

// Metric places a measure in a Prometheus family. Several measures may
// share a family, told apart by constant labels (they must agree on Help).
// Families carry the cell labels system, scenario, phase and level.
type Metric struct {
	// Name is the family name (pacbench_ prefix, base units, _total for
	// counters); "" means not exported.
	Name string
	// Help is the family's help text.
	Help string
	// Labels are constant labels of this measure's series in the family.
	Labels []Label
	// BucketLabel and HitLabel (KindBuckets) name the labels carrying the
	// bucket's upper bound (in seconds for UnitNanoseconds, "+Inf" for the
	// last) and whether the events counted were hits ("true"/"false").
	BucketLabel, HitLabel string
}

// Label is one constant label.
type Label struct{ Name, Value string }

// Scope is where a measure is shown in the summary: in the phase object
// or in one op's object.
type Scope uint8

// Scopes.
const (
	// ScopePhase: in scenarios[].phases[] (and on every CSV row of it).
	ScopePhase Scope = iota
	// ScopeOp: in scenarios[].phases[].ops[Op] (and on that op's CSV row).
	ScopeOp
)

// Stat is one statistic of a measure shown under Key: for a histogram the
// value at quantile Q (Q = 1 is the max) or, with Mean, the mean.
type Stat struct {
	Key  string
	Q    float64
	Mean bool
}

// Field places a measure in the summary document (summary.json): at
// Scope (with Op for ScopeOp), inside the object Group ("" = directly in
// the phase or op object), under Key. Fields appear in the order given,
// groups where their first field is.
//
//   - KindCounter: a number.
//   - KindRatio, : a number, null when the denominator is 0.
//   - KindHistogram: an object of Stats (null values when empty).
//   - KindBuckets: a list of the non-empty buckets, each an object with
//     BucketKeys[0] = the upper bound (ms for UnitNanoseconds; -1 for the
//     open-ended last bucket), [1] = hits/total, [2] = total.
//   - KindVerdict: true/false/null; the evidence object, if any, follows
//     under EvidenceKey (omitted when nil).
type Field struct {
	Scope       Scope
	Op          op.Kind
	Group, Key  string
	Measure     string
	Stats       []Stat
	BucketKeys  [3]string
	EvidenceKey string
}

// Column places a measure (or one Stat of a histogram) in summary.csv.
// Check columns follow the fixed ones in registration order. An op-scoped
// column is empty on other ops' rows; a value that does not exist (empty
// histogram, ratio over 0, no verdict) is empty.
type Column struct {
	Name    string
	Scope   Scope
	Op      op.Kind
	Measure string
	Stat    Stat
	// Trailing places the column after every fixed column of the CSV
	// (run_id, phase_index, level_*), so columns added after the CSV's
	// layout was published never move the existing ones.
	Trailing bool
	// PerOp (with ScopeOp; Op is then ignored) makes one column of a
	// family of measures, one per op kind: the row of op kind k shows
	// measure Measure + "." + k's name (OpMeasure).
	PerOp bool
}

// OpMeasure returns the measure column c shows on the row of op kind k.
func (c Column) OpMeasure(k op.Kind) string {
	if c.PerOp {
		return c.Measure + "." + k.String()
	}
	return c.Measure
}

// Layout is where a check's measures appear in the summary, the CSV and
// the terminal table. The Prometheus placement is in each Measure.
type Layout struct {
	Fields  []Field
	Columns []Column
	// Table columns of the per-phase comparison table (header = Column.Name);
	// shown as a percentage for ratios, ms for durations, "-" without data.
	Table []Column
	// Sections are verdict measures printed after the phases, one line per
	// scenario listing each phase's verdict.
	Sections []Section
}

// Section is a verdict section of the table.
type Section struct {
	// Title heads the section ("linearizable? (porcupine …)").
	Title string
	// Measure is a KindVerdict measure.
	Measure string
}

// Value is a measure's value in one cell (scenario, phase) or interval.
type Value struct {
	// Count of a KindCounter.
	Count int64
	// Hist of a KindHistogram (nil: nothing observed). Histograms in
	// Results are shared read-only snapshots: do not modify them.
	Hist *hdrhistogram.Histogram
	// Buckets of a KindBuckets (one per bound).
	Buckets []Bucket
	// Verdict of a KindVerdict (nil: not judged).
	Verdict *Verdict
}

// Bucket is one bucket of a KindBuckets: events whose value fell in
// [Lower, Upper), and how many of them were hits.
type Bucket struct {
	Lower, Upper int64
	Hits, Total  int64
}

// Verdict is a KindVerdict's value for one cell.
type Verdict struct {
	// OK is the verdict: true, false, or nil (unknown).
	OK *bool
	// Evidence is a JSON-marshalable object backing the verdict (nil: none).
	Evidence any
	// Detail is a short text for the table (e.g. why it is unknown, or
	// where the counterexample is).
	Detail string
}

// FileEvidence is an optional capability of a Verdict's Evidence that
// refers to files of the run named by scenario and phase (porcupine's
// visualization): renderers pass the file-name stems the run uses for the
// verdict's cell and show the evidence and table detail it returns.
type FileEvidence interface {
	WithStems(scenario, phase string) (evidence any, detail string)
}

// Ratio returns num/den of the two counters, ok false when den is 0.
func Ratio(num, den int64) (float64, bool) {
	if den == 0 {
		return 0, false
	}
	return float64(num) / float64(den), true
}

// bucketLayout returns the empty buckets of bounds.
func bucketLayout(bounds []int64) []Bucket {
	out := make([]Bucket, len(bounds))
	var lo int64
	for i, b := range bounds {
		out[i] = Bucket{Lower: lo, Upper: b}
		lo = b
	}
	return out
}

// OpenBound is the upper bound of an open-ended last bucket.
const OpenBound = math.MaxInt64

// newHistogramFor returns an empty histogram of u's geometry.
func newHistogramFor(u Unit) *hdrhistogram.Histogram {
	if u == UnitVersions {
		return NewVersionsHistogram()
	}
	return NewLatencyHistogram()
}

// highestFor is the largest value u's histogram tracks.
func highestFor(u Unit) int64 {
	if u == UnitVersions {
		return VersionsHighest
	}
	return LatencyHighestNs
}
