package workloads

import "math"

// This file holds the maths behind the skewed key choosers, after Gray et
// al., "Quickly Generating Billion-Record Synthetic Databases" (SIGMOD 1994),
// as Java YCSB's ZipfianGenerator, ScrambledZipfianGenerator and
// SkewedLatestGenerator use it.

// scrambledItems is the size of the zipfian item space the scrambled
// generator draws ranks from before hashing them onto keys: 10^10, the space
// YCSB's precomputed ScrambledZipfianGenerator.ZETAN (26.46902820178302) is
// ζ of at θ 0.99. (Current YCSB declares ITEM_COUNT = 10^16 but kept that
// constant, so its top ranks follow ζ(10^10); pacbench uses the space the
// constant belongs to, and computes ζ for any other θ.)
const scrambledItems = 10_000_000_000

// zetaExactMax is the largest n whose zeta is summed term by term; above it
// zeta uses the Euler–Maclaurin formula (identical to 1e-13 relative).
const zetaExactMax = 1 << 16

// zetaSum returns initial + Σ_{i=from+1}^{to} 1/i^theta: the incremental
// zeta step YCSB's zetastatic(st, n, theta, initialsum) takes when the item
// count grows from `from` to `to`.
func zetaSum(from, to uint64, theta, initial float64) float64 {
	sum := initial
	for i := from; i < to; i++ {
		sum += 1 / math.Pow(float64(i+1), theta)
	}
	return sum
}

// zeta returns ζ(n, θ) = Σ_{i=1}^{n} 1/i^θ for 0 < θ < 1. Small n is summed
// exactly; large n (such as the scrambled generator's 10^10 items, which
// YCSB can only use through a precomputed constant) uses Euler–Maclaurin
// summation over the tail with three correction terms after an exact head.
func zeta(n uint64, theta float64) float64 {
	if n <= zetaExactMax {
		return zetaSum(0, n, theta, 0)
	}
	const head = 64 // terms 1..head-1 summed exactly; the tail starts at head
	k, x := float64(head), float64(n)
	f := func(v float64) float64 { return math.Pow(v, -theta) }
	d1 := func(v float64) float64 { return -theta * math.Pow(v, -theta-1) }
	d3 := func(v float64) float64 {
		return -theta * (theta + 1) * (theta + 2) * math.Pow(v, -theta-3)
	}
	d5 := func(v float64) float64 {
		return -theta * (theta + 1) * (theta + 2) * (theta + 3) * (theta + 4) * math.Pow(v, -theta-5)
	}
	integral := (math.Pow(x, 1-theta) - math.Pow(k, 1-theta)) / (1 - theta)
	tail := integral + (f(k)+f(x))/2 +
		(d1(x)-d1(k))/12 - // B2/2!
		(d3(x)-d3(k))/720 + // B4/4!
		(d5(x)-d5(k))/30240 // B6/6!
	return zetaSum(0, head-1, theta, 0) + tail
}

// zipfian draws ranks 0..n-1 with P(rank r) ∝ 1/(r+1)^θ in O(1) per draw
// (Gray et al.'s inversion). Rank 0 is the most popular. When the item count
// grows, zeta is extended incrementally as YCSB does; it never shrinks (a
// smaller n keeps the larger zeta, as YCSB with allowitemcountdecrease
// false). Not goroutine-safe: each Generator owns its own.
type zipfian struct {
	theta, alpha, zeta2, halfPowTheta float64
	count                             uint64  // item count zetan was computed for
	zetan, eta                        float64 // depend on count
}

// newZipfian returns a sampler over n items with constant theta, given
// zetan = zeta(n, theta) (precomputed and shared by the Keyspace).
func newZipfian(n uint64, theta, zetan float64) zipfian {
	z := zipfian{
		theta:        theta,
		alpha:        1 / (1 - theta),
		zeta2:        zetaSum(0, 2, theta, 0),
		halfPowTheta: math.Pow(0.5, theta),
		count:        n,
		zetan:        zetan,
	}
	z.eta = z.etaFor(n)
	return z
}

// etaFor is Gray et al.'s η for n items. YCSB's incremental path keeps the
// constructor's item count in the (2/n) term; this uses the current n, which
// is what the derivation requires.
func (z *zipfian) etaFor(n uint64) float64 {
	return (1 - math.Pow(2/float64(n), 1-z.theta)) / (1 - z.zeta2/z.zetan)
}

// grow extends zeta to n items (n > z.count) by adding the new terms only.
func (z *zipfian) grow(n uint64) {
	z.zetan = zetaSum(z.count, n, z.theta, z.zetan)
	z.count = n
	z.eta = z.etaFor(n)
}

// rank maps a uniform u in [0,1) to a rank in [0, n), growing zeta first if
// n exceeds the count it was computed for. n must be ≥ 1.
func (z *zipfian) rank(u float64, n uint64) uint64 {
	if n > z.count {
		z.grow(n)
	}
	uz := u * z.zetan
	if uz < 1 {
		return 0
	}
	if uz < 1+z.halfPowTheta {
		return min(1, n-1)
	}
	r := uint64(float64(n) * math.Pow(z.eta*u-z.eta+1, z.alpha))
	return min(r, n-1)
}

// fnv64 is YCSB's Utils.fnvhash64: FNV-1a over the 8 little-endian bytes of
// v, then the absolute value of the result read as a signed integer.
func fnv64(v uint64) uint64 {
	const (
		offset = 0xCBF29CE484222325
		prime  = 1099511628211
	)
	h := uint64(offset)
	for range 8 {
		h ^= v & 0xff
		h *= prime
		v >>= 8
	}
	if int64(h) < 0 {
		h = -h
	}
	return h
}
