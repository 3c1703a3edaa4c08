package htmlreport

import (
	"encoding/json"
	"io/fs"
	"math"
	"sort"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Measures of the interval log's tags, and the staleness log's.
const (
	measureResponse = "response"
	measureService  = "service"
	outcomeOK       = "ok"
)

// MinVisibilitySample is the sample size below which a t-visibility point
// is marked as too small to trust (its 95 % interval is wider than about
// ±18 points).
const MinVisibilitySample = 30

// openBucketMs is where the open-ended last t-visibility bucket (≥ 10 s)
// is drawn.
const openBucketMs = 20_000

// Build computes the page's data from a loaded run.
func Build(r *Run) *Data {
	s, m := r.Summary, r.Manifest
	d := &Data{Schema: Schema,
		Run: RunInfo{ID: s.RunID, Profile: s.Profile, Mode: s.Mode, Partial: s.Partial, StartedAt: s.StartedAt,
			EndedAt: s.EndedAt, Version: m.Versions["pacbench"]},
		Phases: phaseBands(m), Scenarios: []ScenarioInfo{}, Timelines: []Timeline{}, Spectra: []Spectrum{},
		Visibility: []VisibilityChart{}, Linearizability: []Link{},
		Map:   report.PACELCMap(s.Scenarios, r.phases),
		Notes: append(append([]string{}, s.Notes...), r.Notes...),
	}
	if m.Profile != nil {
		d.Run.System = m.Profile.System.Driver
	}
	d.Time = r.timeAxis()
	running := r.running()
	for i, sc := range s.Scenarios {
		d.Scenarios = append(d.Scenarios, ScenarioInfo{Name: sc.Name, System: sc.System, Levels: sc.Levels,
			OpenLoop: sc.Load != nil && sc.Load.Model == "open", PACELC: sc.PACELC})
		for _, o := range r.ops(i) {
			d.Timelines = append(d.Timelines, r.timeline(i, o, running[i], d.Scenarios[i].OpenLoop))
		}
	}
	for pi := range r.phases {
		for _, o := range r.ops(-1) {
			if sp, ok := r.spectrum(pi, o, outcomeOK, measureResponse, "ms", 1e6); ok {
				d.Spectra = append(d.Spectra, sp)
			}
		}
	}
	d.Staleness = r.staleness()
	d.Visibility = visibility(s, r.phases)
	d.Linearizability = r.links()
	return d
}

func phaseBands(m *report.Manifest) []PhaseBand {
	out := []PhaseBand{}
	for _, w := range m.Phases {
		b := PhaseBand{Name: w.Name, Start: seconds(w.StartNs), End: seconds(w.EndNs), Scenarios: w.Scenarios, Impairments: []Impairment{}}
		for _, ev := range w.Impairments {
			im := Impairment{What: ev.Describe, Kind: ev.Action.Kind, Member: ev.Action.Member, Link: string(ev.Action.Link),
				Direction: ev.Action.Direction, Start: seconds(ev.AppliedNs), Error: ev.Error}
			if ev.ClearedNs > 0 {
				e := seconds(ev.ClearedNs)
				im.End = &e
			}
			b.Impairments = append(b.Impairments, im)
		}
		out = append(out, b)
	}
	return out
}

func seconds(ns int64) float64 { return round(float64(ns)/1e9, 3) }

// round rounds f to digits decimals.
func round(f float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(f*p) / p
}

func num(f float64, digits int) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	v := round(f, digits)
	return &v
}

// nsToMs returns v ns in ms, to the µs.
func nsToMs(v int64) *float64 { return num(float64(v)/1e6, 3) }

func (r *Run) timeAxis() TimeAxis {
	g := r.grid
	t := TimeAxis{Start: []float64{}, End: []float64{}, Intervals: len(g.startMs), PerBlock: g.k}
	if len(g.lenMs) > 0 { // the median: the first and the last interval are partial
		l := append([]int64(nil), g.lenMs...)
		sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
		t.IntervalS = round(float64(l[len(l)/2])/1000, 3)
	}
	for b := 0; b < g.blocks(); b++ {
		st, en, _ := g.span(b)
		t.Start = append(t.Start, round(float64(st)/1000, 3))
		t.End = append(t.End, round(float64(en)/1000, 3))
	}
	return t
}

// running returns, per scenario, whether it was running during each
// block (its phase windows overlap the block): there a missing op is a
// measured zero rate, elsewhere no data.
func (r *Run) running() [][]bool {
	out := make([][]bool, len(r.Summary.Scenarios))
	for i, sc := range r.Summary.Scenarios {
		out[i] = make([]bool, r.grid.blocks())
		for _, w := range r.Manifest.Phases {
			if indexOf(w.Scenarios, sc.Name) < 0 {
				continue
			}
			for b := range out[i] {
				st, en, _ := r.grid.span(b)
				if w.StartNs/1e6 < en && w.EndNs/1e6 > st {
					out[i][b] = true
				}
			}
		}
	}
	return out
}

