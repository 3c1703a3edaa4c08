package exporter

import (
	"math"
	"slices"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
)

// bar is one non-empty HdrHistogram bucket: its lowest and highest
// equivalent values (in the histogram's unit) and its count.
type bar struct {
	from, to, count int64
}

// bars returns h's non-empty buckets in value order.
func bars(h *hdrhistogram.Histogram) []bar {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	var out []bar
	for _, b := range h.Distribution() {
		if b.Count != 0 {
			out = append(out, bar{from: b.From, to: b.To, count: b.Count})
		}
	}
	return out
}

// histData is a histogram converted for exposition: count, sum, classic
// cumulative bucket counts and native (sparse, exponential) bucket counts,
// all in the exported unit.
type histData struct {
	count   uint64
	sum     float64
	classic map[float64]uint64 // upper bound → cumulative count (no +Inf)
	native  map[int]int64      // bucket index at schema → count
	zero    uint64             // observations ≤ zero threshold (value 0)
	schema  int32
}

// convert turns HdrHistogram buckets into exposition buckets. scale
// converts the histogram's unit into the exported unit (1e-9 for ns → s).
// Each HDR bucket is placed by its lowest equivalent value (so an exactly
// recorded value v lands in le=v, as Prometheus means "≤"); the error is
// bounded by HDR's precision (3 significant digits: < 0.1 %). The sum uses
// each bucket's midpoint, like HdrHistogram's Mean.
func convert(bs []bar, scale float64, bounds []float64, schema int32) histData {
	d := histData{
		classic: make(map[float64]uint64, len(bounds)),
		native:  map[int]int64{},
		schema:  schema,
	}
	perBound := make([]uint64, len(bounds))
	for _, b := range bs {
		c := uint64(b.count)
		d.count += c
		d.sum += float64(b.count) * float64(b.from+(b.to-b.from+1)/2) * scale
		v := float64(b.from) * scale
		if i, _ := slices.BinarySearch(bounds, v); i < len(bounds) {
			perBound[i] += c
		}
		if v <= 0 {
			d.zero += c
			continue
		}
		d.native[nativeIndex(v, schema)] += b.count
	}
	var cum uint64
	for i, ub := range bounds {
		cum += perBound[i]
		d.classic[ub] = cum
	}
	return d
}

// nativeIndex returns the index of the native-histogram bucket holding v > 0
// at schema: bucket i covers (2^((i-1)/2^schema), 2^(i/2^schema)].
func nativeIndex(v float64, schema int32) int {
	// base^i with base = 2^(2^-schema).
	bound := func(i int) float64 { return math.Exp2(math.Ldexp(float64(i), -int(schema))) }
	i := int(math.Ceil(math.Log2(v) * math.Ldexp(1, int(schema))))
	// Correct floating-point error at bucket boundaries.
	for bound(i-1) >= v {
		i--
	}
	for bound(i) < v {
		i++
	}
	return i
}

// window holds the last n intervals' response-time buckets of one series.
type window struct {
	slots [][]bar // ring; nil slot = an interval without ops
	next  int
}

func newWindow(n int) *window { return &window{slots: make([][]bar, n)} }

// push records one interval (nil: no ops) and reports whether the window
// still holds any data.
func (w *window) push(bs []bar) bool {
	w.slots[w.next] = bs
	w.next = (w.next + 1) % len(w.slots)
	for _, s := range w.slots {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// quantiles merges the window into scratch (which it resets) and returns
// the values at qs (fractions in [0,1]) scaled by scale, by the reference
// definition (metrics.Quantile) on the merged histogram, so they equal what
// a merge of the intervals' histograms reports. An empty window yields NaN
// for every quantile.
func (w *window) quantiles(scratch *hdrhistogram.Histogram, qs []float64, scale float64) map[float64]float64 {
	scratch.Reset()
	for _, s := range w.slots {
		for _, b := range s {
			// The bucket's lowest equivalent value lands in the same bucket.
			_ = scratch.RecordValues(b.from, b.count)
		}
	}
	out := make(map[float64]float64, len(qs))
	for _, q := range qs {
		if scratch.TotalCount() == 0 {
			out[q] = math.NaN()
			continue
		}
		v, _ := metrics.Quantile(scratch, q)
		out[q] = float64(v) * scale
	}
	return out
}
