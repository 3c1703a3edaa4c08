// Package exporter publishes a pacbench run's measurements to Prometheus
// (DESIGN.md, "Contracts → Metrics").
//
// The runner calls Update after every interval Collect with the recorder's
// cumulative Results and the Interval just merged. Update converts them into
// an immutable snapshot (HdrHistograms → classic and native buckets, the
// window summary's quantiles); a scrape only turns the latest snapshot into
// const metrics, so recording ops never touches the exporter.
//
// Families (base units; op labels system, scenario, phase, level, op,
// outcome; every label a closed set or a cleaned profile name, never error
// text, keys or run ids — those appear only on pacbench_run_info). The
// check families come from the checks' measure descriptions
// (metrics.Measure.Metric), whatever the checks; with the built-in checks:
//
//	pacbench_op_duration_seconds            histogram (classic + native) of response time
//	pacbench_op_service_duration_seconds    histogram (classic + native) of service time
//	pacbench_op_duration_window_seconds     summary: quantiles of the last Window intervals
//	pacbench_ops_total                      counter, by outcome (every class, zeros included)
//	pacbench_op_errors_total                counter, by class (error classes, zeros included)
//	pacbench_stale_reads_total              counter
//	pacbench_stale_checked_reads_total      counter
//	pacbench_read_staleness_seconds         histogram of stale reads' time staleness
//	pacbench_read_staleness_versions        histogram of stale reads' version staleness
//	pacbench_visibility_reads_total         counter, by t_le (bucket upper bound, s) and fresh
//	pacbench_session_violations_total       counter, by kind (ryw, monotonic_read)
//	pacbench_phase_active                   gauge: 1 if the phase ran ops in the last interval
//	pacbench_impairment_active              gauge, by kind and target
//	pacbench_impairment_delay_seconds       gauge, by kind and target
//	pacbench_run_info                       gauge = 1, labels run_id, profile, version, system, mode, shard
//	pacbench_phase_info                     gauge, by phase and index: 1 for the phase running now
package exporter

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Defaults of Options.
const (
	// DefaultWindow is the number of intervals merged into the window summary.
	DefaultWindow = 5
	// DefaultNativeSchema is the native histograms' schema: 3 gives buckets
	// growing by 2^(1/8) ≈ 9 %, client_golang's default resolution.
	DefaultNativeSchema = 3
)

// ErrInvalidOptions: an Options field is out of range.
var ErrInvalidOptions = errors.New("exporter: invalid options")

// Quantiles returns the window summary's quantiles (a new slice each call).
func Quantiles() []float64 { return []float64{0.5, 0.9, 0.99, 0.999, 0.9999} }

// DurationBuckets returns the default classic bucket upper bounds (seconds)
// of the op-duration and time-staleness histograms: 100 µs to 60 s (a new
// slice each call).
func DurationBuckets() []float64 {
	return []float64{
		0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
		0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
	}
}

// VersionBuckets returns the default classic bucket upper bounds of the
// version-staleness histogram (a new slice each call).
func VersionBuckets() []float64 { return []float64{1, 2, 3, 5, 10, 20, 50, 100, 1000, 10000} }

// Options configures an Exporter.
type Options struct {
	// Window is the number of intervals (Update calls) merged into the
	// pacbench_op_duration_window_seconds summary; 0 means DefaultWindow.
	Window int
	// Registry receives the exporter's collector. Nil means a private
	// registry. Handler serves Registry if it is also a prometheus.Gatherer,
	// otherwise a private registry holding only the exporter.
	Registry prometheus.Registerer
	// NativeSchema is the schema of the native histograms, -4…8; 0 means
	// DefaultNativeSchema (schema 0 itself cannot be chosen).
	NativeSchema int32
	// DurationBuckets and VersionBuckets override the classic bucket upper
	// bounds (sorted, positive); nil means the package defaults.
	DurationBuckets, VersionBuckets []float64
}

