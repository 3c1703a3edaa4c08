package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/htmlreport/pagetest"
	"github.com/pacbench/pacbench/internal/report"
)

const sweepYAML = `
name: sw
system: {driver: fake, endpoints: ["fake://1"]}
workload: {records: 20, value_size: 64, mix: {read: 0.7, write: 0.3}, distribution: uniform}
load: {model: open, rate: 10, workers: 4}
levels: [{name: a, read: stale}, {name: b, read: fresh}]
phases: [{name: p1, duration: 300ms}]
`

// TestSweepCLI: --sweep runs one run per value into one directory (the
// values' runs under points/, summary.json with the sweep section,
// sweep.csv); bad sweeps are usage errors before anything starts.
func TestSweepCLI(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "sw.yaml")
	if err := os.WriteFile(prof, []byte(sweepYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sweep string
		extra       []string
		errText     string
	}{
		{"no values", "load.rate", nil, `--sweep: bad sweep: "load.rate": want PATH=VALUES`},
		{"no count", "load.rate=1..10", nil, `want A..BxN (geometric, N values) or A..B+S (linear, step S)`},
		{"count too small", "load.rate=1..10x1", nil, "the count after x must be an integer in [2, 100]"},
		{"zero step", "load.rate=1..10+0", nil, "the step after + must be > 0"},
		{"unknown path", "load.rat=1..10x2", nil, `override --sweep load.rat=1: load.rat: unknown path: load has no key "rat" (did you mean "rate"?)`},
		{"bad value for the field", "load.rate=-5,10", nil, "override --sweep load.rate=-5: load.rate"},
		{"negative bound", "load.rate=1..10x2", []string{"--knee-p99", "-1s"}, "--knee-p99: must be positive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string{"run", "--profile", prof, "--sweep", tc.sweep, "--out", out, "--metrics-addr", "off"}, tc.extra...)
			code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), args...)
			if code != 2 || !strings.Contains(stderr, tc.errText) {
				t.Fatalf("exit %d, want 2 with %q\n%s\n%s", code, tc.errText, stdout, stderr)
			}
			if entries, _ := os.ReadDir(out); len(entries) != 0 {
				t.Errorf("a usage error wrote %v", entries)
			}
		})
	}
	t.Run("a sweep of three rates", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), "run", "--profile", prof, "--sweep", "load.rate=10..40x3",
			"--sweep-warmup", "200ms", "--knee-p99", "30s", "--out", out, "--run-id", "s", "--metrics-addr", "off", "--quiet")
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		for _, w := range []string{"sweep of load.rate over 3 values; knee: p99 ≤ 30000 ms", "a, phase p1", "b, phase p1", "knee: "} {
			if !strings.Contains(stdout, w) {
				t.Errorf("stdout lacks %q:\n%s", w, stdout)
			}
		}
		checkSweepDir(t, filepath.Join(out, "s"), []string{"10", "20", "40"})
		checkSweepReport(t, filepath.Join(out, "s"))
	})
}

// checkSweepReport: the sweep's directory has its own report.html (the
// sweep's page: a curve per level × op, each value's report linked and
// there), and `pacbench report SWEEP_DIR` rebuilds the same page.
func checkSweepReport(t *testing.T, dir string) {
	t.Helper()
	file := filepath.Join(dir, htmlreport.ReportFile)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the sweep wrote no report: %v", err)
	}
	var d htmlreport.SweepData
	pagetest.Embedded(t, file, &d)
	var sum report.Summary
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
	curves, stale := 0, map[string]bool{}
	for _, c := range sum.Sweep.Curves {
		ops := map[string]bool{}
		for _, p := range c.Points {
			for op := range p.Ops {
				ops[op] = true
			}
			if p.StaleRatio != nil {
				stale[c.Phase] = true
			}
		}
		curves += len(ops)
	}
	if d.Schema != htmlreport.SweepSchema || curves < 2 || len(d.Curves) != curves || len(d.Stale) != len(stale) || len(d.Points) != 3 {
		t.Errorf("sweep page: schema %q, %d curves (the summary has %d level × op), %d stale charts (%d phases checked reads), %d points",
			d.Schema, len(d.Curves), curves, len(d.Stale), len(stale), len(d.Points))
	}
	for _, p := range d.Points {
		if !p.Exists {
			t.Errorf("value %s: its report %q is not linked or not there", p.Value, p.Report)
		}
	}
	code, stdout, stderr := invoke(t, "report", dir)
	if code != 0 || strings.TrimSpace(stdout) != file {
		t.Fatalf("report: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	if again, err := os.ReadFile(file); err != nil || !bytes.Equal(first, again) {
		t.Errorf("pacbench report built a different sweep page from the files than the sweep did (%v)", err)
	}
}

// checkSweepDir: the sweep's directory holds every value's complete run
// (with its recorded warm-up phase), and summary.json's curves agree
// with them and with the knee's definition.
func checkSweepDir(t *testing.T, dir string, values []string) {
	t.Helper()
	var sum report.Summary
	readJSON(t, filepath.Join(dir, "summary.json"), &sum)
	sw := sum.Sweep
	if sw == nil || sw.Param != "load.rate" || strings.Join(sw.Values, ",") != strings.Join(values, ",") || len(sw.Points) != len(values) {
		t.Fatalf("sweep section %+v, want load.rate over %v", sw, values)
	}
	if len(sw.Curves) != 2 {
		t.Fatalf("%d curves, want one per level (2)", len(sw.Curves))
	}
	for i, p := range sw.Points {
		if p.Error != "" || p.Dir == "" {
			t.Fatalf("value %s: %+v", p.Value, p)
		}
		var ps report.Summary
		readJSON(t, filepath.Join(dir, p.Dir, "summary.json"), &ps)
		if len(ps.Scenarios) != 2 || ps.Scenarios[0].Phases[0].Name != "warmup" || ps.Scenarios[0].Phases[1].Name != "p1" {
			t.Fatalf("value %s: scenarios/phases %+v", p.Value, ps.Scenarios)
		}
		for ci, c := range sw.Curves {
			cp := c.Points[i]
			if cp.Value != p.Value || cp.WarmupOps == 0 || cp.StartedOps <= 0 {
				t.Errorf("curve %d value %s: %+v", ci, p.Value, cp)
			}
			if got, want := cp.Ops["read"].P99, ps.Scenarios[ci].Phases[1].Ops["read"].LatencyMs.P99; got == nil || *got != *want {
				t.Errorf("curve %d value %s: read p99 %v, the value's summary has %v", ci, p.Value, got, want)
			}
		}
	}
	for _, c := range sw.Curves {
		// Fake ops take microseconds: with a 30 s bound the knee ends only
		// where the (loaded) machine fell behind.
		n := 0
		for n < len(c.Points) && !c.Points[n].FellBehind {
			n++
		}
		switch {
		case n == 0 && c.Knee != nil, n > 0 && (c.Knee == nil || *c.Knee != c.Points[n-1].Value):
			t.Errorf("%s: knee %v (%s), but the first %d values did not fall behind", c.Scenario, c.Knee, c.KneeReason, n)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "sweep.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if rows := strings.Count(string(b), "\n"); rows < 1+2*len(values) {
		t.Errorf("sweep.csv has %d lines, want a header and a row per level × value × op:\n%s", rows, b)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
