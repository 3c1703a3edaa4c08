package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// Input is what Build needs: the plan, the run's result and its id.
type Input struct {
	// Driver, if set, describes the levels in the database's words.
	Driver drivers.Driver
	RunID  string
	Plan   *profile.Plan
	Result *runner.Result
}

// Build assembles the summary document from a run's results.
func Build(in Input) *Summary {
	p, res := in.Plan, in.Result
	s := &Summary{
		Schema:    Schema,
		RunID:     in.RunID,
		Profile:   p.Profile.Name,
		Mode:      p.Mode,
		Partial:   res.Partial,
		StartedAt: res.Start.UTC().Format(time.RFC3339Nano),
		EndedAt:   res.End.UTC().Format(time.RFC3339Nano),
		Scenarios: []Scenario{},
	}
	if p.Shard.Sharded() {
		s.Shard = &Shard{Index: p.Shard.Index, Count: p.Shard.Count}
	}
	names := NewNames(p.ScenarioNames(), p.PhaseNames())
	cells := map[[2]int]*metrics.Cell{}
	if res.Results != nil {
		s.checks = res.Results.Checks
		for _, c := range res.Results.Cells {
			cells[[2]int{c.Scenario, c.Phase}] = c
		}
	}
	for si, sc := range p.Scenarios {
		out := Scenario{
			Name:    sc.Name,
			System:  p.Profile.System.Driver,
			Levels:  levelsFor(sc.Levels),
			Phases:  []Phase{},
			Latency: "response time from the intended start (open loop) / service time (closed loop)",
			Routes: map[string]any{
				"read": p.Profile.Routes.Read, "write": p.Profile.Routes.Write,
				"read_endpoints": res.ReadEndpoints, "write_endpoints": res.WriteEndpoints,
			},
		}
		if ws := p.Profile.Routes.Writers; len(ws) > 0 {
			out.Routes["writers"], out.Routes["writer_endpoints"] = ws, res.WriterEndpoints
		}
		if ld, ok := in.Driver.(drivers.LevelDescriber); ok {
			rd, wr := ld.DescribeLevels(sc.Levels)
			out.Sent = map[string]string{"read": rd, "write": wr}
		}
		if si < len(res.Load) {
			l := res.Load[si]
			out.Load = &l
		}
		for pi := range p.Phases {
			win, ok := windowFor(res.Phases, pi, sc.Name)
			if !ok {
				continue // the run stopped before this phase
			}
			ph := Phase{PhaseHead: PhaseHead{
				Name:       p.Phases[pi].Name,
				Impairment: []string{},
				DurationS:  float64(win.EndNs-win.StartNs) / 1e9,
				Ops:        map[string]*Op{},
			}}
			for _, ev := range win.Impairments {
				ph.Impairment = append(ph.Impairment, ev.Describe)
			}
			ph.cell = withStems(cells[[2]int{si, pi}], names.Scenario(si), names.Phase(pi))
			if ph.cell != nil {
				fillPhase(&ph, ph.cell, s.checks)
			}
			ph.Checks = checkFields(s.checks, ph.cell, metrics.ScopePhase, 0)
			fillProbes(&ph, res.Probes, si, pi)
			out.Phases = append(out.Phases, ph)
		}
		s.Scenarios = append(s.Scenarios, out)
	}
	for i := range s.Scenarios {
		fillConvergence(&s.Scenarios[i], res.Convergence, i, p.Phases)
		s.Scenarios[i].PACELC = Classify(s.Scenarios, i, p.Phases)
	}
	return s
}

// fillProbes adds the probe sweep of (si, pi) and the "consistent after"
// delay.
func fillProbes(ph *Phase, probes []runner.ProbeStats, si, pi int) {
	for _, pr := range probes {
		if pr.Scenario != si || pr.Phase != pi || pr.N == 0 {
			continue
		}
		ph.Probes = append(ph.Probes, Probe{DeltaMs: float64(pr.DeltaNs) / 1e6, PConsistent: float64(pr.Consistent) / float64(pr.N), N: pr.N})
	}
	sort.Slice(ph.Probes, func(i, j int) bool { return ph.Probes[i].DeltaMs < ph.Probes[j].DeltaMs })
	for i := range ph.Probes {
		ok := true
		for _, later := range ph.Probes[i:] {
			if later.PConsistent < 0.999 {
				ok = false
				break
			}
		}
		if ok {
			d := ph.Probes[i].DeltaMs
			ph.ConsistentAfterMs = &d
			break
		}
	}
}

