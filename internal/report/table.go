package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// WriteTable prints the comparison table: one block per phase, one row per
// scenario × op with latency percentiles (ms), throughput, availability,
// errors by class and stale-read ratio, then the PACELC verdicts with their
// evidence.
func WriteTable(w io.Writer, s *Summary) error {
	bw := &errWriter{w: w}
	title := fmt.Sprintf("pacbench %s — run %s", s.Profile, s.RunID)
	if s.Partial {
		title += " (PARTIAL: the run was stopped early)"
	}
	bw.printf("%s\n", title)
	for _, n := range s.Notes {
		if strings.HasPrefix(n, NoteMemberDied) {
			bw.printf("WARNING: %s\n", n)
		}
	}
	if len(s.Scenarios) == 0 {
		bw.printf("no scenarios ran\n")
		return bw.err
	}
	bw.printf("%s, in ms; stale = reads that returned a version older than one already acknowledged\n", measureFor(s))
	writeScenarios(bw, s)
	phases := phaseOrder(s)
	for _, pn := range phases {
		imp := ""
		for _, sc := range s.Scenarios {
			for _, ph := range sc.Phases {
				if ph.Name == pn && len(ph.Impairment) > 0 {
					imp = strings.Join(ph.Impairment, "; ")
				}
			}
		}
		if imp == "" {
			imp = "healthy network"
		}
		bw.printf("\nphase %s — %s\n", pn, imp)
		if err := writePhaseRows(bw, s, pn); err != nil {
			return err
		}
	}
	writeVisibility(bw, s)
	bw.printf("\nPACELC verdicts\n")
	for _, sc := range s.Scenarios {
		bw.printf("  %s: %s — %s\n", sc.Name, verdictWord(sc.PACELC), sc.PACELC.Evidence)
	}
	writeThresholds(bw, s.Thresholds)
	return bw.err
}

func measureFor(s *Summary) string {
	for _, sc := range s.Scenarios {
		if sc.Load != nil && sc.Load.Model == "open" {
			return "latency = response time from the intended start (open loop)"
		}
	}
	return "latency = service time (closed loop)"
}

func verdictWord(v Verdict) string {
	p, e := "P?", "E?"
	if v.Partition != nil {
		p = *v.Partition
	}
	if v.Else != nil {
		e = *v.Else
	}
	if v.LostWrites == nil {
		return p + "/" + e // not audited
	}
	l := "loss?"
	if v.Loss != nil {
		l = *v.Loss
	}
	return p + "/" + e + "/" + l
}

func phaseOrder(s *Summary) []string {
	var out []string
	seen := map[string]bool{}
	for _, sc := range s.Scenarios {
		for _, ph := range sc.Phases {
			if !seen[ph.Name] {
				seen[ph.Name] = true
				out = append(out, ph.Name)
			}
		}
	}
	return out
}

func sortedOps(m map[string]*Op) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return kindIndex(out[i]) < kindIndex(out[j]) })
	return out
}

// num formats a latency in ms; "-" when there is none.
func num(p *float64) string {
	if p == nil {
		return "-"
	}
	f := *p
	switch {
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	default:
		return fmt.Sprintf("%.2f", f)
	}
}

func errString(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if v > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return "0"
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s:%d", k, m[k])
	}
	return strings.Join(parts, ",")
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) {
	fmt.Fprintf(e, format, args...)
}

// writePhaseRows prints one phase's rows: the fixed columns, then the
// checks' table columns.
func writePhaseRows(bw *errWriter, s *Summary, phase string) error {
	var cols []metrics.Column
	if s.checks != nil {
		cols = s.checks.Layout().Table
	}
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"scenario", "op", "ops/s", "p50", "p90", "p99", "p99.9", "p99.99", "max", "avail", "errors"}
	for _, c := range cols {
		head = append(head, c.Name)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, sc := range s.Scenarios {
		for _, ph := range sc.Phases {
			if ph.Name != phase {
				continue
			}
			for _, k := range sortedOps(ph.Ops) {
				o := ph.Ops[k]
				row := []string{sc.Name, k, fmt.Sprintf("%.0f", o.ThroughputOps), num(o.LatencyMs.P50), num(o.LatencyMs.P90),
					num(o.LatencyMs.P99), num(o.LatencyMs.P999), num(o.LatencyMs.P9999), num(o.LatencyMs.Max),
					pct(o.Availability), errString(o.Errors)}
				kind, _ := op.ParseKind(k)
				for _, c := range cols {
					row = append(row, tableCell(s.checks, ph.cell, c, kind))
				}
				fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
			}
		}
	}
	return tw.Flush()
}

