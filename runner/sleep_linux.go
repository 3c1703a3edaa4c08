//go:build linux

package runner

import (
	"syscall"
	"time"
)

// preciseSleep blocks the calling thread for d with nanosleep(2), which
// ends within the kernel's timer slack (50 µs by default) after d, unlike
// a Go timer (about 1 ms on an idle process). The Go scheduler hands the
// thread's P to other goroutines meanwhile. Interrupted sleeps (the runtime
// preempts with signals) resume for the remaining time.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for syscall.Nanosleep(&ts, &ts) == syscall.EINTR {
	}
}
