package report

import (
	"bytes"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/metrics"
)

// TestChecksLogReadsBack: checks.hlog parses with HdrHistogram's own log
// reader; a counter's histogram counts its events, a histogram keeps its
// observations, buckets their totals and hits; ratios and empty values
// write nothing.
func TestChecksLogReadsBack(t *testing.T) {
	t.Parallel()
	behind := metrics.NewLatencyHistogram()
	for i := int64(1); i <= 7; i++ {
		_ = behind.RecordValue(i * 1_000_000)
	}
	measures := []metrics.Measure{
		{Name: "s.checked", Kind: metrics.KindCounter},
		{Name: "s.stale", Kind: metrics.KindCounter},
		{Name: "s.ratio", Kind: metrics.KindRatio, Num: "s.stale", Den: "s.checked"},
		{Name: "s.behind", Kind: metrics.KindHistogram, Unit: metrics.UnitNanoseconds},
		{Name: "v.reads", Kind: metrics.KindBuckets, Unit: metrics.UnitNanoseconds},
	}
	iv := &metrics.Interval{StartNs: 0, EndNs: 1e9, Checks: []metrics.IntervalCell{
		{Scenario: 0, Phase: 1, Values: []metrics.Value{{Count: 40}, {Count: 7}, {}, {Hist: behind},
			{Buckets: []metrics.Bucket{{Lower: 0, Upper: 100_000, Hits: 3, Total: 5}, {Lower: 100_000, Upper: 200_000, Hits: 9, Total: 9}}}}},
		{Scenario: 1, Phase: 1, Values: []metrics.Value{{Count: 30}, {Count: 0}, {}, {}, {}}},
	}}
	var buf bytes.Buffer
	w, err := NewChecksLogWriter(&buf, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixMilli(), "test",
		NewNames([]string{"ser", "lin"}, []string{"baseline", "latency"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(iv, measures); err != nil {
		t.Fatal(err)
	}
	got := testenv.HlogCounts(t, &buf)
	want := map[string]int64{
		"ser/latency/check/s.checked/count": 40, "ser/latency/check/s.stale/count": 7,
		"ser/latency/check/s.behind/hist": 7, "ser/latency/check/v.reads/total": 14, "ser/latency/check/v.reads/hits": 12,
		"lin/latency/check/s.checked/count": 30,
	}
	if len(got) != len(want) {
		t.Errorf("tags %v, want %v", got, want)
	}
	for tag, n := range want {
		if got[tag] != n {
			t.Errorf("%s: %d, want %d", tag, got[tag], n)
		}
	}
}
