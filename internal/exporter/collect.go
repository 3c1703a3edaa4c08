package exporter

import (
	"math"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// snapshot is the immutable state a scrape exports.
type snapshot struct {
	cells []cellSnap
}

// cellLabels are the labels of one (scenario, phase).
type cellLabels struct {
	system, scenario, phase, level string
}

type cellSnap struct {
	labels cellLabels
	active bool
	ops    []opSnap
	checks []checkSnap
}

// checkSnap is one exported check measure of a cell.
type checkSnap struct {
	desc    *prometheus.Desc
	labels  []string // constant label values, after the cell labels
	kind    metrics.Kind
	count   int64
	hist    histData
	buckets []bucketSnap
}

// bucketSnap is one bucket: its upper bound label and its hit and miss
// counts.
type bucketSnap struct {
	le           string
	hits, misses int64
}

type opSnap struct {
	op       string
	counts   [op.NumClasses]int64
	outcomes []outcomeSnap
}

type outcomeSnap struct {
	outcome           string
	response, service histData
	quantiles         map[float64]float64 // nil: no window
}

// family is one metric family's descriptor and name.
type family struct {
	name string
	desc *prometheus.Desc
}

// descs holds every family's descriptor.
type descs struct {
	opDuration, opService, opWindow, ops, errors family
	phaseActive, impActive, impDelay, runInfo    family
	phaseInfo                                    family
	all                                          []family
}

var (
	cellLabelNames = []string{"system", "scenario", "phase", "level"}
	opLabelNames   = []string{"system", "scenario", "phase", "level", "op", "outcome"}
)

func newDescs() descs {
	var d descs
	def := func(f *family, name, help string, labels []string) {
		*f = family{name: name, desc: prometheus.NewDesc(name, help, labels, nil)}
		d.all = append(d.all, *f)
	}
	with := func(base []string, extra ...string) []string {
		return append(append([]string(nil), base...), extra...)
	}
	def(&d.opDuration, "pacbench_op_duration_seconds",
		"Response time of ops (completion minus intended start; service time in closed loop), cumulative per phase.", opLabelNames)
	def(&d.opService, "pacbench_op_service_duration_seconds",
		"Service time of ops (completion minus actual start), cumulative per phase.", opLabelNames)
	def(&d.opWindow, "pacbench_op_duration_window_seconds",
		"Response time quantiles of the merged HdrHistogram of the last window of intervals; count and sum are cumulative.", opLabelNames)
	def(&d.ops, "pacbench_ops_total", "Ops attempted, by outcome class.", opLabelNames)
	def(&d.errors, "pacbench_op_errors_total", "Failed ops, by error class.",
		with(opLabelNames[:5], "class"))
	def(&d.phaseActive, "pacbench_phase_active",
		"1 if the scenario ran ops in the phase during the last interval, else 0.", cellLabelNames)
	def(&d.impActive, "pacbench_impairment_active", "1 while the impairment is applied, else 0.", []string{"kind", "target"})
	def(&d.impDelay, "pacbench_impairment_delay_seconds",
		"Delay added by the impairment while applied (0 when inactive or not a latency impairment).", []string{"kind", "target"})
	def(&d.runInfo, "pacbench_run_info", "Information about the run; always 1.", RunInfoLabels())
	def(&d.phaseInfo, "pacbench_phase_info",
		"1 for the phase of the profile's phase list running now (index = its 0-based place), 0 for the others.",
		[]string{"phase", "index"})
	return d
}

// collector is the exporter's prometheus.Collector (kept off Exporter's
// method set).
type collector struct{ e *Exporter }

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.e.descs.all {
		ch <- f.desc
	}
}

