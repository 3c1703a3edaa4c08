package bench_test

import (
	"fmt"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
)

// toySink is the example of the output seam: this file plus one Register
// line (in TestToySink) add an output that receives the run's info, every
// interval and the summary, and writes a file into the run directory.
type toySink struct {
	info      sink.Info
	intervals int
	ops       int64
	final     bool
	summary   *report.Summary
}

func (s *toySink) Start(info sink.Info) error { s.info = info; return nil }

func (s *toySink) AddInterval(t sink.Tick) error {
	s.intervals++
	for _, se := range t.Interval.Series {
		s.ops += se.Response.TotalCount()
	}
	s.final = s.final || t.Final
	return nil
}

func (s *toySink) Finish(end *sink.End) error { s.summary = end.Summary; return nil }

// WriteFiles implements sink.FileWriter.
func (s *toySink) WriteFiles(dir *sink.Dir, end *sink.End) error {
	return dir.WriteFile("toy.txt", fmt.Appendf(nil, "run %s: %d intervals, %d ops, %d scenarios\n",
		s.info.RunID, s.intervals, s.ops, len(end.Summary.Scenarios)))
}
