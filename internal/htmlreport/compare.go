package htmlreport

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/op"
)

// CompareSchema identifies the comparison document (compare --format
// json, and the data of compare.html).
const CompareSchema = "pacbench.compare/v1"

// Defaults of CompareOptions.
const (
	// DefaultResamples is the number of bootstrap resamples per run and
	// series.
	DefaultResamples = 1000
	// DefaultConfidence is the bootstrap interval's coverage.
	DefaultConfidence = 0.99
	// DefaultMinEffect is the smallest relative change of a latency
	// percentile or throughput that can be significant: a factor of 2 (+100 %
	// or −50 %). Two runs of one profile on a shared 2-core machine
	// differed by up to ±60 % in p50 with each run's intervals agreeing
	// among themselves — a run-to-run effect (the machine's load during the
	// run) that no resampling within the runs can see. On a quiet,
	// dedicated machine use a smaller --min-effect.
	DefaultMinEffect = 1.0
	// DefaultMinEffectAbs is the smallest change of availability or stale
	// ratio that can be significant (5 points).
	DefaultMinEffectAbs = 0.05
	// MinBlocks is the fewest intervals with data each run needs in a
	// series for its deltas to be judged at all.
	MinBlocks = 4
)

// Flags of a delta.
const (
	FlagSignificant = "significant"
	FlagNoise       = "noise"
	FlagTooFew      = "too_few_intervals"
)

// CompareOptions configure Compare. Zero values are the defaults above
// (Seed 0 is seed 1).
type CompareOptions struct {
	Resamples    int     `json:"resamples"`
	Seed         uint64  `json:"seed"`
	Confidence   float64 `json:"confidence"`
	MinEffect    float64 `json:"min_effect"`
	MinEffectAbs float64 `json:"min_effect_abs"`
}

