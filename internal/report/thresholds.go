package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pacbench/pacbench/internal/threshold"
)

// WriteThresholds prints each threshold with its measured values and
// pass/fail, as the table ends (nothing without thresholds).
func WriteThresholds(w io.Writer, rs []threshold.Result) error {
	bw := &errWriter{w: w}
	writeThresholds(bw, rs)
	return bw.err
}

// writeThresholds prints each threshold with its measured values and
// pass/fail (nothing without thresholds).
func writeThresholds(bw *errWriter, rs []threshold.Result) {
	if len(rs) == 0 {
		return
	}
	failed := len(threshold.Failed(rs))
	verdict := "all passed"
	if failed > 0 {
		verdict = fmt.Sprintf("%d of %d FAILED", failed, len(rs))
	}
	bw.printf("\nthresholds: %s\n", verdict)
	for _, r := range rs {
		status := "pass"
		if !r.Pass {
			status = "FAIL"
		}
		src := ""
		if r.Source != "" {
			src = "  (" + r.Source + ")"
		}
		bw.printf("  %s  %s%s\n", status, r.Threshold, src)
		if r.Reason != "" {
			bw.printf("        %s\n", r.Reason)
			continue
		}
		parts := make([]string, 0, len(r.Values))
		for _, v := range r.Values {
			where := v.Scenario
			if v.Phase != "" {
				where += "/" + v.Phase
			}
			part := where + " " + thresholdValue(r, v)
			switch {
			case v.Reason != "":
				part += " FAIL (" + v.Reason + ")"
			case !v.Pass:
				part += " FAIL"
			}
			parts = append(parts, part)
		}
		bw.printf("        %s\n", strings.Join(parts, ", "))
	}
}

// thresholdValue formats a measured value with as many digits as it takes
// for the printed value to compare with the limit as the value does (a
// p99 of 19.996 ms under "< 20ms" never prints as 20 ms).
func thresholdValue(r threshold.Result, v threshold.Value) string {
	x, isNum := v.Value.(float64)
	if !isNum {
		if v.Value == nil {
			return "-"
		}
		return fmt.Sprint(v.Value)
	}
	lim, _ := r.Limit.(float64)
	if r.Unit == threshold.UnitRatio && (x == 0 || x == 1) {
		return pct(x) // exact: 0% only for none, 100% only for all
	}
	scale, suffix, digits := 1.0, "", 0
	switch r.Unit {
	case threshold.UnitMs:
		suffix, digits = " ms", 2
	case threshold.UnitRatio:
		scale, suffix, digits = 100, "%", 1
	case threshold.UnitRate:
		suffix, digits = " ops/s", 1
	}
	for ; digits < 12; digits++ {
		s := strconv.FormatFloat(x*scale, 'f', digits, 64)
		shown, err := strconv.ParseFloat(s, 64)
		if err == nil && sameSide(shown/scale, x, lim) {
			return s + suffix
		}
	}
	return strconv.FormatFloat(x*scale, 'g', -1, 64) + suffix
}

// sameSide reports whether shown compares with lim as x does, and stays
// unequal to lim when x is.
func sameSide(shown, x, lim float64) bool {
	return (shown < lim) == (x < lim) && (shown > lim) == (x > lim) && (shown == lim) == (x == lim)
}
