package impair

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KindNodeClockSkew offsets a database node's wall clock (what its
// server-side write timestamps come from) by Spec.Offset until the heal
// sets it back: on the loopback Cassandra cluster through libfaketime
// (scripts/cassandra.sh clock), elsewhere through a member's
// system.nodes[].process.clock command.
const KindNodeClockSkew = "node_clock_skew"

// KeyProcessClock is the key of ProcessSpec.Clock (SetupError.Field).
const KeyProcessClock = "clock"

// ClockSkewer is an optional capability of Processes: setting a member's
// wall-clock offset (node_clock_skew). Implementations are safe for
// concurrent use.
type ClockSkewer interface {
	// SetClockOffset sets the member's wall clock to real time plus
	// offset (0: correct) and returns once the member's clock source
	// holds it (the member may take up to ClockSettle to read it).
	SetClockOffset(ctx context.Context, member string, offset time.Duration) error
}

// ClockOffsetReader is an optional capability of a ClockSkewer: the
// offset a member's clock source holds now, for `pacbench heal`.
type ClockOffsetReader interface {
	ClockOffset(ctx context.Context, member string) (time.Duration, error)
}

// ClockSettle is how long a member may take to read a new clock offset.
// libfaketime (scripts/cassandra.sh) re-reads its offset file once the
// whole seconds since its last read exceed FAKETIME_CACHE_DURATION (1): up
// to 2 s after the file changed (seen: 1.1 s was not always enough). The
// process backend waits this long after setting offsets and after
// resetting them, so that a phase's first op sees the skew in place and
// the next phase (and the audit) the correct clock.
const ClockSettle = 2500 * time.Millisecond

// clockSkewer returns b's Processes as a ClockSkewer, or an error saying
// the deployment's members cannot have their clocks skewed.
func (b *ProcessBackend) clockSkewer() (ClockSkewer, error) {
	if cs, ok := b.procs.(ClockSkewer); ok {
		return cs, nil
	}
	return nil, fmt.Errorf("%w: these members' clocks cannot be skewed (system.nodes[].process.clock)", ErrNoProcess)
}

// applyClock sets one node_clock_skew; the member is recorded first, so a
// Clear also resets a clock whose setting failed half-way.
func (b *ProcessBackend) applyClock(ctx context.Context, a Action) error {
	cs, err := b.clockSkewer()
	if err != nil {
		return err
	}
	if !slices.Contains(b.skewed, a.Member) {
		b.skewed = append(b.skewed, a.Member)
	}
	return cs.SetClockOffset(ctx, a.Member, a.Offset)
}

// settleClocks waits ClockSettle (or until ctx ends) after clocks were set.
func settleClocks(ctx context.Context) error {
	settle := time.NewTimer(ClockSettle)
	defer settle.Stop()
	select {
	case <-settle.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// clearClocks sets every clock it skewed back to 0 and returns the
// members it could not, with the errors.
func (b *ProcessBackend) clearClocks(ctx context.Context) (left []string, errs []error) {
	if len(b.skewed) == 0 {
		return nil, nil
	}
	cs, err := b.clockSkewer()
	if err != nil {
		return b.skewed, []error{err}
	}
	for _, m := range b.skewed {
		if err := cs.SetClockOffset(ctx, m, 0); err != nil {
			errs = append(errs, fmt.Errorf("reset the clock of %s: %w", m, err))
			left = append(left, m)
		}
	}
	if len(left) < len(b.skewed) {
		if err := settleClocks(ctx); err != nil {
			errs = append(errs, fmt.Errorf("clock reset not settled: %w", err))
		}
	}
	return left, errs
}

// FormatClockOffset renders an offset as the clock command takes it:
// signed seconds with up to microsecond precision ("+0", "-0.5", "+3").
func FormatClockOffset(d time.Duration) string {
	s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
	if d >= 0 {
		s = "+" + s
	}
	return s
}

// ParseClockOffset reads what a clock command prints: signed (or
// unsigned) seconds.
func ParseClockOffset(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f != f || f > MaxClockOffset.Seconds() || f < -MaxClockOffset.Seconds() {
		return 0, fmt.Errorf("clock offset %q: want signed seconds such as +0 or -0.5", strings.TrimSpace(s))
	}
	return time.Duration(f * float64(time.Second)).Round(time.Microsecond), nil
}

var (
	_ ClockSkewer       = (*nodeProcesses)(nil)
	_ ClockOffsetReader = (*nodeProcesses)(nil)
)

// clockSpec returns member's process settings with a clock command.
func (n *nodeProcesses) clockSpec(member string) (ProcessSpec, error) {
	s, err := n.spec(member)
	if err == nil && len(s.Clock) == 0 {
		err = fmt.Errorf("%w: %s has no clock command (system.nodes[].process.clock)", ErrNoProcess, member)
	}
	return s, err
}

// SetClockOffset implements ClockSkewer: the member's clock command with
// the offset as one more argument (in a dry run, printed).
func (n *nodeProcesses) SetClockOffset(ctx context.Context, member string, offset time.Duration) error {
	s, err := n.clockSpec(member)
	if err != nil {
		return err
	}
	return n.run(ctx, n.ex, append(slices.Clone(s.Clock), FormatClockOffset(offset)))
}

// ClockOffset implements ClockOffsetReader: what the member's clock
// command prints when run as it is.
func (n *nodeProcesses) ClockOffset(ctx context.Context, member string) (time.Duration, error) {
	s, err := n.clockSpec(member)
	if err != nil {
		return 0, err
	}
	out, err := n.read.Run(ctx, s.Clock)
	if err != nil {
		return 0, fmt.Errorf("%s: %w%s", ShellJoin(s.Clock), err, outputTail(out))
	}
	return ParseClockOffset(string(out))
}

// healClocks resets, for `pacbench heal`, the clock of every member with
// a clock command whose offset is not 0.
func (n *nodeProcesses) healClocks(ctx context.Context, rep *HealReport) []error {
	var errs []error
	for _, m := range n.order {
		if len(n.specs[m].Clock) == 0 {
			continue
		}
		off, err := n.ClockOffset(ctx, m)
		if err != nil {
			rep.Left = append(rep.Left, fmt.Sprintf("%s clock: offset unknown: %v", m, firstLine(err.Error())))
			errs = append(errs, err)
			continue
		}
		if off == 0 {
			continue
		}
		if err := n.SetClockOffset(ctx, m, 0); err != nil {
			rep.Left = append(rep.Left, fmt.Sprintf("%s clock %s s: not reset: %v", m, FormatClockOffset(off), firstLine(err.Error())))
			errs = append(errs, err)
			continue
		}
		rep.Removed = append(rep.Removed, fmt.Sprintf("%s clock was %s s: reset to +0", m, FormatClockOffset(off)))
	}
	return errs
}

// checkClock reports the targets of a node_clock_skew whose clocks the
// process backend cannot set. members are all the deployment's member
// names (nil: unknown).
func (r *ProcessReach) checkClock(s Spec, members []string, add func(key, format string, args ...any)) {
	if r.All {
		hint := r.ClockHint
		if hint == "" {
			hint = "these members' clocks cannot be set"
		}
		add(KeyKind, "%s: %s", s.Kind, hint)
		return
	}
	checkReach(s, members, r.Clocks, clockHint, add)
}

// clockHint says how to make a node's clock settable.
const clockHint = "give it system.nodes[].process.clock (a command that prints its clock offset, or sets it given signed seconds: scripts/cassandra.sh clock N)"
