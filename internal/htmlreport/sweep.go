package htmlreport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"

	"github.com/pacbench/pacbench/internal/report"
)

// SweepSchema identifies the data document embedded in a sweep's
// report.html.
const SweepSchema = "pacbench.sweep-report/v1"

// ErrNotSweep is returned by LoadSweep when the directory's summary.json
// has no sweep section (an ordinary run).
var ErrNotSweep = errors.New("not a sweep's results directory")

// SweepData is what a sweep's report.html draws, embedded as JSON like
// Data: built from the sweep's summary.json alone (its sweep section).
// Latencies are response times in ms, throughputs ops/s; a missing value
// is null, never 0.
type SweepData struct {
	Schema string  `json:"schema"`
	Run    RunInfo `json:"run"`
	// Param is the swept field, Values its values in run order.
	Param  string   `json:"param"`
	Values []string `json:"values"`
	// KneeP99Ms, KneeOp, FellBehindMargin, WarmupS: the knee's definition
	// (report.Sweep).
	KneeP99Ms        float64 `json:"knee_p99_ms"`
	KneeOp           string  `json:"knee_op,omitempty"`
	FellBehindMargin float64 `json:"fell_behind_margin"`
	WarmupS          float64 `json:"warmup_s"`
	// Points are the values' runs, with a link to each one's report.
	Points []SweepPointInfo `json:"points"`
	// Curves: one latency–throughput chart per level × phase × op kind.
	Curves []SweepCurve `json:"curves"`
	// Stale: the stale ratio against the swept value, one chart per phase.
	Stale []SweepStale `json:"stale"`
	Notes []string     `json:"notes"`
}

// SweepPointInfo is one value's run: Report is its report.html relative to
// the sweep's directory ("" if the value has no results directory), Exists
// whether that file is there.
type SweepPointInfo struct {
	Value  string `json:"value"`
	Report string `json:"report"`
	Exists bool   `json:"exists"`
	Error  string `json:"error,omitempty"`
}

// SweepCurve is one level's curve of one op kind in one phase: its points
// sorted by throughput (the x axis), each with the value it was measured
// at. Knee is the level's knee (null: none) and KneeAt its index in the
// points, marked on the knee op's curve (every op's when the knee bounds
// every op kind; null: not marked here, no knee, or no p99 at it).
type SweepCurve struct {
	Scenario   string            `json:"scenario"`
	Levels     map[string]string `json:"levels"`
	Phase      string            `json:"phase"`
	Op         string            `json:"op"`
	Knee       *string           `json:"knee"`
	KneeReason string            `json:"knee_reason"`
	KneeAt     *int              `json:"knee_at"`
	Value      []string          `json:"value"`
	Throughput []float64         `json:"throughput_ops"`
	Target     []float64         `json:"target_ops"`
	FellBehind []bool            `json:"fell_behind"`
	P50        []*float64        `json:"p50"`
	P99        []*float64        `json:"p99"`
	P999       []*float64        `json:"p999"`
}

// SweepStale is one phase's stale ratio per level, aligned with
// SweepData.Values (null: the value's run checked no read).
type SweepStale struct {
	Phase  string           `json:"phase"`
	Levels []SweepStaleLine `json:"levels"`
}

// SweepStaleLine is one level's stale ratio at each swept value.
type SweepStaleLine struct {
	Scenario string     `json:"scenario"`
	Ratio    []*float64 `json:"ratio"`
}

// LoadSweep reads a sweep's results directory (its summary.json) and
// builds its page data. An ordinary run gives ErrNotSweep, a directory
// without summary.json ErrNotRun.
func LoadSweep(fsys fs.FS) (*SweepData, error) {
	var s report.Summary
	if err := readJSON(fsys, SummaryFile, &s); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %s", ErrNotRun, SummaryFile)
		}
		return nil, err
	}
	if s.Schema != report.Schema {
		return nil, fmt.Errorf("%w: %s has schema %q, want %q", ErrNotRun, SummaryFile, s.Schema, report.Schema)
	}
	if s.Sweep == nil {
		return nil, ErrNotSweep
	}
	return BuildSweep(&s, fsys), nil
}

var pointDirRe = regexp.MustCompile(`^points/[A-Za-z0-9][A-Za-z0-9._-]*$`)

