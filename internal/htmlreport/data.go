package htmlreport

import "github.com/pacbench/pacbench/internal/report"

// Schema identifies the report data document embedded in report.html.
const Schema = "pacbench.report/v1"

// Data is what report.html draws, embedded in the page as JSON
// (<script id="pacbench-data" type="application/json">). Every number
// comes from the run directory's files; a missing value is null, never 0.
// Times are seconds since the run clock's zero, latencies milliseconds,
// rates ops/s. Its size is bounded by scenarios × phases × ops, never by
// the run's length or op count (MaxBlocks).
type Data struct {
	Schema string  `json:"schema"`
	Run    RunInfo `json:"run"`
	// Time is the time axis shared by every timeline.
	Time      TimeAxis       `json:"time"`
	Phases    []PhaseBand    `json:"phases"`
	Scenarios []ScenarioInfo `json:"scenarios"`
	// Timelines: one per scenario × op, in scenario then op order.
	Timelines []Timeline `json:"timelines"`
	// Spectra: the latency percentile spectrum of each phase × op, levels
	// overlaid.
	Spectra   []Spectrum `json:"spectra"`
	Staleness Staleness  `json:"staleness"`
	// Visibility: the t-visibility curves and probe sweeps of each phase.
	Visibility []VisibilityChart `json:"visibility"`
	// Map is the PACELC map: one point per level.
	Map []report.MapPoint `json:"pacelc_map"`
	// Linearizability lists porcupine's saved visualizations.
	Linearizability []Link   `json:"linearizability"`
	Notes           []string `json:"notes"`
}

// RunInfo is the run's identity.
type RunInfo struct {
	ID        string `json:"id"`
	Profile   string `json:"profile"`
	System    string `json:"system"`
	Mode      string `json:"mode"`
	Partial   bool   `json:"partial"`
	StartedAt string `json:"started_at"`
	EndedAt   string `json:"ended_at"`
	Version   string `json:"version"`
}

// TimeAxis is the block grid of the timelines: block i spans
// [Start[i], End[i]) seconds; IntervalS is the run's measurement interval,
// PerBlock how many intervals were merged into one block (1: none).
type TimeAxis struct {
	Start     []float64 `json:"start_s"`
	End       []float64 `json:"end_s"`
	IntervalS float64   `json:"interval_s"`
	Intervals int       `json:"intervals"`
	PerBlock  int       `json:"per_block"`
}

// PhaseBand is one phase's window and its impairments.
type PhaseBand struct {
	Name        string       `json:"name"`
	Start       float64      `json:"start_s"`
	End         float64      `json:"end_s"`
	Scenarios   []string     `json:"scenarios"`
	Impairments []Impairment `json:"impairments"`
}

// Impairment is one applied impairment: what, on which member and link,
// from when to when (End null: never cleared), and its error if it failed.
type Impairment struct {
	What      string   `json:"what"`
	Kind      string   `json:"kind"`
	Member    string   `json:"member"`
	Link      string   `json:"link"`
	Direction string   `json:"direction,omitempty"`
	Start     float64  `json:"start_s"`
	End       *float64 `json:"end_s"`
	Error     string   `json:"error,omitempty"`
}

// ScenarioInfo is one level.
type ScenarioInfo struct {
	Name   string            `json:"name"`
	System string            `json:"system"`
	Levels map[string]string `json:"levels"`
	// OpenLoop: latency is response time from the intended start, and
	// service time is drawn too.
	OpenLoop bool           `json:"open_loop"`
	PACELC   report.Verdict `json:"pacelc"`
}

// Timeline is one scenario × op over time, aligned with Data.Time (null
// where the series had no data: a percentile with no ok op, a rate while
// the scenario was not running).
type Timeline struct {
	Scenario string `json:"scenario"`
	Op       string `json:"op"`
	// Response holds the ok ops' response time percentiles per block;
	// Service the service time's (open loop only).
	Response Lines  `json:"response_ms"`
	Service  *Lines `json:"service_ms,omitempty"`
	// OK is the ok ops' throughput; Errors the failed ops' rate by class
	// (only classes that occurred).
	OK     []*float64            `json:"ok_ops"`
	Errors map[string][]*float64 `json:"error_ops"`
}

// Lines are the per-block percentiles of a latency.
type Lines struct {
	P50  []*float64 `json:"p50"`
	P99  []*float64 `json:"p99"`
	P999 []*float64 `json:"p999"`
	Max  []*float64 `json:"max"`
}

// Spectrum is the percentile spectrum (HdrHistogram's latency by
// percentile) of one phase × op or staleness measure, one line per level
// on the common percentile grid P (null past a level's resolution).
type Spectrum struct {
	// Series names the compared series (compare.html only).
	Series  string         `json:"series,omitempty"`
	Phase   string         `json:"phase"`
	Op      string         `json:"op"`
	Measure string         `json:"measure"`
	Unit    string         `json:"unit"`
	P       []float64      `json:"p"`
	Levels  []SpectrumLine `json:"levels"`
}

// SpectrumLine is one level's values at Spectrum.P, from N samples.
type SpectrumLine struct {
	Scenario string     `json:"scenario"`
	N        int64      `json:"n"`
	Values   []*float64 `json:"values"`
}

// Staleness is the reads' staleness: the stale ratio of each level over
// time, and the distributions of time and version staleness per phase.
type Staleness struct {
	// Ratio has one line per scenario that checked reads, aligned with
	// Data.Time; null where no read was checked.
	Ratio []RatioLine `json:"ratio"`
	// Behind (ms) and Versions spectra per phase, levels overlaid.
	Behind   []Spectrum `json:"behind"`
	Versions []Spectrum `json:"versions"`
}

// RatioLine is one scenario's stale ratio per block, with the checked
// reads it was computed from.
type RatioLine struct {
	Scenario string     `json:"scenario"`
	Ratio    []*float64 `json:"ratio"`
	Checked  []int64    `json:"checked"`
}

// VisibilityChart is one phase's t-visibility: P(consistent | t) per
// level on the common grid TMs (the buckets' upper bounds; the last,
// open-ended bucket at its lower bound 10 s, marked OpenLast), and the
// probe sweeps.
type VisibilityChart struct {
	Phase    string    `json:"phase"`
	TMs      []float64 `json:"t_ms"`
	OpenLast bool      `json:"open_last"`
	Levels   []VisLine `json:"levels"`
	// ProbeMs is the probe delays' grid, Probes the sweeps (nil: none).
	ProbeMs []float64 `json:"probe_ms"`
	Probes  []VisLine `json:"probes"`
	// MinN is the sample size below which a point is marked too small.
	MinN int64 `json:"min_n"`
}

// VisLine is one level's P(consistent) per grid point with its sample
// size (null, 0: no sample).
type VisLine struct {
	Scenario string     `json:"scenario"`
	P        []*float64 `json:"p"`
	N        []int64    `json:"n"`
}

// Link is one saved linearizability visualization (File relative to the
// run directory; Exists false if it is not there).
type Link struct {
	Scenario string `json:"scenario"`
	Phase    string `json:"phase"`
	File     string `json:"file"`
	Exists   bool   `json:"exists"`
	Ops      int    `json:"ops"`
	Keys     int    `json:"keys"`
}
