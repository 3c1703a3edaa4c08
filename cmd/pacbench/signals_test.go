package main

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestInterruptsEscalate: the first signal cancels the context, the second
// closes Abandon, the third exits with ExitRun and says what may be left.
func TestInterruptsEscalate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		signals   int
		cancelled bool
		abandoned bool
		exited    int // -1: not exited
		say       string
	}{
		{0, false, false, -1, ""},
		{1, true, false, -1, "stopping: healing impairments"},
		{2, true, true, -1, "no longer waiting"},
		{3, true, true, ExitRun, "exiting now; results not written; impairments: may be left in place; remove them with: pacbench heal --profile p.yaml"},
	}
	for _, tc := range tests {
		t.Run(strings.Repeat("I", tc.signals+1), func(t *testing.T) {
			t.Parallel()
			var out strings.Builder
			exited := -1
			iv, ctx := newInterrupts(context.Background(), &out, func(c int) { exited = c })
			iv.SetHint("may be left in place; remove them with: pacbench heal --profile p.yaml")
			for range tc.signals {
				iv.handle(syscall.SIGINT)
			}
			if got := ctx.Err() != nil; got != tc.cancelled {
				t.Errorf("cancelled = %v, want %v", got, tc.cancelled)
			}
			if tc.cancelled && !errors.Is(context.Cause(ctx), ErrSignal) {
				t.Errorf("cause %v, want ErrSignal", context.Cause(ctx))
			}
			select {
			case <-iv.Abandon():
				if !tc.abandoned {
					t.Error("abandoned too early")
				}
			default:
				if tc.abandoned {
					t.Error("not abandoned")
				}
			}
			if exited != tc.exited {
				t.Errorf("exit(%d), want %d", exited, tc.exited)
			}
			if !strings.Contains(out.String(), tc.say) {
				t.Errorf("said %q, want %q", out.String(), tc.say)
			}
		})
	}
}
