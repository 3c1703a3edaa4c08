//go:build !linux

package runner

import "time"

// preciseSleep sleeps for d (a Go timer: on platforms other than Linux the
// runtime's timers are already fine-grained).
func preciseSleep(d time.Duration) { time.Sleep(d) }
