package load

import "time"

// Closed is the closed-loop model ("closed"): Workers workers, each issuing
// its next op when the previous one completed, after ThinkTime. Latency is
// service time (there is no intended start to measure from).
type Closed struct{}

// Info implements Model.
func (Closed) Info() Info {
	return Info{Name: "closed", Description: "N workers, each waiting for its op (and think_time) before the next",
		Keys: []string{KeyThinkTime}}
}

// Check implements Model: everything it reads is range-checked by the
// profile.
func (Closed) Check(Spec) []FieldError { return nil }

// Schedule implements Model.
func (Closed) Schedule(s Spec) Schedule {
	return closedSchedule{workers: s.Workers, think: s.ThinkTime}
}

type closedSchedule struct {
	workers int
	think   time.Duration
}

func (c closedSchedule) Workers() int             { return c.workers }
func (closedSchedule) Open() bool                 { return false }
func (closedSchedule) Rate(time.Duration) float64 { return 0 }
func (c closedSchedule) Pacer(int, uint64) Pacer  { return closedPacer{think: c.think} }

// closedPacer: the first op at once, every next one think after the
// previous completed.
type closedPacer struct{ think time.Duration }

func (p closedPacer) Next(n uint64, now time.Duration) time.Duration {
	if n == 0 {
		return 0
	}
	return now + p.think
}
