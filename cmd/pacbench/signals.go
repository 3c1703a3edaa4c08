package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/profile"
)

// ErrSignal is the cause of the context a signal cancels.
var ErrSignal = errors.New("signal received")

// interrupts escalates repeated SIGINT/SIGTERM. The first cancels the run's
// context (a graceful stop: heal impairments, write partial results); the
// second closes Abandon (stop waiting for heals and for the local
// cluster's shutdown, report what may be left in place); the third exits
// at once with ExitRun, printing what may be left. Safe for concurrent use.
type interrupts struct {
	w      io.Writer
	exit   func(int)
	cancel context.CancelCauseFunc

	mu      sync.Mutex
	n       int
	abandon chan struct{}
	hint    string // what may be left and how to remove it
}

// newInterrupts returns the escalator and the context its first signal
// cancels. w receives one line per signal; exit ends the process.
func newInterrupts(parent context.Context, w io.Writer, exit func(int)) (*interrupts, context.Context) {
	ctx, cancel := context.WithCancelCause(parent)
	return &interrupts{w: w, exit: exit, cancel: cancel, abandon: make(chan struct{})}, ctx
}

// Abandon is closed by the second signal.
func (iv *interrupts) Abandon() <-chan struct{} { return iv.abandon }

// SetHint records what the third signal prints about impairments that may
// be left in place (e.g. the heal command).
func (iv *interrupts) SetHint(h string) {
	iv.mu.Lock()
	defer iv.mu.Unlock()
	iv.hint = h
}

// watch handles signals from sigs until it is closed.
func (iv *interrupts) watch(sigs <-chan os.Signal) {
	for s := range sigs {
		iv.handle(s)
	}
}

// handle reacts to one signal according to how many came before it.
func (iv *interrupts) handle(s os.Signal) {
	iv.mu.Lock()
	iv.n++
	n, hint := iv.n, iv.hint
	iv.mu.Unlock()
	switch n {
	case 1:
		fmt.Fprintf(iv.w, "\npacbench: %s: stopping: healing impairments and writing partial results (again to stop waiting)\n", s)
		iv.cancel(fmt.Errorf("%w: %s", ErrSignal, s))
	case 2:
		fmt.Fprintf(iv.w, "\npacbench: second %s: no longer waiting for heals or the cluster; reporting what may be left in place (again to exit at once)\n", s)
		close(iv.abandon)
	default:
		if hint == "" {
			hint = "none were configured"
		}
		fmt.Fprintf(iv.w, "\npacbench: %s again: exiting now; results not written; impairments: %s\n", s, hint)
		iv.exit(ExitRun)
	}
}

// stopReport says, after an interrupted run, what was written and what
// became of the impairments (a heal that failed says so in the run's own
// error).
func stopReport(out *bench.Outcome) string {
	res := "no results written"
	if out != nil && out.Dir != "" {
		res = "partial results written"
	}
	switch {
	case out == nil || out.Heal == nil || !out.Heal.Applied:
		return res + ", no impairment was active"
	case out.Heal.Healed():
		return res + fmt.Sprintf(", impairments healed (%d removed)", len(out.Heal.Removed))
	default:
		return res + ", impairments NOT healed"
	}
}

// healHint is what a forced exit may leave in place for profile p.
func healHint(p *profile.Profile, file string) string {
	if !bench.Impaired(p.Phases) {
		return "none were configured"
	}
	if p.System.Cluster == profile.ClusterLocal {
		return "the local cluster and its embedded Toxiproxy die with pacbench; nothing remains"
	}
	return "may be left in place; remove them with: " + bench.HealCommand(file, p.System.Impairer)
}