// Active is one impairment in effect, as the impairment gauges show it.
type Active struct {
	// Kind is an impair.Kind* value (others are exported as "other").
	Kind string
	// Target is the member the impairment acts on.
	Target string
	// Delay is the added latency (latency impairments; 0 otherwise).
	Delay time.Duration
}

// ActiveFromActions summarises the runner's applied actions as gauges: one
// Active per action (the gauges merge duplicates).
func ActiveFromActions(acts []impair.Action) []Active {
	out := make([]Active, 0, len(acts))
	for _, a := range acts {
		out = append(out, Active{Kind: a.Kind, Target: a.Member, Delay: a.Delay})
	}
	return out
}

// RunInfoLabels returns the label names of pacbench_run_info, in order;
// SetRunInfo ignores other keys (a new slice each call). shard is "I/N"
// for shard I of a run split over N processes (run --shard), "none" for a
// run that is not sharded: the shards of one run share its run_id.
func RunInfoLabels() []string {
	return []string{"run_id", "profile", "version", "system", "mode", "shard"}
}

// Exporter turns pacbench measurements into Prometheus metrics. All methods
// are safe for concurrent use; Update calls are serialised internally.
type Exporter struct {
	opts     Options
	gatherer prometheus.Gatherer
	descs    descs

	updMu      sync.Mutex // serialises Update; guards the fields below
	windows    map[metrics.SeriesKey]*window
	conv       map[histKey]convCache
	scratch    *hdrhistogram.Histogram
	checkDescs map[string]*prometheus.Desc // check family → descriptor

	mu      sync.Mutex // guards snap, imps, info, phases, current
	snap    *snapshot
	imps    map[impKey]float64 // known impairment → delay (s) if active, -1 if not
	info    []string           // run_info label values; nil until SetRunInfo
	phases  []string           // phase label values by index; nil until SetPhases
	current int                // index of the running phase; -1: none
}

// New returns an Exporter registered with o.Registry.
func New(o Options) (*Exporter, error) {
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	if o.Window < 0 {
		return nil, fmt.Errorf("%w: window %d < 0", ErrInvalidOptions, o.Window)
	}
	if o.NativeSchema == 0 {
		o.NativeSchema = DefaultNativeSchema
	}
	if o.NativeSchema < -4 || o.NativeSchema > 8 {
		return nil, fmt.Errorf("%w: native schema %d outside -4…8", ErrInvalidOptions, o.NativeSchema)
	}
	if o.DurationBuckets == nil {
		o.DurationBuckets = DurationBuckets()
	}
	if o.VersionBuckets == nil {
		o.VersionBuckets = VersionBuckets()
	}
	for _, b := range [][]float64{o.DurationBuckets, o.VersionBuckets} {
		if len(b) == 0 || !sort.Float64sAreSorted(b) || b[0] <= 0 {
			return nil, fmt.Errorf("%w: buckets %v must be sorted and positive", ErrInvalidOptions, b)
		}
	}
	// Own copies: the caller may reuse its slices.
	o.DurationBuckets = append([]float64(nil), o.DurationBuckets...)
	o.VersionBuckets = append([]float64(nil), o.VersionBuckets...)

	e := &Exporter{
		opts:    o,
		descs:   newDescs(),
		windows: map[metrics.SeriesKey]*window{},
		conv:    map[histKey]convCache{},
		scratch: metrics.NewLatencyHistogram(),

		checkDescs: map[string]*prometheus.Desc{},
		snap:       &snapshot{},
		imps:       map[impKey]float64{},
		current:    -1,
	}
	reg := o.Registry
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, e.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		e.gatherer = g
	} else {
		r := prometheus.NewRegistry()
		if err := e.register(r); err != nil {
			return nil, err
		}
		e.gatherer = r
	}
	if err := e.register(reg); err != nil {
		return nil, err
	}
	return e, nil
}

