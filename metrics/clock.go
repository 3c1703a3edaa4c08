package metrics

import "time"

// Clock is the run's single monotonic clock: nanoseconds since a base time.
// The zero Clock is not usable; create one with NewClock. A Clock is an
// immutable value, safe for concurrent use.
type Clock struct {
	base time.Time
}

// NewClock returns a Clock whose base is now.
func NewClock() Clock { return Clock{base: time.Now()} }

// ClockAt returns a Clock whose base is base: for results rebuilt from
// files (pacbench merge), whose times count from a recorded base.
func ClockAt(base time.Time) Clock { return Clock{base: base} }

// Now returns the nanoseconds elapsed since the base, read from the
// monotonic clock (immune to wall-clock steps).
func (c Clock) Now() int64 { return int64(time.Since(c.base)) }

// Base returns the base time (wall and monotonic reading) that Now counts
// from; Base().Add(time.Duration(ns)) converts a run time to wall time.
func (c Clock) Base() time.Time { return c.base }

// IsZero reports whether c is the zero Clock (not created by NewClock).
func (c Clock) IsZero() bool { return c.base.IsZero() }
