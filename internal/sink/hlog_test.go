package sink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// smallFile is a file on a file system with room for limit bytes: a write
// past it is cut short with ENOSPC, as on a full disk.
type smallFile struct {
	b     []byte
	off   int64
	limit int
}

func (f *smallFile) Write(p []byte) (int, error) {
	room := f.limit - int(f.off)
	n := min(len(p), max(room, 0))
	f.b = append(f.b[:f.off], p[:n]...)
	f.off += int64(n)
	if n < len(p) {
		return n, fmt.Errorf("write intervals.hlog: %w", syscall.ENOSPC)
	}
	return n, nil
}

func (f *smallFile) Truncate(size int64) error { f.b = f.b[:size]; return nil }
func (f *smallFile) Close() error              { return nil }
func (f *smallFile) Seek(off int64, whence int) (int64, error) {
	if whence != io.SeekStart {
		return 0, errors.New("unsupported")
	}
	f.off = off
	return off, nil
}

// TestHlogFullDisk: when the disk fills, the interval log is cut back to
// its last complete interval (still readable), the error stops the run,
// later intervals are refused, and Finish says how much the log holds.
func TestHlogFullDisk(t *testing.T) {
	t.Parallel()
	for _, limit := range []int{600, 2000, 5000} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			t.Parallel()
			f := &smallFile{limit: limit}
			names := report.NewNames([]string{"s"}, []string{"p"})
			h := &hlogSink{name: HlogFile, f: f}
			var err error
			lw, err := report.NewHlogWriter(&h.buf, 0, "test", names)
			if err != nil {
				t.Fatal(err)
			}
			h.add = func(t Tick) error { return lw.Add(t.Interval) }
			if err := h.flush(); err != nil {
				t.Fatalf("header: %v", err)
			}
			rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"p"}, Keys: 1})
			w := rec.NewWorker(0, 1)
			var failed error
			intervals := 0
			for i := 1; i <= 100 && failed == nil; i++ {
				now := rec.Clock().Now()
				for j := int64(1); j <= 50; j++ {
					w.RecordAt(0, op.Read, op.OK, now, j*int64(i)*1000, j*1000)
				}
				failed = h.AddInterval(Tick{Interval: rec.Collect(now + 1), Elapsed: time.Duration(i) * 100 * time.Millisecond})
				if failed == nil {
					intervals++
				}
			}
			if !errors.Is(failed, syscall.ENOSPC) {
				t.Fatalf("no ENOSPC after %d intervals: %v", intervals, failed)
			}
			if len(f.b) == 0 || f.b[len(f.b)-1] != '\n' {
				t.Fatalf("log not cut at a complete interval: %q", f.b)
			}
			counts := testenv.HlogCounts(t, bytes.NewReader(f.b))
			if got := counts["s/p/read/ok/response"]; got != int64(50*intervals) {
				t.Errorf("log holds %d ops of %d complete intervals, want %d", got, intervals, 50*intervals)
			}
			if err := h.AddInterval(Tick{Interval: rec.Collect(rec.Clock().Now())}); !errors.Is(err, syscall.ENOSPC) {
				t.Errorf("interval after the failure: %v, want the failure again", err)
			}
			if err := h.Finish(&End{}); err == nil || !strings.Contains(err.Error(), "holds the intervals up to") {
				t.Errorf("Finish = %v", err)
			}
		})
	}
}
