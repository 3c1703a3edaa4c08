package runner

import (
	"context"
	"sort"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// Linearizability checking defaults.
const (
	// DefaultCheckTimeout bounds porcupine per (scenario, phase).
	DefaultCheckTimeout = 30 * time.Second
	// sampleDraws is how many ops a dry generator draws to find the keys
	// the workload touches most (the sample must see traffic).
	sampleDraws = 50_000
)

// newHistory returns the linearizability history of the plan's sampled
// keys, or nil when checking is off.
func (r *run) newHistory() *checkers.History {
	c := r.plan.Profile.Checks
	if c.LinearizableKeys <= 0 {
		return nil
	}
	return checkers.NewHistory(checkers.Options{
		Keys:      sampleKeys(r.plan.Workload, r.plan.Seed, c.LinearizableKeys),
		Scenarios: r.plan.ScenarioNames(),
		Phases:    r.plan.PhaseNames(),
		MaxOps:    c.MaxHistory,
	})
}

// sampleKeys returns the n keys a dry run of the workload reads and writes
// most often (ties: lower index first). Deterministic for a seed.
func sampleKeys(spec workloads.Spec, seed int64, n int) []uint64 {
	// A private keyspace so the dry run does not consume insert keys.
	dry := workloads.NewKeyspace(spec)
	g := workloads.NewGenerator(spec, dry, seed^0x5eed)
	counts := map[uint64]int{}
	for range sampleDraws {
		o := g.Next()
		if o.Kind == op.Read || o.Kind == op.Write || o.Kind == op.RMW || o.Kind == op.CAS {
			counts[o.Key]++
		}
	}
	keys := make([]uint64, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// histRead records a read of a sampled key.
func (w *worker) histRead(phase int, key uint64, seq uint64, call, ret int64, err error) {
	h := w.sc.r.hist
	if h == nil || !h.Sampled(key) {
		return
	}
	out := checkers.OK
	if err != nil {
		out = checkers.Failed
	}
	h.Record(checkers.Event{Scenario: w.sc.index, Phase: phase, Client: w.id, Worker: w.index, Key: key,
		Seq: seq, CallNs: call, ReturnNs: ret, Outcome: out})
}

// histWrite records a write of a sampled key; a failed write is
// indeterminate (it may have happened), a lost CAS is Failed.
func (w *worker) histWrite(phase int, key, seq uint64, call, ret int64, err error, lostCAS bool) {
	h := w.sc.r.hist
	if h == nil || !h.Sampled(key) {
		return
	}
	out := checkers.OK
	switch {
	case lostCAS:
		out = checkers.Failed
	case err != nil:
		out = checkers.Indeterminate
	}
	h.Record(checkers.Event{Scenario: w.sc.index, Phase: phase, Client: w.id, Worker: w.index, Key: key,
		Write: true, Seq: seq, CallNs: call, ReturnNs: ret, Outcome: out})
}

// checkHistory runs porcupine over the recorded histories, annotating the
// impairment windows.
func (r *run) checkHistory(ctx context.Context) []checkers.Verdict {
	if r.hist == nil {
		return nil
	}
	var windows []checkers.Window
	for _, ph := range r.res.Phases {
		for _, ev := range ph.Impairments {
			windows = append(windows, checkers.Window{Name: ph.Name + ": " + ev.Describe, StartNs: ev.AppliedNs, EndNs: ev.ClearedNs})
		}
	}
	timeout := r.plan.Profile.Checks.CheckTimeout.D()
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	t0 := time.Now()
	v := r.hist.Check(ctx, timeout, windows)
	r.logf("linearizability: checked %d (scenario, phase) histories in %s", len(v), time.Since(t0).Round(time.Millisecond))
	return v
}