func (o CompareOptions) withDefaults() CompareOptions {
	if o.Resamples <= 0 {
		o.Resamples = DefaultResamples
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Confidence <= 0 || o.Confidence >= 1 {
		o.Confidence = DefaultConfidence
	}
	if o.MinEffect <= 0 {
		o.MinEffect = DefaultMinEffect
	}
	if o.MinEffectAbs <= 0 {
		o.MinEffectAbs = DefaultMinEffectAbs
	}
	return o
}

// Target is one run to compare: its directory and, optionally, one of its
// scenarios (then series are matched on phase × op only, so different
// levels or systems compare).
type Target struct {
	Dir, Scenario string
}

// ParseTarget reads "RUN_DIR" or "RUN_DIR:SCENARIO" (a path that exists
// as a directory is always taken whole).
func ParseTarget(arg string) Target {
	if st, err := os.Stat(arg); err == nil && st.IsDir() {
		return Target{Dir: arg}
	}
	if i := strings.LastIndex(arg, ":"); i > 0 {
		return Target{Dir: arg[:i], Scenario: arg[i+1:]}
	}
	return Target{Dir: arg}
}

// Comparison is the result of Compare: every matched series with each
// run's values and deltas against the first run.
type Comparison struct {
	Schema  string         `json:"schema"`
	Method  string         `json:"method"`
	Options CompareOptions `json:"options"`
	Runs    []RunRef       `json:"runs"`
	Metrics []MetricDef    `json:"metrics"`
	Series  []SeriesDelta  `json:"series"`
	// Unmatched lists the series found in only one run.
	Unmatched []string `json:"unmatched"`
	// Spectra overlay the runs' latency spectra of each matched series.
	Spectra []Spectrum `json:"spectra"`
}

// RunRef names one compared run.
type RunRef struct {
	Label    string `json:"label"`
	Dir      string `json:"dir"`
	RunID    string `json:"run_id"`
	Profile  string `json:"profile"`
	System   string `json:"system"`
	Scenario string `json:"scenario,omitempty"`
	Partial  bool   `json:"partial"`
}

// MetricDef is one compared statistic. Relative metrics' deltas are
// ratios − 1, the others' differences.
type MetricDef struct {
	Key      string `json:"key"`
	Label    string `json:"label"`
	Unit     string `json:"unit"`
	Relative bool   `json:"relative"`
	// HigherWorse: an increase is a regression.
	HigherWorse bool `json:"higher_worse"`
}

// Metrics are the compared statistics, in table order (index = the
// bootstrap's metric index).
var compareMetrics = [numMetrics]MetricDef{
	{"p50", "p50", "ms", true, true},
	{"p99", "p99", "ms", true, true},
	{"p999", "p99.9", "ms", true, true},
	{"throughput_ops", "ops/s", "ops/s", true, false},
	{"availability", "avail", "ratio", false, false},
	{"stale_ratio", "stale", "ratio", false, true},
}

// SeriesDelta is one matched series (scenario × phase × op, or phase × op
// when levels were named) in every run that has it.
type SeriesDelta struct {
	Name  string      `json:"name"`
	Phase string      `json:"phase"`
	Op    string      `json:"op"`
	Runs  []RunValues `json:"runs"`
}

// RunValues is one run's values of a series.
type RunValues struct {
	Run      int    `json:"run"`
	Scenario string `json:"scenario"`
	// Blocks is the number of intervals with data (the resampling unit).
	Blocks int               `json:"blocks"`
	Values map[string]*Value `json:"values"`
}

// Value is one statistic of one run: its value (from summary.json), the
// lower and upper quartile of its per-interval values (Band), and, for
// every run after the first, the delta against the first run with its
// bootstrap interval [Low, High] and the verdict.
type Value struct {
	Value *float64    `json:"value"`
	Band  *[2]float64 `json:"band,omitempty"`
	Delta *float64    `json:"delta,omitempty"`
	Low   *float64    `json:"low,omitempty"`
	High  *float64    `json:"high,omitempty"`
	// Flag is significant, noise or too_few_intervals ("" for the first
	// run); Significant and Worse say which way.
	Flag        string `json:"flag,omitempty"`
	Significant bool   `json:"significant"`
	Worse       bool   `json:"worse"`
}

// ErrCompare is wrapped by Compare's usage errors.
var ErrCompare = errors.New("compare")

// loaded is one target read back.
type loaded struct {
	t   Target
	run *Run
}

// Compare loads the targets and compares every series they share with the
// first. Errors in the targets (not a run, no such scenario, levels named
// for some runs only) are usage errors (ErrUsage).
func Compare(targets []Target, o CompareOptions) (*Comparison, error) {
	o = o.withDefaults()
	if len(targets) < 2 {
		return nil, usageError{fmt.Errorf("%w: give at least two run directories", ErrCompare)}
	}
	named := 0
	runs := make([]loaded, len(targets))
	cache := map[string]*Run{}
	for i, t := range targets {
		if t.Scenario != "" {
			named++
		}
		r := cache[t.Dir]
		if r == nil {
			var err error
			if r, err = loadDir(t.Dir); err != nil {
				return nil, err
			}
			cache[t.Dir] = r
		}
		if t.Scenario != "" && indexOf(r.Names.Scenarios, r.stemOf(t.Scenario)) < 0 {
			return nil, usageError{fmt.Errorf("%w: %s has no level %q (it has %s)", ErrCompare, t.Dir, t.Scenario, strings.Join(r.scenarioNames(), ", "))}
		}
		runs[i] = loaded{t, r}
	}
	if named != 0 && named != len(targets) {
		return nil, usageError{fmt.Errorf("%w: name a level (RUN_DIR:LEVEL) for every run or for none", ErrCompare)}
	}
	c := &Comparison{Schema: CompareSchema, Method: method(o), Options: o, Metrics: compareMetrics[:], Series: []SeriesDelta{},
		Unmatched: []string{}, Spectra: []Spectrum{}}
	for i, l := range runs {
		s := l.run.Summary
		c.Runs = append(c.Runs, RunRef{Label: label(i), Dir: l.t.Dir, RunID: s.RunID, Profile: s.Profile,
			System: l.run.system(), Scenario: l.t.Scenario, Partial: s.Partial})
	}
	c.match(runs, named > 0, o)
	return c, nil
}

func loadDir(dir string) (*Run, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, usageError{fmt.Errorf("%w: run directory: %w", ErrCompare, err)}
	}
	defer root.Close()
	r, err := Load(root.FS())
	if err != nil {
		if errors.Is(err, ErrNotRun) || errors.Is(err, fs.ErrNotExist) {
			return nil, usageError{fmt.Errorf("%w: %s: %w", ErrCompare, dir, err)}
		}
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return r, nil
}

func label(i int) string { return string(rune('A' + i%26)) }

func (r *Run) system() string {
	if r.Manifest.Profile != nil {
		return r.Manifest.Profile.System.Driver
	}
	if len(r.Summary.Scenarios) > 0 {
		return r.Summary.Scenarios[0].System
	}
	return ""
}

func (r *Run) scenarioNames() []string {
	out := make([]string, len(r.Summary.Scenarios))
	for i, sc := range r.Summary.Scenarios {
		out[i] = sc.Name
	}
	return out
}

// stemOf returns the stem of the scenario named name ("" if none).
func (r *Run) stemOf(name string) string {
	for i, sc := range r.Summary.Scenarios {
		if sc.Name == name {
			return r.Names.Scenario(i)
		}
	}
	return ""
}

// seriesRef is one run's series: its scenario and phase indexes and op.
type seriesRef struct {
	run, scenario, phase int
	op                   string
}

// match groups the runs' series by key and compares each group.
func (c *Comparison) match(runs []loaded, byPhase bool, o CompareOptions) {
	var order []string
	groups := map[string][]seriesRef{}
	for ri, l := range runs {
		for si, sc := range l.run.Summary.Scenarios {
			if l.t.Scenario != "" && sc.Name != l.t.Scenario {
				continue
			}
			for _, ph := range sc.Phases {
				for _, o := range sortedOps(ph.Ops) {
					key := sc.Name + "/" + ph.Name + "/" + o
					if byPhase {
						key = ph.Name + "/" + o
					}
					if _, ok := groups[key]; !ok {
						order = append(order, key)
					}
					groups[key] = append(groups[key], seriesRef{ri, si, l.run.phaseIdx[ph.Name], o})
				}
			}
		}
	}
	for _, key := range order {
		g := groups[key]
		if len(g) < 2 || g[0].run != 0 {
			c.Unmatched = append(c.Unmatched, key+" (only in "+runLabels(g)+")")
			continue
		}
		c.Series = append(c.Series, compareSeries(key, runs, g, o))
		c.Spectra = append(c.Spectra, compareSpectrum(key, runs, g))
	}
}

func runLabels(g []seriesRef) string {
	var ls []string
	for _, s := range g {
		ls = append(ls, label(s.run))
	}
	return strings.Join(ls, ", ")
}

func sortedOps(m map[string]*report.Op) []string {
	out := sortedKeys(m)
	sortByKind(out)
	return out
}

func sortByKind(ops []string) {
	for i := 1; i < len(ops); i++ {
		for j := i; j > 0 && kindOrder(ops[j]) < kindOrder(ops[j-1]); j-- {
			ops[j], ops[j-1] = ops[j-1], ops[j]
		}
	}
}

// compareSeries computes one matched series: values from the summaries,
// deltas and flags against the first run from the bootstrap.
func compareSeries(key string, runs []loaded, g []seriesRef, o CompareOptions) SeriesDelta {
	first := g[0]
	sd := SeriesDelta{Name: key, Phase: runs[first.run].run.phases[first.phase].Name, Op: first.op}
	samples := make([]sample, len(g))
	for i, s := range g {
		samples[i] = runs[s.run].run.sample(s)
	}
	grid := newValueGrid(samples...)
	base := newResampler(samples[0], grid)
	baseBoot := base.boot(o.Resamples, o.Seed, key+"#"+label(first.run))
	baseBlocks := base.perBlock()
	for i, s := range g {
		rv := RunValues{Run: s.run, Scenario: runs[s.run].run.Summary.Scenarios[s.scenario].Name, Blocks: len(samples[i].blocks),
			Values: pointValues(runs[s.run].run, s)}
		if i > 0 {
			r := newResampler(samples[i], grid)
			judge(rv.Values, sd.Runs[0].Values, baseBoot, r.boot(o.Resamples, o.Seed, key+"#"+label(s.run)), baseBlocks, r.perBlock(), o)
		}
		sd.Runs = append(sd.Runs, rv)
	}
	return sd
}

// pointValues are a series' statistics as summary.json has them (null
// where undefined: no ok op, no check).
func pointValues(r *Run, s seriesRef) map[string]*Value {
	sc := r.Summary.Scenarios[s.scenario]
	out := map[string]*Value{}
	for _, m := range compareMetrics {
		out[m.Key] = &Value{}
	}
	ph := phaseOf(sc, r.phases[s.phase].Name)
	if ph == nil || ph.Ops[s.op] == nil {
		return out
	}
	st := ph.Ops[s.op]
	if st.OK > 0 {
		out["p50"].Value, out["p99"].Value, out["p999"].Value = st.LatencyMs.P50, st.LatencyMs.P99, st.LatencyMs.P999
	}
	if st.Count > 0 {
		out["throughput_ops"].Value = ptr(st.ThroughputOps)
		out["availability"].Value = ptr(st.Availability)
	}
	if checked, _, ratio := staleOf(st); checked > 0 {
		out["stale_ratio"].Value = ratio
	}
	return out
}

func ptr(f float64) *float64 { return &f }

// judge fills the deltas of vals against base and flags each: the
// bootstrap interval of the delta (resample i of this run against
// resample i of the base) must lie beyond the minimum effect, and the
// runs' intervals must be separated — this run's lower quartile of
// per-interval values above the base's upper quartile (or its upper
// quartile below the base's lower one). A change that the runs' own interval-to-interval variation
// covers is noise, however small its bootstrap interval.
func judge(vals, base map[string]*Value, baseBoot, boot []stats, baseBlocks, blocks []stats, o CompareOptions) {
	alpha := (1 - o.Confidence) / 2
	for mi, m := range compareMetrics {
		v, b := vals[m.Key], base[m.Key]
		bb, vb := band(baseBlocks, mi), band(blocks, mi)
		b.Band, v.Band = bb, vb
		if v.Value == nil || b.Value == nil {
			continue
		}
		d := delta(m, *b.Value, *v.Value)
		if math.IsNaN(d) {
			continue
		}
		v.Delta = num(d, 4)
		if bb == nil || vb == nil {
			v.Flag = FlagTooFew
			continue
		}
		ds := make([]float64, len(boot))
		for i := range boot {
			ds[i] = delta(m, baseBoot[i][mi], boot[i][mi])
		}
		lo, hi := quantileF(ds, alpha), quantileF(ds, 1-alpha)
		v.Low, v.High = num(lo, 4), num(hi, 4)
		effect := o.MinEffectAbs
		down := -effect
		if m.Relative {
			effect = o.MinEffect
			down = 1/(1+effect) - 1
		}
		v.Flag = FlagNoise
		if (lo > effect && vb[0] > bb[1]) || (hi < down && vb[1] < bb[0]) {
			v.Flag, v.Significant = FlagSignificant, true
			v.Worse = (d > 0) == m.HigherWorse
		}
	}
}

// band returns the lower and upper quartile of the per-interval values of
// metric mi (nil with fewer than MinBlocks intervals that define it).
func band(blocks []stats, mi int) *[2]float64 {
	var xs []float64
	for _, s := range blocks {
		if !math.IsNaN(s[mi]) {
			xs = append(xs, s[mi])
		}
	}
	if len(xs) < MinBlocks {
		return nil
	}
	return &[2]float64{round(quantileF(xs, bandLow), 6), round(quantileF(xs, bandHigh), 6)}
}

// delta is other/base − 1 for relative metrics, other − base otherwise
// (NaN if undefined).
func delta(m MetricDef, base, other float64) float64 {
	if !m.Relative {
		return other - base
	}
	if base == 0 {
		if other == 0 {
			return 0
		}
		return math.NaN()
	}
	return other/base - 1
}

func method(o CompareOptions) string {
	return fmt.Sprintf("Values are summary.json's. A delta (ratio − 1 for latency and throughput, difference for availability "+
		"and stale ratio, against run A) is significant only when both hold: (1) its %.0f%% bootstrap interval — %d resamples "+
		"(seed %d) of each run's measurement intervals of that series, with replacement, each resample's statistic computed from "+
		"its merged histograms by the reference percentile — lies beyond the minimum effect (a factor of %.2g relative, %.0f points absolute); "+
		"(2) the runs' intervals are separated: the lower quartile of this run's per-interval values lies above the upper "+
		"quartile of run A's (or its upper quartile below A's lower). A change that the runs' own interval-to-interval variation covers — the noise of a loaded machine — is "+
		"called noise, not a regression. Series with fewer than %d intervals with data in either run are not judged.",
		o.Confidence*100, o.Resamples, o.Seed, 1+o.MinEffect, o.MinEffectAbs*100, MinBlocks)
}

// sample extracts one series' blocks: the ok latencies, op counts, the
// block's length within the series' phase window, and (reads) the checks.
func (r *Run) sample(s seriesRef) sample {
	okT := r.tracks[tagKey{s.scenario, s.phase, s.op, outcomeOK, measureResponse}]
	var errT []*track
	for _, c := range op.ErrorClasses() {
		if t := r.tracks[tagKey{s.scenario, s.phase, s.op, c.String(), measureResponse}]; t != nil {
			errT = append(errT, t)
		}
	}
	var checkedT, staleT *track
	if s.op == "read" {
		checkedT = r.tracks[tagKey{s.scenario, s.phase, report.CheckOp, checkers.StalenessChecked, report.PartCount}]
		staleT = r.tracks[tagKey{s.scenario, s.phase, report.CheckOp, checkers.StalenessStale, report.PartCount}]
	}
	win := r.window(s)
	var out sample
	for b := 0; b < r.grid.blocks(); b++ {
		sb := sampleBlock{ok: okT.at(b)}
		sb.okN = sb.ok.Total()
		sb.count = sb.okN
		for _, t := range errT {
			sb.count += t.at(b).Total()
		}
		if sb.count == 0 {
			continue
		}
		sb.checked, sb.stale = checkedT.at(b).Total(), staleT.at(b).Total()
		st, en, lenMs := r.grid.span(b)
		if win[1] > win[0] {
			lenMs = max(0, min(en, win[1])-max(st, win[0]))
		}
		sb.lenMs = lenMs
		out.blocks = append(out.blocks, sb)
	}
	return out
}

// window returns the phase window of a series in ms ({0, 0}: unknown).
func (r *Run) window(s seriesRef) [2]int64 {
	name := r.Summary.Scenarios[s.scenario].Name
	for _, w := range r.Manifest.Phases {
		if w.Index == s.phase && (len(w.Scenarios) == 0 || indexOf(w.Scenarios, name) >= 0) {
			return [2]int64{w.StartNs / 1e6, w.EndNs / 1e6}
		}
	}
	return [2]int64{}
}

// compareSpectrum overlays the runs' latency spectra of one series.
func compareSpectrum(key string, runs []loaded, g []seriesRef) Spectrum {
	first := g[0]
	var lines []labeled
	for _, s := range g {
		t := runs[s.run].run.tracks[tagKey{s.scenario, s.phase, s.op, outcomeOK, measureResponse}]
		if t != nil && t.all.TotalCount() > 0 {
			lines = append(lines, labeled{label(s.run) + " · " + runs[s.run].run.Summary.Scenarios[s.scenario].Name, t.all})
		}
	}
	sp := spectrumOf(lines, 1e6)
	sp.Series, sp.Phase, sp.Op, sp.Measure, sp.Unit = key, runs[first.run].run.phases[first.phase].Name, first.op, measureResponse, "ms"
	return sp
}

// The per-interval band of a statistic: its lower and upper quartile over
// the run's intervals. Two runs differ beyond their noise when their
// bands do not overlap.
const (
	bandLow  = 0.25
	bandHigh = 0.75
)
