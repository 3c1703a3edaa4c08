package report

import (
	"fmt"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Check measurements are rendered here from their descriptions only
// (metrics.Measure and the checks' metrics.Layout): a new check needs no
// code in this package.

// lookup returns the measure named name and its value in c (a zero value
// when c is nil: nothing measured).
func lookup(cs *metrics.Checks, c *metrics.Cell, name string) (metrics.Measure, metrics.Value) {
	m, i, ok := cs.Measure(name)
	if !ok || c == nil || i >= len(c.Values) {
		return m, metrics.Value{}
	}
	return m, c.Values[i]
}

// checkFields renders the layout fields of scope (of op kind k for
// ScopeOp) from cell c (nil: nothing measured); fields sharing a group are
// gathered into one object where the group's first field is.
func checkFields(cs *metrics.Checks, c *metrics.Cell, scope metrics.Scope, k op.Kind) Fields {
	if cs == nil {
		return nil
	}
	var out Fields
	groups := map[string]int{}
	for _, f := range cs.Layout().Fields {
		if f.Scope != scope || (scope == metrics.ScopeOp && f.Op != k) {
			continue
		}
		kvs := fieldValues(cs, c, f)
		if f.Group == "" {
			out = append(out, kvs...)
			continue
		}
		gi, ok := groups[f.Group]
		if !ok {
			gi = len(out)
			groups[f.Group] = gi
			out = append(out, KV{Key: f.Group, Value: Fields{}})
		}
		out[gi].Value = append(out[gi].Value.(Fields), kvs...)
	}
	return out
}

// fieldValues renders one field (a verdict's evidence follows it).
func fieldValues(cs *metrics.Checks, c *metrics.Cell, f metrics.Field) []KV {
	m, v := lookup(cs, c, f.Measure)
	switch m.Kind {
	case metrics.KindCounter:
		if !given(cs, c, m) {
			return []KV{{f.Key, nil}}
		}
		return []KV{{f.Key, v.Count}}
	case metrics.KindRatio:
		return []KV{{f.Key, ratioValue(cs, c, m)}}
	case metrics.KindHistogram:
		stats := Fields{}
		for _, st := range f.Stats {
			stats = append(stats, KV{st.Key, statValue(m, v.Hist, st)})
		}
		return []KV{{f.Key, stats}}
	case metrics.KindBuckets:
		return []KV{{f.Key, bucketList(m, v.Buckets, f.BucketKeys)}}
	case metrics.KindVerdict:
		var ok *bool
		var evidence any
		if v.Verdict != nil {
			ok, evidence = v.Verdict.OK, v.Verdict.Evidence
		}
		out := []KV{{f.Key, ok}}
		if evidence != nil && f.EvidenceKey != "" {
			out = append(out, KV{f.EvidenceKey, evidence})
		}
		return out
	}
	return nil
}

// given reports whether counter m has a value in c: always, unless its
// Given verdict is absent there.
func given(cs *metrics.Checks, c *metrics.Cell, m metrics.Measure) bool {
	if m.Given == "" {
		return true
	}
	_, v := lookup(cs, c, m.Given)
	return v.Verdict != nil
}

// ratioValue is Num/Den of a ratio measure in c (nil: no denominator).
func ratioValue(cs *metrics.Checks, c *metrics.Cell, m metrics.Measure) *float64 {
	_, num := lookup(cs, c, m.Num)
	_, den := lookup(cs, c, m.Den)
	r, ok := metrics.Ratio(num.Count, den.Count)
	if !ok {
		return nil
	}
	return &r
}

// statValue is one statistic of a histogram measure in display units (ms
// for durations, rounded to µs; other units as recorded); nil without
// samples.
func statValue(m metrics.Measure, h *hdrhistogram.Histogram, st metrics.Stat) *float64 {
	var v float64
	switch {
	case h == nil || h.TotalCount() == 0:
		return nil
	case st.Mean:
		v = h.Mean()
	default:
		q, _ := metrics.Quantile(h, st.Q)
		v = float64(q)
	}
	if m.Unit == metrics.UnitNanoseconds {
		v = round3(v / 1e6)
	}
	return &v
}

// bucketList renders the non-empty buckets: bound (ms for durations, -1
// for the open-ended last one), hits/total, total.
func bucketList(m metrics.Measure, bs []metrics.Bucket, keys [3]string) []Fields {
	out := []Fields{}
	for _, b := range bs {
		if b.Total == 0 {
			continue
		}
		bound := float64(b.Upper)
		if m.Unit == metrics.UnitNanoseconds {
			bound /= 1e6
		}
		if b.Upper <= 0 || b.Upper == metrics.OpenBound {
			bound = -1
		}
		out = append(out, Fields{{keys[0], bound}, {keys[1], float64(b.Hits) / float64(b.Total)}, {keys[2], b.Total}})
	}
	return out
}

// columnCell returns a check column's value for the row of op kind k in
// phase cell c, as a number or verdict, and false where it has none (an
// op-scoped column on another op's row, no samples, no denominator, no
// verdict).
func columnCell(cs *metrics.Checks, c *metrics.Cell, col metrics.Column, k op.Kind) (float64, *bool, bool) {
	if col.Scope == metrics.ScopeOp && !col.PerOp && col.Op != k {
		return 0, nil, false
	}
	m, v := lookup(cs, c, col.OpMeasure(k))
	switch m.Kind {
	case metrics.KindCounter:
		if !given(cs, c, m) {
			return 0, nil, false
		}
		return float64(v.Count), nil, true
	case metrics.KindRatio:
		if r := ratioValue(cs, c, m); r != nil {
			return *r, nil, true
		}
	case metrics.KindHistogram:
		if x := statValue(m, v.Hist, col.Stat); x != nil {
			return *x, nil, true
		}
	case metrics.KindVerdict:
		if v.Verdict != nil && v.Verdict.OK != nil {
			return 0, v.Verdict.OK, true
		}
	}
	return 0, nil, false
}

// csvCell formats a check column for summary.csv ("" without a value).
func csvCell(cs *metrics.Checks, c *metrics.Cell, col metrics.Column, k op.Kind) string {
	x, b, ok := columnCell(cs, c, col, k)
	switch {
	case !ok:
		return ""
	case b != nil:
		return strconv.FormatBool(*b)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

// tableCell formats a check column for the table ("-" without a value):
// ratios as percentages, durations in ms.
func tableCell(cs *metrics.Checks, c *metrics.Cell, col metrics.Column, k op.Kind) string {
	x, b, ok := columnCell(cs, c, col, k)
	if !ok {
		return "-"
	}
	if b != nil {
		return strconv.FormatBool(*b)
	}
	m, _, _ := cs.Measure(col.OpMeasure(k))
	switch {
	case m.Kind == metrics.KindRatio:
		return pct(x)
	case m.Kind == metrics.KindHistogram && m.Unit == metrics.UnitNanoseconds:
		return ms(x)
	}
	return strconv.FormatFloat(x, 'g', 4, 64)
}

// writeSections prints each verdict section: per scenario, the phases that
// were judged — yes, NO (detail) or ? (detail).
func writeSections(bw *errWriter, s *Summary) {
	if s.checks == nil {
		return
	}
	for _, sec := range s.checks.Layout().Sections {
		header := false
		for _, sc := range s.Scenarios {
			parts := []string{}
			for _, ph := range sc.Phases {
				_, v := lookup(s.checks, ph.cell, sec.Measure)
				if v.Verdict == nil {
					continue
				}
				parts = append(parts, ph.Name+" "+verdictText(v.Verdict))
			}
			if len(parts) == 0 {
				continue
			}
			if !header {
				bw.printf("\n%s\n", sec.Title)
				header = true
			}
			bw.printf("  %s: %s\n", sc.Name, strings.Join(parts, ", "))
		}
	}
}

func verdictText(v *metrics.Verdict) string {
	switch {
	case v.OK == nil:
		d := v.Detail
		if d == "" {
			d = "unknown"
		}
		return fmt.Sprintf("? (%s)", d)
	case *v.OK:
		return "yes"
	}
	return fmt.Sprintf("NO (%s)", v.Detail)
}
