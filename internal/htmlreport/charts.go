package htmlreport

import (
	"sort"
	"strings"
)

// Chart is what a correct page draws for one chart: ID is its element's
// data-chart attribute, Series the number of drawn series with at least
// one point, Points their points. The page sets data-series and
// data-points from what uPlot drew; the browser test compares them with
// these, computed from the data alone.
type Chart struct {
	ID             string
	Series, Points int
}

// Charts lists every chart report.html draws for d, in page order.
func (d *Data) Charts() []Chart {
	var out []Chart
	systems := map[string]bool{}
	n := 0
	for _, p := range d.Map {
		if p.LatencyCost != nil && p.StaleRatio != nil {
			systems[p.System] = true
			n++
		}
	}
	out = append(out, Chart{ID: "pacelc-map", Series: len(systems), Points: n})
	for _, tl := range d.Timelines {
		lines := [][]*float64{tl.Response.P50, tl.Response.P99, tl.Response.P999, tl.Response.Max}
		if tl.Service != nil {
			lines = append(lines, tl.Service.P50, tl.Service.P99, tl.Service.P999, tl.Service.Max)
		}
		out = append(out, count("latency:"+tl.Scenario+":"+tl.Op, lines...))
		tp := [][]*float64{tl.OK}
		for _, c := range sortedKeys(tl.Errors) {
			tp = append(tp, tl.Errors[c])
		}
		out = append(out, count("throughput:"+tl.Scenario+":"+tl.Op, tp...))
	}
	for _, sp := range d.Spectra {
		out = append(out, spectrumChart("spectrum:"+sp.Phase+":"+sp.Op, sp))
	}
	var ratio [][]*float64
	for _, l := range d.Staleness.Ratio {
		ratio = append(ratio, l.Ratio)
	}
	out = append(out, count("stale-ratio", ratio...))
	for _, sp := range d.Staleness.Behind {
		out = append(out, spectrumChart("stale-behind:"+sp.Phase, sp))
	}
	for _, sp := range d.Staleness.Versions {
		out = append(out, spectrumChart("stale-versions:"+sp.Phase, sp))
	}
	for _, v := range d.Visibility {
		if len(v.Levels) > 0 {
			out = append(out, visChart("visibility:"+v.Phase, v.Levels, v.MinN))
		}
		if len(v.Probes) > 0 {
			out = append(out, visChart("probes:"+v.Phase, v.Probes, v.MinN))
		}
	}
	return out
}

func count(id string, lines ...[]*float64) Chart {
	c := Chart{ID: id}
	for _, l := range lines {
		n := 0
		for _, v := range l {
			if v != nil {
				n++
			}
		}
		if n > 0 {
			c.Series++
			c.Points += n
		}
	}
	return c
}

func spectrumChart(id string, sp Spectrum) Chart {
	var lines [][]*float64
	for _, l := range sp.Levels {
		lines = append(lines, l.Values)
	}
	return count(id, lines...)
}

// visChart splits each level into the points of at least minN reads and
// the smaller ones (drawn hollow), as the page does.
func visChart(id string, levels []VisLine, minN int64) Chart {
	var lines [][]*float64
	for _, l := range levels {
		big, small := make([]*float64, len(l.P)), make([]*float64, len(l.P))
		for i, p := range l.P {
			if p != nil && l.N[i] >= minN {
				big[i] = p
			} else if p != nil {
				small[i] = p
			}
		}
		lines = append(lines, big, small)
	}
	return count(id, lines...)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ChartIDs lists the ids of charts, for messages.
func ChartIDs(cs []Chart) string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return strings.Join(ids, ", ")
}
