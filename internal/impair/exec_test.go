package impair

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestShellJoin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"tc", "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", "40ms", "loss", "1%"}, "tc qdisc replace dev eth0 root netem delay 40ms loss 1%"},
		{[]string{"tc", "filter", "add", "parent", "1:", "match", "ip", "dst", "10.0.0.2/32", "flowid", "1:1"}, "tc filter add parent 1: match ip dst 10.0.0.2/32 flowid 1:1"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"sh", "-c", "echo a b"}, "sh -c 'echo a b'"},
		{[]string{"it's"}, `'it'\''s'`},
		{[]string{"$HOME", "a*", "x;y", "tab\there"}, `'$HOME' 'a*' 'x;y' 'tab	here'`},
		{nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := ShellJoin(tc.argv); got != tc.want {
				t.Errorf("ShellJoin = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestShellJoinRoundTripsThroughSh(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	argv := []string{"it's", "", "a b", "$HOME", "`x`", `\n`, "1%", "tab\there"}
	// printf prints each argument on its own line: what sh parsed.
	line := "printf '%s\\n' " + ShellJoin(argv)
	out, err := exec.Command(sh, "-c", line).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n"); !slices.Equal(got, argv) {
		t.Errorf("sh parsed %q, want %q", got, argv)
	}
}

func TestDryRun(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	d := DryRun{W: &b}
	for _, argv := range [][]string{{"docker", "exec", "c1", "tc", "qdisc", "del", "dev", "eth0", "root"}, {"echo", "a b"}} {
		if out, err := d.Run(context.Background(), argv); err != nil || out != nil {
			t.Fatalf("Run = %q, %v", out, err)
		}
	}
	if want := "docker exec c1 tc qdisc del dev eth0 root\necho 'a b'\n"; b.String() != want {
		t.Errorf("printed %q, want %q", b.String(), want)
	}
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	r := &Recorder{Respond: func(argv []string) ([]byte, error) {
		if argv[0] == "fail" {
			return []byte("out"), boom
		}
		return []byte("ok"), nil
	}}
	argv := []string{"x", "a b"}
	if out, err := r.Run(context.Background(), argv); err != nil || string(out) != "ok" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	argv[1] = "mutated" // the recorder keeps its own copy
	if out, err := r.Run(context.Background(), []string{"fail"}); !errors.Is(err, boom) || string(out) != "out" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	if got, want := r.Commands(), []string{"x 'a b'", "fail"}; !slices.Equal(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
	r.Reset()
	if got := r.Commands(); len(got) != 0 {
		t.Errorf("after Reset: %q", got)
	}
}

func TestExecRunner(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	var x ExecRunner
	out, err := x.Run(context.Background(), []string{sh, "-c", "echo out; echo err >&2"})
	if err != nil || string(out) != "out\nerr\n" {
		t.Errorf("Run = %q, %v; want combined output", out, err)
	}
	out, err = x.Run(context.Background(), []string{sh, "-c", "echo nope; exit 3"})
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 || string(out) != "nope\n" {
		t.Errorf("Run = %q, %v; want exit status 3 with output", out, err)
	}
	if _, err := x.Run(context.Background(), nil); err == nil {
		t.Error("empty argv: no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := x.Run(ctx, []string{sh, "-c", "exit 0"}); err == nil {
		t.Error("cancelled context: no error")
	}
}
