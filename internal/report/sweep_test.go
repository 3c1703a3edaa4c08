package report

import (
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/runner"
)

func f64(x float64) *float64 { return &x }

// sweepRun is a value's run with one scenario: a warm-up phase and a
// measured one of 1 s with 150 ops started and a read p99 of p99 ms;
// behind makes the target 300 ops/s (fell behind) instead of 100.
func sweepRun(value string, p99 float64, behind bool) SweepRun {
	op := func(n int64) *Op {
		return &Op{OpHead: OpHead{Count: n, OK: n, ThroughputOps: float64(n),
			LatencyMs: Percentiles{P50: f64(p99 / 10), P99: f64(p99), P999: f64(p99 * 2)}}}
	}
	sc := Scenario{Name: "one", Levels: map[string]string{"read": "ONE"},
		Load: &runner.LoadStats{TargetRate: 100, AchievedRate: 90, KeptUp: true},
		Phases: []Phase{{PhaseHead: PhaseHead{Name: "warmup", Ops: map[string]*Op{"read": op(7)}}},
			{PhaseHead: PhaseHead{Name: "base", DurationS: 1, Ops: map[string]*Op{"read": op(100), "write": op(50)}}}}}
	if behind {
		sc.Load.TargetRate, sc.Load.KeptUp = 300, false
	}
	return SweepRun{Point: SweepPoint{Value: value}, Summary: &Summary{Scenarios: []Scenario{sc}}, Warmup: []string{"warmup"}}
}

// TestKnee: the knee is the last value before the first that fell behind
// or broke the bound; the warm-up is counted, not measured.
func TestKnee(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		runs   []SweepRun
		op     string
		knee   string // "" = none
		reason string
	}{
		{"all within", []SweepRun{sweepRun("1", 5, false), sweepRun("2", 9, false)}, "", "2", "every value kept up"},
		{"p99 bound", []SweepRun{sweepRun("1", 5, false), sweepRun("2", 11, false), sweepRun("3", 5, false)}, "", "1", "at 2: read p99 11 ms > 10 ms"},
		{"fell behind", []SweepRun{sweepRun("1", 5, false), sweepRun("2", 5, true)}, "", "1", "at 2: the schedule fell behind (150 of 300 ops/s started"},
		{"first fails", []SweepRun{sweepRun("1", 50, false)}, "", "", "at 1: read p99 50 ms"},
		{"op without samples", []SweepRun{sweepRun("1", 5, false)}, "scan", "", "at 1: no op measured"},
		{"failed value", []SweepRun{sweepRun("1", 5, false), {Point: SweepPoint{Value: "2", Error: "boom"}}, sweepRun("3", 5, false)}, "read", "1", "at 2: the run failed: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := &Sweep{KneeP99Ms: 10, KneeOp: tc.op}
			BuildSweep(s, tc.runs)
			if len(s.Curves) != 1 || s.Curves[0].Phase != "base" || len(s.Points) != len(tc.runs) {
				t.Fatalf("curves %+v, points %d", s.Curves, len(s.Points))
			}
			c := s.Curves[0]
			got := ""
			if c.Knee != nil {
				got = *c.Knee
			}
			if got != tc.knee || !strings.Contains(c.KneeReason, tc.reason) {
				t.Errorf("knee %q (%s), want %q (%s)", got, c.KneeReason, tc.knee, tc.reason)
			}
			p := c.Points[0]
			if p.WarmupOps != 7 || p.ThroughputOps != 150 || p.TargetOps != 100 || p.AchievedOps != 90 || p.StartedOps != 150 || p.FellBehind || *p.Ops["write"].P999 != 2**p.Ops["write"].P99 {
				t.Errorf("point %+v", p)
			}
			var b strings.Builder
			if err := WriteSweepTable(&b, s); err != nil || !strings.Contains(b.String(), "knee: ") {
				t.Errorf("table: %v\n%s", err, b.String())
			}
			csv, err := SweepCSV(s)
			if err != nil || !strings.HasPrefix(string(csv), "scenario,phase,param,value,") {
				t.Errorf("csv: %v\n%s", err, csv)
			}
		})
	}
}
