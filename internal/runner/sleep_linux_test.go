//go:build linux

package runner

import (
	"testing"
	"time"
)

// TestFineTimer: a fine sleep never ends early (a correctness bound, not a
// speed goal: how late it ends is measured by BenchmarkScheduleLag), the
// timer is reusable, and a closed timer reports an error instead of
// blocking, which makes sleepUntil fall back to Go timers.
func TestFineTimer(t *testing.T) {
	t.Parallel()
	ft, err := newFineTimer()
	if err != nil {
		t.Fatalf("newFineTimer: %v", err)
	}
	for _, d := range []time.Duration{0, time.Microsecond, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		start := time.Now()
		if err := ft.sleep(d); err != nil {
			t.Fatalf("sleep(%v): %v", d, err)
		}
		if got := time.Since(start); got < d {
			t.Errorf("sleep(%v) returned after %v", d, got)
		}
	}
	if err := ft.close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := ft.sleep(time.Millisecond); err == nil {
		t.Error("sleep on a closed timer: no error")
	}
}
