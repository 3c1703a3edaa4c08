package merge

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// part is one shard's cumulative results with its time offset: a shard
// time t (ns on its run clock) is t + offset on the merged clock.
type part struct {
	in     *Input
	res    *metrics.Results
	offset int64
}

// cells sums the shards' cumulative cells: counts and counters added,
// histograms merged exactly, spans widened, verdicts combined by their
// check (metrics.VerdictMerger) or by metrics.CombineVerdicts.
func cells(parts []part, checks *metrics.Checks, scenarios, phases []string) *metrics.Results {
	out := &metrics.Results{Scenarios: scenarios, Phases: phases, Checks: checks, Measures: checks.Measures()}
	for si := range scenarios {
		for pi := range phases {
			var merged *metrics.Cell
			var verdicts [][]metrics.ShardVerdict
			for _, p := range parts {
				c := p.res.Cell(si, pi)
				if c == nil {
					continue
				}
				if merged == nil {
					merged = &metrics.Cell{Scenario: si, Phase: pi, Ops: map[op.Kind]*metrics.OpStats{}}
					merged.Values = make([]metrics.Value, len(out.Measures))
					verdicts = make([][]metrics.ShardVerdict, len(out.Measures))
				}
				addCell(merged, c, p.offset, out.Measures)
				for g, v := range c.Values {
					if v.Verdict != nil {
						verdicts[g] = append(verdicts[g], metrics.ShardVerdict{Shard: p.in.Shard, Verdict: *v.Verdict})
					}
				}
			}
			if merged == nil {
				continue
			}
			for g, vs := range verdicts {
				if len(vs) > 0 {
					v := mergeVerdicts(checks, out.Measures[g].Name, vs)
					merged.Values[g].Verdict = &v
				}
			}
			out.Cells = append(out.Cells, merged)
		}
	}
	return out
}

// addCell adds shard cell c (times shifted by offset) into m.
func addCell(m, c *metrics.Cell, offset int64, measures []metrics.Measure) {
	m.Clamped += c.Clamped
	for k, st := range c.Ops {
		ms := m.Ops[k]
		if ms == nil {
			ms = &metrics.OpStats{Errors: map[op.Class]int64{}, Response: map[op.Class]*hdrhistogram.Histogram{},
				Service: map[op.Class]*hdrhistogram.Histogram{}, Wait: map[op.Class]*hdrhistogram.Histogram{},
				FirstNs: st.FirstNs + offset, LastNs: st.LastNs + offset}
			m.Ops[k] = ms
		}
		ms.Count += st.Count
		ms.OK += st.OK
		for cl, n := range st.Errors {
			ms.Errors[cl] += n
		}
		mergeInto(ms.Response, st.Response)
		mergeInto(ms.Service, st.Service)
		mergeInto(ms.Wait, st.Wait)
		ms.FirstNs = min(ms.FirstNs, st.FirstNs+offset)
		ms.LastNs = max(ms.LastNs, st.LastNs+offset)
	}
	for g, v := range c.Values {
		mv := &m.Values[g]
		switch measures[g].Kind {
		case metrics.KindCounter:
			mv.Count += v.Count
		case metrics.KindHistogram:
			mv.Hist = mergeHist(mv.Hist, v.Hist)
		case metrics.KindBuckets:
			if mv.Buckets == nil {
				mv.Buckets = append([]metrics.Bucket(nil), v.Buckets...)
				continue
			}
			for i, b := range v.Buckets {
				mv.Buckets[i].Hits += b.Hits
				mv.Buckets[i].Total += b.Total
			}
		}
	}
}

// mergeInto merges every class's histogram of from into to.
func mergeInto(to, from map[op.Class]*hdrhistogram.Histogram) {
	for cl, h := range from {
		to[cl] = mergeHist(to[cl], h)
	}
}

// mergeHist returns a + b (a is a merge's own copy and may be changed; b
// is never changed).
func mergeHist(a, b *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	switch {
	case b == nil:
		return a
	case a == nil:
		return hdrhistogram.Import(b.Export())
	}
	a.Merge(b)
	return a
}

// mergeVerdicts combines the shards' verdicts of one measure of one cell.
func mergeVerdicts(checks *metrics.Checks, measure string, vs []metrics.ShardVerdict) metrics.Verdict {
	for _, c := range checks.List() {
		m, ok := c.(metrics.VerdictMerger)
		if !ok {
			continue
		}
		for _, me := range c.Measures() {
			if me.Name == measure {
				return m.MergeVerdicts(measure, vs)
			}
		}
	}
	type shardEvidence struct {
		Shard    string `json:"shard"`
		OK       *bool  `json:"ok"`
		Evidence any    `json:"evidence,omitempty"`
	}
	ev := make([]shardEvidence, 0, len(vs))
	for _, v := range vs {
		ev = append(ev, shardEvidence{Shard: v.Shard.String(), OK: v.Verdict.OK, Evidence: v.Verdict.Evidence})
	}
	return metrics.Verdict{OK: metrics.CombineVerdicts(vs), Evidence: map[string]any{"shards": ev}}
}

