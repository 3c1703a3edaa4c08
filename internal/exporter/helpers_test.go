package exporter

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// latency returns a latency histogram holding values (ns).
func latency(t testing.TB, values ...int64) *hdrhistogram.Histogram {
	t.Helper()
	h := metrics.NewLatencyHistogram()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// versions returns a versions histogram holding values.
func versions(t testing.TB, values ...int64) *hdrhistogram.Histogram {
	t.Helper()
	h := metrics.NewVersionsHistogram()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

const (
	ms = int64(1_000_000)
	us = int64(1_000)
)

// handMade returns a small Results: scenario "linearizable" in phases
// baseline and partition, reads and writes, a few errors, stale reads and
// visibility counts. Values are chosen on bucket edges and inside buckets.
func handMade(t testing.TB) *metrics.Results {
	t.Helper()
	vis := metrics.VisibilityBuckets()
	vis[0].Fresh, vis[0].Total = 3, 5
	vis[3].Fresh, vis[3].Total = 7, 7
	return &metrics.Results{
		Scenarios: []string{"linearizable", "serializable"},
		Phases:    []string{"baseline", "partition"},
		Cells: []*metrics.Cell{
			{
				Scenario: 0, Phase: 0,
				Ops: map[op.Kind]*metrics.OpStats{
					op.Read: {
						Count: 5, OK: 4,
						Errors:   map[op.Class]int64{op.Timeout: 1},
						Response: map[op.Class]*hdrhistogram.Histogram{op.OK: latency(t, 100*us, 1*ms, 1*ms, 3*ms), op.Timeout: latency(t, 2000*ms)},
						Service:  map[op.Class]*hdrhistogram.Histogram{op.OK: latency(t, 90*us, 900*us, 1*ms, 2*ms), op.Timeout: latency(t, 2000*ms)},
					},
					op.Write: {
						Count: 2, OK: 2,
						Errors:   map[op.Class]int64{},
						Response: map[op.Class]*hdrhistogram.Histogram{op.OK: latency(t, 5*ms, 50*ms)},
						Service:  map[op.Class]*hdrhistogram.Histogram{op.OK: latency(t, 5*ms, 50*ms)},
					},
				},
				Staleness: metrics.StalenessStats{
					Checked: 12, Stale: 2,
					Versions: versions(t, 1, 3),
					Behind:   latency(t, 800*us, 20*ms),
				},
				RYWViolations: 1, MonotonicViolations: 0,
				Visibility: vis,
			},
			{
				Scenario: 1, Phase: 1,
				Ops: map[op.Kind]*metrics.OpStats{
					op.Read: {
						Count: 3, OK: 0,
						Errors:   map[op.Class]int64{op.Unavailable: 3},
						Response: map[op.Class]*hdrhistogram.Histogram{op.Unavailable: latency(t, 1*ms, 1*ms, 1*ms)},
						Service:  map[op.Class]*hdrhistogram.Histogram{op.Unavailable: latency(t, 1*ms, 1*ms, 1*ms)},
					},
				},
				Staleness: metrics.StalenessStats{
					Versions: metrics.NewVersionsHistogram(),
					Behind:   metrics.NewLatencyHistogram(),
				},
				MonotonicViolations: 2,
				Visibility:          metrics.VisibilityBuckets(),
			},
		},
	}
}

// handMadeInterval is an interval in which only (linearizable, baseline)
// ran: its ok reads and its write.
func handMadeInterval(t testing.TB) *metrics.Interval {
	t.Helper()
	return &metrics.Interval{
		Series: []metrics.IntervalSeries{
			{Key: metrics.SeriesKey{Scenario: 0, Phase: 0, Kind: op.Read, Class: op.OK},
				Response: latency(t, 100*us, 1*ms, 1*ms, 3*ms), Service: latency(t, 90*us, 900*us, 1*ms, 2*ms)},
			{Key: metrics.SeriesKey{Scenario: 0, Phase: 0, Kind: op.Write, Class: op.OK},
				Response: latency(t, 5*ms, 50*ms), Service: latency(t, 5*ms, 50*ms)},
		},
	}
}

// newTest returns an exporter with a private registry.
func newTest(t testing.TB, o Options) *Exporter {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
