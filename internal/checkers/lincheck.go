package checkers

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// DefaultCheckTimeout bounds porcupine per (scenario, phase) when
// LinConfig.Timeout is zero.
const DefaultCheckTimeout = 30 * time.Second

// LinearizableVerdict is the linearizability check's measure name.
const LinearizableVerdict = "linearizability.verdict"

// Linearizability is the linearizability sampler as a check: its workers
// record every op on the sampled keys into a History, and Finish checks
// each (scenario, phase) with porcupine; the verdicts, with their evidence,
// are its measurements. With no sampled keys it records nothing and judges
// nothing (every verdict null).
type Linearizability struct {
	hist    *History // nil: sampling off
	timeout time.Duration

	mu       sync.Mutex
	verdicts []Verdict // after Finish
}

// LinConfig configures the linearizability check.
type LinConfig struct {
	// Keys are the sampled key indexes (empty: off); see Options.
	Keys []uint64
	// Scenarios and Phases name the run's scenarios and phases.
	Scenarios, Phases []string
	// MaxClients and MaxOps bound the history (see Options).
	MaxClients, MaxOps int
	// Timeout bounds porcupine per (scenario, phase) (0: DefaultCheckTimeout).
	Timeout time.Duration
}

// NewLinearizability returns the check for c.
func NewLinearizability(c LinConfig) *Linearizability {
	l := &Linearizability{timeout: c.Timeout}
	if l.timeout <= 0 {
		l.timeout = DefaultCheckTimeout
	}
	if len(c.Keys) > 0 {
		l.hist = NewHistory(Options{Keys: c.Keys, Scenarios: c.Scenarios, Phases: c.Phases,
			MaxClients: c.MaxClients, MaxOps: c.MaxOps})
	}
	return l
}

// Name implements metrics.Check.
func (*Linearizability) Name() string { return "linearizability" }

// Measures implements metrics.Check.
func (*Linearizability) Measures() []metrics.Measure {
	return []metrics.Measure{{Name: LinearizableVerdict, Kind: metrics.KindVerdict,
		Help: "porcupine's verdict on the sampled keys' full histories: linearizable, not, or unknown (null)."}}
}

// Layout implements metrics.Check: the phase's "linearizable" and
// "linearizability" keys, the CSV's linearizable column and the table's
// "linearizable?" section.
func (*Linearizability) Layout() metrics.Layout {
	return metrics.Layout{
		Fields:   []metrics.Field{{Scope: metrics.ScopePhase, Key: "linearizable", Measure: LinearizableVerdict, EvidenceKey: "linearizability"}},
		Columns:  []metrics.Column{{Name: "linearizable", Scope: metrics.ScopePhase, Measure: LinearizableVerdict}},
		Sections: []metrics.Section{{Title: "linearizable? (porcupine on the sampled keys' full histories)", Measure: LinearizableVerdict}},
	}
}

// NewWorker implements metrics.Check.
func (l *Linearizability) NewWorker(info metrics.WorkerInfo) metrics.CheckWorker {
	if l.hist == nil {
		return nil // sampling off: nothing to record
	}
	return &linWorker{h: l.hist, info: info}
}

type linWorker struct {
	h    *History
	info metrics.WorkerInfo
}

// Read records a read of a sampled key: a failed read is Failed (dropped by
// the history), a read of a foreign value is not recorded.
func (w *linWorker) Read(ev *metrics.Read, _ metrics.Tally) {
	if !w.h.Sampled(ev.Key) || (ev.Class == op.OK && ev.Foreign) {
		return
	}
	out := OK
	if ev.Class != op.OK {
		out = Failed
	}
	w.h.Record(Event{Scenario: w.info.Scenario, Phase: ev.Phase, Client: w.info.Session, Worker: w.info.Index,
		Key: ev.Key, Seq: ev.Seq, CallNs: ev.InvokeNs, ReturnNs: ev.ReturnNs, Outcome: out})
}

// Write records a write of a sampled key: acked is OK, a lost CAS Failed,
// anything else indeterminate.
func (w *linWorker) Write(ev *metrics.Write, _ metrics.Tally) {
	if !w.h.Sampled(ev.Key) {
		return
	}
	out := Indeterminate
	switch ev.Outcome {
	case metrics.Acked:
		out = OK
	case metrics.NotApplied:
		out = Failed
	}
	w.h.Record(Event{Scenario: w.info.Scenario, Phase: ev.Phase, Client: w.info.Session, Worker: w.info.Index,
		Key: ev.Key, Write: true, Seq: ev.Seq, CallNs: ev.InvokeNs, ReturnNs: ev.ReturnNs, Outcome: out})
}

