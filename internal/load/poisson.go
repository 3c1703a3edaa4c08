package load

import (
	"math"
	"math/rand/v2"
	"time"
)

// PoissonPacer sends ops as a Poisson process: exponential inter-arrival
// times drawn from a seeded generator, so the schedule is reproducible.
// The union of n independent Poisson pacers of rate r/n is a Poisson
// process of rate r. It keeps only the next arrival: not safe for
// concurrent use.
type PoissonPacer struct {
	freq float64
	rng  *rand.Rand
	n    uint64
	next time.Duration
}

// NewPoissonPacer returns a Poisson pacer of freq ops per second (> 0)
// seeded with seed.
func NewPoissonPacer(freq float64, seed uint64) *PoissonPacer {
	p := &PoissonPacer{freq: freq, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	p.next = p.draw()
	return p
}

func (p *PoissonPacer) draw() time.Duration {
	return time.Duration(-math.Log(1-p.rng.Float64()) / p.freq * 1e9)
}

// Next implements Pacer. Ops must be asked for in increasing order.
func (p *PoissonPacer) Next(n uint64, _ time.Duration) time.Duration {
	for p.n < n {
		p.next += p.draw()
		p.n++
	}
	return p.next
}

// Skip implements Skipper. A Poisson process is memoryless: the arrivals
// in [next, t) are 1 + Poisson(freq·(t−next)) in number (drawn exactly
// below a mean of 64, from the normal approximation above), and the next
// arrival after t is t plus a fresh exponential gap.
func (p *PoissonPacer) Skip(n uint64, t time.Duration) uint64 {
	if p.Next(n, 0) >= t {
		return n
	}
	p.n += 1 + poissonCount(p.rng, p.freq*(t-p.next).Seconds())
	p.next = t + p.draw()
	return p.n
}

// poissonCount draws a Poisson variate of mean mu ≥ 0 from rng: exactly
// below a mean of 64, from the normal approximation above.
func poissonCount(rng *rand.Rand, mu float64) uint64 {
	if mu < 64 {
		k, prod, limit := uint64(0), rng.Float64(), math.Exp(-mu)
		for prod > limit {
			k++
			prod *= rng.Float64()
		}
		return k
	}
	return uint64(max(0, math.Round(mu+math.Sqrt(mu)*rng.NormFloat64())))
}
