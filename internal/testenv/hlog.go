package testenv

import (
	"io"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// HlogCounts reads an HdrHistogram interval log with HdrHistogram's own log
// reader and returns the total count of each tag; a log it cannot parse
// fails the test.
func HlogCounts(t testing.TB, r io.Reader) map[string]int64 {
	t.Helper()
	lr := hdrhistogram.NewHistogramLogReader(r)
	counts := map[string]int64{}
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("read hlog: %v", err)
		}
		if h == nil {
			return counts
		}
		counts[h.Tag()] += h.TotalCount()
	}
}
