package runner

import (
	"math"
	"math/rand/v2"
	"time"
)

// Pacer decides when open-loop arrivals are due, shaped like vegeta's Pacer.
// A Pacer belongs to one worker goroutine; it is not safe for concurrent use.
type Pacer interface {
	// Pace returns how long to wait before hit number hits (0-based) is due,
	// given the time elapsed since the start of pacing. A zero or negative
	// wait means the hit is due (or overdue) now. stop is true when no more
	// hits should be sent.
	Pace(elapsed time.Duration, hits uint64) (wait time.Duration, stop bool)
	// Due returns the intended start of hit number hits, as an offset from
	// the start of pacing. Hits must be asked for in increasing order.
	Due(hits uint64) time.Duration
	// Rate returns the target rate in hits per second.
	Rate() float64
}

// ConstantPacer sends hits at a fixed rate, evenly spaced. Offset shifts
// every hit (used to interleave several workers' schedules so that their
// union is evenly spaced).
type ConstantPacer struct {
	// Freq is the rate in hits per second (> 0).
	Freq float64
	// Offset is added to every hit's intended start.
	Offset time.Duration
}

// Due implements Pacer.
func (p ConstantPacer) Due(hits uint64) time.Duration {
	return p.Offset + time.Duration(float64(hits)*1e9/p.Freq)
}

// Pace implements Pacer.
func (p ConstantPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.Freq <= 0 {
		return 0, true
	}
	return p.Due(hits) - elapsed, false
}

// Rate implements Pacer.
func (p ConstantPacer) Rate() float64 { return p.Freq }

// PoissonPacer sends hits as a Poisson process of rate Freq: exponential
// inter-arrival times drawn from a seeded generator, so the schedule is
// reproducible. The union of n independent Poisson pacers of rate r/n is a
// Poisson process of rate r.
type PoissonPacer struct {
	freq float64
	rng  *rand.Rand
	hits uint64
	next time.Duration
}

// NewPoissonPacer returns a Poisson pacer of freq hits per second seeded
// with seed.
func NewPoissonPacer(freq float64, seed uint64) *PoissonPacer {
	p := &PoissonPacer{freq: freq, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	p.next = p.draw()
	return p
}

func (p *PoissonPacer) draw() time.Duration {
	u := p.rng.Float64()
	return time.Duration(-math.Log(1-u) / p.freq * 1e9)
}

// Due implements Pacer. Hits must be asked for in increasing order: the
// pacer only keeps the next arrival.
func (p *PoissonPacer) Due(hits uint64) time.Duration {
	for p.hits < hits {
		p.next += p.draw()
		p.hits++
	}
	return p.next
}

// Pace implements Pacer.
func (p *PoissonPacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	if p.freq <= 0 {
		return 0, true
	}
	return p.Due(hits) - elapsed, false
}

// Rate implements Pacer.
func (p *PoissonPacer) Rate() float64 { return p.freq }
