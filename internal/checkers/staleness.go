package checkers

import (
	"math"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Staleness is the staleness check (DESIGN.md, "Staleness"): for every
// checked read, the oracle's verdict (stale iff it returned a seq below the
// newest acked before it was invoked) counted per phase, with the version
// and time staleness of the stale reads.
type Staleness struct{}

// Staleness measure names.
const (
	StalenessChecked    = "staleness.checked"
	StalenessStale      = "staleness.stale"
	StalenessRatio      = "staleness.stale_ratio"
	StalenessUnchecked  = "staleness.unchecked"
	StalenessLowerBound = "staleness.lower_bound"
	StalenessVersions   = "staleness.versions"
	StalenessBehind     = "staleness.behind"
)

// Measure indexes within Staleness.Measures.
const (
	mChecked = iota
	mStale
	mRatio
	mUnchecked
	mLowerBound
	mVersions
	mBehind
)

// Name implements metrics.Check.
func (Staleness) Name() string { return "staleness" }

// Measures implements metrics.Check.
func (Staleness) Measures() []metrics.Measure {
	return []metrics.Measure{
		{Name: StalenessChecked, Kind: metrics.KindCounter, Help: "Reads the staleness oracle could judge.",
			Metric: metrics.Metric{Name: "pacbench_stale_checked_reads_total",
				Help: "Reads the staleness oracle could judge (denominator of the stale-read ratio)."}},
		{Name: StalenessStale, Kind: metrics.KindCounter,
			Help: "Checked reads that returned a version older than the newest acked before the read.",
			Metric: metrics.Metric{Name: "pacbench_stale_reads_total",
				Help: "Checked reads that returned a version older than the newest acked before the read."}},
		{Name: StalenessRatio, Kind: metrics.KindRatio, Num: StalenessStale, Den: StalenessChecked,
			Help: "Fraction of the checked reads that were stale."},
		{Name: StalenessUnchecked, Kind: metrics.KindCounter,
			Help: "Successful reads the oracle could not judge (untracked key, no acked write yet, history forgotten, foreign value)."},
		{Name: StalenessLowerBound, Kind: metrics.KindCounter,
			Help: "Stale reads whose time staleness is only a lower bound (the oracle forgot older writes)."},
		{Name: StalenessVersions, Kind: metrics.KindHistogram, Unit: metrics.UnitVersions,
			Help: "Version staleness of stale reads: acked versions they missed.",
			Metric: metrics.Metric{Name: "pacbench_read_staleness_versions",
				Help: "Version staleness of stale reads: acked versions they missed."}},
		{Name: StalenessBehind, Kind: metrics.KindHistogram, Unit: metrics.UnitNanoseconds,
			Help: "Time staleness of stale reads: read invoke minus ack time of the first version they missed (ns).",
			Metric: metrics.Metric{Name: "pacbench_read_staleness_seconds",
				Help: "Time staleness of stale reads: read invoke minus ack time of the first version they missed."}},
	}
}

// quantiles are the statistics of the staleness histograms in the summary.
func quantiles() []metrics.Stat {
	return []metrics.Stat{{Key: "p50", Q: 0.5}, {Key: "p99", Q: 0.99}, {Key: "max", Q: 1}}
}

// Layout implements metrics.Check: ops.read.staleness in the summary, the
// stale_* columns of the CSV, "stale" and "staleness p50" in the table.
func (Staleness) Layout() metrics.Layout {
	f := func(key, m string, stats []metrics.Stat) metrics.Field {
		return metrics.Field{Scope: metrics.ScopeOp, Op: op.Read, Group: "staleness", Key: key, Measure: m, Stats: stats}
	}
	c := func(name, m string, q float64) metrics.Column {
		return metrics.Column{Name: name, Scope: metrics.ScopeOp, Op: op.Read, Measure: m, Stat: metrics.Stat{Q: q}}
	}
	return metrics.Layout{
		Fields: []metrics.Field{
			f("checked", StalenessChecked, nil), f("stale", StalenessStale, nil), f("stale_ratio", StalenessRatio, nil),
			f("versions", StalenessVersions, quantiles()), f("ms", StalenessBehind, quantiles()),
		},
		Columns: []metrics.Column{
			c("stale_checked", StalenessChecked, 0), c("stale", StalenessStale, 0), c("stale_ratio", StalenessRatio, 0),
			c("staleness_ms_p50", StalenessBehind, 0.5), c("staleness_ms_p99", StalenessBehind, 0.99),
			c("staleness_versions_p50", StalenessVersions, 0.5),
		},
		Table: []metrics.Column{c("stale", StalenessRatio, 0), c("staleness p50", StalenessBehind, 0.5)},
	}
}

// NewWorker implements metrics.Check: the check keeps no per-worker state.
func (Staleness) NewWorker(metrics.WorkerInfo) metrics.CheckWorker { return &stalenessWorker{} }

type stalenessWorker struct{}

func (*stalenessWorker) Read(ev *metrics.Read, t metrics.Tally) {
	if ev.Class != op.OK {
		return
	}
	st := &ev.Staleness
	if !st.Tracked {
		t.Add(mUnchecked, 1)
		return
	}
	t.Add(mChecked, 1)
	if !st.Stale {
		return
	}
	t.Add(mStale, 1)
	if st.LowerBound {
		t.Add(mLowerBound, 1)
	}
	t.Observe(mVersions, int64(min(st.Versions, math.MaxInt64)))
	t.Observe(mBehind, st.BehindNs)
}
