package runner

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// Linearizability checking defaults.
const (
	// DefaultCheckTimeout bounds porcupine per (scenario, phase).
	DefaultCheckTimeout = checkers.DefaultCheckTimeout
	// sampleDraws is how many ops a dry generator draws to find the keys
	// the workload touches most (the sample must see traffic).
	sampleDraws = 50_000
)

// newChecks returns the run's checks (internal/checkers.Registry, then
// Config.Checks) configured from the plan.
func (r *run) newChecks() (*metrics.Checks, error) {
	c := r.plan.Checks
	lin := checkers.LinConfig{Scenarios: r.plan.ScenarioNames(), Phases: r.plan.PhaseNames(),
		MaxOps: c.MaxHistory, Timeout: c.CheckTimeout}
	if c.LinearizableKeys > 0 {
		lin.Keys = sampleKeys(r.plan.Workload, r.plan.Seed, c.LinearizableKeys)
	}
	cs, err := checkers.Registry(checkers.Config{
		Sessions:        r.plan.Load.Schedule.Workers() * len(r.plan.Scenarios),
		Linearizability: lin,
		Audit:           checkers.AuditConfig{Scenarios: len(r.plan.Scenarios), Phases: len(r.plan.Phases)},
	}, r.cfg.Checks...)
	if err != nil {
		return nil, fmt.Errorf("checks: %w", err)
	}
	return cs, nil
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

// finishChecks runs the checks that judge whole histories (porcupine),
// annotating the impairment windows, and keeps the linearizability
// verdicts (with their visualizations) in the Result.
func (r *run) finishChecks(ctx context.Context) {
	var windows []metrics.Window
	for _, ph := range r.res.Phases {
		for _, ev := range ph.Impairments {
			windows = append(windows, metrics.Window{Name: ph.Name + ": " + ev.Describe, StartNs: ev.AppliedNs, EndNs: ev.ClearedNs})
		}
	}
	t0 := time.Now()
	r.rec.Finish(ctx, metrics.FinishInfo{Windows: windows})
	if lin := checkers.Lin(r.rec.Checks()); lin != nil && lin.Sampled() {
		r.res.Linearizability = lin.Verdicts()
		r.logf("linearizability: checked %d (scenario, phase) histories in %s", len(r.res.Linearizability), time.Since(t0).Round(time.Millisecond))
	}
}
