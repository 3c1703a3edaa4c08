package metrics

import (
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Quantile returns the value at quantile q (a fraction, clamped into
// [0, 1]) of h by the reference definition (Java HdrHistogram's
// getValueAtPercentile, DESIGN.md "Percentiles"): the smallest recorded
// value with at least a fraction q of the samples at or below it — the
// sample of rank ⌈q·N⌉ (at least 1) — reported as the highest value
// equivalent to it at h's precision; for q = 0, as Java does, the lowest
// value equivalent to the smallest sample. ok is false when h is nil or
// empty or q is NaN: no data has no percentile (render it as null, never
// as 0).
//
// Every percentile pacbench prints, stores or exports goes through this
// function. hdrhistogram-go's own ValueAtQuantile picks rank round(q·N),
// which under-reports sparse tails. Quantile reads h only (safe for
// concurrent readers of an unchanging h) and does not allocate.
func Quantile(h *hdrhistogram.Histogram, q float64) (v int64, ok bool) {
	if h == nil || math.IsNaN(q) {
		return 0, false
	}
	n := h.TotalCount()
	if n <= 0 {
		return 0, false
	}
	if q <= 0 {
		return h.ValueAtPercentile(0), true
	}
	r := Rank(q, n)
	// hdrhistogram-go selects the sample of rank trunc(p/100·N + ½) (clamped
	// to [1, N]); asking for p = (r − ¼)/N·100 makes that rank exactly r,
	// a quarter rank away from either neighbour, far beyond float error. It
	// then reports the highest equivalent value, as the reference does.
	// TestQuantileReference pins this against values computed from the raw
	// samples, so a change of the library's rank rule cannot go unnoticed.
	return h.ValueAtPercentile((float64(r) - 0.25) / float64(n) * 100), true
}

// Rank returns the 1-based rank of the sample at quantile q (clamped into
// [0, 1]) of n > 0 samples by the reference definition: ⌈q·n⌉, at least
// 1. The product is rounded down by a relative 1e-12 before the ceiling
// so that binary rounding (0.7 × 10 = 7.000000000000001) does not push an
// exact rank to the next one, as Java HdrHistogram does by stepping the
// percentile one ulp down.
func Rank(q float64, n int64) int64 {
	if n <= 0 {
		return 0
	}
	if !(q > 0) {
		return 1
	}
	if q >= 1 {
		return n
	}
	x := q * float64(n)
	r := int64(math.Ceil(x - x*1e-12))
	return min(max(r, 1), n)
}
