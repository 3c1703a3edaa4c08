package load

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Stages is the ramping open-loop model ("stages", like k6's
// ramping-arrival-rate): the arrival rate starts at Rate (load.rate,
// default 0) and moves through options.stages, "DURATION:RATE, …", each
// stage going linearly from the previous target to its own over its
// duration ("0s:RATE" is a step); after the last stage its rate holds
// (end with "…, 10s:0" to stop). Arrivals are uniform or Poisson (a
// non-homogeneous Poisson process) spread over Workers workers. Every op
// has an intended start from the changing schedule, and its response time
// is measured from it, as in the open model.
type Stages struct{}

// Info implements Model.
func (Stages) Info() Info {
	return Info{Name: "stages", Description: "open loop, the arrival rate ramping or stepping through options.stages (from load.rate), latency from each op's intended start",
		Keys:    []string{KeyRate, KeyArrivals, KeyOptions},
		Options: []Option{{Key: KeyStages, Doc: `"DURATION:RATE, …": each stage moves linearly from the previous rate (load.rate at first) to RATE ops/s over DURATION; 0s:RATE steps; the last rate holds`}}}
}

// Check implements Model.
func (Stages) Check(s Spec) []FieldError {
	var errs []FieldError
	st, err := parseStages(s.Options[KeyStages], MaxRate, "ops/s")
	if err != nil {
		errs = append(errs, FieldError{KeyOptions + "." + KeyStages, err.Error()})
	} else if s.Rate <= 0 && !anyAbove(st, 0) {
		errs = append(errs, FieldError{KeyOptions + "." + KeyStages, "every rate is 0: no op would ever be sent"})
	}
	if s.Rate < 0 {
		errs = append(errs, FieldError{KeyRate, fmt.Sprintf("the start rate must not be negative, got %v", s.Rate)})
	}
	return append(errs, checkArrivals(s)...)
}

func anyAbove(st []stage, v float64) bool {
	for _, s := range st {
		if s.to > v {
			return true
		}
	}
	return false
}

// Schedule implements Model.
func (Stages) Schedule(s Spec) Schedule {
	st, _ := parseStages(s.Options[KeyStages], MaxRate, "ops/s")
	return &stagesSchedule{rate: newRamp(max(s.Rate, 0), st), workers: max(s.Workers, 1), poisson: s.Arrivals == ArrivalsPoisson}
}

// stagesSchedule: the rate ramp and how its arrivals are drawn. Read-only.
type stagesSchedule struct {
	rate    *ramp // ops/s over schedule seconds; its integral counts arrivals
	workers int
	poisson bool
}

func (s *stagesSchedule) Workers() int { return s.workers }
func (*stagesSchedule) Open() bool     { return true }

// Rate implements Schedule: the scheduled arrivals of [0, d) over d.
func (s *stagesSchedule) Rate(d time.Duration) float64 {
	if d <= 0 {
		return s.rate.value(0)
	}
	return s.rate.integral(d.Seconds()) / d.Seconds()
}

// Pacer implements Schedule. Uniform: worker i takes the evenly spaced
// arrivals i, i+n, i+2n, … of the whole schedule (arrival k when the
// integral of the rate reaches k). Poisson: each worker is an independent
// Poisson process with 1/n of the rate (exponential gaps of mean n in
// arrival-count space, mapped through the rate's integral), so their union
// is a Poisson process of the scheduled rate.
func (s *stagesSchedule) Pacer(i int, seed uint64) Pacer {
	if s.poisson {
		p := &stagesPoisson{s: s, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
		p.next = p.gap()
		return p
	}
	return stagesUniform{s: s, first: uint64(i), step: uint64(s.workers)}
}

// stagesUniform is a worker's share of the evenly spaced arrivals.
type stagesUniform struct {
	s           *stagesSchedule
	first, step uint64
}

// Next implements Pacer.
func (p stagesUniform) Next(n uint64, _ time.Duration) time.Duration {
	return seconds(p.s.rate.inverse(float64(p.first + n*p.step)))
}

// Skip implements Skipper: the first op due at or after t, from the
// number of arrivals scheduled before t.
func (p stagesUniform) Skip(n uint64, t time.Duration) uint64 {
	if p.Next(n, 0) >= t {
		return n
	}
	before := p.s.rate.integral(t.Seconds()) // arrivals of the whole schedule before t
	m := max(n, uint64(math.Max(0, math.Ceil((before-float64(p.first))/float64(p.step)))))
	for m > n && p.Next(m-1, 0) >= t { // float rounding either way
		m--
	}
	for p.Next(m, 0) < t {
		m++
	}
	return m
}

// stagesPoisson is one worker's Poisson process in arrival-count space.
// Not safe for concurrent use.
type stagesPoisson struct {
	s    *stagesSchedule
	rng  *rand.Rand
	n    uint64
	next float64 // count-space position of op n
}

// gap is one exponential gap of mean workers (count space).
func (p *stagesPoisson) gap() float64 {
	return -math.Log(1-p.rng.Float64()) * float64(p.s.workers)
}

// Next implements Pacer. Ops must be asked for in increasing order.
func (p *stagesPoisson) Next(n uint64, _ time.Duration) time.Duration {
	for p.n < n {
		p.next += p.gap()
		p.n++
	}
	return seconds(p.s.rate.inverse(p.next))
}

// Skip implements Skipper: memoryless in count space, like PoissonPacer.
func (p *stagesPoisson) Skip(n uint64, t time.Duration) uint64 {
	if p.Next(n, 0) >= t {
		return n
	}
	until := p.s.rate.integral(t.Seconds())
	p.n += 1 + poissonCount(p.rng, max(until-p.next, 0)/float64(p.s.workers))
	p.next = until + p.gap()
	return p.n
}
