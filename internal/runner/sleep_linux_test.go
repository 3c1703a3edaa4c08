//go:build linux

package runner

import (
	"testing"
	"time"

	"github.com/pacbench/pacbench/metrics"
)

// TestFineTimer: a fine wait never ends early (a correctness bound, not a
// speed goal: how late it ends is measured by BenchmarkScheduleLag), the
// timer is reusable, a kick ends a wait only once its channel is closed
// (a kick with the channel open — meant for an earlier change — re-arms
// it), and a closed timer reports an error instead of blocking, which
// makes sleepUntil fall back to Go timers.
func TestFineTimer(t *testing.T) {
	t.Parallel()
	clock := metrics.NewClock()
	ft, err := newFineTimer(clock)
	if err != nil {
		t.Fatalf("newFineTimer: %v", err)
	}
	open := make(chan struct{})
	for _, d := range []time.Duration{0, time.Microsecond, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		due := clock.Now() + int64(d)
		if ok, err := ft.wait(due, open); !ok || err != nil {
			t.Fatalf("wait(%v) = %v, %v", d, ok, err)
		}
		if now := clock.Now(); now < due {
			t.Errorf("wait(%v) returned %v early", d, time.Duration(due-now))
		}
	}
	t.Run("spurious kick", func(t *testing.T) {
		due := clock.Now() + int64(30*time.Millisecond)
		go func() { time.Sleep(5 * time.Millisecond); ft.kick() }()
		if ok, err := ft.wait(due, open); !ok || err != nil {
			t.Fatalf("wait = %v, %v", ok, err)
		}
		if now := clock.Now(); now < due {
			t.Errorf("a kick with the channel open ended the wait %v early", time.Duration(due-now))
		}
	})
	t.Run("kick after close", func(t *testing.T) {
		ch := make(chan struct{})
		go func() { time.Sleep(5 * time.Millisecond); close(ch); ft.kick() }()
		if ok, err := ft.wait(clock.Now()+int64(time.Hour), ch); ok || err != nil {
			t.Fatalf("wait = %v, %v; want false (changed), nil", ok, err)
		}
	})
	if err := ft.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := ft.wait(clock.Now()+int64(time.Millisecond), open); err == nil {
		t.Error("wait on a closed timer: no error")
	}
}
