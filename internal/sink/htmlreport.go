package sink

import (
	"bytes"
	"context"
	"fmt"

	"github.com/pacbench/pacbench/internal/htmlreport"
)

// reportSink writes report.html at the end of every run, partial ones
// too. It builds the page from the run directory's own files, after they
// are written (summary.json, manifest.json, the interval logs), exactly as
// `pacbench report RUN_DIR` rebuilds it later.
type reportSink struct{ files }

// NewReport is the Factory of report.html (always on).
func NewReport(context.Context, Config) (Sink, error) { return &reportSink{}, nil }

// WriteFiles implements FileWriter.
func (s *reportSink) WriteFiles(dir *Dir, end *End) error {
	if end.Summary == nil || dirHas(dir, htmlreport.ReportFile) {
		return nil
	}
	r, err := htmlreport.Load(dir.FS())
	if err != nil {
		return fmt.Errorf("%s: %w", htmlreport.ReportFile, err)
	}
	var b bytes.Buffer
	if err := htmlreport.Render(&b, htmlreport.Build(r)); err != nil {
		return err
	}
	return dir.WriteFile(htmlreport.ReportFile, b.Bytes())
}

// WriteSweepReport writes a sweep's report.html into dir, built from the
// summary.json already written there (htmlreport.RenderDir: the curves per
// level, the knees, the stale ratio against the swept value, links to the
// values' own reports), exactly as `pacbench report SWEEP_DIR` rebuilds it.
func WriteSweepReport(dir *Dir) error {
	b, err := htmlreport.RenderDir(dir.FS())
	if err != nil {
		return fmt.Errorf("%s: %w", htmlreport.ReportFile, err)
	}
	return dir.WriteFile(htmlreport.ReportFile, b)
}
