package load

import "time"

// Part returns the schedule of one shard of a run that is split over
// several processes: workers first…first+n-1 of s (global numbering), as
// local workers 0…n-1. Worker i's pacer is s's pacer of worker first+i,
// so the shards' schedules together are exactly s's (their union of
// arrivals is the one process's, uniform offsets included), whatever the
// model. Rate is s's rate times n/s.Workers(): exact for models whose
// workers share the rate equally (every built-in model). n must be ≥ 1
// and first+n ≤ s.Workers().
func Part(s Schedule, first, n int) Schedule {
	return part{s: s, first: first, n: n}
}

type part struct {
	s        Schedule
	first, n int
}

func (p part) Workers() int { return p.n }
func (p part) Open() bool   { return p.s.Open() }

// Pacer implements Schedule: the whole schedule's pacer of the global
// worker (the seed is the caller's, derived from the global index too).
func (p part) Pacer(i int, seed uint64) Pacer { return p.s.Pacer(p.first+i, seed) }

// Rate implements Schedule: this part's share of the whole rate.
func (p part) Rate(d time.Duration) float64 {
	return p.s.Rate(d) * float64(p.n) / float64(max(p.s.Workers(), 1))
}
