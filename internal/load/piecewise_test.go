package load

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// TestRampInverse: on seeded random stage lists, inverse undoes integral
// wherever the value is positive, and firstAbove finds the first time the
// value exceeds k (checked against a fine scan).
func TestRampInverse(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for c := range 300 {
		var st []stage
		for range 1 + rng.IntN(6) {
			d := time.Duration(rng.IntN(4)) * 500 * time.Millisecond // steps (0s) included
			st = append(st, stage{d: d, to: float64(rng.IntN(5))})
		}
		r := newRamp(float64(rng.IntN(3)), st)
		end := r.at[r.last()] + 1
		for x := 0.0; x <= end; x += 0.01 {
			if r.value(x) <= 1e-6 { // a plateau: the first time the integral reaches it is earlier
				continue
			}
			if got := r.inverse(r.integral(x)); math.Abs(got-x) > 1e-6 {
				t.Fatalf("case %d %v: inverse(integral(%v)) = %v", c, st, x, got)
			}
		}
		for k := 0.0; k < 4; k++ {
			from := float64(rng.IntN(int(end*10))) / 10
			got := r.firstAbove(k, from)
			want := math.Inf(1)
			for x := from; x <= end+1; x += 0.001 {
				if r.value(x) > k+1e-9 {
					want = x
					break
				}
			}
			if math.IsInf(want, 1) != math.IsInf(got, 1) || (!math.IsInf(got, 1) && (got > want+1e-3 || r.value(math.Nextafter(got, math.Inf(1))) <= k-1e-9)) {
				t.Fatalf("case %d %v start %v: firstAbove(%v, %v) = %v, scan says %v", c, st, r.from[0], k, from, got, want)
			}
		}
	}
}