// ops lists the op kinds with a track for scenario i (any scenario if i
// < 0), in op order.
func (r *Run) ops(i int) []string {
	seen := map[string]bool{}
	for k := range r.tracks {
		if (i < 0 || k.scenario == i) && (k.measure == measureResponse) {
			seen[k.op] = true
		}
	}
	out := make([]string, 0, len(seen))
	for o := range seen {
		out = append(out, o)
	}
	sort.Slice(out, func(a, b int) bool {
		return kindOrder(out[a]) < kindOrder(out[b]) || kindOrder(out[a]) == kindOrder(out[b]) && out[a] < out[b]
	})
	return out
}

func kindOrder(s string) int {
	if k, ok := op.ParseKind(s); ok {
		return int(k)
	}
	return math.MaxInt
}

// blockBins returns the bins of (scenario, any phase, op, outcome,
// measure) in block b, merged over phases.
func (r *Run) blockBins(scenario int, o, outcome, measure string, b int) Bins {
	var parts []Bins
	for pi := range r.Names.Phases {
		if bins := r.tracks[tagKey{scenario, pi, o, outcome, measure}].at(b); bins != nil {
			parts = append(parts, bins)
		}
	}
	return merge(parts...)
}

// classes lists the error classes that occurred for (scenario, op).
func (r *Run) classes(scenario int, o string) []string {
	var out []string
	for _, c := range op.ErrorClasses() {
		for k := range r.tracks {
			if k.scenario == scenario && k.op == o && k.outcome == c.String() && k.measure == measureResponse {
				out = append(out, c.String())
				break
			}
		}
	}
	return out
}

func (r *Run) timeline(si int, o string, running []bool, open bool) Timeline {
	n := r.grid.blocks()
	tl := Timeline{Scenario: r.Summary.Scenarios[si].Name, Op: o, Response: newLines(n), OK: make([]*float64, n),
		Errors: map[string][]*float64{}}
	classes := r.classes(si, o)
	for _, c := range classes {
		tl.Errors[c] = make([]*float64, n)
	}
	if open {
		l := newLines(n)
		tl.Service = &l
	}
	for b := 0; b < n; b++ {
		_, _, lenMs := r.grid.span(b)
		ok := r.blockBins(si, o, outcomeOK, measureResponse, b)
		tl.Response.set(b, ok)
		if tl.Service != nil {
			tl.Service.set(b, r.blockBins(si, o, outcomeOK, measureService, b))
		}
		if !running[b] && ok == nil {
			continue
		}
		tl.OK[b] = rate(ok.Total(), lenMs)
		for _, c := range classes {
			tl.Errors[c][b] = rate(r.blockBins(si, o, c, measureResponse, b).Total(), lenMs)
		}
	}
	return tl
}

func rate(n, lenMs int64) *float64 {
	if lenMs <= 0 {
		return nil
	}
	return num(float64(n)/(float64(lenMs)/1000), 3)
}

func newLines(n int) Lines {
	return Lines{P50: make([]*float64, n), P99: make([]*float64, n), P999: make([]*float64, n), Max: make([]*float64, n)}
}

// set fills block b's percentiles from bins (left null when empty).
func (l *Lines) set(b int, bins Bins) {
	v, ok := bins.Quantiles(0.5, 0.99, 0.999, 1)
	if !ok {
		return
	}
	l.P50[b], l.P99[b], l.P999[b], l.Max[b] = nsToMs(v[0]), nsToMs(v[1]), nsToMs(v[2]), nsToMs(v[3])
}

// spectrumGrid returns the percentiles of HdrHistogram's percentile
// iteration (4 steps per halving of 1 − p, from 0) up to the first one
// whose rank is the last sample of the largest count n.
func spectrumGrid(n int64) []float64 {
	var ps []float64
	for k := 0; ; k++ {
		p := 1 - math.Pow(2, -float64(k)/4)
		ps = append(ps, p)
		if (1-p)*float64(n) < 1 || k > 400 {
			return ps
		}
	}
}

// spectrum builds the spectrum of phase pi's (op, outcome, measure)
// tracks over the scenarios, values divided by scale; false if no
// scenario has samples.
func (r *Run) spectrum(pi int, o, outcome, measure, unit string, scale float64) (Spectrum, bool) {
	var lines []labeled
	for si, sc := range r.Summary.Scenarios {
		if t := r.tracks[tagKey{si, pi, o, outcome, measure}]; t != nil && t.all.TotalCount() > 0 {
			lines = append(lines, labeled{sc.Name, t.all})
		}
	}
	sp := spectrumOf(lines, scale)
	sp.Phase, sp.Op, sp.Measure, sp.Unit = r.phases[pi].Name, o, measure, unit
	return sp, len(lines) > 0
}

