package htmlreport

import (
	"math/rand/v2"
	"testing"

	"github.com/pacbench/pacbench/metrics"
)

// synth makes a sample of n one-second blocks of 1000 ops each, latencies
// lognormal-ish around scale ms, the block's level drifting by ±drift
// (a loaded machine's interval-to-interval noise).
func synth(seed uint64, n int, scale, drift float64) sample {
	r := rand.New(rand.NewPCG(seed, 7))
	var s sample
	for b := 0; b < n; b++ {
		level := scale * (1 + drift*(2*r.Float64()-1))
		h := metrics.NewLatencyHistogram()
		for i := 0; i < 1000; i++ {
			_ = h.RecordValue(int64(level * 1e6 * (0.5 + r.ExpFloat64())))
		}
		s.blocks = append(s.blocks, sampleBlock{ok: binsOf(h), okN: 1000, count: 1000, lenMs: 1000, checked: 1000, stale: int64(r.IntN(10))})
	}
	return s
}

// judgeP50 compares other against base and returns the p50 verdict.
func judgeP50(t *testing.T, base, other sample, o CompareOptions) *Value {
	t.Helper()
	o = o.withDefaults()
	g := newValueGrid(base, other)
	rb, ro := newResampler(base, g), newResampler(other, g)
	pb, po := rb.all(), ro.all()
	vb, vo := map[string]*Value{}, map[string]*Value{}
	for i, m := range compareMetrics {
		vb[m.Key], vo[m.Key] = &Value{Value: num(pb[i], 6)}, &Value{Value: num(po[i], 6)}
	}
	judge(vo, vb, rb.boot(o.Resamples, 1, "base"), ro.boot(o.Resamples, 1, "other"), rb.perBlock(), ro.perBlock(), o)
	return vo["p50"]
}

// quiet are the options of a quiet, dedicated machine.
var quiet = CompareOptions{MinEffect: 0.1, MinEffectAbs: 0.01}

// TestBootstrapFlags: the same distribution is noise, however much its
// intervals drift; a shift well beyond the drift is significant and worse;
// too few intervals are not judged; a seed gives the same verdict twice.
func TestBootstrapFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		base, other sample
		opts        CompareOptions
		flag        string
		worse       bool
	}{
		{"same, quiet", synth(1, 20, 1, 0.05), synth(2, 20, 1, 0.05), quiet, FlagNoise, false},
		{"same, loaded", synth(3, 20, 1, 0.6), synth(4, 20, 1, 0.6), quiet, FlagNoise, false},
		{"+30% on a quiet machine, --min-effect 0.1", synth(5, 20, 1, 0.05), synth(6, 20, 1.3, 0.05), quiet, FlagSignificant, true},
		{"+30% is within the default minimum effect", synth(5, 20, 1, 0.05), synth(6, 20, 1.3, 0.05), CompareOptions{}, FlagNoise, false},
		{"+30% on a loaded machine is noise", synth(7, 20, 1, 0.6), synth(8, 20, 1.3, 0.6), quiet, FlagNoise, false},
		{"×20 on a loaded machine", synth(9, 20, 1, 0.6), synth(10, 20, 20, 0.6), CompareOptions{}, FlagSignificant, true},
		{"÷3 is better", synth(11, 20, 3, 0.1), synth(12, 20, 1, 0.1), CompareOptions{}, FlagSignificant, false},
		{"too few intervals", synth(13, 3, 1, 0.1), synth(14, 20, 5, 0.1), CompareOptions{}, FlagTooFew, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := judgeP50(t, tc.base, tc.other, tc.opts)
			if v.Flag != tc.flag || v.Worse != tc.worse {
				t.Errorf("flag %s worse %v (Δ %v, interval %v…%v, intervals' band %v), want %s worse %v",
					v.Flag, v.Worse, deref(v.Delta), deref(v.Low), deref(v.High), v.Band, tc.flag, tc.worse)
			}
			again := judgeP50(t, tc.base, tc.other, tc.opts)
			if deref(again.Low) != deref(v.Low) || deref(again.High) != deref(v.High) {
				t.Error("same seed, different interval")
			}
		})
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestResampleMatchesReference: the bootstrap's statistic of all blocks
// once is the reference percentile of the merged histogram.
func TestResampleMatchesReference(t *testing.T) {
	t.Parallel()
	s := synth(21, 9, 2, 0.3)
	var parts []Bins
	for _, b := range s.blocks {
		parts = append(parts, b.ok)
	}
	want, _ := merge(parts...).Quantiles(0.5, 0.99, 0.999)
	got := newResampler(s, newValueGrid(s)).all()
	for i, w := range want {
		if got[i] != float64(w)/1e6 {
			t.Errorf("metric %d: %v, want %v", i, got[i], float64(w)/1e6)
		}
	}
	if got[mThroughput] != 1000 || got[mAvailability] != 1 {
		t.Errorf("throughput %v availability %v", got[mThroughput], got[mAvailability])
	}
}
