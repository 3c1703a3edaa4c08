//go:build linux

package runner

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pacbench/pacbench/metrics"
)

// fineTimer waits with microsecond precision on a timerfd(2) registered
// with the Go netpoller: the goroutine parks (no thread is blocked) until
// the kernel's high-resolution timer fires. Go's own timers wake an
// otherwise idle process with about 1 ms granularity on Linux (the
// netpoller waits in whole milliseconds), too coarse for open-loop gaps
// of tens of microseconds.
//
// A wait costs one system call: timerfd_settime. The expiration is never
// read: the wait parks on the fd's readiness through syscall.RawConn and
// its callback checks the clock instead (the netpoller is edge-triggered
// and every expiration wakes it; settime resets the expiration count), so
// there is no read(2) that fails with EAGAIN before parking nor one after
// it (measured on this project's 2-vCPU VM: one wait per op at 2,000
// ops/s cost about 50–90 µs of CPU with a Go timer followed by a
// read-based timerfd sleep, and about 20 µs — the same as a bare Go
// timer — this way).
//
// A fineTimer belongs to one goroutine (wait); kick may be called from
// any goroutine.
type fineTimer struct {
	fd    int
	f     *os.File // the same fd, non-blocking, registered with the netpoller
	rc    syscall.RawConn
	clock metrics.Clock
	ready func(uintptr) bool // t.check, bound once (no allocation per wait)
	// The wait in progress, for check.
	due      int64           // run-clock ns
	ch       <-chan struct{} // the gate's change channel
	woken    bool            // check ran once already in this wait
	changed  bool            // the wait ended because ch was closed
	armError error           // a failed re-arm inside check
}

// newFineTimer returns a fineTimer on clock, or an error when timerfd is
// unavailable (the caller then uses Go timers).
func newFineTimer(clock metrics.Clock) (*fineTimer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	// Never call f.Fd(): it would put the fd back in blocking mode.
	t := &fineTimer{fd: fd, f: os.NewFile(uintptr(fd), "pacer-timerfd"), clock: clock}
	if t.rc, err = t.f.SyscallConn(); err != nil {
		_ = t.f.Close()
		return nil, fmt.Errorf("timerfd: %w", err)
	}
	t.ready = t.check
	return t, nil
}

// arm makes the timer fire in d ns (at least 1).
func (t *fineTimer) arm(d int64) error {
	its := unix.ItimerSpec{Value: unix.NsecToTimespec(max(d, 1))}
	if err := unix.TimerfdSettime(t.fd, 0, &its, nil); err != nil {
		return fmt.Errorf("timerfd_settime: %w", err)
	}
	return nil
}

// wait blocks until the run clock reaches due (true) or ch is closed
// (false); an error means the timer is unusable (the caller falls back
// to Go timers).
func (t *fineTimer) wait(due int64, ch <-chan struct{}) (bool, error) {
	d := due - t.clock.Now()
	if d <= 0 {
		return true, nil
	}
	if err := t.arm(d); err != nil {
		return false, err
	}
	t.due, t.ch, t.woken, t.changed, t.armError = due, ch, false, false, nil
	if err := t.rc.Read(t.ready); err != nil {
		return false, fmt.Errorf("timerfd wait: %w", err)
	}
	if t.armError != nil {
		return false, t.armError
	}
	return !t.changed, nil
}

// check is the RawConn callback: true ends the wait (ch closed, or due
// reached). A wake-up with neither — a kick meant for an earlier gate
// change, which replaced this wait's expiration — re-arms the timer.
func (t *fineTimer) check(uintptr) bool {
	select {
	case <-t.ch:
		t.changed = true
		return true
	default:
	}
	d := t.due - t.clock.Now()
	if d <= 0 {
		return true
	}
	if t.woken {
		if t.armError = t.arm(d); t.armError != nil {
			return true
		}
	}
	t.woken = true
	return false
}

// kick makes a wait in progress wake up and check its channel (the gate
// calls it after closing the channel). Safe for concurrent use.
func (t *fineTimer) kick() { _ = t.arm(1) }

// close releases the fd (a wait in progress returns an error).
func (t *fineTimer) close() error { return t.f.Close() }
