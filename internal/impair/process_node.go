package impair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pacbench/pacbench/internal/owner"
)

// ProcessSpec says how pacbench reaches one member's process for the
// process faults (system.nodes[].process; profile.Process is an alias):
// either Container (docker pause/unpause, docker kill/start) or the PID
// and Start commands of a process on this host. Plain data: safe to share
// read-only.
type ProcessSpec struct {
	// PID is a command (argv; a relative program path is relative to the
	// profile's directory) that prints the member's process id and exits
	// 0, or exits non-zero when the member is not running.
	PID []string `yaml:"pid" json:"pid,omitempty"`
	// Start is a command that starts the member again after a kill (same
	// data directory, same identity) and exits 0 once it serves; starting
	// a member that runs must do nothing.
	Start []string `yaml:"start" json:"start,omitempty"`
	// Container is the member's own container (not its netem sidecar):
	// docker pause/unpause and docker kill/start.
	Container string `yaml:"container" json:"container,omitempty"`
	// StartTimeout bounds the restart after a kill (Start, or docker
	// start), at most MaxStartTimeout (0: DefaultStartTimeout).
	StartTimeout Duration `yaml:"start_timeout" json:"start_timeout,omitempty"`
	// Clock, optional, is a command (argv, like PID) for node_clock_skew:
	// run as it is, it prints the member's wall-clock offset in signed
	// seconds ("+0", "-0.5"); with one more argument, such an offset, it
	// sets it and exits 0 (scripts/cassandra.sh clock N). With Container
	// too, Clock still applies (e.g. a docker exec wrapper).
	Clock []string `yaml:"clock" json:"clock,omitempty"`
}

// Bounds of ProcessSpec.StartTimeout.
const (
	DefaultStartTimeout = 3 * time.Minute
	MaxStartTimeout     = 30 * time.Minute
)

// Keys of a ProcessSpec (SetupError.Field).
const (
	KeyProcessPID          = "pid"
	KeyProcessStart        = "start"
	KeyProcessContainer    = "container"
	KeyProcessStartTimeout = "start_timeout"
)

// IsZero reports whether p sets nothing.
func (p ProcessSpec) IsZero() bool {
	return len(p.PID) == 0 && len(p.Start) == 0 && p.Container == "" && len(p.Clock) == 0
}

// Resolve returns p with relative program paths of its commands (a first
// word holding a "/") made absolute against dir. Idempotent.
func (p ProcessSpec) Resolve(dir string) ProcessSpec {
	fix := func(argv []string) []string {
		if len(argv) == 0 || !strings.Contains(argv[0], "/") || filepath.IsAbs(argv[0]) {
			return argv
		}
		out := slices.Clone(argv)
		if abs, err := filepath.Abs(filepath.Join(dir, argv[0])); err == nil {
			out[0] = abs
		}
		return out
	}
	p.PID, p.Start, p.Clock = fix(p.PID), fix(p.Start), fix(p.Clock)
	return p
}

// CheckProcessSpec reports the problems of one member's process settings,
// with fields relative to it: a container, or both commands (each an
// executable program with arguments; relative program paths are looked
// up against dir, see Resolve, and named as written), and a start_timeout
// in (0, MaxStartTimeout] when given.
func CheckProcessSpec(p ProcessSpec, dir string) []SetupError {
	var out []SetupError
	if p.StartTimeout < 0 || p.StartTimeout.D() > MaxStartTimeout {
		out = append(out, SetupError{KeyProcessStartTimeout, fmt.Errorf("want a duration in (0, %s], got %s", MaxStartTimeout, p.StartTimeout)})
	}
	resolved := p.Resolve(dir)
	if len(p.Clock) > 0 {
		out = append(out, checkCommand(KeyProcessClock, p.Clock, resolved.Clock)...)
	}
	cmds := len(p.PID) > 0 || len(p.Start) > 0
	switch {
	case !cmds && p.Container == "" && len(p.Clock) > 0:
		return out
	case p.IsZero():
		return append(out, SetupError{"", errors.New("give container (docker pause/kill/start), or the pid and start commands of a process on this host")})
	case p.Container != "" && cmds:
		return append(out, SetupError{KeyProcessContainer, errors.New("give either container or the pid/start commands, not both")})
	}
	if p.Container != "" {
		return out
	}
	out = append(out, checkCommand(KeyProcessPID, p.PID, resolved.PID)...)
	return append(out, checkCommand(KeyProcessStart, p.Start, resolved.Start)...)
}