// BuildSweep makes the page data of the sweep summary s; fsys (the sweep's
// directory, nil: not checked) tells which values' reports exist.
func BuildSweep(s *report.Summary, fsys fs.FS) *SweepData {
	sw := s.Sweep
	d := &SweepData{Schema: SweepSchema, Param: sw.Param, Values: sw.Values, KneeP99Ms: sw.KneeP99Ms, KneeOp: sw.KneeOp,
		FellBehindMargin: sw.FellBehindMargin, WarmupS: sw.WarmupS, Points: []SweepPointInfo{}, Curves: []SweepCurve{},
		Stale: []SweepStale{}, Notes: append([]string{}, s.Notes...),
		Run: RunInfo{ID: s.RunID, Profile: s.Profile, Mode: s.Mode, Partial: s.Partial, StartedAt: s.StartedAt, EndedAt: s.EndedAt}}
	for _, p := range sw.Points {
		pi := SweepPointInfo{Value: p.Value, Error: p.Error}
		if pointDirRe.MatchString(p.Dir) {
			pi.Report = path.Join(p.Dir, ReportFile)
			if fsys != nil {
				_, err := fs.Stat(fsys, pi.Report)
				pi.Exists = err == nil
			}
		}
		d.Points = append(d.Points, pi)
	}
	for _, c := range sw.Curves {
		for _, op := range curveOps(c) {
			d.Curves = append(d.Curves, sweepCurve(c, op, sw.KneeOp == "" || sw.KneeOp == op))
		}
	}
	d.Stale = sweepStale(sw)
	if len(sw.Curves) == 0 {
		d.Notes = append(d.Notes, "no value's run produced results: nothing to draw")
	}
	return d
}

// curveOps lists the op kinds measured at any point of c, sorted.
func curveOps(c report.Curve) []string {
	var out []string
	for _, p := range c.Points {
		for op := range p.Ops {
			if !slices.Contains(out, op) {
				out = append(out, op)
			}
		}
	}
	slices.Sort(out)
	return out
}

func sweepCurve(c report.Curve, op string, markKnee bool) SweepCurve {
	pts := make([]report.CurvePoint, 0, len(c.Points))
	for _, p := range c.Points {
		if _, ok := p.Ops[op]; ok {
			pts = append(pts, p)
		}
	}
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].ThroughputOps < pts[j].ThroughputOps })
	sc := SweepCurve{Scenario: c.Scenario, Levels: c.Levels, Phase: c.Phase, Op: op, Knee: c.Knee, KneeReason: c.KneeReason}
	for i, p := range pts {
		o := p.Ops[op]
		sc.Value = append(sc.Value, p.Value)
		sc.Throughput = append(sc.Throughput, p.ThroughputOps)
		sc.Target = append(sc.Target, p.TargetOps)
		sc.FellBehind = append(sc.FellBehind, p.FellBehind)
		sc.P50, sc.P99, sc.P999 = append(sc.P50, o.P50), append(sc.P99, o.P99), append(sc.P999, o.P999)
		if markKnee && c.Knee != nil && p.Value == *c.Knee && o.P99 != nil {
			sc.KneeAt = &i
		}
	}
	return sc
}

// sweepStale has one chart per phase with checked reads: each level's
// stale ratio at every value.
func sweepStale(sw *report.Sweep) []SweepStale {
	out := []SweepStale{}
	for _, c := range sw.Curves {
		line := SweepStaleLine{Scenario: c.Scenario, Ratio: make([]*float64, len(sw.Values))}
		seen := false
		for _, p := range c.Points {
			if i := slices.Index(sw.Values, p.Value); i >= 0 && p.StaleRatio != nil {
				line.Ratio[i], seen = p.StaleRatio, true
			}
		}
		if !seen {
			continue
		}
		i := slices.IndexFunc(out, func(s SweepStale) bool { return s.Phase == c.Phase })
		if i < 0 {
			i = len(out)
			out = append(out, SweepStale{Phase: c.Phase})
		}
		out[i].Levels = append(out[i].Levels, line)
	}
	return out
}

// Charts lists every chart a sweep's report.html draws for d, in page
// order: per curve its p50, p99 and p99.9 lines and the knee (one point),
// then per phase the stale ratio of each level.
func (d *SweepData) Charts() []Chart {
	var out []Chart
	for _, c := range d.Curves {
		knee := make([]*float64, len(c.P99))
		if c.KneeAt != nil {
			knee[*c.KneeAt] = c.P99[*c.KneeAt]
		}
		out = append(out, count(SweepCurveID(c), c.P50, c.P99, c.P999, knee))
	}
	for _, s := range d.Stale {
		var lines [][]*float64
		for _, l := range s.Levels {
			lines = append(lines, l.Ratio)
		}
		out = append(out, count("sweep-stale:"+s.Phase, lines...))
	}
	return out
}

// SweepCurveID is the data-chart id of a curve's chart.
func SweepCurveID(c SweepCurve) string {
	return "sweep-curve:" + c.Scenario + ":" + c.Phase + ":" + c.Op
}

// RenderSweep writes a sweep's report.html for d (self-contained, like
// Render's).
func RenderSweep(w io.Writer, d *SweepData) error {
	return renderPage(w, "pacbench sweep — "+d.Run.ID, "sweep", d)
}