// ConvergenceWindowBins is how many runner bins one convergence window
// spans (5 × 100 ms): single bins are too noisy under a skewed workload.
const ConvergenceWindowBins = 5

// convergedWindow returns the first window whose stale ratio, and the next
// window's (if any has reads), are at or below threshold.
func convergedWindow(checked, stale []int64, threshold float64) (int, bool) {
	var ratios []float64
	for start := 0; start < len(checked); start += ConvergenceWindowBins {
		var c, st int64
		for b := start; b < min(start+ConvergenceWindowBins, len(checked)); b++ {
			c += checked[b]
			st += stale[b]
		}
		if c == 0 {
			ratios = append(ratios, -1)
			continue
		}
		ratios = append(ratios, float64(st)/float64(c))
	}
	for w, r := range ratios {
		if r < 0 || r > threshold {
			continue
		}
		next := -1.0
		for _, n := range ratios[w+1:] {
			if n >= 0 {
				next = n
				break
			}
		}
		if next <= threshold {
			return w, true
		}
	}
	return 0, false
}

// fillConvergence computes, for each phase that follows an impaired one,
// how soon the stale ratio returned to the baseline's.
func fillConvergence(sc *Scenario, conv []runner.ConvergenceBins, si int, phases []profile.Phase) {
	base := -1.0
	for i, ph := range sc.Phases {
		if i < len(phases) && !phases[i].Impaired() {
			if st, ok := staleOf(ph.Ops["read"]); ok && st.checked > 0 {
				base = st.ratio
				break
			}
		}
	}
	if base < 0 {
		return
	}
	threshold := max(2*base, base+0.01)
	for _, cb := range conv {
		if cb.Scenario != si {
			continue
		}
		for i := range sc.Phases {
			if sc.Phases[i].Name != phases[cb.Phase].Name {
				continue
			}
			c := &Convergence{After: phases[cb.Phase-1].Name, BaselineStaleRatio: base, Threshold: threshold,
				WindowMs: float64(cb.BinNs) / 1e6 * ConvergenceWindowBins}
			if w, ok := convergedWindow(cb.Checked, cb.Stale, threshold); ok {
				ms := float64(int64((w+1)*ConvergenceWindowBins)*cb.BinNs) / 1e6
				c.ConvergedMs = &ms
			}
			sc.Phases[i].Convergence = c
		}
	}
}

// withStems returns c with the evidence of its verdicts that names files
// (metrics.FileEvidence) resolved to the run's file-name stems: a copy, as
// c is shared with the recorder's Results (nil stays nil).
func withStems(c *metrics.Cell, scenario, phase string) *metrics.Cell {
	if c == nil {
		return nil
	}
	out := *c
	out.Values = append([]metrics.Value(nil), c.Values...)
	for i, v := range out.Values {
		if v.Verdict == nil {
			continue
		}
		if fe, ok := v.Verdict.Evidence.(metrics.FileEvidence); ok {
			vv := *v.Verdict
			vv.Evidence, vv.Detail = fe.WithStems(scenario, phase)
			out.Values[i].Verdict = &vv
		}
	}
	return &out
}

// levelsFor returns the level map with "read" and "write" always present.
func levelsFor(l map[string]string) map[string]string {
	out := map[string]string{"read": "", "write": ""}
	for k, v := range l {
		out[k] = v
	}
	return out
}

func windowFor(ws []runner.PhaseWindow, pi int, scenario string) (runner.PhaseWindow, bool) {
	for _, w := range ws {
		if w.Index != pi {
			continue
		}
		for _, n := range w.Scenarios {
			if n == scenario {
				return w, true
			}
		}
	}
	return runner.PhaseWindow{}, false
}

// opKinds returns the op kinds of c in index order.
func opKinds(c *metrics.Cell) []op.Kind {
	kinds := make([]op.Kind, 0, len(c.Ops))
	for k := range c.Ops {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return kinds[i] < kinds[j] })
	return kinds
}

func fillPhase(ph *Phase, c *metrics.Cell, cs *metrics.Checks) {
	var okN, all int64
	for _, k := range opKinds(c) {
		st := c.Ops[k]
		o := opSummary(st, ph.DurationS)
		o.Checks = checkFields(cs, c, metrics.ScopeOp, k)
		ph.Ops[k.String()] = o
		okN += st.OK
		all += st.Count
	}
	if all > 0 {
		a := float64(okN) / float64(all)
		ph.Availability = &a
	}
}

