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
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Schema is the summary document's schema identifier.
const Schema = "pacbench.summary/v1"

// Summary is the summary.json document (docs/results.md documents it).
type Summary struct {
	Schema    string     `json:"schema"`
	RunID     string     `json:"run_id"`
	Profile   string     `json:"profile"`
	Mode      string     `json:"mode"`
	Partial   bool       `json:"partial"`
	StartedAt string     `json:"started_at"`
	EndedAt   string     `json:"ended_at"`
	Scenarios []Scenario `json:"scenarios"`
	// Notes are problems that did not stop the run but bear on its
	// results (results files not written, non-finite values written as
	// null, an interrupt after the last phase).
	Notes []string `json:"notes,omitempty"`
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

// Phase is one scenario's results within one phase.
type Phase struct {
	Name         string         `json:"name"`
	Impairment   []string       `json:"impairment"`
	DurationS    float64        `json:"duration_s"`
	Availability *float64       `json:"availability"`
	Ops          map[string]*Op `json:"ops"`
	Session      Session        `json:"session"`
	Linearizable *bool          `json:"linearizable"`
	// Linearizability is the evidence behind Linearizable (when checked).
	Linearizability *LinCheck    `json:"linearizability,omitempty"`
	Visibility      []Visibility `json:"visibility"`
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

// LinCheck is the evidence of a porcupine check of one scenario and phase.
type LinCheck struct {
	// Ops and Keys checked; Reason says why the verdict is null (timeout,
	// truncated, no_reads, canceled).
	Ops    int    `json:"ops"`
	Keys   int    `json:"keys"`
	Reason string `json:"reason,omitempty"`
	// IllegalKeys are the sampled key indexes whose history is not
	// linearizable; Visualization is the porcupine HTML file (relative to
	// the run directory).
	IllegalKeys   []uint64 `json:"illegal_keys,omitempty"`
	Visualization string   `json:"visualization,omitempty"`
	CheckMs       float64  `json:"check_ms"`
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

// Op is the results of one op kind within a phase.
type Op struct {
	Count         int64            `json:"count"`
	OK            int64            `json:"ok"`
	Errors        map[string]int64 `json:"errors"`
	ThroughputOps float64          `json:"throughput_ops"`
	Availability  float64          `json:"availability"`
	LatencyMs     Percentiles      `json:"latency_ms"`
	ServiceMs     Percentiles      `json:"service_ms"`
	ErrorLatency  *Percentiles     `json:"error_latency_ms,omitempty"`
	Staleness     *Staleness       `json:"staleness,omitempty"`
}

// Percentiles of a latency distribution in milliseconds.
type Percentiles struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
	Mean  float64 `json:"mean"`
}

// Staleness of a phase's reads.
type Staleness struct {
	Checked    int64    `json:"checked"`
	Stale      int64    `json:"stale"`
	StaleRatio float64  `json:"stale_ratio"`
	Versions   Quantile `json:"versions"`
	Ms         Quantile `json:"ms"`
}

// Quantile is p50/p99/max of a distribution.
type Quantile struct {
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// Session guarantee violations.
type Session struct {
	RYWViolations           int64 `json:"ryw_violations"`
	MonotonicReadViolations int64 `json:"monotonic_read_violations"`
}

// Visibility is one point of the t-visibility (PBS) curve: P(consistent)
// for reads invoked t_ms after the newest acked write.
type Visibility struct {
	TMs         float64 `json:"t_ms"`
	PConsistent float64 `json:"p_consistent"`
	N           int64   `json:"n"`
}

// Verdict is the PACELC classification of a scenario with its evidence.
type Verdict struct {
	Partition *string `json:"partition"`
	Else      *string `json:"else"`
	Evidence  string  `json:"evidence"`
}

func percentiles(h *hdrhistogram.Histogram) Percentiles {
	if h == nil || h.TotalCount() == 0 {
		return Percentiles{}
	}
	ms := func(q float64) float64 {
		v, _ := metrics.Quantile(h, q)
		return round3(float64(v) / 1e6)
	}
	return Percentiles{
		P50: ms(0.5), P90: ms(0.9), P99: ms(0.99), P999: ms(0.999), P9999: ms(0.9999),
		Max: round3(float64(h.Max()) / 1e6), Mean: round3(h.Mean() / 1e6),
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
	o := &Op{Count: s.Count, OK: s.OK, Errors: map[string]int64{}}
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
	return o
}

func stalenessSummary(st metrics.StalenessStats) *Staleness {
	s := &Staleness{Checked: st.Checked, Stale: st.Stale}
	if st.Checked > 0 {
		s.StaleRatio = float64(st.Stale) / float64(st.Checked)
	}
	q := func(h *hdrhistogram.Histogram, q float64) float64 {
		v, _ := metrics.Quantile(h, q)
		return float64(v)
	}
	if h := st.Versions; h != nil && h.TotalCount() > 0 {
		s.Versions = Quantile{P50: q(h, 0.5), P99: q(h, 0.99), Max: float64(h.Max())}
	}
	if h := st.Behind; h != nil && h.TotalCount() > 0 {
		s.Ms = Quantile{P50: round3(q(h, 0.5) / 1e6), P99: round3(q(h, 0.99) / 1e6), Max: round3(float64(h.Max()) / 1e6)}
	}
	return s
}

func visibilitySummary(b []metrics.VisibilityBucket) []Visibility {
	out := make([]Visibility, 0, len(b))
	for _, v := range b {
		if v.Total == 0 {
			continue
		}
		t := float64(v.UpperNs) / 1e6
		if v.UpperNs <= 0 || v.UpperNs == math.MaxInt64 {
			t = -1
		}
		out = append(out, Visibility{TMs: t, PConsistent: float64(v.Fresh) / float64(v.Total), N: v.Total})
	}
	return out
}
