package profile_test

import (
	"testing"

	"github.com/pacbench/pacbench/profile"
)

func TestThresholds(t *testing.T) {
	t.Parallel()
	file := "testdata/good/thresholds.yaml"
	p, err := profile.Load(file, profile.Options{Registry: fakeRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ text, source string }{
		{"read.p99(baseline) < 20ms", file + ":12"},
		{"availability(partition) >= 99%", file + ":13"},
		{`"serial izable": stale_ratio(baseline) < 0.01`, file + ":14"},
		{"linearizable: linearizable == true", file + ":15"},
		{`"serial izable": pacelc.partition == PA`, file + ":16"},
		{"kept_up == true", file + ":17"},
		{"session.ryw_violations == 0", file + ":18"},
		{"read.staleness.ms.p99 < 1s", file + ":19"},
	}
	if len(p.Thresholds) != len(want) {
		t.Fatalf("%d thresholds, want %d: %+v", len(p.Thresholds), len(want), p.Thresholds)
	}
	for i, w := range want {
		if got := p.Thresholds[i]; got.Text() != w.text || got.Source != w.source {
			t.Errorf("thresholds[%d] = %q from %q, want %q from %q", i, got.Text(), got.Source, w.text, w.source)
		}
	}
	ths, err := p.CompileThresholds(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ths[4].Expr.Scenario != "serial izable" || ths[4].Source != file+":16" || ths[1].Limit != 0.99 {
		t.Errorf("compiled: %+v / %+v", ths[4], ths[1])
	}
	// Planning copies them; the copy is independent.
	plan, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	plan.Profile.Thresholds[0].Expr = "changed"
	if p.Thresholds[0].Expr == "changed" {
		t.Error("Plan shares the thresholds slice with the profile")
	}
	// A profile built in code is checked by Plan.
	bad := *p
	bad.Thresholds = []profile.Threshold{{Expr: "read.p99 < 1 parsec"}}
	if _, err := bad.Plan(profile.Overrides{}); err == nil {
		t.Error("Plan accepted a bad threshold")
	}
}
