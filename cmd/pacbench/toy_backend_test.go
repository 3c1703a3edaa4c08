package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/testenv"
)

// toyFactory is a complete impairment backend in one file's worth of code:
// the proof that a new backend is one file plus one registration line
// (here the Register call; in pacbench, a line in impair.Builtin). It
// records what it is asked to do.
type toyFactory struct{ log *toyLog }

type toyLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *toyLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *toyLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func (f toyFactory) Info() impair.BackendInfo {
	return impair.BackendInfo{Kind: "toy", Description: "records actions", Options: []impair.Option{
		{Key: "color", Default: "blue", Doc: "a color", Check: func(v string) error {
			if v != "blue" && v != "red" {
				return fmt.Errorf("want blue or red")
			}
			return nil
		}},
	}}
}

func (f toyFactory) CheckSetup(impair.Setup) []impair.SetupError { return nil }

func (f toyFactory) CheckSpec(s impair.Spec) []impair.FieldError {
	if s.Kind == impair.KindReset {
		return []impair.FieldError{{Field: impair.KeyKind, Err: impair.Invalidf("toy cannot reset")}}
	}
	return nil
}

func (f toyFactory) New(c impair.Config) (impair.Backend, error) {
	return &toyBackend{log: f.log, color: c.Options["color"], dry: c.DryRun}, nil
}

type toyBackend struct {
	log   *toyLog
	color string
	dry   io.Writer
	mu    sync.Mutex
	on    []string
}

func (b *toyBackend) Name() string { return "toy" }

func (b *toyBackend) Apply(_ context.Context, acts []impair.Action) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range acts {
		if b.dry != nil {
			fmt.Fprintf(b.dry, "toy(%s): would apply %s\n", b.color, impair.Describe(a))
			continue
		}
		b.log.add("apply %s", impair.Describe(a))
		b.on = append(b.on, impair.Describe(a))
	}
	return nil
}

func (b *toyBackend) Clear(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dry == nil {
		b.log.add("clear %d", len(b.on))
	}
	b.on = nil
	return nil
}

func (b *toyBackend) Pending() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.on...)
}

func (b *toyBackend) Heal(context.Context) (impair.HealReport, error) {
	if b.dry == nil {
		b.log.add("heal")
	}
	return impair.HealReport{Removed: []string{"toy leftovers"}}, nil
}

// TestToyBackend registers a toy backend and drives validate, run
// --dry-run, heal and a real run (local etcd cluster) through it: every
// command reaches the backend through the registry, nothing else knows it.
func TestToyBackend(t *testing.T) {
	log := &toyLog{}
	reg := impair.Builtin()
	reg.Register(toyFactory{log: log})
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const head = `system: {driver: etcd, cluster: local, impairer: {kind: toy, options: {color: %s}}}
workload: {preset: b, records: 20}
load: {workers: 2}
routes: {read: follower, write: leader}
levels: [{read: serializable}]
phases:
  - {name: base, duration: 1s}
  - {name: slow, duration: 1s, impairments: [{kind: %s, target: leader, links: peer_out%s}]}
`
	good := write("good.yaml", fmt.Sprintf(head, "red", "latency", ", delay: 20ms"))
	bad := write("bad.yaml", fmt.Sprintf(head, "green", "reset", ""))
	remote := write("remote.yaml", `system: {driver: etcd, endpoints: ["127.0.0.1:1"], nodes: [{name: a}, {name: b}], impairer: {kind: toy}}
workload: {preset: b}
levels: [{read: serializable}]
phases: [{name: p, duration: 1s, impairments: [{kind: down, target: b}]}]
`)
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		exe, _ := os.Executable()
		code := Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
			Context: context.Background(), Exe: exe, Impairers: reg})
		return code, out.String(), errb.String()
	}
	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"validate good", []string{"validate", good}, 0, []string{"good.yaml: ok"}},
		{"validate bad option and spec", []string{"validate", bad}, 2,
			[]string{"bad.yaml:1:", "system.impairer.options.color: want blue or red", "bad.yaml:8:", "kind: toy cannot reset"}},
		{"dry run", []string{"run", "--dry-run", "--profile", good}, 0,
			[]string{"# toy: latency 20ms on m1 peer downstream", "toy(red): would apply latency 20ms on m1 peer downstream"}},
		{"heal local", []string{"heal", "--profile", good}, 0, []string{"local cluster"}},
		{"heal dry run", []string{"heal", "--profile", remote, "--dry-run"}, 0, []string{"toy: would remove toy leftovers", "toy: dry run, nothing changed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("output lacks %q:\n%s\n%s", w, out, errs)
				}
			}
		})
	}
	if log.String() != "" {
		t.Fatalf("dry runs reached the backend: %s", log)
	}
	if code, out, errs := run("heal", "--profile", remote); code != 0 || !strings.Contains(out, "toy: healed (1 removed)") || log.String() != "heal" {
		t.Fatalf("heal: exit %d, log %q\n%s\n%s", code, log, out, errs)
	}
	log.lines = nil
	t.Run("run", func(t *testing.T) {
		testenv.Short(t)
		code, _, errs := run("run", "--profile", good, "--out", t.TempDir(), "--metrics-addr", "off", "--quiet")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, errs)
		}
		// The local cluster's pair proxies: the member's 3 peer proxies
		// downstream, the 2 it dials through upstream (impair.Resolve).
		want := regexp.MustCompile(`^apply latency 20ms on m\d peer downstream\n(apply latency 20ms on m\d peer \(dialed by m\d\) (down|up)stream\n){4}clear 5$`)
		if got := log.String(); !want.MatchString(got) {
			t.Errorf("toy backend saw %q, want %s", got, want)
		}
	})
}
