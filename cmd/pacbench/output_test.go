package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/internal/testenv"
)

// invokeEnv runs the CLI in-process with env (Stdout/Stderr filled in).
func invokeEnv(t *testing.T, env Env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb testenv.SyncBuffer
	env.Stdout, env.Stderr = &out, &errb
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Exe == "" {
		env.Exe, _ = os.Executable()
	}
	code = Main(args, env)
	return code, out.String(), errb.String()
}

// TestLateUsageErrors: bad run ids, metrics addresses, intervals and run
// directories are usage errors (exit 2) found before anything starts: no
// cluster, no file in --out.
func TestLateUsageErrors(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"run id dot", []string{"--run-id", "."}, "invalid run id"},
		{"run id dotdot", []string{"--run-id", ".."}, "invalid run id"},
		{"run id separator", []string{"--run-id", "a/b"}, "path separator"},
		{"run id parent", []string{"--run-id", "../x"}, "path separator"},
		{"run id absolute", []string{"--run-id", "/tmp/x"}, "path separator"},
		{"run id empty", []string{"--run-id", ""}, "invalid run id: empty"},
		{"run id flag-like", []string{"--run-id=-x"}, "starting with a letter"},
		{"run id long", []string{"--run-id", strings.Repeat("r", 129)}, "at most 128"},
		{"run id NUL", []string{"--run-id", "a\x00b"}, "invalid run id"},
		{"run id unicode", []string{"--run-id", "résumé"}, "ASCII letters"},
		{"metrics no port", []string{"--metrics-addr", "127.0.0.1"}, "--metrics-addr"},
		{"metrics port out of range", []string{"--metrics-addr", "127.0.0.1:99999"}, "0 to 65535"},
		{"metrics negative port", []string{"--metrics-addr", "127.0.0.1:-1"}, "0 to 65535"},
		{"metrics colons", []string{"--metrics-addr", "::::"}, "--metrics-addr"},
		{"metrics bad host", []string{"--metrics-addr", "no such host:80"}, "not an IP address"},
		{"metrics port in use", []string{"--metrics-addr", busy.Addr().String()}, "address already in use"},
		{"interval tiny", []string{"--interval", "1us"}, "--interval: 1µs is outside 100ms…1m0s"},
		{"interval zero", []string{"--interval", "0s"}, "--interval: 0s is outside"},
		{"interval huge", []string{"--interval", "2h"}, "--interval: 2h0m0s is outside"},
		{"run exists", []string{"--run-id", "taken"}, "run directory exists"},
		{"overwrite a non-run", []string{"--run-id", "precious", "--overwrite"}, "not a pacbench run directory"},
		{"out is a file", []string{"--out", "FILE"}, "is not a directory"},
		{"out under a file", []string{"--out", "FILE/sub", "--run-id", "r"}, "is not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			if err := os.MkdirAll(filepath.Join(out, "taken"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(out, "precious"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, "file"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"run", "--duration", "1s", "--out", out}, tc.args...)
			for i, a := range args {
				if rest, ok := strings.CutPrefix(a, "FILE"); ok {
					args[i] = filepath.Join(out, "file") + rest
				}
			}
			if !strings.Contains(strings.Join(tc.args, " "), "--metrics-addr") {
				args = append(args, "--metrics-addr", "127.0.0.1:0")
			}
			t0 := time.Now()
			code, _, stderr := invokeEnv(t, Env{Context: context.Background()}, args...)
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "starting local") || time.Since(t0) > 5*time.Second {
				t.Errorf("took %s and said:\n%s\nwant a usage error before anything starts", time.Since(t0), stderr)
			}
			entries, _ := os.ReadDir(out)
			if len(entries) != 3 {
				t.Errorf("--out holds %v, want only what the test made", entries)
			}
		})
	}
}

// fakeEnv is an Env whose registry has only the in-memory fake driver (the
// output path under test, never a stand-in for a database).
func fakeEnv(ctx context.Context, sinks *sink.Registry) Env {
	reg := drivers.NewRegistry(fakedriver.New(fakedriver.Options{Lag: 10 * time.Millisecond, OpDelay: time.Millisecond}))
	return Env{Context: ctx, Registry: reg, Sinks: sinks}
}

