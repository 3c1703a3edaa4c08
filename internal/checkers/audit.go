package checkers

import (
	"sort"
	"sync"

	"github.com/pacbench/pacbench/metrics"
)

// Audit is the lost-write audit (DESIGN.md, "lost acknowledged write"). On
// the record path it logs, per tracked key, the writes of the last
// AuditConfig.History issued (seq, scenario and phase, acked
// or indeterminate) and counts acknowledged and indeterminate writes per
// phase. After a group of scenarios ran its last phase, the runner reads
// every key the group wrote once at the system's strongest level
// (drivers.Auditor) and hands the final values to Judge, which counts per
// (scenario, phase in which the write was issued):
//
//   - lost: acknowledged writes above the final value's seq (with one
//     writer at a time per key, exactly the writes the database kept an
//     older value over, against real-time order);
//   - unknown: acknowledged writes of keys whose final read failed or
//     returned a value pacbench did not write there (never lost, never
//     fine);
//   - indeterminate (live): writes that failed or timed out (they may have
//     taken effect; never lost, never fine), and of them the ones the audit
//     found as the final value.
//
// A write is lost only if it was invoked after the final value's write
// had returned (the logs keep each write's invocation and return times):
// with split-brain writers (routes.split_brain), whose writes of a key
// overlap during a partition, the conflict's loser is not lost when it
// overlapped the winner, and is when the winner had already returned.
//
// Writes of one key reach the check one at a time (the runner holds the
// key's oracle lock while it reports a write), so the per-key logs, shared
// by all workers, need no lock of their own. Memory: about 64 bytes per
// tracked key plus 24 per logged write (at most History per key).
type Audit struct {
	cfg   AuditConfig
	once  sync.Once
	logs  []auditLog // by key index; allocated at the first NewWorker
	cells int        // scenarios × phases
}

// AuditConfig configures the audit check.
type AuditConfig struct {
	// Off disables the audit (no measures are recorded).
	Off bool
	// Scenarios and Phases are the run's counts (cells are scenario ×
	// phase; at most MaxAuditCells).
	Scenarios, Phases int
	// History bounds the writes logged per key (0: DefaultAuditHistory).
	// A key whose final value is older than its oldest logged write has a
	// lost count that is a lower bound.
	History int
}

// Audit defaults and bounds.
const (
	// DefaultAuditHistory is the writes logged per key by default.
	DefaultAuditHistory = 16
	// MaxAuditHistory bounds AuditConfig.History.
	MaxAuditHistory = 1 << 16
	// MaxAuditCells bounds scenarios × phases (the cell field of a logged
	// write); beyond it the audit is off.
	MaxAuditCells = 1 << cellBits
	// auditExamples is how many lost writes a phase's evidence names.
	auditExamples = 5
)

// Audit measure names.
const (
	AuditAcked              = "audit.acked"
	AuditIndeterminate      = "audit.indeterminate"
	AuditLost               = "audit.lost"
	AuditUnknown            = "audit.unknown"
	AuditIndeterminateFound = "audit.indeterminate_found"
	AuditConvergence        = "audit.convergence"
	AuditIntact             = "audit.intact"
)

// Measure indexes within Audit.Measures.
const (
	mAuditAcked = iota
	mAuditIndeterminate
)

// NewAudit returns the audit check.
func NewAudit(c AuditConfig) *Audit {
	if c.History <= 0 {
		c.History = DefaultAuditHistory
	}
	c.History = min(c.History, MaxAuditHistory)
	a := &Audit{cfg: c, cells: max(c.Scenarios, 1) * max(c.Phases, 1)}
	if a.cells > MaxAuditCells {
		a.cfg.Off = true
	}
	return a
}

// Name implements metrics.Check.
func (*Audit) Name() string { return "audit" }