// staleFacts are the staleness figures of a read op that the verdict and
// convergence use, read from its "staleness" object (docs/results.md).
type staleFacts struct {
	checked, stale int64
	ratio          float64
	p50Ms          float64
}

// staleOf returns o's staleness figures; false when o is nil or its
// staleness was not checked.
func staleOf(o *Op) (staleFacts, bool) {
	if o == nil {
		return staleFacts{}, false
	}
	var f staleFacts
	var ok bool
	if f.checked, ok = o.Checks.Int("staleness", "checked"); !ok {
		return staleFacts{}, false
	}
	f.stale, _ = o.Checks.Int("staleness", "stale")
	f.ratio, _ = o.Checks.Float("staleness", "stale_ratio")
	f.p50Ms, _ = o.Checks.Float("staleness", "ms", "p50")
	return f, true
}

// isPartition reports whether a phase isolates or downs a member (among
// its impairments or its drawn faults).
func isPartition(ph profile.Phase) bool {
	for _, im := range ph.Impairments {
		if im.Kind == impair.KindPartition || im.Kind == impair.KindDown {
			return true
		}
	}
	for _, d := range ph.Drawn {
		if d.Fault.Kind == impair.KindPartition || d.Fault.Kind == impair.KindDown {
			return true
		}
	}
	return false
}

// Thresholds of the verdict, documented in docs/results.md.
const (
	// AvailableAbove: a scenario "stayed available" in a partition when its
	// read availability was at least this.
	AvailableAbove = 0.90
	// StaleAbove: a scenario "bought latency with staleness" when at least
	// this fraction of its checked reads outside partitions were stale.
	StaleAbove = 0.001
)

// Classify computes the PACELC verdict of scenarios[i] from its phases (P:
// partition phases; E: every other phase), comparing the E side with the
// scenario of the same system that had the fewest stale reads.
func Classify(scs []Scenario, i int, phases []profile.Phase) Verdict {
	sc := scs[i]
	var v Verdict
	var ev []string
	// P side.
	p := partitionStats(sc, phases)
	if p.all > 0 {
		avail := float64(p.ok) / float64(p.all)
		word := "PC"
		if avail >= AvailableAbove {
			word = "PA"
		}
		v.Partition = &word
		e := fmt.Sprintf("partition: %s available", pct(avail))
		if p.checked > 0 {
			e += fmt.Sprintf(", %s stale reads", pct(float64(p.stale)/float64(p.checked)))
			if len(p.behind) > 0 {
				e += fmt.Sprintf(" (p50 staleness %s)", ms(maxF(p.behind)))
			}
		}
		ev = append(ev, e)
	}
	// E side: compare with the strongest scenario of the same system.
	mine := elseStats(sc, phases)
	if mine.reads > 0 {
		strongest := strongestOf(scs, i, phases)
		word := "EC"
		if mine.checked > 0 && mine.staleRatio() >= StaleAbove {
			word = "EL"
		}
		if mine.checked == 0 {
			word = ""
		}
		if word != "" {
			v.Else = &word
		}
		e := fmt.Sprintf("else: read p99 %s", ms(mine.p99))
		if strongest >= 0 && strongest != i {
			e += fmt.Sprintf(" vs %s %s", ms(elseStats(scs[strongest], phases).p99), scs[strongest].Name)
		}
		if mine.checked > 0 {
			e += fmt.Sprintf(", %s stale", pct(mine.staleRatio()))
			if mine.worstPhase != "" {
				e += fmt.Sprintf(" (%s in %s)", pct(mine.worstRatio), mine.worstPhase)
			}
		} else {
			e += ", staleness not checked"
		}
		ev = append(ev, e)
	}
	if e := v.addLoss(sc); e != "" {
		ev = append(ev, e)
	}
	v.Evidence = strings.Join(ev, "; ")
	return v
}

// partitionSide is a scenario's reads during partition phases.
type partitionSide struct {
	ok, all, stale, checked int64
	behind                  []float64 // p50 time staleness (ms) of each phase with stale reads
}