// writeVisibility prints the probe sweeps, convergence after heal and the
// linearizability verdicts.
func writeVisibility(bw *errWriter, s *Summary) {
	header := false
	for _, sc := range s.Scenarios {
		for pi, ph := range sc.Phases {
			conv := ph.Convergence
			if conv != nil && pi > 0 && !hadStale(sc.Phases[pi-1]) {
				conv = nil // nothing to converge from
			}
			if len(ph.Probes) == 0 && conv == nil {
				continue
			}
			if !header {
				bw.printf("\nvisibility (t-visibility probes: P(read sees a write acknowledged Δ earlier))\n")
				header = true
			}
			line := fmt.Sprintf("  %s/%s:", sc.Name, ph.Name)
			if len(ph.Probes) > 0 {
				if ph.ConsistentAfterMs != nil {
					line += fmt.Sprintf(" 99.9%% consistent after %s;", ms(*ph.ConsistentAfterMs))
				} else {
					line += " never 99.9% consistent within the sweep;"
				}
				parts := make([]string, 0, len(ph.Probes))
				for _, p := range ph.Probes {
					part := fmt.Sprintf("Δ%gms %s", p.DeltaMs, pct(p.PConsistent))
					if p.N < 10 {
						part += fmt.Sprintf(" (n=%d)", p.N)
					}
					parts = append(parts, part)
				}
				line += " " + strings.Join(parts, " ")
			}
			if conv != nil {
				if conv.ConvergedMs != nil {
					line += fmt.Sprintf(" back to baseline staleness within %s of healing %s", ms(*conv.ConvergedMs), conv.After)
				} else {
					line += fmt.Sprintf(" still staler than baseline at the end of the phase (after %s)", conv.After)
				}
			}
			bw.printf("%s\n", line)
		}
	}
	writeSections(bw, s)
}

func hadStale(ph Phase) bool {
	st, ok := staleOf(ph.Ops["read"])
	return ok && st.stale > 0
}

// writeScenarios lists each scenario's levels (as sent, when the driver
// says) and whether its load model was honoured.
func writeScenarios(bw *errWriter, s *Summary) {
	bw.printf("\nscenarios\n")
	for _, sc := range s.Scenarios {
		lv := levelString(sc.Levels)
		if sc.Sent != nil {
			lv = fmt.Sprintf("read: %s; write: %s", sc.Sent["read"], sc.Sent["write"])
		}
		load := ""
		if l := sc.Load; l != nil {
			if l.Model == "open" {
				load = fmt.Sprintf("open loop, target %.0f ops/s, achieved %.0f, max schedule lag %s", l.TargetRate, l.AchievedRate, ms(l.MaxScheduleLagMs))
				load += behindNote(l)
			} else {
				load = fmt.Sprintf("closed loop, %d workers, %.0f ops/s", l.Workers, l.AchievedRate)
			}
		}
		bw.printf("  %s — %s (%s, %s)\n", sc.Name, lv, sc.System, load)
	}
}

// behindNote says whether and why an open-loop scenario fell behind its
// schedule, with the time ops waited for each reason.
func behindNote(l *runner.LoadStats) string {
	split := fmt.Sprintf("ops waited %s in all for a busy worker (at most %s), %s for the generator (at most %s)",
		ms(l.BusyLagMs), ms(l.MaxBusyLagMs), ms(l.GeneratorLagMs), ms(l.MaxGeneratorLagMs))
	switch {
	case !l.KeptUp:
		return " — FELL BEHIND the schedule: the generator was late with workers free (CPU starvation, GC or pacing; " + split + ")"
	case l.BehindReason == runner.BehindWorkersBusy:
		return " — behind the schedule because every late op's worker was busy waiting on the database (" + split +
			"; response times include the wait)"
	}
	return ""
}
