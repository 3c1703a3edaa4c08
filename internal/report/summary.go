// Package report turns a run's measurements into the documented results:
// summary.json (schema pacbench.summary/v1), summary.csv, one .hgrm per
// series, one .hlog interval log, manifest.json, the terminal comparison
// table, and the PACELC verdict with its evidence.
//
// Functions here are pure transformations of their inputs and safe for
// concurrent use on distinct values.
package report

import (
	"math"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/internal/threshold"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Schema is the summary document's schema identifier.
const Schema = "pacbench.summary/v1"

// Summary is the summary.json document (docs/results.md documents it).
type Summary struct {
	Schema  string `json:"schema"`
	RunID   string `json:"run_id"`
	Profile string `json:"profile"`
	Mode    string `json:"mode"`
	Partial bool   `json:"partial"`
	// Shard is the part of a sharded run this result is (absent: the
	// whole run); Shards, in a merged result, the shards it holds.
	Shard     *Shard        `json:"shard,omitempty"`
	Shards    *MergedShards `json:"shards,omitempty"`
	StartedAt string        `json:"started_at"`
	EndedAt   string        `json:"ended_at"`
	Scenarios []Scenario    `json:"scenarios"`
	// Thresholds are the profile's and --threshold's conditions, each
	// with its measured values and pass/fail (absent when none was given).
	Thresholds []threshold.Result `json:"thresholds,omitempty"`
	// Notes are problems that did not stop the run but bear on its
	// results (results files not written, non-finite values written as
	// null, an interrupt after the last phase).
	Notes []string `json:"notes,omitempty"`
	// Sweep is a sweep's section (pacbench run --sweep, a profile's
	// sweep:): its values' curves and knees; the values' own summaries are
	// in their directories and Scenarios is empty. Absent otherwise.
	Sweep *Sweep `json:"sweep,omitempty"`

	// checks renders the check columns of the CSV and the table (set by
	// Build; a decoded summary has none and prints only the fixed columns).
	checks *metrics.Checks
}

// Shard is summary.json's "shard": which of count shards of the run
// (run_id is the run's common id) this result is.
type Shard struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// MergedShards is summary.json's "shards" in a merged result (pacbench
// merge): the run's shard count and the indexes merged; missing ones make
// the result partial.
type MergedShards struct {
	Count   int   `json:"count"`
	Merged  []int `json:"merged"`
	Missing []int `json:"missing,omitempty"`
}

// Scenario is one scenario's results.
type Scenario struct {
	Name   string            `json:"name"`
	System string            `json:"system"`
	Levels map[string]string `json:"levels"`
	// Sent says, in the database's words, what the levels put on the wire
	// for reads and writes (drivers that implement LevelDescriber).
	Sent    map[string]string `json:"sent,omitempty"`
	Load    *runner.LoadStats `json:"load,omitempty"`
	Phases  []Phase           `json:"phases"`
	PACELC  Verdict           `json:"pacelc"`
	Routes  map[string]any    `json:"routes,omitempty"`
	Latency string            `json:"latency_measure"`
}

// Phase is one scenario's results within one phase. In JSON its check
// measurements (Checks: session, linearizable, visibility, …) follow
// "ops", in the checks' registration order.
type Phase struct {
	PhaseHead
	// Checks holds the phase-scoped check measurements.
	Checks Fields `json:"-"`
	PhaseTail

	cell *metrics.Cell // the phase's measurements (nil: no op ran)
}

// PhaseHead is the fixed part of a Phase before the checks.
type PhaseHead struct {
	Name         string         `json:"name"`
	Impairment   []string       `json:"impairment"`
	DurationS    float64        `json:"duration_s"`
	Availability *float64       `json:"availability"`
	Ops          map[string]*Op `json:"ops"`
}

// PhaseTail is the fixed part of a Phase after the checks.
type PhaseTail struct {
	// Probes is the active t-visibility sweep (checks.probes): P(consistent)
	// of a read issued delta_ms after a write was acknowledged.
	Probes []Probe `json:"probes,omitempty"`
	// ConsistentAfterMs is the smallest probe delay from which at least
	// 99.9 % of probes (and of every longer delay) were consistent; null
	// when never reached or not probed.
	ConsistentAfterMs *float64 `json:"consistent_after_ms"`
	// Convergence, for a phase that follows an impaired one: how soon the
	// stale ratio returned to the baseline's.
	Convergence *Convergence `json:"convergence,omitempty"`
}

// MarshalJSON writes the fixed keys and the checks' in order.
func (p Phase) MarshalJSON() ([]byte, error) { return spliceJSON(p.PhaseHead, p.Checks, p.PhaseTail) }

// SplicedJSON marks that Phase's JSON is its exported fields, encoded as
// encoding/json would, plus Checks (for walkers such as sink.MarshalJSON).
func (Phase) SplicedJSON() {}

// UnmarshalJSON reads a phase; keys other than the fixed ones are Checks.
func (p *Phase) UnmarshalJSON(b []byte) error {
	f, err := unspliceJSON(b, &p.PhaseHead, &p.PhaseTail)
	p.Checks = f
	return err
}

// Probe is one point of the active t-visibility sweep.
type Probe struct {
	DeltaMs     float64 `json:"delta_ms"`
	PConsistent float64 `json:"p_consistent"`
	N           int64   `json:"n"`
}

// Convergence says how soon staleness returned to baseline after the
// previous phase's impairments were healed.
type Convergence struct {
	// After names the impaired phase that preceded this one.
	After string `json:"after"`
	// BaselineStaleRatio is the stale ratio of the first phase without
	// impairments; Threshold = max(2 × baseline, baseline + 1 %).
	BaselineStaleRatio float64 `json:"baseline_stale_ratio"`
	Threshold          float64 `json:"threshold"`
	// ConvergedMs is the time from the phase start (the heal) to the end of
	// the first WindowMs-wide window whose stale ratio, and the next
	// window's, were at or below Threshold; null if that never happened
	// within the phase.
	ConvergedMs *float64 `json:"converged_ms"`
	// WindowMs is the width of the windows compared with the threshold.
	WindowMs float64 `json:"window_ms"`
}

// Op is the results of one op kind within a phase. In JSON its check
// measurements (Checks: staleness for reads, …) follow the latencies.
type Op struct {
	OpHead
	// Checks holds the check measurements scoped to this op kind.
	Checks Fields `json:"-"`
	OpTail
}

// OpTail is the fixed part of an Op after the checks.
type OpTail struct {
	// GeneratorWaitMs is how long ops waited for pacbench itself (a
	// write's per-key writer lock) between being issued and going to the
	// database, over all outcomes; only for op kinds that wait (writes,
	// inserts, rmw, cas). Not part of service time; part of the response
	// time in open loop (docs/results.md).
	GeneratorWaitMs *Percentiles `json:"generator_wait_ms,omitempty"`
}

// OpHead is the fixed part of an Op.
type OpHead struct {
	Count         int64            `json:"count"`
	OK            int64            `json:"ok"`
	Errors        map[string]int64 `json:"errors"`
	ThroughputOps float64          `json:"throughput_ops"`
	Availability  float64          `json:"availability"`
	LatencyMs     Percentiles      `json:"latency_ms"`
	ServiceMs     Percentiles      `json:"service_ms"`
	ErrorLatency  *Percentiles     `json:"error_latency_ms,omitempty"`
}

// MarshalJSON writes the fixed keys, then the checks'.
func (o Op) MarshalJSON() ([]byte, error) { return spliceJSON(o.OpHead, o.Checks, o.OpTail) }

// SplicedJSON marks that Op's JSON is its exported fields plus Checks.
func (Op) SplicedJSON() {}

// UnmarshalJSON reads an op; keys other than the fixed ones are Checks.
func (o *Op) UnmarshalJSON(b []byte) error {
	f, err := unspliceJSON(b, &o.OpHead, &o.OpTail)
	o.Checks = f
	return err
}

// Percentiles of a latency distribution in milliseconds (reference
// definition, metrics.Quantile). A distribution without samples has none:
// every field is nil (null in JSON, empty in the CSV, "-" in the table),
// never 0.
type Percentiles struct {
	P50   *float64 `json:"p50"`
	P90   *float64 `json:"p90"`
	P99   *float64 `json:"p99"`
	P999  *float64 `json:"p999"`
	P9999 *float64 `json:"p9999"`
	Max   *float64 `json:"max"`
	Mean  *float64 `json:"mean"`
}

// Verdict is the PACELC classification of a scenario with its evidence.
type Verdict struct {
	Partition *string `json:"partition"`
	Else      *string `json:"else"`
	Evidence  string  `json:"evidence"`
	// Loss is the third column, from the lost-write audit: Lossless,
	// Lossy, or null (not audited, or some acknowledged writes' fate
	// unknown). LostWrites and IndeterminateWrites are the audit's totals
	// over the scenario's phases (null: not audited).
	Loss                *string `json:"loss"`
	LostWrites          *int64  `json:"lost_writes"`
	IndeterminateWrites *int64  `json:"indeterminate_writes"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(q float64) *float64 {
		v, _ := metrics.Quantile(h, q)
		f := round3(float64(v) / 1e6)
		return &f
	}
	mean := round3(h.Mean() / 1e6)
	return Percentiles{
		P50: ms(0.5), P90: ms(0.9), P99: ms(0.99), P999: ms(0.999), P9999: ms(0.9999),
		Max: ms(1), Mean: &mean,
	}
}

func round3(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1000) / 1000
}

// mergeClasses merges the histograms of the given classes (nil if none).
func mergeClasses(m map[op.Class]*hdrhistogram.Histogram, keep func(op.Class) bool) *hdrhistogram.Histogram {
	var out *hdrhistogram.Histogram
	classes := make([]op.Class, 0, len(m))
	for c := range m {
		classes = append(classes, c)
	}
	sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
	for _, c := range classes {
		h := m[c]
		if h == nil || !keep(c) {
			continue
		}
		if out == nil {
			out = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
		}
		out.Merge(h)
	}
	return out
}

func opSummary(s *metrics.OpStats, durS float64) *Op {
	o := &Op{OpHead: OpHead{Count: s.Count, OK: s.OK, Errors: map[string]int64{}}}
	for _, c := range op.ErrorClasses() {
		o.Errors[c.String()] = s.Errors[c]
	}
	if durS > 0 {
		o.ThroughputOps = round3(float64(s.OK) / durS)
	}
	if s.Count > 0 {
		o.Availability = float64(s.OK) / float64(s.Count)
	}
	isOK := func(c op.Class) bool { return c == op.OK }
	o.LatencyMs = percentiles(s.Response[op.OK])
	o.ServiceMs = percentiles(s.Service[op.OK])
	if errH := mergeClasses(s.Response, func(c op.Class) bool { return !isOK(c) }); errH != nil {
		p := percentiles(errH)
		o.ErrorLatency = &p
	}
	if wait := mergeClasses(s.Wait, func(op.Class) bool { return true }); wait != nil {
		p := percentiles(wait)
		o.GeneratorWaitMs = &p
	}
	return o
}
