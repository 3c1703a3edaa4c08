//go:build !linux

package runner

import (
	"errors"
	"time"
)

// fineTimer is Linux-only (timerfd); elsewhere newFineTimer fails and the
// pacer uses Go timers, which are fine-grained on most other platforms.
type fineTimer struct{}

func newFineTimer() (*fineTimer, error) { return nil, errors.New("no timerfd on this platform") }

func (*fineTimer) sleep(time.Duration) error { return errors.ErrUnsupported }

func (*fineTimer) close() error { return nil }