func writeFakeProfile(t *testing.T, scenarios, phases [2]string) string {
	t.Helper()
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) } // JSON strings are YAML
	yml := fmt.Sprintf(`
name: fake
system: {driver: fake, endpoints: ["fake://1"]}
workload: {records: 20, value_size: 64, mix: {read: 0.7, write: 0.3}, distribution: uniform}
load: {model: closed, workers: 2}
levels: [{name: %s, read: stale}, {name: %s, read: fresh}]
phases: [{name: %s, duration: 400ms}, {name: %s, duration: 400ms}]
checks: {linearizable_keys: 2}
`, q(scenarios[0]), q(scenarios[1]), q(phases[0]), q(phases[1]))
	p := filepath.Join(t.TempDir(), "fake.yaml")
	if err := os.WriteFile(p, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileNamesCLI: names from the profile never put a file outside the
// run directory.
func TestHostileNamesCLI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name              string
		scenarios, phases [2]string
	}{
		{"parent", [2]string{"../x", "../../y"}, [2]string{"..", "../p"}},
		{"absolute", [2]string{"/etc", "/etc/passwd"}, [2]string{"/tmp", "/"}},
		{"separators collide", [2]string{"a/b", "a_b"}, [2]string{"p/q", `p\q`}},
		{"dot", [2]string{".", ".git"}, [2]string{".", "..."}},
		{"unicode", [2]string{"ünï/cødé", "日本"}, [2]string{"φάση", "tab\tnul\x00"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			prof := writeFakeProfile(t, tc.scenarios, tc.phases)
			parent := t.TempDir()
			out := filepath.Join(parent, "results")
			code, _, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), "run", "--profile", prof, "--out", out,
				"--run-id", "r", "--metrics-addr", "off", "--interval", "100ms", "--quiet")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			n := 0
			_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				n++
				if rel, err := filepath.Rel(filepath.Join(out, "r"), p); err != nil || !filepath.IsLocal(rel) || strings.HasPrefix(d.Name(), ".") {
					t.Errorf("file outside the run directory or hidden: %s", p)
				}
				return nil
			})
			if n < 8 { // summary, manifest, csv, hlog, ≥ 4 hgrm
				t.Errorf("%d files written, want the whole results set", n)
			}
		})
	}
}

// cancelSink cancels the run's context at a chosen moment after the last
// phase: at the final interval or while the results are written.
type cancelSink struct {
	cancel  context.CancelFunc
	atFinal bool
}

func (c *cancelSink) Start(sink.Info) error { return nil }
func (c *cancelSink) AddInterval(t sink.Tick) error {
	if c.atFinal && t.Final {
		c.cancel()
	}
	return nil
}
func (c *cancelSink) Finish(*sink.End) error { return nil }
func (c *cancelSink) WriteFiles(*sink.Dir, *sink.End) error {
	if !c.atFinal {
		c.cancel()
	}
	return nil
}