// register adds the exporter's two collectors to reg: the fixed families
// (described up front) and the check families (known from the checks'
// measures once results arrive: an unchecked collector).
func (e *Exporter) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{collector{e}, checkCollector{e}} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("exporter: register: %w", err)
		}
	}
	return nil
}

// Handler serves the metrics (text, OpenMetrics or protobuf with native
// histograms, as the scraper negotiates).
func (e *Exporter) Handler() http.Handler {
	return promhttp.HandlerFor(e.gatherer, promhttp.HandlerOpts{
		ErrorHandling:     promhttp.ContinueOnError,
		EnableOpenMetrics: true,
	})
}

// SetRunInfo sets pacbench_run_info's labels (keys of RunInfoLabels; others
// are ignored, missing ones are "none").
func (e *Exporter) SetRunInfo(labels map[string]string) {
	keys := RunInfoLabels()
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = cleanLabel(labels[k])
	}
	e.mu.Lock()
	e.info = vals
	e.mu.Unlock()
}

// SetPhases declares the profile's phases, by index, for
// pacbench_phase_info (all inactive until SetPhase).
func (e *Exporter) SetPhases(names []string) {
	clean := make([]string, len(names))
	for i, n := range names {
		clean[i] = cleanLabel(n)
	}
	e.mu.Lock()
	e.phases, e.current = clean, -1
	e.mu.Unlock()
}

// SetPhase marks phase index as the one running (-1 or out of range: none,
// e.g. before the first phase and after the last).
func (e *Exporter) SetPhase(index int) {
	e.mu.Lock()
	e.current = index
	e.mu.Unlock()
}

// impKey identifies one impairment gauge.
type impKey struct{ kind, target string }

// SetImpairments replaces the set of impairments in effect (nil: healed).
// Every (kind, target) ever seen keeps being exported, at 0 when inactive,
// so dashboards can shade the windows.
func (e *Exporter) SetImpairments(active []Active) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.imps {
		e.imps[k] = -1
	}
	for _, a := range active {
		k := impKey{kindLabel(a.Kind), cleanLabel(a.Target)}
		e.imps[k] = max(e.imps[k], a.Delay.Seconds(), 0)
	}
}

// Declare makes the impairment gauges of every (kind, target) in all exist
// (inactive) before any is applied.
func (e *Exporter) Declare(all []Active) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range all {
		k := impKey{kindLabel(a.Kind), cleanLabel(a.Target)}
		if _, ok := e.imps[k]; !ok {
			e.imps[k] = -1
		}
	}
}

// histKey identifies one cumulative histogram for the conversion cache.
type histKey struct {
	cell   [2]int
	family int
	kind   op.Kind
	class  op.Class
}

// convCache remembers a conversion while its histogram's count is unchanged.
type convCache struct {
	total int64
	data  histData
}

// Histogram families, for histKey.family; check measure g is famCheck+g.
const (
	famResponse = iota
	famService
	famCheck
)

// Update publishes the state after one interval: res is the recorder's
// cumulative Results, iv the interval just collected (nil: none), system
// the driver name and levels the level label of each scenario (by index;
// missing ones are "none"). Neither res nor iv is retained or modified.
func (e *Exporter) Update(system string, levels []string, res *metrics.Results, iv *metrics.Interval) {
	e.updMu.Lock()
	defer e.updMu.Unlock()
	if res == nil {
		res = &metrics.Results{}
	}
	s := &snapshot{}
	sysL := cleanLabel(system)
	name := func(names []string, i int) string {
		if i >= 0 && i < len(names) {
			return cleanLabel(names[i])
		}
		return cleanLabel("")
	}
	quant, active := e.advanceWindows(iv)
	u := &conversion{e: e, seen: map[histKey]bool{}}
	for _, c := range res.Cells {
		cl := cellLabels{
			system:   sysL,
			scenario: name(res.Scenarios, c.Scenario),
			phase:    name(res.Phases, c.Phase),
			level:    name(levels, c.Scenario),
		}
		ck := [2]int{c.Scenario, c.Phase}
		cs := cellSnap{labels: cl, active: active[ck], ops: u.opSnaps(c, quant)}
		cs.checks = e.checkSnaps(res, c, func(g int, h *hdrhistogram.Histogram, unit metrics.Unit) histData {
			scale, bounds := 1.0, e.opts.VersionBuckets
			if unit == metrics.UnitNanoseconds {
				scale, bounds = 1e-9, e.opts.DurationBuckets
			}
			return u.hist(histKey{cell: ck, family: famCheck + g}, h, scale, bounds)
		})
		s.cells = append(s.cells, cs)
	}
	for k := range e.conv {
		if !u.seen[k] {
			delete(e.conv, k)
		}
	}
	e.mu.Lock()
	e.snap = s
	e.mu.Unlock()
}

