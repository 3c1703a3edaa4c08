package main

import (
	"fmt"
	"strings"

	"github.com/pacbench/pacbench/internal/threshold"
	"github.com/pacbench/pacbench/profile"
)

// addThresholds checks each --threshold against the profile's scenarios
// and phases (a bad one is a usage error naming the flag's text, before
// anything starts) and adds it to the profile's thresholds.
func addThresholds(p *profile.Profile, flags []string) error {
	cat := threshold.Builtin()
	for _, text := range flags {
		if _, err := cat.Compile(text, "--threshold", p.ThresholdNames()); err != nil {
			return usageErr("--threshold %q: %v", text, err)
		}
		p.Thresholds = append(p.Thresholds, profile.Threshold{Expr: text, Source: "--threshold"})
	}
	return nil
}

// thresholdsErr is exit code 3 when a threshold failed (the results are
// written already), naming the ones that did.
func thresholdsErr(rs []threshold.Result) error {
	failed := threshold.Failed(rs)
	if len(failed) == 0 {
		return nil
	}
	names := make([]string, len(failed))
	for i, r := range failed {
		names[i] = r.Threshold
	}
	return &exitError{code: ExitThreshold, err: fmt.Errorf("%d of %d thresholds failed: %s",
		len(failed), len(rs), strings.Join(names, "; "))}
}
