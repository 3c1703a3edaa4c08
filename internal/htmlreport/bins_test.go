package htmlreport

import (
	"math/rand/v2"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
)

// TestBinsMatchReference: percentiles of reduced (and merged) histograms
// are the reference percentiles of the full histogram, for every quantile
// the report draws.
func TestBinsMatchReference(t *testing.T) {
	t.Parallel()
	qs := []float64{1e-9, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1}
	for _, tc := range []struct {
		name  string
		n     int
		draw  func(r *rand.Rand) int64
		parts int
	}{
		{"one sample", 1, func(*rand.Rand) int64 { return 1234567 }, 1},
		{"lognormal", 20000, func(r *rand.Rand) int64 { return int64(1e6 * (1 + r.ExpFloat64()*r.ExpFloat64())) }, 1},
		{"sparse tail, merged from 7", 3001, func(r *rand.Rand) int64 {
			if r.IntN(100) == 0 {
				return int64(5e9 + r.IntN(1e9))
			}
			return int64(1000 + r.IntN(100000))
		}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rand.New(rand.NewPCG(1, 2))
			full := metrics.NewLatencyHistogram()
			parts := make([]*hdrhistogram.Histogram, tc.parts)
			for i := range parts {
				parts[i] = metrics.NewLatencyHistogram()
			}
			for i := 0; i < tc.n; i++ {
				v := tc.draw(r)
				_ = full.RecordValue(v)
				_ = parts[i%tc.parts].RecordValue(v)
			}
			var bins []Bins
			for _, p := range parts {
				bins = append(bins, binsOf(p))
			}
			got, ok := merge(bins...).Quantiles(qs...)
			if !ok {
				t.Fatal("no samples")
			}
			for i, q := range qs {
				want, _ := metrics.Quantile(full, q)
				if got[i] != want {
					t.Errorf("q=%v: bins %d, metrics.Quantile %d", q, got[i], want)
				}
			}
			if m := merge(bins...); m.Total() != full.TotalCount() || m[len(m)-1].Value != full.Max() {
				t.Errorf("total %d max %d, want %d %d", m.Total(), m[len(m)-1].Value, full.TotalCount(), full.Max())
			}
		})
	}
	if _, ok := Bins(nil).Quantiles(0.5); ok {
		t.Error("empty bins have a percentile")
	}
}