// advanceWindows pushes the interval's response times into every series'
// window and returns each live window's quantiles and the cells that ran
// ops in the interval. updMu is held.
func (e *Exporter) advanceWindows(iv *metrics.Interval) (map[metrics.SeriesKey]map[float64]float64, map[[2]int]bool) {
	inIv := map[metrics.SeriesKey][]bar{}
	active := map[[2]int]bool{}
	if iv != nil {
		for _, is := range iv.Series {
			inIv[is.Key] = bars(is.Response)
			active[[2]int{is.Key.Scenario, is.Key.Phase}] = true
		}
	}
	for k, bs := range inIv {
		if _, ok := e.windows[k]; !ok && len(bs) > 0 {
			e.windows[k] = newWindow(e.opts.Window)
		}
	}
	quant := map[metrics.SeriesKey]map[float64]float64{}
	for k, w := range e.windows {
		if w.push(inIv[k]) {
			quant[k] = w.quantiles(e.scratch, Quantiles(), 1e-9)
		} else {
			delete(e.windows, k)
		}
	}
	return quant, active
}

// conversion is one Update's conversion state: which cached conversions it
// used (the others are dropped). updMu is held.
type conversion struct {
	e    *Exporter
	seen map[histKey]bool
}

// hist converts h for exposition, reusing the cached conversion while its
// count is unchanged.
func (u *conversion) hist(k histKey, h *hdrhistogram.Histogram, scale float64, bounds []float64) histData {
	u.seen[k] = true
	if c, ok := u.e.conv[k]; ok && h != nil && c.total == h.TotalCount() {
		return c.data
	}
	d := convert(bars(h), scale, bounds, u.e.opts.NativeSchema)
	if h != nil {
		u.e.conv[k] = convCache{total: h.TotalCount(), data: d}
	}
	return d
}

