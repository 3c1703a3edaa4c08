package report

import (
	"fmt"
	"io"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
)

// File names of the interval logs in a run directory.
const (
	// IntervalLogFile holds every series' latencies per interval.
	IntervalLogFile = "intervals.hlog"
	// ChecksLogFile holds every (scenario, phase)'s check measurements per
	// interval.
	ChecksLogFile = "checks.hlog"
)

// CheckOp is the op slot of every checks log tag:
// scenario/phase/check/<measure>/<part>.
const CheckOp = "check"

// Parts of a checks log tag: how a measure's interval value is written as
// an HdrHistogram.
const (
	// PartCount (KindCounter): one value 0 per event; the histogram's
	// count is the counter's value over the interval.
	PartCount = "count"
	// PartHist (KindHistogram): the interval's observations, in the
	// measure's unit (ns, versions).
	PartHist = "hist"
	// PartTotal and PartHits (KindBuckets): one value per event at its
	// bucket's lower bound; all events, and the hits among them.
	PartTotal = "total"
	PartHits  = "hits"
)

// CheckTag returns the checks log tag of a (scenario, phase), measure and
// part.
func (n Names) CheckTag(scenario, phase int, measure, part string) string {
	return n.Scenario(scenario) + "/" + n.Phase(phase) + "/" + CheckOp + "/" + measure + "/" + part
}

// ChecksLogWriter streams the checks interval log (HdrHistogram log format
// 1.3, on the interval log's time base): per interval and (scenario,
// phase), every counter, histogram and bucket measure the checks
// published (ratios are derived from their counters; verdicts come at the
// end, in the summary). It makes every check's measurements over time —
// the stale ratio, the staleness distributions — derivable from the files
// of a run, whatever the check. Safe for concurrent use.
type ChecksLogWriter struct {
	mu    sync.Mutex
	w     *hdrhistogram.HistogramLogWriter
	base  int64
	names Names
	count *hdrhistogram.Histogram
}

// NewChecksLogWriter starts a checks log on sink whose timestamps are
// relative to baseMs (ms since the epoch), tagging with names.
func NewChecksLogWriter(sink io.Writer, baseMs int64, comment string, names Names) (*ChecksLogWriter, error) {
	w, err := newLogWriter(sink, baseMs, comment,
		"tag = scenario/phase/check/measure/part: count (a counter: its events as values 0), hist (a histogram, in the measure's unit), total and hits (buckets: events at their bucket's lower bound)")
	if err != nil {
		return nil, fmt.Errorf("checks log: header: %w", err)
	}
	return &ChecksLogWriter{w: w, base: baseMs, names: names, count: hdrhistogram.New(1, 2, 1)}, nil
}

// Add writes the check measurements of an interval; measures describe
// iv.Checks' values (metrics.Checks.Measures).
func (c *ChecksLogWriter) Add(iv *metrics.Interval, measures []metrics.Measure) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	startMs, endMs := intervalMs(c.base, iv)
	for _, cell := range iv.Checks {
		for i, v := range cell.Values {
			if i >= len(measures) {
				break
			}
			m := measures[i]
			for _, p := range c.parts(m, v) {
				if p.hist == nil || p.hist.TotalCount() == 0 {
					continue
				}
				p.hist.SetTag(c.names.CheckTag(cell.Scenario, cell.Phase, m.Name, p.part))
				p.hist.SetStartTimeMs(startMs)
				p.hist.SetEndTimeMs(endMs)
				if err := c.w.OutputIntervalHistogram(p.hist); err != nil {
					return fmt.Errorf("checks log: %w", err)
				}
			}
		}
	}
	return nil
}

type part struct {
	part string
	hist *hdrhistogram.Histogram
}

// parts renders one measure's interval value.
func (c *ChecksLogWriter) parts(m metrics.Measure, v metrics.Value) []part {
	switch m.Kind {
	case metrics.KindCounter:
		c.count.Reset()
		_ = c.count.RecordValues(0, v.Count)
		return []part{{PartCount, c.count}}
	case metrics.KindHistogram:
		return []part{{PartHist, v.Hist}}
	case metrics.KindBuckets:
		total, hits := metrics.NewLatencyHistogram(), metrics.NewLatencyHistogram()
		if m.Unit != metrics.UnitNanoseconds {
			total, hits = metrics.NewVersionsHistogram(), metrics.NewVersionsHistogram()
		}
		for _, b := range v.Buckets {
			_ = total.RecordValues(b.Lower, b.Total)
			_ = hits.RecordValues(b.Lower, b.Hits)
		}
		return []part{{PartTotal, total}, {PartHits, hits}}
	}
	return nil
}
