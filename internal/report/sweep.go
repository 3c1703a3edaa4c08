package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// Sweep is summary.json's "sweep" section: one run repeated over the
// values of one profile field, each value's results in its own directory
// (Points[i].Dir), and per (scenario, measured phase) the latency–
// throughput curve and its knee. Plain data.
type Sweep struct {
	// Param is the swept field's path ("load.rate"); Values its values in
	// run order.
	Param  string   `json:"param"`
	Values []string `json:"values"`
	// KneeP99Ms is the knee's bound on p99 response time, in ms; KneeOp
	// the op kind it applies to ("": every op kind of the phase).
	KneeP99Ms float64 `json:"knee_p99_ms"`
	KneeOp    string  `json:"knee_op,omitempty"`
	// FellBehindMargin: a value fell behind when its measured phase
	// started fewer ops than (1 − margin) × target × duration, less three
	// standard deviations of a Poisson count of that mean
	// (FellBehindMargin).
	FellBehindMargin float64 `json:"fell_behind_margin"`
	// WarmupS is each value's warm-up phase, in seconds (0: none): its
	// results are in that value's summary (phase WarmupPhase), not in the
	// curves.
	WarmupS float64 `json:"warmup_s"`
	// Points are the values' runs, in order.
	Points []SweepPoint `json:"points"`
	// Curves: one per scenario (level) and measured phase.
	Curves []Curve `json:"curves"`
}

// FellBehindMargin is the margin of Sweep.FellBehindMargin: 5 %, the
// runner's kept_up margin, applied to the measured phase alone.
const FellBehindMargin = 0.05

