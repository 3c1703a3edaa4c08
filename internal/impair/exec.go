package impair

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
)

// Executor runs one command (argv[0] is the program, looked up in PATH) and
// returns its combined output. Implementations say whether they are safe for
// concurrent use; Netem serialises its calls.
type Executor interface {
	Run(ctx context.Context, argv []string) ([]byte, error)
}

// ExecRunner runs commands with os/exec. The zero value is ready to use and
// safe for concurrent use.
type ExecRunner struct{}

var _ Executor = ExecRunner{}

// Run starts argv and waits for it; ctx cancellation kills the process. The
// output is stdout and stderr combined; a non-zero exit is an
// *exec.ExitError.
func (ExecRunner) Run(ctx context.Context, argv []string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("exec: empty command")
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return out, nil
}

// DryRun prints each command as one shell-quoted line to W and runs
// nothing; every command succeeds with empty output. Safe for concurrent
// use when W is (lines are written with one Write call each).
type DryRun struct {
	// W receives one line per command.
	W io.Writer
}

var _ Executor = DryRun{}

// Run writes argv as a shell line.
func (d DryRun) Run(_ context.Context, argv []string) ([]byte, error) {
	if _, err := io.WriteString(d.W, ShellJoin(argv)+"\n"); err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	return nil, nil
}

// Recorder records the commands it is given and runs nothing (for tests).
// By default every command succeeds with empty output; Respond, when set,
// decides each command's output and error. The zero value is ready to use;
// safe for concurrent use (Respond is called under the Recorder's lock).
type Recorder struct {
	// Respond, if non-nil, returns the result of each command.
	Respond func(argv []string) ([]byte, error)

	mu   sync.Mutex
	cmds [][]string
}

var _ Executor = (*Recorder)(nil)

// Run records argv and returns Respond's result (or success).
func (r *Recorder) Run(_ context.Context, argv []string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = append(r.cmds, slices.Clone(argv))
	if r.Respond != nil {
		return r.Respond(argv)
	}
	return nil, nil
}

// Commands returns the recorded commands as shell-quoted lines, in order.
func (r *Recorder) Commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.cmds))
	for i, c := range r.cmds {
		out[i] = ShellJoin(c)
	}
	return out
}

// Reset forgets the recorded commands.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds = nil
}

// ShellJoin renders argv as one POSIX shell line: words made only of safe
// characters are left bare, others are single-quoted.
func ShellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes one word for a POSIX shell.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,%@+", c)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
