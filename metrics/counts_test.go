package metrics

import (
	"math/rand/v2"
	"slices"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// TestCountsMatchHdr: recording values through counts and draining them
// into a histogram gives exactly the histogram hdrhistogram-go builds by
// recording the same values itself (same counts array, bucket for bucket),
// for both of pacbench's geometries and others, over every bucket's edges
// and random values.
func TestCountsMatchHdr(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		lowest, highest int64
		digits          int
	}{
		{"latency", LatencyLowestNs, LatencyHighestNs, SignificantDigits},
		{"versions", VersionsLowest, VersionsHighest, SignificantDigits},
		{"1-3600s-2", 1, 3_600_000_000, 2},
		{"1000-1e12-1", 1000, 1e12, 1},
		{"3-1e6-5", 3, 1e6, 5},
		{"1024-1e9-4", 1024, 1e9, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := newGeometry(tc.lowest, tc.highest, tc.digits)
			want := hdrhistogram.New(tc.lowest, tc.highest, tc.digits)
			if n := len(want.Export().Counts); n != g.countsLen {
				t.Fatalf("countsLen %d, hdrhistogram-go has %d", g.countsLen, n)
			}
			var vals []int64
			for v := int64(1); v > 0 && v <= tc.highest; v *= 2 { // every power of two and its neighbours
				vals = append(vals, v-1, v, v+1)
			}
			rng := rand.New(rand.NewPCG(1, uint64(tc.lowest)))
			for range 20000 {
				vals = append(vals, rng.Int64N(tc.highest+1), int64(float64(tc.highest)*rng.Float64()*rng.Float64()*rng.Float64()))
			}
			vals = append(vals, 0, tc.highest)
			c := &counts{geometry: *g, n: make([]int64, g.countsLen)}
			for _, v := range vals {
				if v < 0 || v > tc.highest {
					continue
				}
				c.add(v)
				if err := want.RecordValue(v); err != nil {
					t.Fatalf("hdr: %v", err)
				}
			}
			got := hdrhistogram.New(tc.lowest, tc.highest, tc.digits)
			c.drainInto(got)
			gc, wc := got.Export().Counts, want.Export().Counts
			if !slices.Equal(gc, wc) || got.TotalCount() != want.TotalCount() {
				for i, n := range wc {
					if gc[i] != n {
						t.Fatalf("index %d: %d counted, hdrhistogram-go %d", i, gc[i], n)
					}
				}
				t.Fatalf("totals %d vs %d", got.TotalCount(), want.TotalCount())
			}
			if !got.Equals(want) {
				t.Error("histograms differ")
			}
			if c.touched != 0 || slices.ContainsFunc(c.n, func(n int64) bool { return n != 0 }) {
				t.Error("drainInto left counts behind")
			}
		})
	}
}
