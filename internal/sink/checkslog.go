package sink

import (
	"context"
	"io"

	"github.com/pacbench/pacbench/internal/report"
)

// ChecksLogFile is the checks interval log's name in the run directory:
// per interval, every (scenario, phase)'s check measurements (staleness
// counters and histograms, visibility buckets, …), so that they can be
// drawn over time from the files (report.html).
const ChecksLogFile = report.ChecksLogFile

// NewChecksLog is the Factory of checks.hlog (always on; a run without
// check measurements writes the header only).
func NewChecksLog(context.Context, Config) (Sink, error) {
	return &hlogSink{name: ChecksLogFile, open: func(w io.Writer, info Info) (addFunc, error) {
		lw, err := report.NewChecksLogWriter(w, info.ClockBase.UnixMilli(), logComment(info), info.Names)
		if err != nil {
			return nil, err
		}
		return func(t Tick) error {
			if t.Checks == nil {
				return nil
			}
			return lw.Add(t.Interval, t.Checks.Measures())
		}, nil
	}}, nil
}
