package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateBounds: absurd, non-finite and unreadable input is a usage
// error (exit 2) naming file:line, through `pacbench validate` and
// `pacbench run` (which must refuse before starting anything).
func TestValidateBounds(t *testing.T) {
	t.Parallel()
	const head = "system: {driver: etcd, cluster: local}\nworkload: {preset: a}\nlevels: [{read: linearizable}]\n"
	cases := []struct {
		name, body, line, msg string // the problem: msg at file:line
	}{
		{"workers", "load: {workers: 1000000000}\nphases: [{name: a, duration: 1s}]\n", "4", "load.workers: at most 4096, got 1000000000"},
		{"workers zero", "load: {workers: 0}\nphases: [{name: a, duration: 1s}]\n", "4", "load.workers: must be ≥ 1"},
		{"rate inf", "load: {model: open, rate: .inf}\nphases: [{name: a, duration: 1s}]\n", "4", "load.rate: want a finite target rate in ops/s, got +Inf"},
		{"rate nan", "load: {model: open, rate: .nan}\nphases: [{name: a, duration: 1s}]\n", "4", "load.rate: want a finite target rate in ops/s, got NaN"},
		{"rate 1e300", "load: {model: open, rate: 1e300}\nphases: [{name: a, duration: 1s}]\n", "4", "load.rate: at most 1e+08"},
		{"phase durations", "phases:\n  - {name: a, duration: 2000000h}\n  - {name: b, duration: 2000000h}\n", "5", "phases[0].duration: at most 24h0m0s"},
		{"run duration", "phases: [{name: a, duration: 24h}, {name: b, duration: 24h}, {name: c, duration: 24h}, {name: d, duration: 24h}, {name: e, duration: 24h}, {name: f, duration: 24h}, {name: g, duration: 24h}, {name: h, duration: 1s}]\n",
			"4", "phases: the phases last 168h0m1s; at most 168h0m0s"},
		{"think time", "load: {think_time: 1000h}\nphases: [{name: a, duration: 1s}]\n", "4", "load.think_time: at most 1h0m0s"},
		{"value size", "phases: [{name: a, duration: 1s}]\nload: {workers: 2000}\n", "5", "load.workers: 2000 workers × 1 scenarios × value_size 1048576 B = 2000 MiB of write buffers"},
		{"ring size", "phases: [{name: a, duration: 1s}]\nchecks: {ring_size: 1000000000}\n", "5", "checks.ring_size: at most 1024"},
		{"probe delay", "phases: [{name: a, duration: 1s}]\nchecks:\n  probes: [1ms, 1000h]\n", "6", "checks.probes[1]: at most 1m0s"},
		{"NUL byte", "phases: [{name: a, duration: 1s}]\n# \x00\n", "5", "YAML syntax: control character U+0000 is not allowed"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := head + tc.body
			if tc.name == "value size" {
				body = strings.Replace(body, "{preset: a}", "{preset: a, value_size: 1048576}", 1)
			}
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, _ := invoke(t, "validate", file)
			if code != 2 || !hasProblem(out, file, tc.line, tc.msg) {
				t.Errorf("validate: exit %d, want 2 and %q at %s:%s in:\n%s", code, tc.msg, file, tc.line, out)
			}
			code, _, errs := invoke(t, "run", "--profile", file, "--out", t.TempDir(), "--metrics-addr", "off")
			if code != 2 || !hasProblem(errs, file, tc.line, tc.msg) || strings.Contains(errs, "starting local") {
				t.Errorf("run: exit %d, want 2 and %q at %s:%s before anything starts, in:\n%s", code, tc.msg, file, tc.line, errs)
			}
		})
	}
}

// hasProblem reports whether out has a line "file:line:…" containing msg.
func hasProblem(out, file, line, msg string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, file+":"+line+":") && strings.Contains(l, msg) {
			return true
		}
	}
	return false
}