// Collect implements prometheus.Collector: const metrics from the latest
// snapshot.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	e.mu.Lock()
	s, info, phases, current := e.snap, e.info, e.phases, e.current
	imps := make(map[impKey]float64, len(e.imps))
	for k, v := range e.imps {
		imps[k] = v
	}
	e.mu.Unlock()
	d := &e.descs

	for _, cs := range s.cells {
		l := cs.labels
		cl := []string{l.system, l.scenario, l.phase, l.level}
		for _, o := range cs.ops {
			for cls := op.OK; cls < op.NumClasses; cls++ {
				name, _ := classLabel(cls)
				ol := append(cl[:4:4], o.op, name)
				ch <- prometheus.MustNewConstMetric(d.ops.desc, prometheus.CounterValue, float64(o.counts[cls]), ol...)
				if cls != op.OK {
					ch <- prometheus.MustNewConstMetric(d.errors.desc, prometheus.CounterValue, float64(o.counts[cls]), ol...)
				}
			}
			for _, hs := range o.outcomes {
				ol := append(cl[:4:4], o.op, hs.outcome)
				ch <- e.histMetric(d.opDuration.desc, hs.response, ol)
				ch <- e.histMetric(d.opService.desc, hs.service, ol)
				if hs.quantiles != nil || hs.response.count > 0 {
					q := hs.quantiles
					if q == nil {
						q = nanQuantiles()
					}
					ch <- prometheus.MustNewConstSummary(d.opWindow.desc, hs.response.count, hs.response.sum, q, ol...)
				}
			}
		}
		ch <- prometheus.MustNewConstMetric(d.phaseActive.desc, prometheus.GaugeValue, b2f(cs.active), cl...)
	}
	for k, delay := range imps {
		ch <- prometheus.MustNewConstMetric(d.impActive.desc, prometheus.GaugeValue, b2f(delay >= 0), k.kind, k.target)
		ch <- prometheus.MustNewConstMetric(d.impDelay.desc, prometheus.GaugeValue, max(delay, 0), k.kind, k.target)
	}
	if info != nil {
		ch <- prometheus.MustNewConstMetric(d.runInfo.desc, prometheus.GaugeValue, 1, info...)
	}
	for i, name := range phases {
		ch <- prometheus.MustNewConstMetric(d.phaseInfo.desc, prometheus.GaugeValue, b2f(i == current), name, strconv.Itoa(i))
	}
}

// checkCollector exports the check families. It describes nothing up
// front (an unchecked collector): the families are known from the checks'
// measures only once results arrive.
type checkCollector struct{ e *Exporter }

// Describe implements prometheus.Collector (unchecked: nothing).
func (checkCollector) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (c checkCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.e
	e.mu.Lock()
	s := e.snap
	e.mu.Unlock()
	for _, cs := range s.cells {
		l := cs.labels
		cl := []string{l.system, l.scenario, l.phase, l.level}
		for _, m := range cs.checks {
			labels := append(cl[:4:4], m.labels...)
			switch m.kind {
			case metrics.KindCounter:
				ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(m.count), labels...)
			case metrics.KindHistogram:
				ch <- e.histMetric(m.desc, m.hist, labels)
			case metrics.KindBuckets:
				for _, b := range m.buckets {
					ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(b.hits), append(labels[:len(labels):len(labels)], b.le, "true")...)
					ch <- prometheus.MustNewConstMetric(m.desc, prometheus.CounterValue, float64(b.misses), append(labels[:len(labels):len(labels)], b.le, "false")...)
				}
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func nanQuantiles() map[float64]float64 {
	qs := Quantiles()
	m := make(map[float64]float64, len(qs))
	for _, q := range qs {
		m[q] = math.NaN()
	}
	return m
}

// histMetric builds one histogram carrying both classic and native buckets.
// client_golang has no const constructor for both, so it builds the classic
// one with NewConstHistogram and the native one with NewConstNativeHistogram
// and writes them as a single dto.Histogram (dualHistogram).
func (e *Exporter) histMetric(desc *prometheus.Desc, h histData, labels []string) prometheus.Metric {
	classic, err := prometheus.NewConstHistogram(desc, h.count, h.sum, h.classic, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	native, err := prometheus.NewConstNativeHistogram(desc, h.count, h.sum, h.native, nil, h.zero,
		h.schema, prometheus.DefNativeHistogramZeroThreshold, time.Time{}, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return dualHistogram{classic: classic, native: native}
}

// dualHistogram exposes a classic and a native const histogram of the same
// observations as one metric: the classic one's count, sum and buckets plus
// the native one's schema, zero bucket and spans.
type dualHistogram struct {
	classic, native prometheus.Metric
}

// Desc implements prometheus.Metric.
func (d dualHistogram) Desc() *prometheus.Desc { return d.classic.Desc() }

// Write implements prometheus.Metric.
func (d dualHistogram) Write(out *dto.Metric) error {
	if err := d.classic.Write(out); err != nil {
		return err
	}
	var n dto.Metric
	if err := d.native.Write(&n); err != nil {
		return err
	}
	h, nh := out.Histogram, n.GetHistogram()
	h.Schema = nh.Schema
	h.ZeroThreshold = nh.ZeroThreshold
	h.ZeroCount = nh.ZeroCount
	h.PositiveSpan = nh.PositiveSpan
	h.PositiveDelta = nh.PositiveDelta
	return nil
}
