package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// ManifestSchema is manifest.json's schema identifier.
const ManifestSchema = "pacbench.manifest/v1"

// Manifest is manifest.json: what ran, on what, when. Every field is typed;
// docs/results.md documents the keys (extend, never rename).
type Manifest struct {
	Schema  string `json:"schema"`
	RunID   string `json:"run_id"`
	Partial bool   `json:"partial"`
	// Error is the run's error, if it failed or was interrupted.
	Error string `json:"error,omitempty"`
	// Versions of pacbench, Go, the driver and the key modules.
	Versions map[string]string `json:"versions"`
	// Profile is the profile as run (defaults and overrides applied).
	Profile *profile.Profile `json:"profile"`
	// Overrides are the -p settings applied to the profile file
	// (PATH=VALUE, in order); absent when none.
	Overrides []string `json:"overrides,omitempty"`
	// Env names the environment variables the profile's ${…} references
	// expanded, each with where its value came from ("environment" or
	// "default"); the values are in the profile as run. Absent when none.
	Env map[string]string `json:"env,omitempty"`
	// Topology is the system as the run saw it.
	Topology Topology `json:"topology"`
	// StartedAt and EndedAt are wall times (RFC 3339, UTC).
	StartedAt string `json:"started_at"`
	EndedAt   string `json:"ended_at"`
	// ClockBase is the wall time of the run clock's zero; every *_ns field
	// is nanoseconds since it.
	ClockBase string `json:"clock_base"`
	// IntervalMs is the measurement interval of the interval logs (0 in
	// results written before it was recorded).
	IntervalMs float64 `json:"interval_ms,omitempty"`
	// Phases as they ran, with their impairment windows.
	Phases []runner.PhaseWindow `json:"phases"`
	// Load per scenario (index = scenario).
	Load []runner.LoadStats `json:"load"`
	// Audits are the lost-write audits, one per group of scenarios that
	// ran together: keys read, levels, convergence wait and read time
	// (absent: no audit ran).
	Audits []runner.AuditStats `json:"audits,omitempty"`
	// Notes are non-fatal problems (failed heals, close errors, output
	// files not written, non-finite values written as null).
	Notes []string `json:"notes,omitempty"`
	// MembersDied lists the members of the local cluster that exited on
	// their own during the run (none: absent).
	MembersDied []MemberDeath `json:"members_died,omitempty"`
	// Shard is this run's part of a sharded run (absent: the whole run).
	Shard *ManifestShard `json:"shard,omitempty"`
	// StartBarrier is the run's --start-at and how far from its plan each
	// phase started (absent: no barrier).
	StartBarrier *StartBarrier `json:"start_barrier,omitempty"`
	// Merged lists, in a merged result (pacbench merge), the shards'
	// results it was made of (absent otherwise).
	Merged *MergedManifest `json:"merged,omitempty"`
}

// ManifestShard is manifest.json's "shard": which part of the run this
// process ran (docs/results.md, "Shards").
type ManifestShard struct {
	Index int `json:"index"`
	Count int `json:"count"`
	// Keys says which key indexes the shard owns ("k mod COUNT = INDEX").
	Keys string `json:"keys"`
	// Records is the number of records it loaded and owns.
	Records int `json:"records"`
	// FirstWorker is the run-wide index of its first worker; Workers how
	// many it ran (per scenario) of the run's TotalWorkers.
	FirstWorker  int `json:"first_worker"`
	Workers      int `json:"workers"`
	TotalWorkers int `json:"total_workers"`
}

// StartBarrier is manifest.json's "start_barrier".
type StartBarrier struct {
	// At is the barrier (RFC 3339, UTC): when the first phase was planned
	// to start.
	At string `json:"at"`
	// PhaseGapMs is the time planned between two phases.
	PhaseGapMs float64 `json:"phase_gap_ms"`
	// Phases has each phase's planned start and this process's skew
	// (actual − planned start; positive: late).
	Phases []PhaseSkew `json:"phases"`
}

// PhaseSkew is one phase's start against its plan.
type PhaseSkew struct {
	Name string `json:"name"`
	// PlannedAt is the planned start (RFC 3339, UTC).
	PlannedAt string  `json:"planned_at"`
	SkewMs    float64 `json:"skew_ms"`
}

// MergedManifest is manifest.json's "merged" in a merged result: the
// summary's "shards" (count, merged, missing) and the inputs.
type MergedManifest struct {
	MergedShards
	// Inputs are the shards' results directories, by shard index.
	Inputs []MergedInput `json:"inputs"`
	// MaxSkewMs is the largest phase-start skew of any shard (absent
	// without a start barrier).
	MaxSkewMs *float64 `json:"max_skew_ms,omitempty"`
}