// phaseWindows merges the shards' phase windows position by position (the
// same plan runs the same phases in the same order): the earliest start,
// the latest end and drain, each impairment from its first application
// to its last clear, on the merged clock.
func phaseWindows(parts []part) ([]runner.PhaseWindow, error) {
	ref := parts[0].in.Manifest.Phases
	out := make([]runner.PhaseWindow, 0, len(ref))
	for i, w := range ref {
		m := w
		m.Impairments = append([]runner.ImpairmentEvent(nil), w.Impairments...)
		m.StartNs, m.EndNs, m.DrainedNs = w.StartNs+parts[0].offset, w.EndNs+parts[0].offset, shifted(w.DrainedNs, parts[0].offset)
		m.PlannedNs = shifted(w.PlannedNs, parts[0].offset)
		for j := range m.Impairments {
			m.Impairments[j].AppliedNs += parts[0].offset
			m.Impairments[j].ClearedNs += parts[0].offset
		}
		for _, p := range parts[1:] {
			ws := p.in.Manifest.Phases
			if i >= len(ws) {
				continue // that shard stopped earlier (partial)
			}
			o := ws[i]
			if o.Name != w.Name || o.Index != w.Index {
				return nil, usage("%s ran phase %q as window %d, %s ran %q", p.in.Dir, o.Name, i, parts[0].in.Dir, w.Name)
			}
			m.StartNs = min(m.StartNs, o.StartNs+p.offset)
			m.EndNs = max(m.EndNs, o.EndNs+p.offset)
			m.DrainedNs = max(m.DrainedNs, shifted(o.DrainedNs, p.offset))
			for j := range min(len(m.Impairments), len(o.Impairments)) {
				m.Impairments[j].AppliedNs = min(m.Impairments[j].AppliedNs, o.Impairments[j].AppliedNs+p.offset)
				m.Impairments[j].ClearedNs = max(m.Impairments[j].ClearedNs, o.Impairments[j].ClearedNs+p.offset)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// shifted adds offset to a time that may be unset (0).
func shifted(ns, offset int64) int64 {
	if ns == 0 {
		return 0
	}
	return ns + offset
}

// loads merges the shards' load statistics per scenario: workers, ops,
// skipped arrivals, rates (every shard's rate over its own measured time)
// and lag totals added, the largest schedule lags, kept up only if every
// shard kept up, behind for the generator if any shard was.
func loads(parts []part) []runner.LoadStats {
	var out []runner.LoadStats
	for _, p := range parts {
		for si, l := range p.in.Manifest.Load {
			if si >= len(out) {
				out = append(out, runner.LoadStats{Model: l.Model, KeptUp: true})
			}
			m := &out[si]
			m.Workers += l.Workers
			m.TargetRate += l.TargetRate
			m.AchievedRate += l.AchievedRate
			m.MaxScheduleLagMs = max(m.MaxScheduleLagMs, l.MaxScheduleLagMs)
			m.MaxBusyLagMs, m.BusyLagMs = max(m.MaxBusyLagMs, l.MaxBusyLagMs), m.BusyLagMs+l.BusyLagMs
			m.MaxGeneratorLagMs, m.GeneratorLagMs = max(m.MaxGeneratorLagMs, l.MaxGeneratorLagMs), m.GeneratorLagMs+l.GeneratorLagMs
			if m.BehindReason != runner.BehindGenerator && l.BehindReason != "" {
				m.BehindReason = l.BehindReason // the generator's fault in any shard wins
			}
			m.KeptUp = m.KeptUp && l.KeptUp
			m.Ops += l.Ops
			m.Skipped += l.Skipped
		}
	}
	return out
}

// probes adds the shards' t-visibility probe counts per (scenario, phase,
// delay).
func probes(parts []part) []runner.ProbeStats {
	type key struct {
		s, p  int
		delta int64
	}
	idx := map[key]int{}
	var out []runner.ProbeStats
	for _, p := range parts {
		for _, pr := range p.in.Measurements.Probes {
			k := key{pr.Scenario, pr.Phase, pr.DeltaNs}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, runner.ProbeStats{Scenario: pr.Scenario, Phase: pr.Phase, DeltaNs: pr.DeltaNs})
			}
			out[i].N += pr.N
			out[i].Consistent += pr.Consistent
		}
	}
	return out
}

// convergence adds the shards' convergence bins (each counted from its
// shard's phase start) bin by bin.
func convergence(parts []part) ([]runner.ConvergenceBins, error) {
	type key struct{ s, p int }
	idx := map[key]int{}
	var out []runner.ConvergenceBins
	for _, p := range parts {
		for _, cb := range p.in.Measurements.Convergence {
			k := key{cb.Scenario, cb.Phase}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, runner.ConvergenceBins{Scenario: cb.Scenario, Phase: cb.Phase, BinNs: cb.BinNs})
			}
			m := &out[i]
			if m.BinNs != cb.BinNs {
				return nil, usage("%s: convergence bins of %d ns, another shard's are %d ns", p.in.Dir, cb.BinNs, m.BinNs)
			}
			for len(m.Checked) < len(cb.Checked) {
				m.Checked, m.Stale = append(m.Checked, 0), append(m.Stale, 0)
			}
			for b := range cb.Checked {
				m.Checked[b] += cb.Checked[b]
				if b < len(cb.Stale) {
					m.Stale[b] += cb.Stale[b]
				}
			}
		}
	}
	return out, nil
}

// wallSpan is the earliest start and the latest end of the shards.
func wallSpan(parts []part) (start, end time.Time, err error) {
	for _, p := range parts {
		s, err1 := time.Parse(time.RFC3339Nano, p.in.Manifest.StartedAt)
		e, err2 := time.Parse(time.RFC3339Nano, p.in.Manifest.EndedAt)
		if err1 != nil || err2 != nil {
			return start, end, usage("%s: manifest.json started_at/ended_at: %v", p.in.Dir, firstErr(err1, err2))
		}
		if start.IsZero() || s.Before(start) {
			start = s
		}
		if e.After(end) {
			end = e
		}
	}
	return start, end, nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
