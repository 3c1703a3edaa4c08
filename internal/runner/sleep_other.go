//go:build !linux

package runner

import (
	"errors"

	"github.com/pacbench/pacbench/metrics"
)

// fineTimer is Linux-only (timerfd); elsewhere newFineTimer fails and the
// pacer uses Go timers, which are fine-grained on most other platforms.
type fineTimer struct{}

func newFineTimer(metrics.Clock) (*fineTimer, error) {
	return nil, errors.New("no timerfd on this platform")
}

func (*fineTimer) wait(int64, <-chan struct{}) (bool, error) { return false, errors.ErrUnsupported }

func (*fineTimer) kick() {}

func (*fineTimer) close() error { return nil }
