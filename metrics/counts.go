package metrics

import (
	"math/bits"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// geometry is the bucket layout of an HdrHistogram (lowest discernible
// value, highest trackable value, significant digits) in the form the
// record path needs: the same count index hdrhistogram-go computes for a
// value, without its per-value checks. Read-only after newGeometry.
type geometry struct {
	unitMag   uint  // log2 of the lowest discernible value, rounded down
	halfMag   uint  // log2 of half the sub-bucket count
	shift     int   // unitMag + halfMag + 1: a value's bucket is its bit length − shift
	mask      int64 // (sub-bucket count − 1) << unitMag
	countsLen int   // length of the counts array
}

// newGeometry returns the geometry of hdrhistogram.New(lowest, highest,
// digits) for lowest ≥ 1 and digits in [1, 5]; TestCountsMatchHdr checks
// that it indexes every value as hdrhistogram-go does.
func newGeometry(lowest, highest int64, digits int) *geometry {
	unitMag := uint(bits.Len64(uint64(lowest)) - 1)
	single := int64(2)
	for range digits {
		single *= 10
	}
	subMag := uint(bits.Len64(uint64(single - 1))) // ceil(log2(single))
	halfMag := max(subMag, 1) - 1
	subCount := int64(1) << (halfMag + 1)
	buckets := 1
	for v := subCount << unitMag; v <= highest; v <<= 1 {
		buckets++
	}
	return &geometry{
		unitMag: unitMag, halfMag: halfMag, shift: int(unitMag + halfMag + 1),
		mask:      (subCount - 1) << unitMag,
		countsLen: (buckets + 1) * int(subCount/2),
	}
}

// index is the counts index of v (0 ≤ v ≤ the highest trackable value) and
// its bucket, as hdrhistogram-go computes them.
func (g *geometry) index(v int64) (idx, bucket int) {
	bucket = bits.Len64(uint64(v|g.mask)) - g.shift
	// hdrhistogram-go: (bucket+1)<<halfMag + sub − 1<<halfMag, with sub
	// the value shifted by bucket + unitMag. The shift counts are masked
	// (they are < 64) so that no shift needs Go's out-of-range handling.
	sub := int(v >> ((uint(bucket) + g.unitMag) & 63))
	return bucket<<(g.halfMag&63) + sub, bucket
}

// value is the lowest value of counts index idx.
func (g *geometry) value(idx int) int64 {
	half := 1 << g.halfMag
	if idx < 2*half {
		return int64(idx) << g.unitMag
	}
	bucket := idx>>g.halfMag - 1
	sub := idx&(half-1) + half
	return int64(sub) << (uint(bucket) + g.unitMag)
}

// counts is one histogram of an open interval while workers record into
// it: bare bucket counts in hdrhistogram-go's index order, so that a
// sample costs an index computation and an increment. When the interval
// closes, drainInto moves the counts into an hdrhistogram.Histogram.
// Guarded by the ivSet's mutex.
type counts struct {
	geometry // a copy: one load less per sample than a pointer
	n        []int64
	touched  uint64 // bit b: bucket b has counts (buckets 0–63)
}

// add counts v, which must be in [0, the geometry's highest value] (values are clamped into
// the geometry before they are packed).
func (c *counts) add(v int64) {
	idx, b := c.index(v)
	c.n[idx]++
	c.touched |= 1 << uint(b&63)
}

// drainInto adds the counts to h (of the same geometry) and leaves c empty.
func (c *counts) drainInto(h *hdrhistogram.Histogram) {
	for t := c.touched; t != 0; t &= t - 1 {
		b := bits.TrailingZeros64(t)
		lo, hi := (b+1)<<c.halfMag, (b+2)<<c.halfMag
		if b == 0 {
			lo = 0 // bucket 0 also owns the lower half of the sub-buckets
		}
		hi = min(hi, len(c.n))
		for i := lo; i < hi; i++ {
			if n := c.n[i]; n != 0 {
				_ = h.RecordValues(c.value(i), n)
				c.n[i] = 0
			}
		}
	}
	c.touched = 0
}

// countsPool recycles empty counts of one geometry. Goroutine-safe.
type countsPool struct {
	g *geometry
	p sync.Pool
}

func newCountsPool(g *geometry) *countsPool {
	cp := &countsPool{g: g}
	cp.p.New = func() any { return &counts{geometry: *g, n: make([]int64, g.countsLen)} }
	return cp
}

func (cp *countsPool) get() *counts  { return cp.p.Get().(*counts) }
func (cp *countsPool) put(c *counts) { cp.p.Put(c) }
