package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
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

// dirThresholds compiles the thresholds of a results directory's run
// (manifest.json's profile.thresholds) followed by extra ones (--threshold)
// against the scenario and phase names of its summary.json, and returns
// them with that summary document. A bad --threshold is a usage error.
func dirThresholds(dir string, extra []string) ([]*threshold.Threshold, []byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, usageErr("run directory: %v", err)
	}
	defer root.Close()
	doc, err := root.ReadFile("summary.json")
	if err != nil {
		return nil, nil, usageErr("%s: not a pacbench run directory: %v", dir, err)
	}
	var sum struct {
		Scenarios []struct {
			Name   string `json:"name"`
			Phases []struct {
				Name string `json:"name"`
			} `json:"phases"`
		} `json:"scenarios"`
	}
	if err := json.Unmarshal(doc, &sum); err != nil {
		return nil, nil, runErr(fmt.Errorf("%s: summary.json: %w", dir, err))
	}
	names := threshold.Names{Scenarios: []string{}, Phases: []string{}}
	for _, sc := range sum.Scenarios {
		names.Scenarios = append(names.Scenarios, sc.Name)
		for _, ph := range sc.Phases {
			if !slices.Contains(names.Phases, ph.Name) {
				names.Phases = append(names.Phases, ph.Name)
			}
		}
	}
	var man struct {
		Profile struct {
			Thresholds []profile.Threshold `json:"thresholds"`
		} `json:"profile"`
	}
	if b, err := root.ReadFile("manifest.json"); err == nil {
		_ = json.Unmarshal(b, &man) // a run without a readable manifest has only --threshold's
	}
	cat := threshold.Builtin()
	var out []*threshold.Threshold
	for _, t := range man.Profile.Thresholds {
		th, err := cat.Compile(t.Text(), t.Source, names)
		if err != nil {
			return nil, nil, runErr(fmt.Errorf("%s: manifest.json: threshold %q: %w", dir, t.Text(), err))
		}
		out = append(out, th)
	}
	for _, text := range extra {
		th, err := cat.Compile(text, "--threshold", names)
		if err != nil {
			return nil, nil, usageErr("--threshold %q: %v", text, err)
		}
		out = append(out, th)
	}
	return out, doc, nil
}
