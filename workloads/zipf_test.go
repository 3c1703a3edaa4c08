package workloads

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"testing"
)

func TestZetaEulerMaclaurinMatchesExactSum(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n     uint64
		theta float64
	}{
		{zetaExactMax + 1, 0.99},
		{1_000_000, 0.99},
		{1_000_000, 0.5},
		{300_000, 0.1},
		{2_000_000, 0.999},
	} {
		exact := zetaSum(0, tc.n, tc.theta, 0)
		got := zeta(tc.n, tc.theta)
		if rel := math.Abs(got-exact) / exact; rel > 1e-12 {
			t.Errorf("zeta(%d, %v) = %.15g, exact sum %.15g (rel err %.2g)", tc.n, tc.theta, got, exact, rel)
		}
	}
}

// YCSB's ScrambledZipfianGenerator.ZETAN is ζ(10^10, 0.99).
func TestZetaMatchesYCSBConstant(t *testing.T) {
	t.Parallel()
	const ycsbZetan = 26.46902820178302
	if got := zeta(scrambledItems, 0.99); math.Abs(got-ycsbZetan) > 1e-9 {
		t.Fatalf("zeta(1e10, 0.99) = %.15g, YCSB ZETAN %.15g", got, ycsbZetan)
	}
}

func TestZipfianIncrementalZeta(t *testing.T) {
	t.Parallel()
	z := newZipfian(1000, 0.99, zeta(1000, 0.99))
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []uint64{1001, 1500, 1500, 4000} {
		z.rank(rng.Float64(), n)
		want := zetaSum(0, n, 0.99, 0)
		if z.count != n || math.Abs(z.zetan-want) > 1e-12*want {
			t.Fatalf("after growing to %d: count %d zetan %.15g, want %.15g", n, z.count, z.zetan, want)
		}
	}
	// A smaller item count keeps the larger zeta (YCSB never recomputes
	// downwards) but still returns ranks below the smaller count.
	for range 1000 {
		if r := z.rank(rng.Float64(), 10); r >= 10 {
			t.Fatalf("rank %d ≥ n 10", r)
		}
	}
	if z.count != 4000 {
		t.Fatalf("count shrank to %d", z.count)
	}
}

// Gray's algorithm gives ranks 0 and 1 their exact zipfian probability and
// approximates the rest; the top of the distribution must match theory.
func TestZipfianSkewMatchesTheory(t *testing.T) {
	t.Parallel()
	const draws = 1_000_000
	for _, tc := range []struct {
		n     uint64
		theta float64
	}{
		{1000, 0.99},
		{100_000, 0.99},
		{1000, 0.5},
	} {
		zn := zeta(tc.n, tc.theta)
		z := newZipfian(tc.n, tc.theta, zn)
		rng := rand.New(rand.NewPCG(3, 4))
		counts := make([]int, tc.n)
		for range draws {
			counts[z.rank(rng.Float64(), tc.n)]++
		}
		p := func(r int) float64 { return math.Pow(float64(r+1), -tc.theta) / zn }
		for _, r := range []int{0, 1} {
			got := float64(counts[r]) / draws
			sigma := math.Sqrt(p(r) * (1 - p(r)) / draws)
			if math.Abs(got-p(r)) > 5*sigma {
				t.Errorf("n=%d θ=%v: P(rank %d) = %.5f, theory %.5f (±%.5f)", tc.n, tc.theta, r, got, p(r), 5*sigma)
			}
		}
		// The mass of the 100 hottest ranks (the profile's head).
		var got, want float64
		for r := range 100 {
			got += float64(counts[r]) / draws
			want += p(r)
		}
		if math.Abs(got-want)/want > 0.03 {
			t.Errorf("n=%d θ=%v: P(rank < 100) = %.4f, theory %.4f", tc.n, tc.theta, got, want)
		}
		// Monotone: hotter ranks are drawn more often.
		if !(counts[0] > counts[1] && counts[1] > counts[10] && counts[10] > counts[tc.n-1]) {
			t.Errorf("n=%d θ=%v: not skewed: counts[0,1,10,n-1] = %d %d %d %d",
				tc.n, tc.theta, counts[0], counts[1], counts[10], counts[tc.n-1])
		}
	}
}

func TestZipfianEdgeCounts(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []uint64{1, 2, 3} {
		z := newZipfian(n, 0.99, zeta(n, 0.99))
		seen := make([]bool, n)
		for range 10_000 {
			r := z.rank(rng.Float64(), n)
			if r >= n {
				t.Fatalf("n=%d: rank %d out of range", n, r)
			}
			seen[r] = true
		}
		for r, ok := range seen {
			if !ok {
				t.Errorf("n=%d: rank %d never drawn", n, r)
			}
		}
	}
	z := newZipfian(10, 0.99, zeta(10, 0.99))
	if r := z.rank(math.Nextafter(1, 0), 10); r != 9 {
		t.Errorf("u→1 gives rank %d, want the last rank 9", r)
	}
}

// fnv64 is FNV-1a over the value's 8 little-endian bytes, then abs.
func TestFNV64IsYCSBHash(t *testing.T) {
	t.Parallel()
	for _, v := range []uint64{0, 1, 2, 255, 256, 1 << 40, math.MaxUint64, 0xdeadbeefcafe} {
		h := fnv.New64a()
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		h.Write(b[:])
		want := h.Sum64()
		if int64(want) < 0 {
			want = uint64(-int64(want))
		}
		if got := fnv64(v); got != want {
			t.Errorf("fnv64(%#x) = %#x, want %#x", v, got, want)
		}
		if int64(fnv64(v)) < 0 && fnv64(v) != 1<<63 {
			t.Errorf("fnv64(%#x) negative", v)
		}
	}
}
