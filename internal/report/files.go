package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Manifest is manifest.json: what ran, on what, when.
type Manifest struct {
	Schema    string            `json:"schema"`
	RunID     string            `json:"run_id"`
	Partial   bool              `json:"partial"`
	Error     string            `json:"error,omitempty"`
	Versions  map[string]string `json:"versions"`
	Profile   any               `json:"profile"`
	Topology  any               `json:"topology"`
	StartedAt string            `json:"started_at"`
	EndedAt   string            `json:"ended_at"`
	// ClockBase is the wall time of the run clock's zero; every *_ns field
	// is nanoseconds since it.
	ClockBase string   `json:"clock_base"`
	Phases    any      `json:"phases"`
	Load      any      `json:"load"`
	Notes     []string `json:"notes,omitempty"`
}

// HlogWriter streams the interval log (HdrHistogram log format 1.3,
// readable by HistogramLogProcessor), one tagged histogram per series and
// interval, to a sink (a file during a run, so memory does not grow with
// run length). Safe for concurrent use.
type HlogWriter struct {
	mu   sync.Mutex
	w    *hdrhistogram.HistogramLogWriter
	base int64 // ms since epoch of the run clock's zero
}

// NewHlogWriter starts a log on sink whose timestamps are relative to
// baseMs (ms since the epoch).
func NewHlogWriter(sink io.Writer, baseMs int64, comment string) *HlogWriter {
	h := &HlogWriter{base: baseMs}
	h.w = hdrhistogram.NewHistogramLogWriter(sink)
	_ = h.w.OutputComment(" " + comment)
	_ = h.w.OutputComment(" values in nanoseconds; tag = scenario/phase/op/outcome/measure (response|service)")
	_ = h.w.OutputLogFormatVersion()
	_ = h.w.OutputStartTime(baseMs)
	_ = h.w.OutputBaseTime(baseMs)
	h.w.SetBaseTime(baseMs)
	_ = h.w.OutputLegend()
	return h
}

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9._/=-]+`)

// Tag returns the series tag used in the hlog and in .hgrm file names.
func Tag(scenario, phase string, kind op.Kind, class op.Class) string {
	clean := func(s string) string { return tagUnsafe.ReplaceAllString(s, "_") }
	return clean(scenario) + "/" + clean(phase) + "/" + kind.String() + "/" + class.String()
}

// Add writes every series of an interval.
func (h *HlogWriter) Add(iv *metrics.Interval, scenarios, phases []string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	startMs := h.base + iv.StartNs/1e6
	endMs := h.base + iv.EndNs/1e6
	for _, s := range iv.Series {
		tag := Tag(name(scenarios, s.Key.Scenario), name(phases, s.Key.Phase), s.Key.Kind, s.Key.Class)
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

func name(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return strconv.Itoa(i)
}

// Files renders every result file of a run (all but the streamed
// interval log), keyed by file name.
func Files(s *Summary, m *Manifest, res *metrics.Results) (map[string][]byte, error) {
	files := map[string][]byte{}
	var err error
	if files["summary.json"], err = json.MarshalIndent(s, "", "  "); err != nil {
		return nil, fmt.Errorf("summary.json: %w", err)
	}
	if files["manifest.json"], err = json.MarshalIndent(m, "", "  "); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	if files["summary.csv"], err = CSV(s); err != nil {
		return nil, err
	}
	if res != nil {
		for _, c := range res.Cells {
			kinds := make([]op.Kind, 0, len(c.Ops))
			for k := range c.Ops {
				kinds = append(kinds, k)
			}
			sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
			for _, k := range kinds {
				st := c.Ops[k]
				for cl, h := range st.Response {
					if h == nil || h.TotalCount() == 0 {
						continue
					}
					var b bytes.Buffer
					if _, err := h.PercentilesPrint(&b, 5, 1e6); err != nil {
						return nil, fmt.Errorf("hgrm: %w", err)
					}
					tag := Tag(name(res.Scenarios, c.Scenario), name(res.Phases, c.Phase), k, cl)
					files["hgrm/"+strings.ReplaceAll(tag, "/", ".")+".hgrm"] = b.Bytes()
				}
			}
		}
	}
	return files, nil
}

// CSV renders summary.csv: one row per scenario × phase × op.
func CSV(s *Summary) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	header := []string{"scenario", "system", "levels", "phase", "impairment", "duration_s", "op", "count", "ok",
		"availability", "throughput_ops", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "p9999_ms", "max_ms", "mean_ms",
		"service_p50_ms", "service_p99_ms"}
	for _, c := range op.ErrorClasses() {
		header = append(header, "err_"+c.String())
	}
	header = append(header, "stale_checked", "stale", "stale_ratio", "staleness_ms_p50", "staleness_ms_p99",
		"staleness_versions_p50", "ryw_violations", "monotonic_read_violations", "linearizable")
	_ = w.Write(header)
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	for _, sc := range s.Scenarios {
		lv := levelString(sc.Levels)
		for _, ph := range sc.Phases {
			ops := make([]string, 0, len(ph.Ops))
			for k := range ph.Ops {
				ops = append(ops, k)
			}
			sort.Slice(ops, func(i, j int) bool { return kindIndex(ops[i]) < kindIndex(ops[j]) })
			for _, k := range ops {
				o := ph.Ops[k]
				row := []string{sc.Name, sc.System, lv, ph.Name, strings.Join(ph.Impairment, "; "), f(ph.DurationS), k,
					strconv.FormatInt(o.Count, 10), strconv.FormatInt(o.OK, 10), f(o.Availability), f(o.ThroughputOps),
					f(o.LatencyMs.P50), f(o.LatencyMs.P90), f(o.LatencyMs.P99), f(o.LatencyMs.P999), f(o.LatencyMs.P9999),
					f(o.LatencyMs.Max), f(o.LatencyMs.Mean), f(o.ServiceMs.P50), f(o.ServiceMs.P99)}
				for _, c := range op.ErrorClasses() {
					row = append(row, strconv.FormatInt(o.Errors[c.String()], 10))
				}
				st := o.Staleness
				if st == nil {
					st = &Staleness{}
				}
				lin := ""
				if ph.Linearizable != nil {
					lin = strconv.FormatBool(*ph.Linearizable)
				}
				row = append(row, strconv.FormatInt(st.Checked, 10), strconv.FormatInt(st.Stale, 10), f(st.StaleRatio),
					f(st.Ms.P50), f(st.Ms.P99), f(st.Versions.P50),
					strconv.FormatInt(ph.Session.RYWViolations, 10), strconv.FormatInt(ph.Session.MonotonicReadViolations, 10), lin)
				_ = w.Write(row)
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

func kindIndex(s string) int {
	if k, ok := op.ParseKind(s); ok {
		return int(k)
	}
	return 99
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

// WriteDir writes files into dir atomically: everything goes into a
// temporary sibling directory that is renamed into place at the end, so a
// reader never sees a half-written run. moves names existing files (on the
// same file system, e.g. the streamed interval log) to rename into the
// directory under the given names. An existing dir is replaced.
func WriteDir(dir string, files map[string][]byte, moves map[string]string) error {
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	defer os.RemoveAll(tmp)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(tmp, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("results: %w", err)
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return fmt.Errorf("results: write %s: %w", n, err)
		}
	}
	for name, from := range moves {
		if err := os.Rename(from, filepath.Join(tmp, filepath.FromSlash(name))); err != nil {
			return fmt.Errorf("results: move %s: %w", name, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if _, err := os.Stat(dir); err == nil {
		old := tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return fmt.Errorf("results: replace %s: %w", dir, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}
