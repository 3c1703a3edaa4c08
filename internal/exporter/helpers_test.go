package exporter

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pacbench/pacbench/internal/checkers"
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

// builtin returns the run's built-in checks (sampling off).
func builtin(t testing.TB) *metrics.Checks {
	t.Helper()
	cs, err := checkers.Registry(checkers.Config{Sessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// values returns a cell's Values with the named measures set.
func values(t testing.TB, cs *metrics.Checks, set map[string]metrics.Value) []metrics.Value {
	t.Helper()
	out := make([]metrics.Value, len(cs.Measures()))
	for name, v := range set {
		i, ok := cs.Index(name)
		if !ok {
			t.Fatalf("no measure %s", name)
		}
		out[i] = v
	}
	return out
}

// visibility returns the t-visibility buckets with (hits, total) set at
// the given indexes.
func visibility(set map[int][2]int64) []metrics.Bucket {
	var out []metrics.Bucket
	var lo int64
	for i, b := range checkers.VisibilityBounds() {
		out = append(out, metrics.Bucket{Lower: lo, Upper: b, Hits: set[i][0], Total: set[i][1]})
		lo = b
	}
	return out
}

// handMade returns a small Results: scenario "linearizable" in phases
// baseline and partition, reads and writes, a few errors, stale reads and
// visibility counts. Values are chosen on bucket edges and inside buckets.
func handMade(t testing.TB) *metrics.Results {
	t.Helper()
	cs := builtin(t)
	return &metrics.Results{
		Scenarios: []string{"linearizable", "serializable"},
		Phases:    []string{"baseline", "partition"},
		Checks:    cs,
		Measures:  cs.Measures(),
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
				Values: values(t, cs, map[string]metrics.Value{
					checkers.StalenessChecked:  {Count: 12},
					checkers.StalenessStale:    {Count: 2},
					checkers.StalenessVersions: {Hist: versions(t, 1, 3)},
					checkers.StalenessBehind:   {Hist: latency(t, 800*us, 20*ms)},
					checkers.SessionRYW:        {Count: 1},
					checkers.VisibilityReads:   {Buckets: visibility(map[int][2]int64{0: {3, 5}, 3: {7, 7}})},
				}),
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
				Values: values(t, cs, map[string]metrics.Value{
					checkers.SessionMonotonic: {Count: 2},
				}),
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

// both collects the fixed and the check families (unchecked: for
// testutil's pedantic registries).
type both struct{ e *Exporter }

func (both) Describe(chan<- *prometheus.Desc) {}

func (b both) Collect(ch chan<- prometheus.Metric) {
	collector(b).Collect(ch)
	checkCollector(b).Collect(ch)
}
