package htmlreport

import (
	"sort"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/profile"
)

// visibility builds each phase's t-visibility chart from the summary: the
// passive curve (visibility) and the active probe sweep (probes) of every
// level that has them.
func visibility(s *report.Summary, phases []profile.Phase) []VisibilityChart {
	out := []VisibilityChart{}
	for _, ph := range phases {
		c := VisibilityChart{Phase: ph.Name, TMs: []float64{}, Levels: []VisLine{}, ProbeMs: []float64{}, Probes: []VisLine{},
			MinN: MinVisibilitySample}
		var curves, probes [][]point
		var names, probeNames []string
		for _, sc := range s.Scenarios {
			sp := phaseOf(sc, ph.Name)
			if sp == nil {
				continue
			}
			var vis []visibilityPoint
			field(sp.Checks, &vis, "visibility")
			if pts := visPoints(vis, &c.OpenLast); len(pts) > 0 {
				curves, names = append(curves, pts), append(names, sc.Name)
			}
			var pp []point
			for _, p := range sp.Probes {
				pp = append(pp, point{x: p.DeltaMs, p: p.PConsistent, n: p.N})
			}
			if len(pp) > 0 {
				probes, probeNames = append(probes, pp), append(probeNames, sc.Name)
			}
		}
		c.TMs, c.Levels = align(curves, names)
		c.ProbeMs, c.Probes = align(probes, probeNames)
		if len(c.Levels) > 0 || len(c.Probes) > 0 {
			out = append(out, c)
		}
	}
	return out
}

type point struct {
	x, p float64
	n    int64
}

func phaseOf(sc report.Scenario, name string) *report.Phase {
	for i := range sc.Phases {
		if sc.Phases[i].Name == name {
			return &sc.Phases[i]
		}
	}
	return nil
}

// visibilityPoint is one point of a phase's "visibility" in summary.json.
type visibilityPoint struct {
	TMs         float64 `json:"t_ms"`
	PConsistent float64 `json:"p_consistent"`
	N           int64   `json:"n"`
}

// visPoints converts a summary curve; the open-ended last bucket (t_ms
// −1) is drawn at openBucketMs.
func visPoints(vs []visibilityPoint, openLast *bool) []point {
	var out []point
	for _, v := range vs {
		x := v.TMs
		if x < 0 {
			x, *openLast = openBucketMs, true
		}
		out = append(out, point{x: x, p: v.PConsistent, n: v.N})
	}
	return out
}

// align puts the lines on the union of their x values (ascending), null
// where a line has no point.
func align(lines [][]point, names []string) ([]float64, []VisLine) {
	xs := []float64{}
	seen := map[float64]bool{}
	for _, l := range lines {
		for _, p := range l {
			if !seen[p.x] {
				seen[p.x] = true
				xs = append(xs, p.x)
			}
		}
	}
	sort.Float64s(xs)
	out := []VisLine{}
	for i, l := range lines {
		vl := VisLine{Scenario: names[i], P: make([]*float64, len(xs)), N: make([]int64, len(xs))}
		for _, p := range l {
			j := sort.SearchFloat64s(xs, p.x)
			vl.P[j], vl.N[j] = num(p.p, 6), p.n
		}
		out = append(out, vl)
	}
	return xs, out
}
