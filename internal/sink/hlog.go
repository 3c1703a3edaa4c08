package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pacbench/pacbench/internal/report"
)

// HlogFile is the interval log's name in the run directory.
const HlogFile = report.IntervalLogFile

// hlogSink streams an interval log (intervals.hlog, checks.hlog) into
// the run directory during the run (memory stays flat however long the
// run). Each interval is rendered in memory and written with one call; if
// a write fails (a full disk), the file is cut back to the last complete
// interval, the error stops the run, and the log keeps every interval
// before the failure.
type hlogSink struct {
	name   string
	open   func(w io.Writer, info Info) (addFunc, error)
	f      logFile
	buf    bytes.Buffer
	add    addFunc
	good   int64         // bytes of complete intervals in f
	upTo   time.Duration // run clock at the end of the last interval written
	failed error
}

// logFile is what the interval log needs of its file (an *os.File).
type logFile interface {
	io.WriteCloser
	io.Seeker
	Truncate(size int64) error
}

// addFunc renders one interval into a log.
type addFunc func(t Tick) error

// NewHlog is the Factory of intervals.hlog (always on).
func NewHlog(context.Context, Config) (Sink, error) {
	return &hlogSink{name: HlogFile, open: func(w io.Writer, info Info) (addFunc, error) {
		lw, err := report.NewHlogWriter(w, info.ClockBase.UnixMilli(), logComment(info), info.Names)
		if err != nil {
			return nil, err
		}
		return func(t Tick) error { return lw.Add(t.Interval) }, nil
	}}, nil
}

func logComment(info Info) string { return "pacbench " + info.Version + " run " + info.RunID }

// Start implements Sink: it creates the file and writes the header.
func (h *hlogSink) Start(info Info) error {
	f, err := info.Dir.Create(h.name)
	if err != nil {
		return err
	}
	h.f = f
	h.add, err = h.open(&h.buf, info)
	if err != nil {
		return err
	}
	return h.flush()
}

// AddInterval implements Sink.
func (h *hlogSink) AddInterval(t Tick) error {
	if h.failed != nil {
		return h.failed
	}
	if err := h.add(t); err != nil {
		return err
	}
	if err := h.flush(); err != nil {
		return err
	}
	h.upTo = t.Elapsed
	return nil
}

func (h *hlogSink) flush() error {
	defer h.buf.Reset()
	n, err := h.f.Write(h.buf.Bytes())
	if err == nil {
		h.good += int64(n)
		return nil
	}
	// Keep only complete intervals: cut the partial write off.
	if terr := h.f.Truncate(h.good); terr == nil {
		_, _ = h.f.Seek(h.good, 0)
	}
	h.failed = fmt.Errorf("write %s: %w", h.name, err)
	return h.failed
}

// Finish implements Sink: it closes the file; after a failed write it
// says how much of the run the log holds.
func (h *hlogSink) Finish(*End) error {
	if h.f == nil {
		return nil
	}
	err := h.f.Close()
	if h.failed != nil {
		return fmt.Errorf("%s holds the intervals up to %s only: %w", h.name, h.upTo.Round(time.Millisecond), h.failed)
	}
	if err != nil {
		return fmt.Errorf("close %s: %w", h.name, err)
	}
	return nil
}

// Release implements Releaser: the interval log is the largest file and
// the least needed; it goes when the summary does not fit.
func (h *hlogSink) Release(dir *Dir) (string, error) {
	if h.f == nil {
		return "", nil
	}
	h.f = nil
	if err := dir.Remove(h.name); err != nil {
		return "", err
	}
	return h.name + " removed to make room for the other results (disk full)", nil
}
