package load

import (
	"math"
	"time"
)

// ConstantPacer sends ops at a fixed rate, evenly spaced. Offset shifts
// every op (used to interleave several workers' schedules so that their
// union is evenly spaced). A value: safe for concurrent use.
type ConstantPacer struct {
	// Freq is the rate in ops per second (> 0).
	Freq float64
	// Offset is added to every op's intended start.
	Offset time.Duration
}

// Next implements Pacer: Offset + n/Freq.
func (p ConstantPacer) Next(n uint64, _ time.Duration) time.Duration {
	return p.Offset + time.Duration(float64(n)*1e9/p.Freq)
}

// Skip implements Skipper: the first op at or after t, by arithmetic.
func (p ConstantPacer) Skip(n uint64, t time.Duration) uint64 {
	if p.Next(n, 0) >= t {
		return n
	}
	m := max(n, uint64(math.Ceil(float64(t-p.Offset)*p.Freq/1e9)))
	for m > n && p.Next(m-1, 0) >= t { // float rounding either way
		m--
	}
	for p.Next(m, 0) < t {
		m++
	}
	return m
}