// MergedInput is one shard's results directory in a merge.
type MergedInput struct {
	Index int `json:"index"`
	// Dir is the directory as given to pacbench merge.
	Dir       string `json:"dir"`
	StartedAt string `json:"started_at"`
	EndedAt   string `json:"ended_at"`
	Partial   bool   `json:"partial"`
	// ClockBase is the shard's run-clock zero (its *_ns fields count from
	// it; the merged result's count from the merged clock_base).
	ClockBase string `json:"clock_base"`
}

// NoteMemberDied starts the summary and manifest note about a member that
// died during the run (the table prints such notes as warnings).
const NoteMemberDied = "member died during the run: "

// MemberDeath is one local-cluster member that exited on its own during
// the run.
type MemberDeath struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// AtNs is when its exit was seen, on the run clock (ns since
	// clock_base).
	AtNs int64 `json:"at_ns"`
	// Phase it died in ("" if outside every phase, e.g. while loading).
	Phase string `json:"phase,omitempty"`
	// Error is how it exited (e.g. "signal: killed").
	Error string `json:"error"`
}

// Topology is manifest.json's "topology": members with roles, the role
// aliases, the impairment links and the endpoints reads and writes were
// pinned to. Fields are in key order.
type Topology struct {
	Aliases        map[string]string `json:"aliases"`
	Links          impair.Topology   `json:"links"`
	Members        []drivers.Member  `json:"members"`
	ReadEndpoints  []string          `json:"read_endpoints"`
	WriteEndpoints []string          `json:"write_endpoints"`
	// WriterEndpoints are the endpoints of each write route of
	// routes.writers (omitted without it).
	WriterEndpoints [][]string `json:"writer_endpoints,omitempty"`
}

// maxStem bounds the length in bytes of a name part in a file name.
const maxStem = 64

var stemUnsafe = regexp.MustCompile(`[^A-Za-z0-9._=-]+`)

// Stem returns s as a safe file-name part: ASCII letters, digits and ". _ =
// -" only (every other run of bytes becomes "_"), never empty, never
// starting with "." (no hidden files, no "." or ".."), at most 64 bytes.
// Names that are safe already are returned unchanged.
func Stem(s string) string {
	s = stemUnsafe.ReplaceAllString(s, "_")
	if len(s) > maxStem {
		s = s[:maxStem]
	}
	if s == "" || s[0] == '.' {
		s = "_" + s[min(len(s), 1):]
	}
	return s
}

// Names maps the profile's scenario and phase names (free text) to unique
// file-safe stems used in every file name and hlog tag derived from them.
// Stems are Stem of the name; a stem already taken by an earlier name (in
// plan order) gets "-2", "-3", … appended, so the mapping is a pure,
// deterministic function of the two name lists. Read-only after NewNames;
// safe for concurrent use.
type Names struct {
	Scenarios, Phases []string
}

// NewNames assigns the stems of a plan's scenario and phase names (by index).
func NewNames(scenarios, phases []string) Names {
	return Names{Scenarios: uniqueStems(scenarios), Phases: uniqueStems(phases)}
}

func uniqueStems(names []string) []string {
	out := make([]string, len(names))
	taken := map[string]bool{}
	for i, n := range names {
		s := Stem(n)
		for k := 2; taken[s]; k++ {
			suffix := "-" + strconv.Itoa(k)
			s = Stem(n)[:min(len(Stem(n)), maxStem-len(suffix))] + suffix
		}
		taken[s] = true
		out[i] = s
	}
	return out
}

// Scenario returns the stem of scenario i (its index if out of range).
func (n Names) Scenario(i int) string { return stemAt(n.Scenarios, i) }

// Phase returns the stem of phase i (its index if out of range).
func (n Names) Phase(i int) string { return stemAt(n.Phases, i) }

func stemAt(stems []string, i int) string {
	if i >= 0 && i < len(stems) {
		return stems[i]
	}
	return strconv.Itoa(i)
}

// Tag returns the series tag used in the hlog: scenario/phase/op/outcome.
func (n Names) Tag(k metrics.SeriesKey) string {
	return n.Scenario(k.Scenario) + "/" + n.Phase(k.Phase) + "/" + k.Kind.String() + "/" + k.Class.String()
}

// HgrmFile is the results-relative path of a series' .hgrm.
func (n Names) HgrmFile(k metrics.SeriesKey) string {
	return "hgrm/" + strings.ReplaceAll(n.Tag(k), "/", ".") + ".hgrm"
}

// VisualizationFile is the results-relative path of porcupine's HTML for
// scenario si and phase pi.
func (n Names) VisualizationFile(si, pi int) string {
	return checkers.VisualizationFile(n.Scenario(si), n.Phase(pi))
}

