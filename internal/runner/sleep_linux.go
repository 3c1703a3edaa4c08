//go:build linux

package runner

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// fineTimer sleeps with microsecond precision on a timerfd(2) read through
// the Go netpoller: the goroutine parks (no thread is blocked) and the
// kernel's high-resolution timer makes the fd readable on time. Go's own
// timers wake an otherwise idle process with about 1 ms granularity on
// Linux (the netpoller waits in whole milliseconds), too coarse for
// open-loop gaps of tens of microseconds. A fineTimer belongs to one
// goroutine.
type fineTimer struct {
	fd int
	f  *os.File // the same fd, non-blocking, registered with the netpoller
}

// newFineTimer returns a fineTimer, or an error when timerfd is unavailable
// (the caller then uses Go timers).
func newFineTimer() (*fineTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// Never call f.Fd(): it would put the fd back in blocking mode.
	return &fineTimer{fd: fd, f: os.NewFile(uintptr(fd), "pacer-timerfd")}, nil
}

// sleep blocks the calling goroutine for d (> 0).
func (t *fineTimer) sleep(d time.Duration) error {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(max(d, 1)))}
	if err := unix.TimerfdSettime(t.fd, 0, &its, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	var expirations [8]byte
	if _, err := t.f.Read(expirations[:]); err != nil {
		return fmt.Errorf("timerfd read: %w", err)
	}
	return nil
}

// close releases the fd.
func (t *fineTimer) close() error { return t.f.Close() }