func partitionStats(sc Scenario, phases []profile.Phase) partitionSide {
	var p partitionSide
	for _, ph := range sc.Phases {
		if !isPartitionNamed(ph.Name, phases) {
			continue
		}
		if r := ph.Ops["read"]; r != nil {
			p.ok += r.OK
			p.all += r.Count
			if st, ok := staleOf(r); ok {
				p.stale += st.stale
				p.checked += st.checked
				if st.stale > 0 {
					p.behind = append(p.behind, st.p50Ms)
				}
			}
		}
	}
	return p
}

// strongestOf returns the scenario of scs[i]'s system with reads outside
// partitions and the fewest stale reads there (ties: the higher p99), or
// -1 if none has such reads.
func strongestOf(scs []Scenario, i int, phases []profile.Phase) int {
	strongest := -1
	var best elseSide
	for j, o := range scs {
		if o.System != scs[i].System {
			continue
		}
		st := elseStats(o, phases)
		if st.reads == 0 {
			continue
		}
		if strongest < 0 || st.staleRatio() < best.staleRatio() ||
			(st.staleRatio() == best.staleRatio() && st.p99 > best.p99) {
			strongest, best = j, st
		}
	}
	return strongest
}

func isPartitionNamed(name string, phases []profile.Phase) bool {
	for _, ph := range phases {
		if ph.Name == name {
			return isPartition(ph)
		}
	}
	return false
}

// isWarmupNamed: the phase is a warm-up (profile.Phase.Warmup), left out
// of the verdict.
func isWarmupNamed(name string, phases []profile.Phase) bool {
	i := slices.IndexFunc(phases, func(ph profile.Phase) bool { return ph.Name == name })
	return i >= 0 && phases[i].Warmup
}

type elseSide struct {
	reads, checked, stale int64
	p99                   float64
	worstPhase            string
	worstRatio            float64
}

func (e elseSide) staleRatio() float64 {
	if e.checked == 0 {
		return 0
	}
	return float64(e.stale) / float64(e.checked)
}

func elseStats(sc Scenario, phases []profile.Phase) elseSide {
	var e elseSide
	for _, ph := range sc.Phases {
		if isPartitionNamed(ph.Name, phases) || isWarmupNamed(ph.Name, phases) {
			continue
		}
		r := ph.Ops["read"]
		if r == nil || r.OK == 0 {
			continue
		}
		e.reads += r.OK
		if p := r.LatencyMs.P99; p != nil && *p > e.p99 {
			e.p99 = *p
		}
		if st, ok := staleOf(r); ok {
			e.checked += st.checked
			e.stale += st.stale
			if st.ratio > e.worstRatio {
				e.worstRatio, e.worstPhase = st.ratio, ph.Name
			}
		}
	}
	return e
}

func maxF(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = max(m, x)
	}
	return m
}

// pct formats a fraction as a percentage without rounding that changes
// the story: "100%" only for exactly all, "0%" only for exactly none, and
// with as many decimals as it takes for the printed number to be on the
// same side of every threshold the verdict uses (AvailableAbove,
// StaleAbove) as the fraction itself: 367/368 is "99.7%", 0.896 "89.6%"
// (the verdict says PC), 0.8999 "89.99%", 1e-9 "0.0000001%".
func pct(f float64) string {
	switch {
	case f == 0:
		return "0%"
	case f == 1:
		return "100%"
	}
	d := 0 // the usual precision for the magnitude
	switch {
	case f < 0.001:
		d = 3
	case f < 0.1:
		d = 1
	}
	for ; d < 15; d++ {
		s := strconv.FormatFloat(f*100, 'f', d, 64)
		if p, err := strconv.ParseFloat(s, 64); err == nil && honestPct(f, p/100) {
			return s + "%"
		}
	}
	return strconv.FormatFloat(f*100, 'g', -1, 64) + "%"
}

// honestPct reports whether p, the printed value of fraction f, keeps f's
// side of 0, 1 and every verdict threshold.
func honestPct(f, p float64) bool {
	if (p >= 1) != (f >= 1) || (p <= 0) != (f <= 0) {
		return false
	}
	for _, t := range [...]float64{AvailableAbove, StaleAbove} {
		if (p >= t) != (f >= t) {
			return false
		}
	}
	return true
}

func ms(f float64) string {
	switch {
	case f >= 1000:
		return fmt.Sprintf("%.2f s", f/1000)
	case f >= 10:
		return fmt.Sprintf("%.0f ms", f)
	default:
		return fmt.Sprintf("%.2f ms", f)
	}
}