// opSnaps converts one cell's op series: counts by outcome, response and
// service histograms, window quantiles.
func (u *conversion) opSnaps(c *metrics.Cell, quant map[metrics.SeriesKey]map[float64]float64) []opSnap {
	ck := [2]int{c.Scenario, c.Phase}
	kinds := make([]op.Kind, 0, len(c.Ops))
	for k := range c.Ops {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	var out []opSnap
	for _, k := range kinds {
		opName, ok := opLabel(k)
		if !ok {
			continue
		}
		st := c.Ops[k]
		os := opSnap{op: opName}
		for cls := op.OK; cls < op.NumClasses; cls++ {
			n := st.Errors[cls]
			if cls == op.OK {
				n = st.OK
			}
			os.counts[cls] = n
			if n == 0 || st.Response[cls] == nil {
				continue
			}
			outcome, _ := classLabel(cls)
			hs := outcomeSnap{outcome: outcome}
			hs.response = u.hist(histKey{ck, famResponse, k, cls}, st.Response[cls], 1e-9, u.e.opts.DurationBuckets)
			hs.service = u.hist(histKey{ck, famService, k, cls}, st.Service[cls], 1e-9, u.e.opts.DurationBuckets)
			hs.quantiles = quant[metrics.SeriesKey{Scenario: c.Scenario, Phase: c.Phase, Kind: k, Class: cls}]
			os.outcomes = append(os.outcomes, hs)
		}
		out = append(out, os)
	}
	return out
}

// checkSnaps converts one cell's exported check measures; conv converts
// check histogram g.
func (e *Exporter) checkSnaps(res *metrics.Results, c *metrics.Cell, conv func(g int, h *hdrhistogram.Histogram, u metrics.Unit) histData) []checkSnap {
	var out []checkSnap
	for g, m := range res.Measures {
		if m.Metric.Name == "" {
			continue
		}
		var v metrics.Value
		if g < len(c.Values) {
			v = c.Values[g]
		}
		cs := checkSnap{desc: e.checkDesc(m), kind: m.Kind}
		for _, l := range m.Metric.Labels {
			cs.labels = append(cs.labels, cleanLabel(l.Value))
		}
		switch m.Kind {
		case metrics.KindCounter:
			cs.count = v.Count
		case metrics.KindHistogram:
			cs.hist = conv(g, v.Hist, m.Unit)
		case metrics.KindBuckets:
			bs := v.Buckets
			if len(bs) == 0 { // nothing recorded: every bucket at 0
				for _, b := range m.Bounds {
					bs = append(bs, metrics.Bucket{Upper: b})
				}
			}
			for _, b := range bs {
				cs.buckets = append(cs.buckets, bucketSnap{le: bucketLE(b.Upper, m.Unit), hits: b.Hits, misses: b.Total - b.Hits})
			}
		}
		out = append(out, cs)
	}
	return out
}

// checkDesc returns the descriptor of a check measure's family: the cell
// labels, the measure's constant label names, and for buckets the bucket
// and hit labels. updMu is held.
func (e *Exporter) checkDesc(m metrics.Measure) *prometheus.Desc {
	if d, ok := e.checkDescs[m.Metric.Name]; ok {
		return d
	}
	labels := append([]string(nil), cellLabelNames...)
	for _, l := range m.Metric.Labels {
		labels = append(labels, l.Name)
	}
	if m.Kind == metrics.KindBuckets {
		labels = append(labels, m.Metric.BucketLabel, m.Metric.HitLabel)
	}
	d := prometheus.NewDesc(m.Metric.Name, m.Metric.Help, labels, nil)
	e.checkDescs[m.Metric.Name] = d
	return d
}

// bucketLE formats a bucket's upper bound: seconds for durations, "+Inf"
// for the open-ended last bucket.
func bucketLE(upper int64, u metrics.Unit) string {
	if upper == metrics.OpenBound {
		return "+Inf"
	}
	if u == metrics.UnitNanoseconds {
		return strconv.FormatFloat(float64(upper)*1e-9, 'g', -1, 64)
	}
	return strconv.FormatInt(upper, 10)
}

// Families returns the names of every metric family the exporter exports
// in a run with the built-in checks (internal/checkers.Registry): the
// fixed families (op series, phases, impairments, the run), then the
// checks'. FamiliesOf gives them for any set of checks.
func Families() []string {
	cs, err := checkers.Registry(checkers.Config{})
	if err != nil {
		return fixedFamilies()
	}
	return FamiliesOf(cs)
}

// fixedFamilies returns the families that do not come from checks.
func fixedFamilies() []string {
	d := newDescs()
	out := make([]string, 0, len(d.all))
	for _, f := range d.all {
		out = append(out, f.name)
	}
	return out
}

// FamiliesOf returns every family the exporter exports for a run with
// checks cs: the fixed families, then the checks' in registration order.
func FamiliesOf(cs *metrics.Checks) []string {
	out := fixedFamilies()
	seen := map[string]bool{}
	for _, m := range cs.Measures() {
		if f := m.Metric.Name; f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}