// SweepPoint is one value's run.
type SweepPoint struct {
	Value string `json:"value"`
	// Dir is the value's results directory, relative to the sweep's.
	Dir string `json:"dir,omitempty"`
	// Partial: the value's run stopped early; Error says why it failed.
	Partial bool   `json:"partial,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Curve is one scenario's latency–throughput curve in one phase.
type Curve struct {
	Scenario string            `json:"scenario"`
	Levels   map[string]string `json:"levels"`
	Phase    string            `json:"phase"`
	Points   []CurvePoint      `json:"points"`
	// Knee is the highest value up to which every value kept up and had
	// p99 at or under the bound (null if the first did not); KneeReason
	// says what ended it (the first value that failed, and why).
	Knee       *string `json:"knee"`
	KneeReason string  `json:"knee_reason"`
}

// CurvePoint is one value's measurements on a curve. Latencies are
// response times (docs/results.md), in ms, null when no op ran.
type CurvePoint struct {
	Value string `json:"value"`
	// TargetOps is the open-loop schedule's mean rate over the value's
	// run (0 in closed loop); ThroughputOps the phase's ok ops/s.
	TargetOps     float64 `json:"target_ops,omitempty"`
	ThroughputOps float64 `json:"throughput_ops"`
	// StartedOps is the phase's ops started per second, all outcomes
	// (what the schedule delivered to the database).
	StartedOps float64 `json:"started_ops"`
	// AchievedOps is the scenario's load.achieved_rate_ops (over the
	// value's run, warm-up included); MaxLagMs its load.max_schedule_lag_ms.
	AchievedOps float64 `json:"achieved_ops"`
	MaxLagMs    float64 `json:"max_schedule_lag_ms,omitempty"`
	// KeptUp is the scenario's load.kept_up over the whole value's run
	// (runner.LoadStats: also false for a single skipped arrival or a lag
	// above 1 s). FellBehind: the measured phase started fewer ops than
	// Sweep.FellBehindMargin allows (open loop only); the knee reads it.
	KeptUp     bool `json:"kept_up"`
	FellBehind bool `json:"fell_behind"`
	// Ops: p50, p99, p99.9 per op kind.
	Ops map[string]CurveOp `json:"ops"`
	// StaleRatio of the phase's checked reads (null: not checked).
	StaleRatio *float64 `json:"stale_ratio"`
	// Availability of the phase (null: no op ran).
	Availability *float64 `json:"availability"`
	// WarmupOps are the ops of the value's warm-up phase (recorded there).
	WarmupOps int64 `json:"warmup_ops"`
}

// CurveOp is one op kind's response-time percentiles at a value, in ms.
type CurveOp struct {
	P50  *float64 `json:"p50"`
	P99  *float64 `json:"p99"`
	P999 *float64 `json:"p999"`
}

// SweepRun is what BuildSweep reads of one value's run.
type SweepRun struct {
	Point SweepPoint
	// Summary of the value's run (nil: none was written).
	Summary *Summary
	// Warmup names the run's warm-up phases (left out of the curves).
	Warmup []string
}

// BuildSweep fills s.Points and s.Curves from the values' runs, in order.
// Curves are keyed by scenario name and phase, in first-seen order.
func BuildSweep(s *Sweep, runs []SweepRun) {
	type key struct{ scenario, phase string }
	idx := map[key]int{}
	for _, r := range runs {
		s.Points = append(s.Points, r.Point)
		if r.Summary == nil {
			continue
		}
		for _, sc := range r.Summary.Scenarios {
			warm := warmupOps(sc, r.Warmup)
			for _, ph := range sc.Phases {
				if slices.Contains(r.Warmup, ph.Name) {
					continue
				}
				k := key{sc.Name, ph.Name}
				i, ok := idx[k]
				if !ok {
					i = len(s.Curves)
					idx[k] = i
					s.Curves = append(s.Curves, Curve{Scenario: sc.Name, Levels: sc.Levels, Phase: ph.Name})
				}
				s.Curves[i].Points = append(s.Curves[i].Points, curvePoint(r.Point.Value, sc, ph, warm))
			}
		}
	}
	for i := range s.Curves {
		s.Curves[i].Knee, s.Curves[i].KneeReason = knee(s.Points, s.Curves[i].Points, s.KneeP99Ms, s.KneeOp)
	}
}

func warmupOps(sc Scenario, warm []string) int64 {
	var n int64
	for _, ph := range sc.Phases {
		if slices.Contains(warm, ph.Name) {
			for _, o := range ph.Ops {
				n += o.Count
			}
		}
	}
	return n
}

func curvePoint(value string, sc Scenario, ph Phase, warm int64) CurvePoint {
	p := CurvePoint{Value: value, Ops: map[string]CurveOp{}, Availability: ph.Availability, WarmupOps: warm, KeptUp: true}
	if sc.Load != nil {
		p.TargetOps, p.KeptUp = sc.Load.TargetRate, sc.Load.KeptUp
		p.AchievedOps, p.MaxLagMs = round3(sc.Load.AchievedRate), sc.Load.MaxScheduleLagMs
	}
	var tput float64
	var started int64
	for name, o := range ph.Ops {
		tput += o.ThroughputOps
		started += o.Count
		p.Ops[name] = CurveOp{P50: o.LatencyMs.P50, P99: o.LatencyMs.P99, P999: o.LatencyMs.P999}
		if name == "read" {
			if x, ok := o.Checks.Float("staleness", "stale_ratio"); ok {
				p.StaleRatio = &x
			}
		}
	}
	p.ThroughputOps = round3(tput)
	if ph.DurationS > 0 {
		p.StartedOps = round3(float64(started) / ph.DurationS)
	}
	p.FellBehind = fellBehind(started, p.TargetOps*ph.DurationS)
	return p
}

// fellBehind: fewer ops started than (1 − FellBehindMargin) of the
// expected count, less three standard deviations of a Poisson count of
// that mean (the arrivals' own fluctuation over a short phase: ±17 at 300
// expected).
func fellBehind(started int64, expected float64) bool {
	return expected > 0 && float64(started) < (1-FellBehindMargin)*expected-3*math.Sqrt(expected)
}

// knee walks the values in order: the knee is the last value before the
// first that fell behind, had a p99 above boundMs (of op, or of any op
// kind when op is ""), had no ops, or has no point on the curve (its run
// failed or stopped early).
func knee(values []SweepPoint, pts []CurvePoint, boundMs float64, op string) (*string, string) {
	var last *string
	for _, v := range values {
		i := slices.IndexFunc(pts, func(p CurvePoint) bool { return p.Value == v.Value })
		why := "no results"
		switch {
		case v.Error != "":
			why = "the run failed: " + v.Error
		case v.Partial:
			why = "the run stopped early"
		case i >= 0:
			why = failure(pts[i], boundMs, op)
		}
		if why != "" {
			return last, fmt.Sprintf("at %s: %s", v.Value, why)
		}
		last = &v.Value
	}
	return last, "every value kept up within the bound"
}

func failure(p CurvePoint, boundMs float64, op string) string {
	if p.FellBehind {
		return fmt.Sprintf("the schedule fell behind (%s of %s ops/s started, max lag %s ms)",
			csvFloat(p.StartedOps), csvFloat(p.TargetOps), csvFloat(round3(p.MaxLagMs)))
	}
	ops := sortedCurveOps(p.Ops)
	if op != "" {
		ops = []string{op}
	}
	seen := false
	for _, name := range ops {
		o, ok := p.Ops[name]
		if !ok || o.P99 == nil {
			continue
		}
		seen = true
		if *o.P99 > boundMs {
			return fmt.Sprintf("%s p99 %s ms > %s ms", name, csvFloat(*o.P99), csvFloat(boundMs))
		}
	}
	if !seen {
		return "no op measured"
	}
	return ""
}

func sortedCurveOps(m map[string]CurveOp) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// WriteSweepTable prints the sweep: per curve one row per value (target,
// achieved, p50/p99/p99.9 per op, stale ratio, kept up) and its knee.
func WriteSweepTable(w io.Writer, s *Sweep) error {
	bw := &errWriter{w: w}
	bw.printf("sweep of %s over %d values; knee: p99 ≤ %s ms", s.Param, len(s.Values), csvFloat(s.KneeP99Ms))
	if s.KneeOp != "" {
		bw.printf(" (%s)", s.KneeOp)
	}
	bw.printf(", not behind by more than %s%%; warm-up %ss per value (recorded, not in the curve)\n", csvFloat(100*s.FellBehindMargin), csvFloat(s.WarmupS))
	for _, p := range s.Points {
		if p.Error != "" {
			bw.printf("  %s=%s failed: %s\n", s.Param, p.Value, p.Error)
		}
	}
	for _, c := range s.Curves {
		bw.printf("\n%s, phase %s\n", c.Scenario, c.Phase)
		bw.printf("  %-10s %10s %10s %10s  %-6s %-34s %8s\n", "value", "target/s", "started/s", "ok ops/s", "behind", "op p50/p99/p99.9 ms", "stale")
		for _, p := range c.Points {
			behind := "no"
			if p.FellBehind {
				behind = "YES"
			}
			for i, op := range sortedCurveOps(p.Ops) {
				o := p.Ops[op]
				lat := fmt.Sprintf("%s %s/%s/%s", op, num(o.P50), num(o.P99), num(o.P999))
				if i == 0 {
					bw.printf("  %-10s %10s %10s %10s  %-6s %-34s %8s\n", p.Value, csvFloat(p.TargetOps), csvFloat(p.StartedOps), csvFloat(p.ThroughputOps), behind, lat, ratio(p.StaleRatio))
				} else {
					bw.printf("  %-10s %10s %10s %10s  %-6s %-34s\n", "", "", "", "", "", lat)
				}
			}
		}
		k := "none"
		if c.Knee != nil {
			k = *c.Knee
		}
		bw.printf("  knee: %s (%s)\n", k, c.KneeReason)
	}
	return bw.err
}

func ratio(p *float64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatFloat(100**p, 'f', 2, 64) + "%"
}

// SweepCSV is sweep.csv: one row per curve × value × op kind.
func SweepCSV(s *Sweep) ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"scenario", "phase", "param", "value", "target_ops", "started_ops", "throughput_ops", "kept_up", "fell_behind", "op", "p50_ms", "p99_ms", "p999_ms", "stale_ratio", "knee"})
	for _, c := range s.Curves {
		knee := ""
		if c.Knee != nil {
			knee = *c.Knee
		}
		for _, p := range c.Points {
			for _, op := range sortedCurveOps(p.Ops) {
				o := p.Ops[op]
				_ = w.Write([]string{c.Scenario, c.Phase, s.Param, p.Value, csvFloat(p.TargetOps), csvFloat(p.StartedOps), csvFloat(p.ThroughputOps),
					strconv.FormatBool(p.KeptUp), strconv.FormatBool(p.FellBehind), op, pf(o.P50), pf(o.P99), pf(o.P999), pf(p.StaleRatio), knee})
			}
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
