package load

import (
	"fmt"
	"time"
)

// Arrival processes of the open model (load.arrivals).
const (
	ArrivalsUniform = "uniform" // evenly spaced (constant.go)
	ArrivalsPoisson = "poisson" // exponential inter-arrival times (poisson.go)
)

// Open is the open-loop model ("open"): a target Rate (ops/s for the
// scenario) whatever the database does, spread over Workers workers (the
// maximum concurrency), with uniform or Poisson arrivals. Every op has an
// intended start; response time is measured from it.
type Open struct{}

// Info implements Model.
func (Open) Info() Info {
	return Info{Name: "open", Description: "a target rate (ops/s), uniform or Poisson arrivals, latency from each op's intended start",
		Keys: []string{KeyRate, KeyArrivals}}
}

// Check implements Model: a rate is required; arrivals is uniform (also
// when empty) or poisson.
func (Open) Check(s Spec) []FieldError {
	var errs []FieldError
	if !(s.Rate > 0) {
		errs = append(errs, FieldError{KeyRate, fmt.Sprintf("open loop needs a target rate > 0 (ops/s), got %v", s.Rate)})
	}
	return append(errs, checkArrivals(s)...)
}

// checkArrivals: arrivals is uniform (also when empty) or poisson.
func checkArrivals(s Spec) []FieldError {
	switch s.Arrivals {
	case "", ArrivalsUniform, ArrivalsPoisson:
		return nil
	}
	return []FieldError{{KeyArrivals, fmt.Sprintf("unknown value %q (want %s, %s)", s.Arrivals, ArrivalsUniform, ArrivalsPoisson)}}
}

// Schedule implements Model.
func (Open) Schedule(s Spec) Schedule {
	return openSchedule{workers: max(s.Workers, 1), rate: s.Rate, poisson: s.Arrivals == ArrivalsPoisson}
}

type openSchedule struct {
	workers int
	rate    float64
	poisson bool
}

func (o openSchedule) Workers() int               { return o.workers }
func (openSchedule) Open() bool                   { return true }
func (o openSchedule) Rate(time.Duration) float64 { return o.rate }

// Pacer gives each worker rate/workers: Poisson processes of rate r/n
// whose union is a Poisson process of rate r, or evenly spaced schedules
// offset so that their union is evenly spaced.
func (o openSchedule) Pacer(i int, seed uint64) Pacer {
	per := o.rate / float64(o.workers)
	if o.poisson {
		return NewPoissonPacer(per, seed)
	}
	return ConstantPacer{Freq: per, Offset: time.Duration(float64(i) * 1e9 / o.rate)}
}