// HlogWriter streams the interval log (HdrHistogram log format 1.3,
// readable by HistogramLogProcessor), one tagged histogram per series and
// interval, to a sink. Safe for concurrent use.
type HlogWriter struct {
	mu    sync.Mutex
	w     *hdrhistogram.HistogramLogWriter
	base  int64 // ms since epoch of the run clock's zero
	names Names
}

// NewLogWriter starts an HdrHistogram log (format 1.3) on sink with the
// comment lines given, start and base time baseMs (ms since the epoch)
// and the legend: the header of every pacbench interval log.
func NewLogWriter(sink io.Writer, baseMs int64, comments ...string) (*hdrhistogram.HistogramLogWriter, error) {
	return newLogWriter(sink, baseMs, comments...)
}

// NewHlogWriter starts a log on sink whose timestamps are relative to
// baseMs (ms since the epoch), tagging series with names.
func NewHlogWriter(sink io.Writer, baseMs int64, comment string, names Names) (*HlogWriter, error) {
	w, err := newLogWriter(sink, baseMs, comment, "values in nanoseconds; tag = scenario/phase/op/outcome/measure (response|service)")
	if err != nil {
		return nil, fmt.Errorf("hlog: header: %w", err)
	}
	return &HlogWriter{w: w, base: baseMs, names: names}, nil
}

// newLogWriter starts an HdrHistogram interval log (format 1.3) on sink:
// the comment lines, the format version, start and base time (baseMs, ms
// since the epoch; interval times are written relative to it) and the
// legend.
func newLogWriter(sink io.Writer, baseMs int64, comments ...string) (*hdrhistogram.HistogramLogWriter, error) {
	w := hdrhistogram.NewHistogramLogWriter(sink)
	var err error
	for _, c := range comments {
		if err == nil {
			err = w.OutputComment(" " + c)
		}
	}
	if err == nil {
		err = w.OutputLogFormatVersion()
	}
	if err == nil {
		err = w.OutputStartTime(baseMs)
	}
	if err == nil {
		err = w.OutputBaseTime(baseMs)
	}
	w.SetBaseTime(baseMs)
	if err == nil {
		err = w.OutputLegend()
	}
	return w, err
}

// Add writes every series of an interval.
func (h *HlogWriter) Add(iv *metrics.Interval) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	startMs, endMs := intervalMs(h.base, iv)
	for _, s := range iv.Series {
		tag := h.names.Tag(s.Key)
		for _, m := range []struct {
			suffix string
			hist   *hdrhistogram.Histogram
		}{{"response", s.Response}, {"service", s.Service}} {
			if m.hist == nil || m.hist.TotalCount() == 0 {
				continue
			}
			m.hist.SetTag(tag + "/" + m.suffix)
			m.hist.SetStartTimeMs(startMs)
			m.hist.SetEndTimeMs(endMs)
			if err := h.w.OutputIntervalHistogram(m.hist); err != nil {
				return fmt.Errorf("hlog: %w", err)
			}
		}
	}
	return nil
}

// intervalMs returns an interval's start and end in ms since the epoch,
// for a log whose base is baseMs.
func intervalMs(baseMs int64, iv *metrics.Interval) (start, end int64) {
	start = baseMs + iv.StartNs/1e6
	return start, max(baseMs+iv.EndNs/1e6, start) // a negative length is unreadable
}

// HgrmSeries is one .hgrm file to write: the series and its response-time
// distribution.
type HgrmSeries struct {
	Key  metrics.SeriesKey
	Hist *hdrhistogram.Histogram
}

// HgrmSeriesOf lists every non-empty response-time series of res, ordered
// by scenario, phase, op and outcome.
func HgrmSeriesOf(res *metrics.Results) []HgrmSeries {
	var out []HgrmSeries
	if res == nil {
		return nil
	}
	for _, c := range res.Cells {
		kinds := make([]op.Kind, 0, len(c.Ops))
		for k := range c.Ops {
			kinds = append(kinds, k)
		}
		sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
		for _, k := range kinds {
			classes := make([]op.Class, 0, len(c.Ops[k].Response))
			for cl, h := range c.Ops[k].Response {
				if h != nil && h.TotalCount() > 0 {
					classes = append(classes, cl)
				}
			}
			sort.Slice(classes, func(i, j int) bool { return classes[i] < classes[j] })
			for _, cl := range classes {
				out = append(out, HgrmSeries{Key: metrics.SeriesKey{Scenario: c.Scenario, Phase: c.Phase, Kind: k, Class: cl},
					Hist: c.Ops[k].Response[cl]})
			}
		}
	}
	return out
}

// Hgrm renders a histogram's percentile distribution (values in ms), the
// format of HdrHistogram's PercentilesPrint.
func Hgrm(h *hdrhistogram.Histogram) ([]byte, error) {
	var b bytes.Buffer
	if _, err := h.PercentilesPrint(&b, 5, 1e6); err != nil {
		return nil, fmt.Errorf("hgrm: %w", err)
	}
	return b.Bytes(), nil
}

