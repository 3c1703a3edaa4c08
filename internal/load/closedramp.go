package load

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// KeyStart is the load.options key of the ramp model's starting workers.
const KeyStart = "start"

// Ramp is the closed-loop worker ramp ("ramp", like k6's ramping-vus): the
// number of active workers starts at options.start (default 0) and moves
// through options.stages, "DURATION:WORKERS, …", linearly (a fractional
// target w keeps ⌈w⌉ workers active: worker i runs while the target is
// above i); the last target holds. Workers (load.workers) sessions are
// opened, so every target is at most Workers. A worker finishes the op it
// is in when it becomes inactive and starts again when the target rises
// above it. As in the closed model, each active worker issues its next op
// ThinkTime after the previous one completed, and latency is service time.
type Ramp struct{}

// Info implements Model.
func (Ramp) Info() Info {
	return Info{Name: "ramp", Description: "closed loop, the number of active workers ramping through options.stages (at most load.workers)",
		Keys: []string{KeyThinkTime, KeyOptions},
		Options: []Option{
			{Key: KeyStages, Doc: `"DURATION:WORKERS, …": each stage moves linearly from the previous number of active workers to WORKERS over DURATION; 0s:W steps; the last holds`},
			{Key: KeyStart, Default: "0", Doc: "active workers at the start"},
		}}
}

// parse reads the options: the start and the stages, bounded by workers.
func (Ramp) parse(s Spec) (start float64, st []stage, errs []FieldError) {
	limit := float64(max(s.Workers, 1))
	if v, ok := s.Options[KeyStart]; ok {
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(n) || n < 0 || n > limit {
			errs = append(errs, FieldError{KeyOptions + "." + KeyStart, fmt.Sprintf("want a number of workers in [0, %d] (load.workers), got %q", s.Workers, v)})
		}
		start = n
	}
	st, err := parseStages(s.Options[KeyStages], limit, "workers")
	if err != nil {
		errs = append(errs, FieldError{KeyOptions + "." + KeyStages, err.Error() + fmt.Sprintf(" (load.workers = %d sessions are opened)", s.Workers)})
	} else if start <= 0 && !anyAbove(st, 0) {
		errs = append(errs, FieldError{KeyOptions + "." + KeyStages, "every target is 0 workers: no op would ever be sent"})
	}
	return start, st, errs
}

// Check implements Model.
func (m Ramp) Check(s Spec) []FieldError {
	_, _, errs := m.parse(s)
	return errs
}

// Schedule implements Model.
func (m Ramp) Schedule(s Spec) Schedule {
	start, st, _ := m.parse(s)
	return &rampSchedule{active: newRamp(start, st), workers: max(s.Workers, 1), think: s.ThinkTime}
}

// rampSchedule: the target of active workers over time. Read-only.
type rampSchedule struct {
	active  *ramp
	workers int
	think   time.Duration
}

func (s *rampSchedule) Workers() int             { return s.workers }
func (*rampSchedule) Open() bool                 { return false }
func (*rampSchedule) Rate(time.Duration) float64 { return 0 }

// Pacer implements Schedule: worker i's ops, each think time after the
// previous one completed, moved to the next moment the target is above i.
func (s *rampSchedule) Pacer(i int, _ uint64) Pacer { return rampPacer{s: s, k: float64(i)} }

type rampPacer struct {
	s *rampSchedule
	k float64
}

// Next implements Pacer.
func (p rampPacer) Next(n uint64, now time.Duration) time.Duration {
	due := time.Duration(0)
	if n > 0 {
		due = now + p.s.think
	}
	return max(due, seconds(p.s.active.firstAbove(p.k, due.Seconds())))
}
