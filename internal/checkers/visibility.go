package checkers

import (
	"github.com/pacbench/pacbench/metrics"
)

// Visibility is the t-visibility check (DESIGN.md, "Staleness"): every
// checked read is counted in a log bucket of t = its invocation time minus
// the ack time of the newest write acked before it, as fresh or not;
// fresh/total per bucket is the PBS curve P(consistent | t).
type Visibility struct{}

// VisibilityReads is the measure name.
const VisibilityReads = "visibility.reads"

// NumVisibilityBuckets is the number of t-visibility buckets: "<0.1ms",
// then one per 1-2-5 step from 0.1 ms to 10 s, the last one open-ended.
const NumVisibilityBuckets = 17

// VisibilityBounds returns the buckets' exclusive upper bounds in ns
// (0.1 ms, 0.2 ms, 0.5 ms, 1 ms … 10 s, then metrics.OpenBound); a new
// slice each call.
func VisibilityBounds() []int64 {
	b := make([]int64, NumVisibilityBuckets)
	steps := [3]int64{1, 2, 5}
	decade := int64(100_000)
	for i := 0; i < NumVisibilityBuckets-1; i++ {
		b[i] = decade * steps[i%3]
		if i%3 == 2 {
			decade *= 10
		}
	}
	b[NumVisibilityBuckets-1] = metrics.OpenBound
	return b
}

// Name implements metrics.Check.
func (Visibility) Name() string { return "visibility" }

// Measures implements metrics.Check.
func (Visibility) Measures() []metrics.Measure {
	return []metrics.Measure{{
		Name: VisibilityReads, Kind: metrics.KindBuckets, Unit: metrics.UnitNanoseconds, Bounds: VisibilityBounds(),
		Help: "Checked reads by time since the newest acked version (ns), and whether they saw it (hits: fresh).",
		Metric: metrics.Metric{Name: "pacbench_visibility_reads_total",
			Help:        "Checked reads by time since the newest acked version (t_le: bucket upper bound in seconds) and whether they saw it.",
			BucketLabel: "t_le", HitLabel: "fresh"},
	}}
}

// Layout implements metrics.Check: the phase's "visibility" list.
func (Visibility) Layout() metrics.Layout {
	return metrics.Layout{Fields: []metrics.Field{{Scope: metrics.ScopePhase, Key: "visibility", Measure: VisibilityReads,
		BucketKeys: [3]string{"t_ms", "p_consistent", "n"}}}}
}

// NewWorker implements metrics.Check: no per-worker state.
func (Visibility) NewWorker(metrics.WorkerInfo) metrics.CheckWorker { return &visibilityWorker{} }

type visibilityWorker struct{}

func (*visibilityWorker) Read(ev *metrics.Read, t metrics.Tally) {
	if st := &ev.Staleness; st.Tracked && st.SinceAckNs >= 0 {
		t.Bucket(0, st.SinceAckNs, !st.Stale)
	}
}
