package exporter

import (
	"math"
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// windowQuantiles returns the exported window quantiles of one series.
func windowQuantiles(t *testing.T, e *Exporter, scenario, opName, outcome string) map[float64]float64 {
	t.Helper()
	mf := gatherFamily(t, e, "pacbench_op_duration_window_seconds")
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		if l["scenario"] == scenario && l["op"] == opName && l["outcome"] == outcome {
			out := map[float64]float64{}
			for _, q := range m.GetSummary().GetQuantile() {
				out[q.GetQuantile()] = q.GetValue()
			}
			return out
		}
	}
	return nil
}

// TestWindowMatchesHDR drives a real Recorder through many intervals and
// checks, after each, that the window summary's quantiles equal those of
// the last Window intervals' histograms merged by HdrHistogram itself; and,
// for a steady input, that they equal the cumulative histogram's.
func TestWindowMatchesHDR(t *testing.T) {
	t.Parallel()
	for _, steady := range []bool{true, false} {
		name := map[bool]string{true: "steady", false: "drifting"}[steady]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			testWindow(t, steady)
		})
	}
}

func testWindow(t *testing.T, steady bool) {
	const window = 3
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"steady"}, Keys: 10})
	w := rec.NewWorker(0, 0)
	e := newTest(t, Options{Window: window})
	rng := rand.New(rand.NewPCG(1, 2))

	var last []*hdrhistogram.Histogram // clones of the recent intervals' read/ok histograms
	for i := 0; i < 12; i++ {
		// Steady: the same distribution every interval (lognormal around
		// 1 ms, with a tail), a fixed multiset per interval.
		// Drifting: the scale grows every interval, so the window differs
		// from the whole run.
		r := rand.New(rand.NewPCG(7, 7))
		scale := 1e6
		if !steady {
			scale *= float64(i + 1)
		}
		for j := 0; j < 2000; j++ {
			v := int64(math.Exp(r.NormFloat64()*0.8) * scale)
			w.Record(0, op.Read, op.OK, v, v)
		}
		// Noise series (other op) to make sure series do not mix.
		w.Record(0, op.Write, op.OK, int64(rng.IntN(100))*1e6+1e3, 1e3)
		iv := rec.Collect(rec.Clock().Now())
		for _, s := range iv.Series {
			if s.Key.Kind == op.Read && s.Key.Class == op.OK {
				last = append(last, s.Response.Clone())
			}
		}
		if len(last) > window {
			last = last[1:]
		}
		res := rec.Results()
		e.Update("etcd", []string{"read=x"}, res, iv)

		merged := metrics.NewLatencyHistogram()
		for _, h := range last {
			merged.Merge(h)
		}
		got := windowQuantiles(t, e, "s", "read", "ok")
		if got == nil {
			t.Fatalf("interval %d: no window summary", i)
		}
		cum := res.Cells[0].Ops[op.Read].Response[op.OK]
		for _, q := range Quantiles() {
			mv, _ := metrics.Quantile(merged, q)
			want := float64(mv) * 1e-9
			if got[q] != want {
				t.Errorf("interval %d q%g: window %g, merged HDR %g", i, q, got[q], want)
			}
			// Steady input: the window and the whole run agree exactly
			// (same proportions in every interval).
			cv, _ := metrics.Quantile(cum, q)
			if c := float64(cv) * 1e-9; steady && got[q] != c {
				t.Errorf("interval %d q%g: window %g, cumulative HDR %g", i, q, got[q], c)
			}
		}
	}
}

// TestWindowExpires checks that a series that stops recording ends with NaN
// quantiles once Window intervals have passed without it, and that a
// changed distribution replaces the old one in the window.
func TestWindowExpires(t *testing.T) {
	t.Parallel()
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"a", "b"}, Keys: 10})
	w := rec.NewWorker(0, 0)
	e := newTest(t, Options{Window: 2})
	step := func(phase int, v int64) {
		if v > 0 {
			for j := 0; j < 100; j++ {
				w.Record(phase, op.Read, op.OK, v, v)
			}
		}
		e.Update("etcd", nil, rec.Results(), rec.Collect(rec.Clock().Now()))
	}
	step(0, 1e6)
	step(0, 1e6)
	step(1, 50e6) // phase a idle from now on
	if q := windowQuantiles(t, e, "s", "read", "ok"); q == nil {
		t.Fatal("no summary")
	}
	p50 := func(phase string) float64 {
		mf := gatherFamily(t, e, "pacbench_op_duration_window_seconds")
		for _, m := range mf.GetMetric() {
			if labelsOf(m)["phase"] == phase {
				return m.GetSummary().GetQuantile()[0].GetValue()
			}
		}
		t.Fatalf("phase %s missing", phase)
		return 0
	}
	if v := p50("a"); math.IsNaN(v) || math.Abs(v-1e-3) > 1e-5 {
		t.Errorf("phase a after one idle interval: p50 %g, want ≈1 ms", v)
	}
	step(1, 50e6)
	if v := p50("a"); !math.IsNaN(v) {
		t.Errorf("phase a after Window idle intervals: p50 %g, want NaN", v)
	}
	if v := p50("b"); math.Abs(v-50e-3) > 50e-6 {
		t.Errorf("phase b p50 %g, want ≈50 ms", v)
	}
}
