package main

import (
	"encoding/json"
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