// Measures implements metrics.Check.
func (*Audit) Measures() []metrics.Measure {
	fam := metrics.Metric{Name: "pacbench_audit_writes_total",
		Help: "Writes of tracked keys by what the lost-write audit found, per phase in which they were issued (result: acked, indeterminate, lost, unknown, indeterminate_found)."}
	res := func(v string) metrics.Metric {
		m := fam
		m.Labels = []metrics.Label{{Name: "result", Value: v}}
		return m
	}
	return []metrics.Measure{
		{Name: AuditAcked, Kind: metrics.KindCounter, Metric: res("acked"),
			Help: "Acknowledged writes of tracked keys."},
		{Name: AuditIndeterminate, Kind: metrics.KindCounter, Metric: res("indeterminate"),
			Help: "Writes that failed or timed out: they may have taken effect (never lost, never fine)."},
		{Name: AuditIntact, Kind: metrics.KindVerdict,
			Help: "Whether every acknowledged write of the phase survived (false: some were lost; null: some fates unknown, or not audited)."},
		{Name: AuditLost, Kind: metrics.KindCounter, Given: AuditIntact, Metric: res("lost"),
			Help: "Acknowledged writes the audit found lost: the key's final value is older (lower seq)."},
		{Name: AuditUnknown, Kind: metrics.KindCounter, Given: AuditIntact, Metric: res("unknown"),
			Help: "Acknowledged writes of keys whose final read failed or returned a foreign value: their fate is unknown."},
		{Name: AuditIndeterminateFound, Kind: metrics.KindCounter, Given: AuditIntact, Metric: res("indeterminate_found"),
			Help: "Indeterminate writes the audit found as their key's final value (they took effect)."},
		{Name: AuditConvergence, Kind: metrics.KindHistogram, Unit: metrics.UnitNanoseconds,
			Help: "Per sampled key, time from the heal until every member returned the same value (weakest level, pinned reads), ns.",
			Metric: metrics.Metric{Name: "pacbench_audit_convergence_seconds",
				Help: "Per sampled key, time from the heal until every member returned the same value."}},
	}
}

// Layout implements metrics.Check: phases[].audit in the summary, the
// *_writes columns of the CSV and a verdict section in the table.
func (*Audit) Layout() metrics.Layout {
	f := func(key, m string) metrics.Field {
		return metrics.Field{Scope: metrics.ScopePhase, Group: "audit", Key: key, Measure: m}
	}
	c := func(name, m string) metrics.Column {
		return metrics.Column{Name: name, Scope: metrics.ScopePhase, Measure: m, Trailing: true}
	}
	conv := f("convergence_ms", AuditConvergence)
	conv.Stats = quantiles()
	intact := f("intact", AuditIntact)
	intact.EvidenceKey = "evidence"
	return metrics.Layout{
		Fields: []metrics.Field{
			f("acked", AuditAcked), f("lost", AuditLost), f("indeterminate", AuditIndeterminate),
			f("unknown", AuditUnknown), f("indeterminate_found", AuditIndeterminateFound),
			conv, intact,
		},
		Columns: []metrics.Column{
			c("acked_writes", AuditAcked), c("lost_writes", AuditLost), c("indeterminate_writes", AuditIndeterminate),
			c("unknown_writes", AuditUnknown),
			{Name: "convergence_ms_max", Scope: metrics.ScopePhase, Measure: AuditConvergence, Stat: metrics.Stat{Q: 1}, Trailing: true},
		},
		Sections: []metrics.Section{{
			Title:   "acknowledged writes intact? (lost-write audit at the strongest level, after the last heal)",
			Measure: AuditIntact}},
	}
}

// NewWorker implements metrics.Check.
func (a *Audit) NewWorker(info metrics.WorkerInfo) metrics.CheckWorker {
	if a.cfg.Off {
		return nil
	}
	a.once.Do(func() { a.logs = make([]auditLog, max(info.Keys, 0)) })
	return &auditWorker{a: a, scenario: info.Scenario}
}

type auditWorker struct {
	a        *Audit
	scenario int
}