// TestInterruptAfterLastPhase: an interrupt that arrives once the last
// phase is over is not absorbed silently: pacbench says it was received
// and what it did (the results are complete: exit 0, not partial).
func TestInterruptAfterLastPhase(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		when  string // final, writing, linger
		extra []string
		want  string
	}{
		{"at the end of the last phase", "final", nil, "interrupt received after the last phase ended: the run was complete; results written completely"},
		{"during result writing", "writing", nil, "interrupt received during result writing: results written completely"},
		{"during linger", "linger", []string{"--linger", "1m", "--metrics-addr", "127.0.0.1:0"}, "interrupt received while /metrics lingered: /metrics closed early; results written completely"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			sinks := sink.Default()
			if tc.when != "linger" {
				cs := &cancelSink{cancel: cancel, atFinal: tc.when == "final"}
				_ = sinks.Register("cancel", func(context.Context, sink.Config) (sink.Sink, error) { return cs, nil })
			}
			out := t.TempDir()
			args := append([]string{"run", "--profile", writeFakeProfile(t, [2]string{"s", "f"}, [2]string{"a", "b"}),
				"--out", out, "--run-id", "r", "--interval", "100ms", "--format", "json"}, tc.extra...)
			if tc.extra == nil {
				args = append(args, "--metrics-addr", "off")
			}
			env := fakeEnv(ctx, sinks)
			var errb testenv.SyncBuffer
			var outb strings.Builder
			env.Stdout, env.Stderr = &outb, &errb
			if tc.when == "linger" {
				go func() {
					for !strings.Contains(errb.String(), "keeping /metrics up") {
						time.Sleep(10 * time.Millisecond)
					}
					cancel()
				}()
			}
			t0 := time.Now()
			code := Main(args, env)
			stderr := errb.String()
			if code != 0 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 0 and %q on stderr:\n%s", code, tc.want, stderr)
			}
			if tc.when == "linger" && time.Since(t0) > 30*time.Second {
				t.Errorf("linger not cut short: %s", time.Since(t0))
			}
			var s report.Summary
			b, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
			if err != nil || json.Unmarshal(b, &s) != nil || s.Partial || len(s.Scenarios[0].Phases) != 2 {
				t.Errorf("results not complete (%v): partial=%v", err, s.Partial)
			}
		})
	}
}

// nanSink stands for a value the run produced that is not finite: at
// Finish (before any file is written) it puts x into the summary and the
// manifest where set says.
type nanSink struct {
	set func(*sink.End)
}

func (n *nanSink) Start(sink.Info) error       { return nil }
func (n *nanSink) AddInterval(sink.Tick) error { return nil }
func (n *nanSink) Finish(end *sink.End) error  { n.set(end); return nil }

// TestNonFiniteThroughCLI: no encoder fails on a value the run produced:
// NaN and ±Inf are written as null in summary.json, manifest.json and the
// --format json document, with a note naming the field, and the run
// succeeds.
func TestNonFiniteThroughCLI(t *testing.T) {
	t.Parallel()
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		name, file, field string
		set               func(*sink.End)
	}{
		{"target rate +Inf", "summary.json", "scenarios[0].load.target_rate_ops",
			func(e *sink.End) { e.Summary.Scenarios[0].Load.TargetRate = inf }},
		{"throughput NaN", "summary.json", "scenarios[1].phases[0].ops.read.throughput_ops",
			func(e *sink.End) { e.Summary.Scenarios[1].Phases[0].Ops["read"].ThroughputOps = nan }},
		{"duration -Inf", "summary.json", "scenarios[0].phases[1].duration_s",
			func(e *sink.End) { e.Summary.Scenarios[0].Phases[1].DurationS = -inf }},
		{"manifest load NaN", "manifest.json", "load[1].achieved_rate_ops",
			func(e *sink.End) { e.Manifest.Load[1].AchievedRate = nan }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sinks := sink.Default()
			_ = sinks.Register("nan", func(context.Context, sink.Config) (sink.Sink, error) { return &nanSink{set: tc.set}, nil })
			out := t.TempDir()
			code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), sinks), "run", "--profile",
				writeFakeProfile(t, [2]string{"s", "f"}, [2]string{"a", "b"}), "--out", out, "--run-id", "r",
				"--metrics-addr", "off", "--interval", "100ms", "--format", "json", "--quiet")
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			note := tc.file + ": non-finite value written as null: " + tc.field
			if tc.file == "summary.json" && !strings.Contains(stderr, note) {
				t.Errorf("stderr lacks the note %q:\n%s", note, stderr)
			}
			b, err := os.ReadFile(filepath.Join(out, "r", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.file == "summary.json" && string(b)+"\n" != stdout {
				t.Errorf("--format json is not summary.json's exact copy")
			}
			for name, doc := range map[string][]byte{tc.file: b, "stdout": []byte(stdout)} {
				if name == "stdout" && tc.file != "summary.json" {
					continue
				}
				var v struct {
					Notes []string `json:"notes"`
				}
				if err := json.Unmarshal(doc, &v); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if !strings.Contains(strings.Join(v.Notes, "\n"), tc.field) {
					t.Errorf("%s: notes %q lack %s", name, v.Notes, tc.field)
				}
			}
		})
	}
}
