package impair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// BackendProcess is the kind of the process backend: pause and kill of
// the members' processes.
const BackendProcess = "process"

// ErrNoProcess: pacbench has no way to reach a member's process (a local
// cluster's members always; system.nodes[].process otherwise).
var ErrNoProcess = errors.New("member process not reachable")

// Processes controls the processes of a deployment's members, by member
// name. Implementations are safe for concurrent use.
type Processes interface {
	// Pause stops the member's process (SIGSTOP; docker pause) and returns
	// once it is stopped.
	Pause(ctx context.Context, member string) error
	// Resume continues a paused member (SIGCONT; docker unpause).
	// Resuming a member that is not paused is not an error.
	Resume(ctx context.Context, member string) error
	// Kill kills the member's process (SIGKILL; docker kill) and returns
	// once it is gone.
	Kill(ctx context.Context, member string) error
	// Restart starts a killed member again, with the same data and
	// identity, and returns once it serves (or ctx ends). Restarting a
	// member that runs does nothing.
	Restart(ctx context.Context, member string) error
}

// DefaultRestartTimeout bounds one Restart of a Processes without
// RestartTimeouter.
const DefaultRestartTimeout = 30 * time.Second

// RestartTimeouter is an optional capability of Processes: how long the
// restart of member may take (DefaultRestartTimeout without it).
type RestartTimeouter interface {
	RestartTimeout(member string) time.Duration
}

// restartTimeout is p's bound on restarting member.
func restartTimeout(p Processes, member string) time.Duration {
	if rt, ok := p.(RestartTimeouter); ok {
		if d := rt.RestartTimeout(member); d > 0 {
			return d
		}
	}
	return DefaultRestartTimeout
}

// ProcessHealer is an optional capability of Processes: undo what earlier
// runs may have left (stopped processes, members down), for `pacbench
// heal`. In a dry run it lists what it would do.
type ProcessHealer interface {
	HealProcesses(ctx context.Context) (HealReport, error)
}

// ProcessBackend is the Backend of the process kinds (pause, kill,
// node_clock_skew) over a
// deployment's Processes: Apply pauses or kills, Clear resumes what it
// paused and restarts what it killed (each restart bounded by the
// member's restart timeout); what it could not is left pending
// (and reported as not healed). Safe for concurrent use.
type ProcessBackend struct {
	procs Processes

	mu     sync.Mutex
	paused []string // members paused and not confirmed resumed
	killed []string // members killed and not confirmed restarted
	skewed []string // members whose clocks were skewed and not confirmed reset
}

var _ Backend = (*ProcessBackend)(nil)

// NewProcessBackend returns the process backend acting through p.
func NewProcessBackend(p Processes) *ProcessBackend { return &ProcessBackend{procs: p} }

// Name returns "process".
func (b *ProcessBackend) Name() string { return BackendProcess }

// Apply pauses, kills or skews the clocks of the members actions name. It stops at the first
// error; a member is recorded before it is acted on, so that Clear also
// resumes or restarts one whose pause or kill failed half-way.
func (b *ProcessBackend) Apply(ctx context.Context, actions []Action) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	clocks := false
	for i, a := range actions {
		var err error
		switch a.Kind {
		case KindPause:
			if slices.Contains(b.paused, a.Member) {
				continue
			}
			b.paused = append(b.paused, a.Member)
			err = b.procs.Pause(ctx, a.Member)
		case KindKill:
			if slices.Contains(b.killed, a.Member) {
				continue
			}
			b.killed = append(b.killed, a.Member)
			err = b.procs.Kill(ctx, a.Member)
		case KindNodeClockSkew:
			clocks = true
			err = b.applyClock(ctx, a)
		default:
			err = fmt.Errorf("%w: kind %s is not a process fault (want %s)", ErrInvalid, a.Kind, strings.Join(KindsOf(ClassProcess), ", "))
		}
		if err != nil {
			return fmt.Errorf("process: action %d: %s: %w", i, Describe(a), err)
		}
	}
	if clocks {
		if err := settleClocks(ctx); err != nil {
			return fmt.Errorf("process: clock skew not settled: %w", err)
		}
	}
	return nil
}