// spectrumOf computes the lines' percentile spectra on their common grid
// (up to the largest count's last sample), by the reference definition;
// a line has no values past its own last sample.
func spectrumOf(lines []labeled, scale float64) Spectrum {
	sp := Spectrum{P: []float64{}, Levels: []SpectrumLine{}}
	var maxN int64
	for _, l := range lines {
		maxN = max(maxN, l.h.TotalCount())
	}
	if maxN == 0 {
		return sp
	}
	sp.P = spectrumGrid(maxN)
	for _, l := range lines {
		n := l.h.TotalCount()
		vals := make([]*float64, len(sp.P))
		for k, p := range sp.P {
			v, _ := metrics.Quantile(l.h, p)
			vals[k] = num(float64(v)/scale, 3)
			if (1-p)*float64(n) < 1 {
				break // the last sample: beyond it this line has no resolution
			}
		}
		sp.Levels = append(sp.Levels, SpectrumLine{Scenario: l.name, N: n, Values: vals})
	}
	return sp
}

// staleness builds the stale ratio lines (from the staleness check's
// counters per block) and the per-phase distributions (its histograms).
func (r *Run) staleness() Staleness {
	st := Staleness{Ratio: []RatioLine{}, Behind: []Spectrum{}, Versions: []Spectrum{}}
	n := r.grid.blocks()
	for si, sc := range r.Summary.Scenarios {
		line := RatioLine{Scenario: sc.Name, Ratio: make([]*float64, n), Checked: make([]int64, n)}
		seen := false
		for b := 0; b < n; b++ {
			checked := r.blockBins(si, report.CheckOp, checkers.StalenessChecked, report.PartCount, b).Total()
			if checked == 0 {
				continue
			}
			seen = true
			stale := r.blockBins(si, report.CheckOp, checkers.StalenessStale, report.PartCount, b).Total()
			line.Checked[b] = checked
			line.Ratio[b] = num(float64(stale)/float64(checked), 6)
		}
		if seen {
			st.Ratio = append(st.Ratio, line)
		}
	}
	for pi := range r.phases {
		if sp, ok := r.spectrum(pi, report.CheckOp, checkers.StalenessBehind, report.PartHist, "ms", 1e6); ok {
			sp.Op, sp.Measure = "read", "behind"
			st.Behind = append(st.Behind, sp)
		}
		if sp, ok := r.spectrum(pi, report.CheckOp, checkers.StalenessVersions, report.PartHist, "versions", 1); ok {
			sp.Op, sp.Measure = "read", "versions"
			st.Versions = append(st.Versions, sp)
		}
	}
	return st
}

func (r *Run) links() []Link {
	out := []Link{}
	for _, sc := range r.Summary.Scenarios {
		for _, ph := range sc.Phases {
			var lc struct {
				Ops           int    `json:"ops"`
				Keys          int    `json:"keys"`
				Visualization string `json:"visualization"`
			}
			if !field(ph.Checks, &lc, "linearizability") || lc.Visualization == "" {
				continue
			}
			_, err := fs.Stat(r.fsys, lc.Visualization)
			out = append(out, Link{Scenario: sc.Name, Phase: ph.Name, File: lc.Visualization, Exists: err == nil,
				Ops: lc.Ops, Keys: lc.Keys})
		}
	}
	return out
}

// field decodes the check field at path of f into v (false if absent or
// not of v's shape).
func field(f report.Fields, v any, path ...string) bool {
	x, ok := f.Get(path...)
	if !ok {
		return false
	}
	raw, isRaw := x.(json.RawMessage)
	if !isRaw {
		b, err := json.Marshal(x)
		if err != nil {
			return false
		}
		raw = b
	}
	return json.Unmarshal(raw, v) == nil
}

// staleOf returns an op's staleness counts and ratio from its checks.
func staleOf(o *report.Op) (checked, stale int64, ratio *float64) {
	if o == nil {
		return 0, 0, nil
	}
	checked, _ = o.Checks.Int("staleness", "checked")
	stale, _ = o.Checks.Int("staleness", "stale")
	if r, ok := o.Checks.Float("staleness", "stale_ratio"); ok {
		ratio = &r
	}
	return checked, stale, ratio
}

// labeled is one line of a spectrum: its name and histogram.
type labeled struct {
	name string
	h    *hdrhistogram.Histogram
}