// checkCommand checks one command of a ProcessSpec: present, no empty
// word, an executable program (resolved: with its path resolved).
func checkCommand(key string, argv, resolved []string) []SetupError {
	switch {
	case len(argv) == 0:
		return []SetupError{{key, errors.New("required with the other command (a list: program and arguments)")}}
	case slices.Contains(argv, ""):
		return []SetupError{{key, errors.New("empty word in the command")}}
	}
	if _, err := exec.LookPath(resolved[0]); err != nil {
		where := ""
		if resolved[0] != argv[0] {
			where = " (relative to the profile's directory)"
		}
		return []SetupError{{key, fmt.Errorf("program %q%s: not found or not executable", argv[0], where)}}
	}
	return nil
}

// nodeProcesses reaches each member's process through its ProcessSpec:
// docker for a container, host commands and signals otherwise. Safe for
// concurrent use.
type nodeProcesses struct {
	specs map[string]ProcessSpec
	order []string
	ex    Executor  // changes (docker, start commands); prints them in a dry run
	read  Executor  // reads (pid commands, docker inspect): run even in a dry run
	dry   io.Writer // nil: act

	mu     sync.Mutex
	paused map[string]owner.Proc // host processes this value paused, by member
}

// NewNodeProcesses returns the Processes of topo's members that have
// process settings (MemberLinks.Process); acting on another member fails
// with ErrNoProcess. ex runs the commands that change something (nil:
// ExecRunner); with dry set, signals are printed there instead of sent
// and ex should be a DryRun printer.
func NewNodeProcesses(topo Topology, ex Executor, dry io.Writer) Processes {
	if ex == nil {
		ex = ExecRunner{}
	}
	n := &nodeProcesses{specs: map[string]ProcessSpec{}, ex: ex, read: ExecRunner{}, dry: dry, paused: map[string]owner.Proc{}}
	for _, m := range topo.Members {
		if m.Process != nil && !m.Process.IsZero() {
			n.specs[m.Name] = *m.Process
			n.order = append(n.order, m.Name)
		}
	}
	return n
}

// docker is the program that runs docker commands.
const docker = "docker"

func (n *nodeProcesses) spec(member string) (ProcessSpec, error) {
	s, ok := n.specs[member]
	if !ok {
		return s, fmt.Errorf("%w: %s has no process settings (system.nodes[].process)", ErrNoProcess, member)
	}
	return s, nil
}

// Pause implements Processes.
func (n *nodeProcesses) Pause(ctx context.Context, member string) error {
	return n.signal(ctx, member, "pause", syscall.SIGSTOP)
}

// Resume implements Processes: the process it paused (if that one still
// runs), else the one the pid command names.
func (n *nodeProcesses) Resume(ctx context.Context, member string) error {
	return n.signal(ctx, member, "unpause", syscall.SIGCONT)
}

// Kill implements Processes.
func (n *nodeProcesses) Kill(ctx context.Context, member string) error {
	return n.signal(ctx, member, "kill", syscall.SIGKILL)
}

