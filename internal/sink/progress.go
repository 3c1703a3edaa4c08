package sink

import (
	"context"
	"fmt"
	"io"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// progressSink prints the status line (elapsed, phase, ops/s, errors, live
// p99) at most once per ProgressEvery, over the intervals since the last
// line, so a short --interval cannot flood the terminal.
type progressSink struct {
	w     io.Writer
	tty   bool
	every time.Duration

	last        time.Duration // run clock of the last line
	ops, errors int64
	ok          *hdrhistogram.Histogram // ok response times since the last line
}

// NewProgress is the Factory of the progress line, on when cfg.Progress is
// set.
func NewProgress(_ context.Context, cfg Config) (Sink, error) {
	if cfg.Progress == nil {
		return nil, nil
	}
	every := cfg.ProgressEvery
	if every <= 0 {
		every = DefaultProgressEvery
	}
	return &progressSink{w: cfg.Progress, tty: cfg.ProgressTTY, every: every, ok: metrics.NewLatencyHistogram()}, nil
}

// Start implements Sink.
func (p *progressSink) Start(Info) error { return nil }

// AddInterval implements Sink.
func (p *progressSink) AddInterval(t Tick) error {
	p.ops += t.Ops
	p.errors += t.Errors
	for _, s := range t.Interval.Series {
		if s.Key.Class == op.OK && s.Response != nil {
			p.ok.Merge(s.Response)
		}
	}
	window := t.Elapsed - p.last
	if t.Final || window < p.every-p.every/20 { // 5 % slack for ticker jitter
		return nil
	}
	rate := float64(p.ops) / window.Seconds()
	p99 := "-" // no successful op: no percentile (never 0)
	if v, ok := metrics.Quantile(p.ok, 0.99); ok {
		p99 = time.Duration(v).Round(10 * time.Microsecond).String()
	}
	line := fmt.Sprintf("%6.1fs  phase %-10s  %8.0f ops/s  errors %-6d  p99 %s", t.Elapsed.Seconds(), t.Phase, rate, p.errors, p99)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
	p.last, p.ops, p.errors = t.Elapsed, 0, 0
	p.ok.Reset()
	return nil
}

// Finish implements Sink: end the in-place line.
func (p *progressSink) Finish(*End) error {
	if p.tty {
		fmt.Fprintln(p.w)
	}
	return nil
}
