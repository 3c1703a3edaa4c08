package htmlreport

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// RenderCompare writes compare.html for c (self-contained, like
// report.html).
func RenderCompare(w io.Writer, c *Comparison) error {
	return renderPage(w, "pacbench compare", "compare", c)
}

// CompareCharts lists what compare.html draws for c (see Data.Charts).
func (c *Comparison) CompareCharts() []Chart {
	rows := 0
	for _, s := range c.Series {
		rows += len(s.Runs)
	}
	out := []Chart{{ID: "compare-table", Series: len(c.Series), Points: rows}}
	for _, sp := range c.Spectra {
		out = append(out, spectrumChart("compare-spectrum:"+sp.Series, sp))
	}
	return out
}

// WriteCompareTable prints the comparison as a terminal table: one row per
// series and run, each value with its delta against run A and its flag
// (* significant, ~ within noise, ? too few intervals to judge).
func WriteCompareTable(w io.Writer, c *Comparison) error {
	var b strings.Builder
	b.WriteString("pacbench compare\n")
	for _, r := range c.Runs {
		fmt.Fprintf(&b, "  %s = %s (%s, %s, %s", r.Label, r.Dir, r.RunID, r.Profile, r.System)
		if r.Scenario != "" {
			fmt.Fprintf(&b, ", level %s", r.Scenario)
		}
		if r.Partial {
			b.WriteString(", partial")
		}
		b.WriteString(")\n")
	}
	fmt.Fprintf(&b, "Δ against A; * significant (outside the noise band), ~ within noise, ? too few intervals (bootstrap: %d resamples of intervals, %.0f%% interval)\n\n",
		c.Options.Resamples, c.Options.Confidence*100)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"series", "run"}
	for _, m := range c.Metrics {
		head = append(head, m.Label)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, s := range c.Series {
		for i, r := range s.Runs {
			name := ""
			if i == 0 {
				name = s.Name
			}
			row := []string{name, label(r.Run)}
			for _, m := range c.Metrics {
				row = append(row, cell(m, r.Values[m.Key]))
			}
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, u := range c.Unmatched {
		fmt.Fprintf(&b, "not compared: %s\n", u)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func cell(m MetricDef, v *Value) string {
	if v == nil || v.Value == nil {
		return "-"
	}
	s := fmtValue(m, *v.Value)
	if v.Delta == nil {
		return s
	}
	d := *v.Delta
	if m.Relative {
		s += fmt.Sprintf(" %+.0f%%", d*100)
	} else {
		s += fmt.Sprintf(" %+.1fpt", d*100)
	}
	switch v.Flag {
	case FlagSignificant:
		return s + " *"
	case FlagNoise:
		return s + " ~"
	default:
		return s + " ?"
	}
}

func fmtValue(m MetricDef, x float64) string {
	switch m.Unit {
	case "ms":
		switch {
		case x >= 1000:
			return fmt.Sprintf("%.2fs", x/1000)
		case x >= 10:
			return fmt.Sprintf("%.0fms", x)
		default:
			return fmt.Sprintf("%.2fms", x)
		}
	case "ratio":
		return fmt.Sprintf("%.1f%%", x*100)
	default:
		return fmt.Sprintf("%.0f", x)
	}
}