// Write logs one write of a tracked key (the caller holds its writer lock).
func (w *auditWorker) Write(ev *metrics.Write, t metrics.Tally) {
	a := w.a
	if ev.Key >= uint64(len(a.logs)) || ev.Phase >= a.cfg.Phases {
		return
	}
	var acked bool
	switch ev.Outcome {
	case metrics.Acked:
		t.Add(mAuditAcked, 1)
		acked = true
	case metrics.Indeterminate:
		t.Add(mAuditIndeterminate, 1)
	default:
		return // a lost CAS: certainly not applied
	}
	cell := w.scenario*a.cfg.Phases + ev.Phase
	a.logs[ev.Key].add(auditRec{e: packAuditEntry(ev.Seq, cell, acked), inv: ev.InvokeNs, ret: ev.ReturnNs},
		w.scenario, a.cfg.History)
}

// Logged writes are packed into a uint64: seq (seqBits), cell (cellBits),
// acked (1 bit).
const (
	cellBits = 17
	seqBits  = 64 - cellBits - 1
	seqMax   = 1<<seqBits - 1
)

type auditEntry uint64

func packAuditEntry(seq uint64, cell int, acked bool) auditEntry {
	e := auditEntry(min(seq, seqMax))<<(cellBits+1) | auditEntry(cell)<<1
	if acked {
		e |= 1
	}
	return e
}

func (e auditEntry) seq() uint64 { return uint64(e >> (cellBits + 1)) }
func (e auditEntry) cell() int   { return int(e>>1) & (1<<cellBits - 1) }
func (e auditEntry) acked() bool { return e&1 == 1 }

// auditRec is one logged write: its entry, and its invocation and return
// times (run-clock ns).
type auditRec struct {
	e        auditEntry
	inv, ret int64
}

// auditLog is one key's recent writes in the order they were reported (seq
// order unless writes overlapped), a ring once it holds History entries,
// plus the newest acknowledged write it evicted and the latest return time
// of any write it evicted.
type auditLog struct {
	ring       []auditRec
	head       int      // when full: index of the oldest auditRec
	mask       uint64   // scenarios that wrote the key (bit s mod 64)
	evicted    auditRec // newest acknowledged auditRec evicted (zero: none)
	evictedRet int64    // latest return of an evicted write (0: none)
}

func (l *auditLog) add(e auditRec, scenario, history int) {
	l.mask |= 1 << (uint(scenario) % 64)
	if len(l.ring) < history {
		l.ring = append(l.ring, e)
		return
	}
	old := l.ring[l.head]
	if old.e.acked() && old.e.seq() >= l.evicted.e.seq() {
		l.evicted = old
	}
	l.evictedRet = max(l.evictedRet, old.ret)
	l.ring[l.head] = e
	l.head = (l.head + 1) % len(l.ring)
}

// each calls f with the logged entries, oldest first.
func (l *auditLog) each(f func(auditRec)) {
	n := len(l.ring)
	for i := range n {
		f(l.ring[(l.head+i)%n])
	}
}

// Off reports whether the audit is disabled.
func (a *Audit) Off() bool { return a.cfg.Off }

// Keys returns, in ascending order, the tracked keys that the scenarios
// in group (indexes) wrote (acked or indeterminate): the keys to audit.
func (a *Audit) Keys(group []int) []uint64 {
	var mask uint64
	for _, s := range group {
		mask |= 1 << (uint(s) % 64)
	}
	var out []uint64
	for k := range a.logs {
		if a.logs[k].mask&mask != 0 && a.logged(uint64(k), group) {
			out = append(out, uint64(k))
		}
	}
	return out
}

// logged reports whether key has a logged write of a scenario in group.
func (a *Audit) logged(key uint64, group []int) bool {
	found := false
	a.logs[key].each(func(e auditRec) {
		if !found && inGroup(e.e.cell()/a.cfg.Phases, group) {
			found = true
		}
	})
	return found
}

func inGroup(s int, group []int) bool {
	for _, g := range group {
		if g == s {
			return true
		}
	}
	return false
}

// AuditOf returns the registry's audit check (nil if absent).
func AuditOf(cs *metrics.Checks) *Audit {
	for _, c := range cs.List() {
		if a, ok := c.(*Audit); ok {
			return a
		}
	}
	return nil
}

// sortedCells returns the cells of m in ascending order.
func sortedCells[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Ints(out)
	return out
}