// Clear resumes every paused member, then restarts every killed one (in
// the order they were killed, each bounded by its restart timeout), then
// sets every skewed clock back to 0.
// Members it could not resume or restart stay pending; the error names
// them.
func (b *ProcessBackend) Clear(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	var left []string
	for _, m := range b.paused {
		if err := b.procs.Resume(ctx, m); err != nil {
			errs = append(errs, fmt.Errorf("resume %s: %w", m, err))
			left = append(left, m)
		}
	}
	b.paused = left
	left = nil
	for _, m := range b.killed {
		rctx, cancel := context.WithTimeout(ctx, restartTimeout(b.procs, m))
		err := b.procs.Restart(rctx, m)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("restart %s: %w", m, err))
			left = append(left, m)
		}
	}
	b.killed = left
	left, cerrs := b.clearClocks(ctx)
	b.skewed, errs = left, append(errs, cerrs...)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("process: %w", err)
	}
	return nil
}

// ClearBudget is what the next Clear may need: the restart timeouts of
// the killed members plus 10 s for the resumes.
func (b *ProcessBackend) ClearBudget() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	d := 10 * time.Second
	for _, m := range b.killed {
		d += restartTimeout(b.procs, m)
	}
	return d
}

// Pending lists the members still paused or killed, one line each.
func (b *ProcessBackend) Pending() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, m := range b.paused {
		out = append(out, Describe(Action{Kind: KindPause, Member: m})+" (not resumed)")
	}
	for _, m := range b.killed {
		out = append(out, Describe(Action{Kind: KindKill, Member: m})+" (not restarted)")
	}
	for _, m := range b.skewed {
		out = append(out, Describe(Action{Kind: KindNodeClockSkew, Member: m})+" (clock not reset)")
	}
	return out
}

// Heal clears what this backend applied, then, when the deployment's
// Processes can (ProcessHealer), undoes what earlier runs left.
func (b *ProcessBackend) Heal(ctx context.Context) (HealReport, error) {
	before := b.Pending()
	err := b.Clear(ctx)
	after := b.Pending()
	var rep HealReport
	for _, l := range before {
		if !slices.Contains(after, l) {
			rep.Removed = append(rep.Removed, l)
		}
	}
	rep.Left = after
	if h, ok := b.procs.(ProcessHealer); ok {
		r, herr := h.HealProcesses(ctx)
		rep.Removed = append(rep.Removed, r.Removed...)
		rep.Left = append(rep.Left, r.Left...)
		err = errors.Join(err, herr)
	}
	return rep, err
}

// ProcessFactory builds the process backend. It is not chosen by
// system.impairer (unless a profile has process faults only): bench opens
// it next to the chosen backend for the process kinds that one does not
// handle. Stateless.
type ProcessFactory struct{}

var (
	_ Factory      = ProcessFactory{}
	_ KindsHandler = ProcessFactory{}
)

// Info describes the backend (no options).
func (ProcessFactory) Info() BackendInfo {
	return BackendInfo{
		Kind: BackendProcess,
		Description: "pause (SIGSTOP … SIGCONT) and kill (SIGKILL, restarted on heal) of member processes: " +
			"a local cluster's members, or system.nodes[].process (pid and start commands on this host, or the member's container: docker pause/unpause, kill/start); " +
			"used next to the chosen backend for these kinds",
	}
}

// HandledKinds returns the process kinds.
func (ProcessFactory) HandledKinds() []string { return KindsOf(ClassProcess) }

// CheckSetup has nothing to check: whose processes are reachable is
// checked per impairment (CheckEnv.Processes).
func (ProcessFactory) CheckSetup(Setup) []SetupError { return nil }

// CheckSpec refuses the network kinds (chosen alone, the process backend
// has no links to act on).
func (ProcessFactory) CheckSpec(s Spec) []FieldError {
	if ClassOf(s.Kind) == ClassNetwork {
		return []FieldError{{Field: KeyKind, Err: Invalidf("%s acts on links: choose a network backend (system.impairer.kind: %s or %s)", s.Kind, BackendToxiproxy, BackendNetem)}}
	}
	return nil
}

