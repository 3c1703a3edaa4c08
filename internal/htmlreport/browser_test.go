package htmlreport_test

import (
	"bytes"
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
	file := filepath.Join(t.TempDir(), htmlreport.ReportFile)
	var buf bytes.Buffer
	if err := htmlreport.Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pagetest.Check(t, file, d.Charts(), pagetest.Options{Shot: "report-fixture.png"})
}
