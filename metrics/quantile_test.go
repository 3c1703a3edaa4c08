package metrics

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// frac is a quantile as an exact fraction, so the expected rank is
// computed in integers, independently of Rank's floating point.
type frac struct{ num, den int64 }

func (f frac) float() float64 { return float64(f.num) / float64(f.den) }

// refRank is ⌈num·n/den⌉, at least 1: the reference rank, exactly.
func (f frac) refRank(n int64) int64 {
	r := (f.num*n + f.den - 1) / f.den
	return max(r, 1)
}

// equivalentRange returns the lowest and highest values h counts together
// with v, from h's own bucket list (not from any percentile code).
func equivalentRange(t *testing.T, h *hdrhistogram.Histogram, v int64) (lo, hi int64) {
	t.Helper()
	for _, b := range h.Distribution() {
		if b.From <= v && v <= b.To {
			return b.From, b.To
		}
	}
	t.Fatalf("value %d in no bucket", v)
	return 0, 0
}

// referenceValue computes the value at quantile q of the raw samples by the
// reference definition: sort, take the sample of rank ⌈q·N⌉, report the
// highest value equivalent to it (the lowest for q = 0).
func referenceValue(t *testing.T, h *hdrhistogram.Histogram, samples []int64, q frac) int64 {
	t.Helper()
	s := slices.Clone(samples)
	slices.Sort(s)
	if q.num == 0 {
		lo, _ := equivalentRange(t, h, s[0])
		return lo
	}
	lo, hi := equivalentRange(t, h, s[q.refRank(int64(len(s)))-1])
	_ = lo
	return hi
}

func TestQuantileReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	lognormal := make([]int64, 5000)
	for i := range lognormal {
		lognormal[i] = int64(1e6 * (1 + rng.ExpFloat64()*rng.ExpFloat64()*3))
	}
	// A sparse tail: 995 fast ops and 5 slow ones spread out, the shape
	// where rank round(q·N) and ⌈q·N⌉ land on different samples.
	sparse := make([]int64, 0, 1000)
	for i := range 995 {
		sparse = append(sparse, 1_000_000+int64(i)*100)
	}
	sparse = append(sparse, 78_100_000, 80_000_000, 84_000_000, 88_500_000, 400_000_000)
	ties := []int64{5_000, 5_000, 5_000, 7_000, 7_000, 9_000}
	cases := map[string][]int64{
		"one sample":  {123_456},
		"two samples": {1_000, 2_000_000},
		"ties":        ties,
		"sparse tail": sparse,
		"lognormal":   lognormal,
		"ten":         {10e3, 20e3, 30e3, 40e3, 50e3, 60e3, 70e3, 80e3, 90e3, 100e3},
	}
	qs := []frac{{0, 1}, {1, 10}, {1, 2}, {7, 10}, {9, 10}, {99, 100}, {999, 1000}, {9999, 10000}, {1, 1}, {1, 3}, {2, 3}}
	for name, samples := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := NewLatencyHistogram()
			for _, v := range samples {
				if err := h.RecordValue(v); err != nil {
					t.Fatal(err)
				}
			}
			for _, q := range qs {
				got, ok := Quantile(h, q.float())
				want := referenceValue(t, h, samples, q)
				if !ok || got != want {
					t.Errorf("q=%d/%d of %d samples: got %d (ok %v), want %d", q.num, q.den, len(samples), got, ok, want)
				}
			}
			if got, _ := Quantile(h, 1); got != h.Max() {
				t.Errorf("q=1 = %d, want the max %d", got, h.Max())
			}
		})
	}
}

// TestQuantileSparseTailDiffersFromLibrary shows the defect the reference
// definition fixes: on a sparse tail hdrhistogram-go's own ValueAtQuantile
// (rank round(q·N)) under-reports. 1,598 fast samples and two slow ones:
// p99.9 is rank ⌈0.999 × 1600⌉ = ⌈1598.4⌉ = 1599, the first slow sample;
// round(1598.4) = 1598 is a fast one.
func TestQuantileSparseTailDiffersFromLibrary(t *testing.T) {
	t.Parallel()
	h := NewLatencyHistogram()
	for range 1598 {
		_ = h.RecordValue(1_000_000)
	}
	_ = h.RecordValue(88_500_000)
	_ = h.RecordValue(88_500_000)
	_, slow := equivalentRange(t, h, 88_500_000)
	if got, _ := Quantile(h, 0.999); got != slow {
		t.Errorf("reference p99.9 = %d, want the slow sample's %d", got, slow)
	}
	if lib := h.ValueAtQuantile(99.9); lib == slow {
		t.Logf("hdrhistogram-go now agrees (%d); Quantile still holds", lib)
	}
}

func TestQuantileNoData(t *testing.T) {
	t.Parallel()
	if _, ok := Quantile(nil, 0.5); ok {
		t.Error("nil histogram has a quantile")
	}
	if _, ok := Quantile(NewLatencyHistogram(), 0.5); ok {
		t.Error("empty histogram has a quantile")
	}
	h := NewLatencyHistogram()
	_ = h.RecordValue(5000)
	if _, ok := Quantile(h, nan()); ok {
		t.Error("NaN quantile has a value")
	}
	for _, q := range []float64{-1, 0, 0.5, 1, 2} {
		if _, ok := Quantile(h, q); !ok {
			t.Errorf("q=%g: no value from a non-empty histogram", q)
		}
	}
}

func nan() float64 {
	var z float64
	return z / z
}

func TestRank(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		q    float64
		n    int64
		want int64
	}{
		{0.7, 10, 7}, {0.99, 100, 99}, {0.999, 1000, 999}, {0.9999, 10000, 9999},
		{0.5, 1, 1}, {0.5, 3, 2}, {1e-9, 5, 1}, {0, 5, 1}, {1, 5, 5}, {0.95, 20, 19},
		{0.999, 1001, 1000}, {0.1, 3, 1}, {2.0 / 3, 3, 2}, {0.9, 11, 10},
	} {
		if got := Rank(c.q, c.n); got != c.want {
			t.Errorf("Rank(%v, %d) = %d, want %d", c.q, c.n, got, c.want)
		}
	}
	// Exhaustive against integer arithmetic for small n and percent q.
	for n := int64(1); n <= 400; n++ {
		for p := int64(0); p <= 1000; p++ {
			q := frac{p, 1000}
			if got, want := Rank(q.float(), n), q.refRank(n); got != want {
				t.Fatalf("Rank(%d/1000, %d) = %d, want %d", p, n, got, want)
			}
		}
	}
}

// TestOnePercentileImplementation: no non-test file outside this one asks
// hdrhistogram-go for a percentile directly, so every percentile pacbench
// prints, stores or exports uses the reference definition.
func TestOnePercentileImplementation(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == ".git" || n == "results" || n == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			filepath.Base(path) == "quantile.go" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, bad := range []string{".ValueAtQuantile(", ".ValueAtPercentile(", ".ValueAtPercentiles(", ".ValueAtPercentilesSlice("} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s calls %s: use metrics.Quantile (reference definition)", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
