package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/calibrate"
	"github.com/pacbench/pacbench/internal/testenv"
)

// requireCalibrate fails with a clear message while the command is not
// registered on the root (an unknown command also exits 2, which would let
// the usage cases below pass for the wrong reason).
func requireCalibrate(t *testing.T) {
	t.Helper()
	if code, _, stderr := invoke(t, "calibrate", "--help"); code != 0 || strings.Contains(stderr, "unknown command") {
		t.Fatalf("pacbench calibrate is not registered (add newCalibrateCmd(env) to newRoot): exit %d, %s", code, stderr)
	}
}

func TestCalibrateUsage(t *testing.T) {
	t.Parallel()
	requireCalibrate(t)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"bad format", []string{"--format", "xml"}, `--format: "xml"`},
		{"zero pairs", []string{"--pairs", "0"}, "--pairs: 0 is out of range"},
		{"negative duration", []string{"--duration", "-1s"}, "--duration"},
		{"bad duration", []string{"--duration", "soon"}, "--duration"},
		{"no workers", []string{"--workers", "0"}, "--workers"},
		{"read ratio above 1", []string{"--read-ratio", "1.5"}, "--read-ratio"},
		{"value size below the header", []string{"--value-size", "8"}, "value size: 8"},
		{"bad level", []string{"--level", "strong"}, `level: "strong"`},
		{"bad route", []string{"--read-via", "m9"}, `read via: "m9"`},
		{"unknown flag", []string{"--bogus"}, "unknown flag: --bogus"},
		{"rate without --open", []string{"--rate", "100"}, "--rate: 100 is out of range (or needs --open)"},
		{"zero rate", []string{"--open", "--rate", "0"}, "--rate: 0 is out of range"},
		{"compare-exe without --open", []string{"--compare-exe", "/bin/true"}, "--compare-exe"},
		{"rate above the maximum", []string{"--open", "--rate", "1e12"}, "rate: 1e+12 ops/s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := invoke(t, append([]string{"calibrate"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, ExitUsage, tc.want)
			}
		})
	}
}

// TestCalibrateJSON runs a tiny calibration on a local etcd cluster and
// checks the JSON report (figures are measurements: not asserted).
func TestCalibrateJSON(t *testing.T) {
	testenv.Short(t)
	requireCalibrate(t)
	code, stdout, stderr := invoke(t, "calibrate", "--pairs", "1", "--duration", "1s", "--warmup", "200ms",
		"--workers", "2", "--records", "50", "--read-ratio", "0.5", "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rep calibrate.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if rep.Schema != calibrate.Schema || len(rep.Pairs) != 1 || rep.Settings.ReadRatio != 0.5 || rep.Settings.Workers != 2 {
		t.Errorf("report does not reflect the flags: %+v", rep)
	}
	if p := rep.Pairs[0]; p.Raw.OK == 0 || p.Pacbench.OK == 0 {
		t.Errorf("a side ran no ops: %+v", p)
	}
	if !strings.Contains(stderr, "pair 1/1 B pacbench") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
}

// TestCalibrateOpen runs a tiny open-loop calibration on a local etcd
// cluster, both sides in child processes (this test binary re-executed as
// the CLI), and checks the JSON report's wiring: every side ran its ops at
// the rate without errors and its CPU time was sampled. The CPU figures
// are measurements (docs/performance.md): not asserted.
func TestCalibrateOpen(t *testing.T) {
	testenv.Short(t)
	requireCalibrate(t)
	t.Setenv(asCLIEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, "calibrate", "--open", "--pairs", "1", "--duration", "2s", "--warmup", "300ms",
		"--rate", "300", "--workers", "4", "--records", "50", "--compare-exe", exe, "--format", "json")
	if code != ExitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rep calibrate.OpenReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s", err, stdout)
	}
	if rep.Schema != calibrate.OpenSchema || len(rep.Pairs) != 1 || rep.Settings.Rate != 300 || rep.Settings.Workers != 4 {
		t.Fatalf("report does not reflect the flags: %+v", rep)
	}
	p := rep.Pairs[0]
	if p.Compare == nil || len(p.Order) != 3 {
		t.Fatalf("pair %+v: want three sides (raw, pacbench, compare)", p)
	}
	// 2 s at 300 ops/s: 600 intended starts in the window, one more at
	// its edge at most; pacbench skips those it could only start after the
	// phase ended (a starved machine lags by hundreds of ms), so only a
	// third of them is a sure bound.
	for name, sd := range map[string]calibrate.OpenSide{"raw": p.Raw, "pacbench": p.Pacbench, "compare": *p.Compare} {
		if sd.Ops < 200 || sd.Ops > 601 || sd.Errors != 0 || sd.CPUSeconds <= 0 || sd.ReadP99Ms < sd.ReadP50Ms || sd.ReadP50Ms <= 0 {
			t.Errorf("%s side %+v; want 200–601 ops, no errors, CPU time and ordered read percentiles", name, sd)
		}
	}
	if p.Pacbench.KeptUp == nil || p.Raw.KeptUp != nil {
		t.Errorf("kept_up: pacbench %v, raw %v; want pacbench's verdict only", p.Pacbench.KeptUp, p.Raw.KeptUp)
	}
	if !strings.Contains(stderr, "pair 1/1 compare") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
}
