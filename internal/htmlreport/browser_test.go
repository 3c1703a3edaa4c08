package htmlreport_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/htmlreport/pagetest"
)

// TestBrowserFixture opens the fixture run's report in headless Chromium
// from file:// with the network off: no console error, no request, every
// chart drew what its data holds; the screenshot is a test artifact.
func TestBrowserFixture(t *testing.T) {
	r, err := htmlreport.Load(os.DirFS("testdata/run"))
	if err != nil {
		t.Fatal(err)
	}
	d := htmlreport.Build(r)
	file := renderFile(t, func(w io.Writer) error { return htmlreport.Render(w, d) })
	pagetest.Check(t, file, d.Charts(), pagetest.Options{Shot: "report-fixture.png"})
}

// renderFile writes the page render renders to report.html in a
// temporary directory and returns its path.
func renderFile(t *testing.T, render func(io.Writer) error) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), htmlreport.ReportFile)
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBrowserSweep opens the fixture sweep's report.html in headless
// Chromium: every curve drew its p50, p99 and p99.9 points and its knee,
// the stale ratio chart each level's values, with no console error.
func TestBrowserSweep(t *testing.T) {
	d, err := htmlreport.LoadSweep(os.DirFS("testdata/sweep"))
	if err != nil {
		t.Fatal(err)
	}
	file := renderFile(t, func(w io.Writer) error { return htmlreport.RenderSweep(w, d) })
	want := d.Charts()
	knees := 0
	for _, c := range d.Curves {
		if c.KneeAt != nil {
			knees++
		}
	}
	if len(want) != len(d.Curves)+1 || knees == 0 {
		t.Fatalf("fixture: charts %v, %d knees marked", want, knees)
	}
	pagetest.Check(t, file, want, pagetest.Options{Shot: "report-sweep.png"})
}