// CSV renders summary.csv: one row per scenario × phase × op. A
// non-finite number is written as an empty field. The last columns are
// tidy-data keys: run_id, phase_index (the phase's place in the profile's
// phase list, 0-based) and level_<key> for every level key of the run
// (levelKeys).
func CSV(s *Summary) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := []string{"scenario", "system", "levels", "phase", "impairment", "duration_s", "op", "count", "ok",
		"availability", "throughput_ops", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "p9999_ms", "max_ms", "mean_ms",
		"service_p50_ms", "service_p99_ms"}
	for _, c := range op.ErrorClasses() {
		header = append(header, "err_"+c.String())
	}
	var cols, tail []metrics.Column
	if s.checks != nil {
		for _, c := range s.checks.Layout().Columns {
			if c.Trailing {
				tail = append(tail, c)
			} else {
				cols = append(cols, c)
			}
		}
	}
	for _, c := range cols {
		header = append(header, c.Name)
	}
	header = append(header, "generator_wait_mean_ms", "generator_wait_p99_ms", "generator_wait_max_ms")
	keys := levelKeys(s.Scenarios)
	header = append(header, "run_id", "phase_index")
	for _, k := range keys {
		header = append(header, "level_"+k)
	}
	for _, c := range tail {
		header = append(header, c.Name)
	}
	_ = w.Write(header)
	for _, sc := range s.Scenarios {
		lv := levelString(sc.Levels)
		tidy := func(pi int) []string {
			out := []string{s.RunID, strconv.Itoa(pi)}
			for _, k := range keys {
				out = append(out, sc.Levels[k])
			}
			return out
		}
		for pi, ph := range sc.Phases {
			ops := make([]string, 0, len(ph.Ops))
			for k := range ph.Ops {
				ops = append(ops, k)
			}
			sort.Slice(ops, func(i, j int) bool { return kindIndex(ops[i]) < kindIndex(ops[j]) })
			for _, k := range ops {
				kind, _ := op.ParseKind(k)
				row := append(csvRow(sc, lv, ph, k, ph.Ops[k]), checkColumns(s, ph, cols, kind)...)
				row = append(row, waitColumns(ph.Ops[k])...)
				row = append(row, tidy(pi)...)
				_ = w.Write(append(row, checkColumns(s, ph, tail, kind)...))
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func csvFloat(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// pf formats a percentile: empty when there is none (no samples).
func pf(p *float64) string {
	if p == nil {
		return ""
	}
	return csvFloat(*p)
}

func csvRow(sc Scenario, lv string, ph Phase, k string, o *Op) []string {
	f := csvFloat
	row := []string{sc.Name, sc.System, lv, ph.Name, strings.Join(ph.Impairment, "; "), f(ph.DurationS), k,
		strconv.FormatInt(o.Count, 10), strconv.FormatInt(o.OK, 10), f(o.Availability), f(o.ThroughputOps),
		pf(o.LatencyMs.P50), pf(o.LatencyMs.P90), pf(o.LatencyMs.P99), pf(o.LatencyMs.P999), pf(o.LatencyMs.P9999),
		pf(o.LatencyMs.Max), pf(o.LatencyMs.Mean), pf(o.ServiceMs.P50), pf(o.ServiceMs.P99)}
	for _, c := range op.ErrorClasses() {
		row = append(row, strconv.FormatInt(o.Errors[c.String()], 10))
	}
	return row
}

// waitColumns renders the generator-wait columns (empty for op kinds
// that do not wait).
func waitColumns(o *Op) []string {
	var p Percentiles
	if o.GeneratorWaitMs != nil {
		p = *o.GeneratorWaitMs
	}
	return []string{pf(p.Mean), pf(p.P99), pf(p.Max)}
}

// checkColumns renders the checks' CSV columns of one row.
func checkColumns(s *Summary, ph Phase, cols []metrics.Column, k op.Kind) []string {
	out := make([]string, 0, len(cols))
	for _, c := range cols {
		out = append(out, csvCell(s.checks, ph.cell, c, k))
	}
	return out
}

func kindIndex(s string) int {
	if k, ok := op.ParseKind(s); ok {
		return int(k)
	}
	return 99
}

// levelKeys are the level keys of the run's scenarios, one CSV column
// each: read and write first, then the others in alphabetical order.
func levelKeys(scs []Scenario) []string {
	seen := map[string]bool{"read": true, "write": true}
	var rest []string
	for _, sc := range scs {
		for k := range sc.Levels {
			if !seen[k] {
				seen[k] = true
				rest = append(rest, k)
			}
		}
	}
	sort.Strings(rest)
	return append([]string{"read", "write"}, rest...)
}

func levelString(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k, v := range l {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + l[k]
	}
	return strings.Join(parts, " ")
}
