package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/htmlreport/pagetest"
	"github.com/pacbench/pacbench/internal/testenv"
)

// MaxQuickstartReport is the size report.html must stay under for the
// quickstart (issue 13).
const MaxQuickstartReport = 2 << 20

// TestReportQuickstart: a real quickstart run writes report.html by
// itself (≤ 2 MB); `pacbench report` rebuilds the same page from the
// files alone; the page opens in headless Chromium from file:// with the
// network off, with no console error, and draws every chart's data.
func TestReportQuickstart(t *testing.T) {
	testenv.Short(t)
	out := t.TempDir()
	code, _, stderr := invoke(t, "run", "--duration", "2s", "--out", out, "--run-id", "q", "--metrics-addr", "off", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(out, "q")
	file := filepath.Join(dir, htmlreport.ReportFile)
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the run wrote no report: %v", err)
	}
	if len(first) > MaxQuickstartReport {
		t.Errorf("report.html is %d bytes, more than %d", len(first), MaxQuickstartReport)
	}
	code, stdout, stderr := invoke(t, "report", dir)
	if code != 0 || strings.TrimSpace(stdout) != file {
		t.Fatalf("report: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	again, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("pacbench report built a different page from the files than the run did")
	}
	var d htmlreport.Data
	pagetest.Embedded(t, file, &d)
	if len(d.Timelines) != 4 || len(d.Spectra) == 0 || len(d.Staleness.Ratio) != 2 || len(d.Map) != 2 {
		t.Errorf("data: %d timelines, %d spectra, %d stale ratio lines, %d map points", len(d.Timelines), len(d.Spectra), len(d.Staleness.Ratio), len(d.Map))
	}
	pagetest.Check(t, file, d.Charts(), pagetest.Options{Shot: "report-quickstart.png"})
}

// TestReportUsage: bad arguments are usage errors (exit 2) naming what is
// wrong, and nothing is written.
func TestReportUsage(t *testing.T) {
	t.Parallel()
	notRun := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no argument", []string{"report"}, "accepts 1 arg"},
		{"missing directory", []string{"report", filepath.Join(notRun, "nope")}, "no such file or directory"},
		{"not a run", []string{"report", notRun}, "not a pacbench run directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code, _, stderr := invoke(t, tc.args...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, want %d with %q:\n%s", code, ExitUsage, tc.want, stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(notRun); len(entries) != 0 {
		t.Errorf("report wrote into a directory that is not a run: %v", entries)
	}
}

// TestReadmeScreenshot remakes the README's screenshot: the full built-in
// quickstart (default phase lengths), its report.html checked in headless
// Chromium like any other, the top of the page written to
// docs/report-quickstart.png. Run it with PACBENCH_README_SHOT=1.
func TestReadmeScreenshot(t *testing.T) {
	if os.Getenv("PACBENCH_README_SHOT") == "" {
		t.Skip("set PACBENCH_README_SHOT=1 to remake docs/report-quickstart.png")
	}
	out := t.TempDir()
	code, _, stderr := invoke(t, "run", "--out", out, "--run-id", "quickstart", "--metrics-addr", "off", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	file := filepath.Join(out, "quickstart", htmlreport.ReportFile)
	var d htmlreport.Data
	pagetest.Embedded(t, file, &d)
	res := pagetest.Check(t, file, d.Charts(), pagetest.Options{Shot: "readme-report-quickstart.png", ShotHeight: 1180})
	png, err := os.ReadFile(res.Screenshot)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../../docs/report-quickstart.png", png, 0o644); err != nil {
		t.Fatal(err)
	}
}