// New builds the backend over c.Processes, or, when that is nil, over the
// members' process settings in c.Topology (MemberLinks.Process).
func (ProcessFactory) New(c Config) (Backend, error) {
	p := c.Processes
	if p == nil {
		p = NewNodeProcesses(c.Topology, c.Executor, c.DryRun)
	}
	return NewProcessBackend(p), nil
}

// ProcessReach says whose processes the process backend can reach, for
// validation (CheckEnv.Processes).
type ProcessReach struct {
	// All: every member's (a local cluster pacbench starts).
	All bool
	// Members are, otherwise, the members whose processes it reaches
	// (those with system.nodes[].process).
	Members []string
	// Hint says how to make a member's process reachable, for messages.
	Hint string
	// Clocks are the members whose clocks node_clock_skew can set (those
	// with system.nodes[].process.clock); with All, none can.
	Clocks []string
	// ClockHint says, with All, why the members' clocks cannot be set.
	ClockHint string
}

// check reports the targets of s whose process is out of reach. members
// are all the deployment's member names (nil: unknown).
func (r *ProcessReach) check(s Spec, members []string, add func(key, format string, args ...any)) {
	switch {
	case s.Kind == KindNodeClockSkew:
		r.checkClock(s, members, add)
	case !r.All:
		checkReach(s, members, r.Members, r.Hint, add)
	}
}

// checkReach reports the targets of s not in reach (a role needs every
// member in reach); hint says how to bring one in.
func checkReach(s Spec, members, reach []string, hint string, add func(key, format string, args ...any)) {
	reachesAll := members != nil && !slices.ContainsFunc(members, func(m string) bool { return !slices.Contains(reach, m) })
	for i, t := range s.targets() {
		switch {
		case t == "":
		case slices.Contains(Roles(), t):
			if !reachesAll {
				add(targetKey(s, i), "%s of a role (%s) needs every member's process within reach, and pacbench cannot reach %s; %s",
					s.Kind, t, strings.Join(unreached(members, reach), ", "), hint)
			}
		case !slices.Contains(reach, t):
			add(targetKey(s, i), "%s: pacbench cannot reach the process of %q; %s", s.Kind, t, hint)
		}
	}
}

// unreached lists the members not in reached ("every member" when the
// members are not known).
func unreached(members, reached []string) []string {
	if members == nil {
		return []string{"every member"}
	}
	var out []string
	for _, m := range members {
		if !slices.Contains(reached, m) {
			out = append(out, m)
		}
	}
	return out
}

// DryRunProcesses prints the process faults it is asked for, one line
// each, and changes nothing (a dry run of a local cluster, whose member
// pids are only known at run time). Safe for concurrent use when W is.
type DryRunProcesses struct {
	// W receives the lines.
	W io.Writer
	// Of describes whose processes they are ("the local cluster's member").
	Of string
}

var _ Processes = DryRunProcesses{}

func (d DryRunProcesses) say(format string, args ...any) error {
	if _, err := fmt.Fprintf(d.W, format+"\n", args...); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	return nil
}

// Pause prints the SIGSTOP it would send.
func (d DryRunProcesses) Pause(_ context.Context, m string) error {
	return d.say("kill -STOP <pid of %s %s>", d.Of, m)
}

// Resume prints the SIGCONT it would send.
func (d DryRunProcesses) Resume(_ context.Context, m string) error {
	return d.say("kill -CONT <pid of %s %s>", d.Of, m)
}

// Kill prints the SIGKILL it would send.
func (d DryRunProcesses) Kill(_ context.Context, m string) error {
	return d.say("kill -KILL <pid of %s %s>", d.Of, m)
}

// Restart prints the restart it would do.
func (d DryRunProcesses) Restart(_ context.Context, m string) error {
	return d.say("# restart %s %s (same data directory and identity) and wait until it serves", d.Of, m)
}
