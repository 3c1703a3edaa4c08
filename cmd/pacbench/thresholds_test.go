package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/threshold"
)

// TestThresholdUsageErrors: a bad --threshold, or a bad thresholds: entry
// in the profile, is a usage error (exit 2) naming the flag's text or
// file:line:col, before anything starts.
func TestThresholdUsageErrors(t *testing.T) {
	t.Parallel()
	prof := writeFakeProfile(t, [2]string{"s", "f"}, [2]string{"a", "b"})
	badProf := filepath.Join(t.TempDir(), "bad.yaml")
	b, _ := os.ReadFile(prof)
	if err := os.WriteFile(badProf, append(b, "thresholds:\n  - read.p99(a) < 2 parsecs\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unit", []string{"--profile", prof, "--threshold", "read.p99 < 20mss"},
			`--threshold "read.p99 < 20mss": column 14: unknown unit "mss"`},
		{"scenario", []string{"--profile", prof, "--threshold", "x: read.p99 < 20ms"},
			`--threshold "x: read.p99 < 20ms": column 1: no scenario x (scenarios: s, f)`},
		{"phase", []string{"--profile", prof, "--threshold", "availability(c) > 0.5"},
			`column 14: no phase c (phases: a, b)`},
		{"metric", []string{"--profile", prof, "--threshold", "read.p99.9 < 1"}, `read has no metric "p99.9"`},
		{"syntax", []string{"--profile", prof, "--threshold", "read.p99"}, `column 9: want a comparison`},
		{"profile", []string{"--profile", badProf}, badProf + `:10:21: thresholds[0]: "read.p99(a) < 2 parsecs": unexpected "parsecs"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"run", "--out", out, "--metrics-addr", "off", "--quiet"}, tc.args...)
			code, _, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), args...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, want 2 and %q on stderr:\n%s", code, tc.want, stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("--out holds %v: the run started", entries)
			}
		})
	}
	code, stdout, _ := invokeEnv(t, fakeEnv(context.Background(), nil), "validate", badProf)
	if code != ExitUsage || !strings.Contains(stdout, badProf+":10:21:") {
		t.Errorf("validate: exit %d\n%s", code, stdout)
	}
}

// TestThresholdsExitCode runs the fake driver with thresholds from the
// profile and from --threshold: all passing → exit 0; one failing (or
// over a value with no data) → exit 3 with every results file written,
// the thresholds with their values in summary.json (also on stdout with
// --format json) and in the table.
func TestThresholdsExitCode(t *testing.T) {
	t.Parallel()
	// Phases of 1 s: every phase has ops even on a loaded machine (a
	// phase without reads has no stale ratio, and fails).
	b, _ := os.ReadFile(writeFakeProfile(t, [2]string{"s", "f"}, [2]string{"a", "b"}))
	yml := strings.ReplaceAll(string(b), "duration: 400ms", "duration: 1s") +
		"thresholds:\n  - {scenario: f, expr: stale_ratio == 0}\n  - kept_up == true\n"
	withTh := filepath.Join(t.TempDir(), "th.yaml")
	if err := os.WriteFile(withTh, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		format  string
		flags   []string
		code    int
		failing []string
	}{
		{"pass", "table", []string{"read.count > 0", "availability(a, b) >= 99%", "read.p99 < 10s"}, 0, nil},
		{"fail", "table", []string{"read.count > 0", "read.p99(b) < 1us"}, ExitThreshold, []string{"read.p99(b) < 1us"}},
		{"no data", "json", []string{"consistent_after < 1s"}, ExitThreshold, []string{"consistent_after < 1s"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := []string{"run", "--profile", withTh, "--out", out, "--run-id", "r", "--metrics-addr", "off",
				"--interval", "100ms", "--quiet", "--format", tc.format}
			for _, f := range tc.flags {
				args = append(args, "--threshold", f)
			}
			code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			for _, f := range []string{"summary.json", "manifest.json", "summary.csv", "intervals.hlog"} {
				if _, err := os.Stat(filepath.Join(out, "r", f)); err != nil {
					t.Errorf("results incomplete: %v", err)
				}
			}
			doc, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
			if err != nil {
				t.Fatal(err)
			}
			var s report.Summary
			if err := json.Unmarshal(doc, &s); err != nil {
				t.Fatal(err)
			}
			if len(s.Thresholds) != 2+len(tc.flags) {
				t.Fatalf("summary.json has %d thresholds, want %d: %+v", len(s.Thresholds), 2+len(tc.flags), s.Thresholds)
			}
			if r := s.Thresholds[0]; r.Source != withTh+":10" || r.Threshold != "f: stale_ratio == 0" || !r.Pass ||
				len(r.Values) != 2 || r.Values[0].Value != 0.0 {
				t.Errorf("profile threshold: %+v", r)
			}
			var failing []string
			for _, r := range threshold.Failed(s.Thresholds) {
				failing = append(failing, r.Threshold)
			}
			if strings.Join(failing, ";") != strings.Join(tc.failing, ";") {
				t.Errorf("failed thresholds %q, want %q:\n%+v", failing, tc.failing, s.Thresholds)
			}
			for _, r := range s.Thresholds[2:] {
				if r.Source != "--threshold" || len(r.Values) == 0 {
					t.Errorf("flag threshold %+v", r)
				}
			}
			switch tc.format {
			case "json":
				if stdout != string(doc)+"\n" {
					t.Errorf("--format json is not summary.json's exact copy")
				}
				if v := s.Thresholds[2].Values[0]; v.Value != nil || v.Reason != "no data (null)" {
					t.Errorf("null value: %+v", v)
				}
			default:
				want := "thresholds: all passed"
				if tc.code != 0 {
					want = fmt.Sprintf("thresholds: 1 of %d FAILED", len(s.Thresholds))
				}
				if !strings.Contains(stdout, want) || !strings.Contains(stdout, "  pass  f: stale_ratio == 0  ("+withTh+":10)") {
					t.Errorf("table lacks %q and the profile threshold:\n%s", want, stdout)
				}
			}
			if tc.code == ExitThreshold && !strings.Contains(stderr, "1 of ") {
				t.Errorf("stderr does not say which threshold failed:\n%s", stderr)
			}
		})
	}
}

// TestReportThresholds: pacbench report RUN_DIR evaluates the run's
// thresholds and --threshold's on its summary.json (exit 3 on a failure,
// summary.json unchanged); a bad --threshold is a usage error before
// report.html is touched.
func TestReportThresholds(t *testing.T) {
	t.Parallel()
	b, _ := os.ReadFile(writeFakeProfile(t, [2]string{"s", "f"}, [2]string{"a", "b"}))
	yml := strings.ReplaceAll(string(b), "duration: 400ms", "duration: 1s") + "thresholds:\n  - kept_up == true\n"
	prof := filepath.Join(t.TempDir(), "th.yaml")
	if err := os.WriteFile(prof, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if code, _, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), "run", "--profile", prof, "--out", out,
		"--run-id", "r", "--metrics-addr", "off", "--interval", "100ms", "--quiet", "--threshold", "read.count > 0"); code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(out, "r")
	before, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	html := filepath.Join(dir, "report.html")
	for _, tc := range []struct {
		name  string
		flags []string
		code  int
		want  string
	}{
		{"as run", nil, 0, "thresholds: all passed\n  pass  kept_up == true  (" + prof + ":10)"},
		{"added", []string{"--threshold", "read.p99(b) < 1us"}, ExitThreshold, "thresholds: 1 of 3 FAILED"},
		{"bad", []string{"--threshold", "x: read.p99 < 1us"}, ExitUsage, `--threshold "x: read.p99 < 1us": column 1: no scenario x`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := os.Stat(html)
			args := append([]string{"report", dir}, tc.flags...)
			code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), args...)
			if code != tc.code || !strings.Contains(stdout+stderr, tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s\n%s", code, tc.code, tc.want, stdout, stderr)
			}
			if after, _ := os.Stat(html); tc.code == ExitUsage && (after == nil || !after.ModTime().Equal(st.ModTime())) {
				t.Errorf("report.html rewritten after a usage error")
			}
		})
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "summary.json")); string(after) != string(before) {
		t.Error("pacbench report changed summary.json")
	}
}
