package metrics

import "math"

// NumVisibilityBuckets is the number of t-visibility buckets: "<0.1ms",
// then one per 1-2-5 step from 0.1 ms to 10 s, the last one open-ended.
const NumVisibilityBuckets = 17

// visibilityFirstNs is the upper bound of the first bucket (0.1 ms).
const visibilityFirstNs = 100_000

// visBounds holds each bucket's exclusive upper bound in ns; the last is
// math.MaxInt64.
type visBounds [NumVisibilityBuckets]int64

func newVisBounds() visBounds {
	var b visBounds
	steps := [3]int64{1, 2, 5}
	decade := int64(visibilityFirstNs)
	for i := 0; i < NumVisibilityBuckets-1; i++ {
		b[i] = decade * steps[i%3]
		if i%3 == 2 {
			decade *= 10
		}
	}
	b[NumVisibilityBuckets-1] = math.MaxInt64
	return b
}

// index returns the bucket of t (ns): the first whose upper bound exceeds t.
func (b *visBounds) index(t int64) int {
	i := 0
	for i < NumVisibilityBuckets-1 && t >= b[i] {
		i++
	}
	return i
}

// VisibilityBuckets returns the empty t-visibility layout: bucket i covers
// [LowerNs, UpperNs) nanoseconds since the newest write acked before a read
// (0–0.1 ms, 0.1–0.2 ms, 0.2–0.5 ms, … 5–10 s, ≥ 10 s with UpperNs =
// math.MaxInt64). It returns a new slice on every call.
func VisibilityBuckets() []VisibilityBucket {
	b := newVisBounds()
	out := make([]VisibilityBucket, NumVisibilityBuckets)
	var lo int64
	for i := range out {
		out[i] = VisibilityBucket{LowerNs: lo, UpperNs: b[i]}
		lo = b[i]
	}
	return out
}

// visCount is one bucket's counters.
type visCount struct {
	fresh, total int64
}