// signal applies one process fault: docker verb on a container, sig on a
// host process (then waits until it took effect).
func (n *nodeProcesses) signal(ctx context.Context, member, verb string, sig syscall.Signal) error {
	s, err := n.spec(member)
	if err != nil {
		return err
	}
	if s.Container != "" {
		return n.run(ctx, n.ex, []string{docker, verb, s.Container})
	}
	if n.dry != nil {
		_, err := fmt.Fprintf(n.dry, "kill -%s \"$(%s)\"\n", strings.TrimPrefix(sigName(sig), "SIG"), ShellJoin(s.PID))
		return err
	}
	n.mu.Lock()
	p, paused := n.paused[member]
	n.mu.Unlock()
	if sig != syscall.SIGCONT || !paused || owner.Of(p.PID).Start != p.Start {
		if p, err = n.pid(ctx, s); err != nil {
			return err
		}
	}
	if err := syscall.Kill(p.PID, sig); err != nil {
		return fmt.Errorf("%s pid %d: %w", sigName(sig), p.PID, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		n.mu.Lock()
		n.paused[member] = p
		n.mu.Unlock()
		return waitProc(ctx, p, func(state byte) bool { return state == 'T' || state == 't' }, "stop")
	case syscall.SIGCONT:
		n.mu.Lock()
		delete(n.paused, member)
		n.mu.Unlock()
		return waitProc(ctx, p, func(state byte) bool { return state != 'T' && state != 't' }, "continue")
	default:
		return waitProc(ctx, p, func(state byte) bool { return state == 0 || state == 'Z' || state == 'X' }, "die")
	}
}

// RestartTimeout implements RestartTimeouter: the member's start_timeout.
func (n *nodeProcesses) RestartTimeout(member string) time.Duration {
	if d := n.specs[member].StartTimeout.D(); d > 0 {
		return d
	}
	return DefaultStartTimeout
}

// Restart implements Processes: docker start, or the start command.
func (n *nodeProcesses) Restart(ctx context.Context, member string) error {
	s, err := n.spec(member)
	if err != nil {
		return err
	}
	if s.Container != "" {
		return n.run(ctx, n.ex, []string{docker, "start", s.Container})
	}
	return n.run(ctx, n.ex, s.Start)
}

// HealProcesses implements ProcessHealer: every member with process
// settings that is paused is resumed, every one that is not running is
// started.
func (n *nodeProcesses) HealProcesses(ctx context.Context) (HealReport, error) {
	var rep HealReport
	var errs []error
	for _, m := range n.order {
		if s := n.specs[m]; len(s.PID) == 0 && s.Container == "" {
			continue // a clock command only
		}
		fix, why, err := n.leftover(ctx, m)
		if err != nil {
			rep.Left = append(rep.Left, fmt.Sprintf("%s: state unknown: %v", m, firstLine(err.Error())))
			errs = append(errs, err)
			continue
		}
		if fix == nil {
			continue
		}
		if err := fix(); err != nil {
			rep.Left = append(rep.Left, fmt.Sprintf("%s %s: %v", m, why, firstLine(err.Error())))
			errs = append(errs, err)
			continue
		}
		rep.Removed = append(rep.Removed, m+" "+why)
	}
	errs = append(errs, n.healClocks(ctx, &rep)...)
	return rep, errors.Join(errs...)
}

// leftover reads member m's state and returns what would heal it (nil:
// nothing to do) with a word on why.
func (n *nodeProcesses) leftover(ctx context.Context, m string) (fix func() error, why string, err error) {
	s := n.specs[m]
	if s.Container != "" {
		out, err := n.read.Run(ctx, []string{docker, "inspect", "-f", "{{.State.Status}}", s.Container})
		if err != nil {
			return nil, "", fmt.Errorf("%s: docker inspect %s: %w", m, s.Container, err)
		}
		switch st := strings.TrimSpace(string(out)); st {
		case "paused":
			return func() error { return n.Resume(ctx, m) }, "was paused: unpaused", nil
		case "exited", "dead", "created":
			return func() error { return n.Restart(ctx, m) }, "was " + st + ": started", nil
		}
		return nil, "", nil
	}
	p, err := n.pid(ctx, s)
	if err != nil {
		return func() error { return n.Restart(ctx, m) }, "was not running: started", nil
	}
	if owner.Stopped(p.PID) {
		return func() error { return n.Resume(ctx, m) }, fmt.Sprintf("(pid %d) was stopped: continued", p.PID), nil
	}
	return nil, "", nil
}

// pid runs the pid command and returns the process it names.
func (n *nodeProcesses) pid(ctx context.Context, s ProcessSpec) (owner.Proc, error) {
	out, err := n.read.Run(ctx, s.PID)
	if err != nil {
		return owner.Proc{}, fmt.Errorf("%w: %s: %w%s", ErrNoProcess, ShellJoin(s.PID), err, outputTail(out))
	}
	fields := strings.Fields(string(out))
	if len(fields) == 0 {
		return owner.Proc{}, fmt.Errorf("%w: %s printed no pid", ErrNoProcess, ShellJoin(s.PID))
	}
	pid, err := strconv.Atoi(fields[len(fields)-1])
	if err != nil || pid <= 1 {
		return owner.Proc{}, fmt.Errorf("%w: %s printed %q, not a pid", ErrNoProcess, ShellJoin(s.PID), fields[len(fields)-1])
	}
	return owner.Of(pid), nil
}

// run runs argv through ex, with its output's tail in the error.
func (n *nodeProcesses) run(ctx context.Context, ex Executor, argv []string) error {
	out, err := ex.Run(ctx, argv)
	if err != nil {
		return fmt.Errorf("%s: %w%s", ShellJoin(argv), err, outputTail(out))
	}
	return nil
}

// outputTail renders the last lines of a command's output for an error.
func outputTail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	return " (output: " + strings.Join(lines, " | ") + ")"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// waitProc polls p's state until done(state) holds (state 0: p is gone,
// or its pid is another process now), ctx ends or 10 s pass.
func waitProc(ctx context.Context, p owner.Proc, done func(state byte) bool, what string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := owner.State(p.PID)
		if st != 0 && owner.Of(p.PID).Start != p.Start {
			st = 0
		}
		if done(st) {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pid %d did not %s (state %q)", p.PID, what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func sigName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGSTOP:
		return "SIGSTOP"
	case syscall.SIGCONT:
		return "SIGCONT"
	case syscall.SIGKILL:
		return "SIGKILL"
	}
	return sig.String()
}
