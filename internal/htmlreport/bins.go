package htmlreport

import (
	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
)

// Bins is a histogram reduced to its non-empty buckets in value order,
// small enough to keep one per block of a long run. A bin's Value is the
// highest value equivalent to its bucket: what the reference percentile
// (metrics.Quantile) reports for a sample in it.
type Bins []Bin

// Bin is one non-empty bucket: its highest equivalent value and count.
type Bin struct {
	Value, Count int64
}

// binsOf reduces h (nil: empty).
func binsOf(h *hdrhistogram.Histogram) Bins {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	var out Bins
	for _, b := range h.Distribution() {
		if b.Count > 0 {
			out = append(out, Bin{Value: b.To, Count: b.Count})
		}
	}
	return out
}

// Total returns the number of samples.
func (b Bins) Total() int64 {
	var n int64
	for _, x := range b {
		n += x.Count
	}
	return n
}

// merge returns the bins of the union of the given histograms.
func merge(parts ...Bins) Bins {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	out := parts[0]
	for _, p := range parts[1:] {
		out = merge2(out, p)
	}
	return out
}

func merge2(a, b Bins) Bins {
	out := make(Bins, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Value < b[j].Value):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Value < a[i].Value:
			out = append(out, b[j])
			j++
		default:
			out = append(out, Bin{Value: a[i].Value, Count: a[i].Count + b[j].Count})
			i++
			j++
		}
	}
	return out
}

// Quantiles returns the values at the quantiles qs (ascending) by the
// reference definition (metrics.Rank: the sample of rank ⌈q·N⌉, reported
// as its bucket's highest equivalent value); ok is false for no samples.
// For q > 0 this is what metrics.Quantile returns for the histogram the
// bins came from (TestBinsMatchReference).
func (b Bins) Quantiles(qs ...float64) (vs []int64, ok bool) {
	n := b.Total()
	if n == 0 {
		return nil, false
	}
	vs = make([]int64, len(qs))
	var cum int64
	k := 0
	for qi, q := range qs {
		r := metrics.Rank(q, n)
		for k < len(b)-1 && cum+b[k].Count < r {
			cum += b[k].Count
			k++
		}
		vs[qi] = b[k].Value
	}
	return vs, true
}