// Evidence is what backs a linearizability verdict in the summary
// ("linearizability").
type Evidence struct {
	// Ops and Keys checked; Reason says why the verdict is null (timeout,
	// truncated, no reads, canceled).
	Ops    int    `json:"ops"`
	Keys   int    `json:"keys"`
	Reason string `json:"reason,omitempty"`
	// IllegalKeys are the sampled key indexes whose history is not
	// linearizable; Visualization is the porcupine HTML file (relative to
	// the run directory, see VisualizationFile).
	IllegalKeys   []uint64 `json:"illegal_keys,omitempty"`
	Visualization string   `json:"visualization,omitempty"`
	CheckMs       float64  `json:"check_ms"`

	visualized bool // porcupine rendered a visualization (written by the results sink)
}

// WithStems implements metrics.FileEvidence: the visualization's file
// (see VisualizationFile) and, for a violation, the table detail naming it.
func (e *Evidence) WithStems(scenario, phase string) (any, string) {
	out := *e
	if e.visualized {
		out.Visualization = VisualizationFile(scenario, phase)
	}
	detail := e.Reason
	if len(e.IllegalKeys) > 0 {
		detail = fmt.Sprintf("%d of %d keys; %s", len(e.IllegalKeys), e.Keys, out.Visualization)
	}
	return &out, detail
}

// Finish implements metrics.Finisher: porcupine over every (scenario,
// phase) history, annotated with the impairment windows.
func (l *Linearizability) Finish(ctx context.Context, info metrics.FinishInfo) []metrics.CellVerdict {
	if l.hist == nil {
		return nil
	}
	ws := make([]Window, 0, len(info.Windows))
	for _, w := range info.Windows {
		ws = append(ws, Window(w))
	}
	vs := l.hist.Check(ctx, l.timeout, ws)
	l.mu.Lock()
	l.verdicts = vs
	l.mu.Unlock()
	out := make([]metrics.CellVerdict, 0, len(vs))
	for _, v := range vs {
		ev := &Evidence{Ops: v.Ops, Keys: v.Keys, Reason: string(v.Reason), IllegalKeys: v.IllegalKeys,
			CheckMs: math.Round(float64(v.Duration)/1e3) / 1e3, visualized: len(v.Visualization) > 0}
		out = append(out, metrics.CellVerdict{Scenario: v.Scenario, Phase: v.Phase, Measure: LinearizableVerdict,
			Verdict: metrics.Verdict{OK: v.Linearizable, Evidence: ev, Detail: ev.Reason}})
	}
	return out
}

// MergeVerdicts implements metrics.VerdictMerger: linearizability is
// local (a history is linearizable if and only if every key's is), and
// shards check disjoint keys, so the run is linearizable when every shard
// is (metrics.CombineVerdicts); the evidence adds the ops and keys
// checked, lists the illegal keys by their global index and keeps the
// longest check time. Evidence that is not this check's is ignored.
func (l *Linearizability) MergeVerdicts(_ string, parts []metrics.ShardVerdict) metrics.Verdict {
	ev := &Evidence{}
	for _, p := range parts {
		var e Evidence
		raw, ok := p.Verdict.Evidence.(json.RawMessage)
		if !ok || json.Unmarshal(raw, &e) != nil {
			continue
		}
		ev.Ops += e.Ops
		ev.Keys += e.Keys
		ev.CheckMs = max(ev.CheckMs, e.CheckMs)
		if ev.Reason == "" && p.Verdict.OK == nil {
			ev.Reason = e.Reason
		}
		for _, k := range e.IllegalKeys {
			ev.IllegalKeys = append(ev.IllegalKeys, p.Shard.Global(k))
		}
		ev.visualized = ev.visualized || e.Visualization != ""
	}
	slices.Sort(ev.IllegalKeys)
	return metrics.Verdict{OK: metrics.CombineVerdicts(parts), Evidence: ev, Detail: ev.Reason}
}

// Verdicts returns porcupine's verdicts (with their visualizations) after
// Finish; nil before it or when sampling is off.
func (l *Linearizability) Verdicts() []Verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.verdicts
}

// Sampled reports whether sampling is on.
func (l *Linearizability) Sampled() bool { return l.hist != nil }

// VisualizationFile is the results-relative path of porcupine's HTML for
// a scenario and phase, given their file-name stems (report.Names: already
// safe in a file name).
func VisualizationFile(scenarioStem, phaseStem string) string {
	return "linearizability/" + scenarioStem + "." + phaseStem + ".html"
}
