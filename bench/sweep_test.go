package bench_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/htmlreport/pagetest"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/profile"
)

// TestSweepOnRealEtcd sweeps the open-loop rate over three values against
// a real 3-member etcd cluster (linearizable vs serializable reads through
// a follower): one directory with every value's complete run (its
// override in the manifest, its warm-up recorded as a phase of its own),
// one curve per level, linearizable reads never stale at any rate, and the
// knee where its definition puts it; its report.html draws every curve in
// headless Chromium. Which rates a loaded 2-core machine
// sustains is not asserted (docs/results.md has measured sweeps).
func TestSweepOnRealEtcd(t *testing.T) {
	ctx, c := startCluster(t)
	reg := drivers.NewRegistry(etcd.New())
	yml := fmt.Sprintf(`
name: sweep
%s
workload: {preset: b, records: 100, value_size: 128}
load: {model: open, rate: 50, arrivals: poisson, workers: 16}
routes: {read: follower, write: leader}
levels:
  - {name: linearizable, read: linearizable}
  - {name: serializable, read: serializable}
phases: [{name: baseline, duration: 1500ms}]
`, remoteSystem(c))
	values := []string{"50", "100", "200"}
	at := func(v string) (*profile.Profile, error) {
		return profile.Parse("sweep.yaml", []byte(yml), profile.Options{Registry: reg,
			Set: []profile.Override{{Path: "load.rate", Value: v}}})
	}
	out := t.TempDir()
	res, err := bench.Sweep(ctx, bench.SweepOptions{Options: bench.Options{Registry: reg, OutDir: out, RunID: "sweep", Version: "test"},
		Param: "load.rate", Values: values, ProfileAt: at, KneeP99: time.Second, KneeOp: "read", Warmup: 500 * time.Millisecond})
	if err != nil {
		t.Fatalf("sweep: %v", err)
	}
	sw := res.Summary.Sweep
	if res.Dir != filepath.Join(out, "sweep") || len(sw.Points) != 3 || len(sw.Curves) != 2 {
		t.Fatalf("dir %s, %d points, %d curves", res.Dir, len(sw.Points), len(sw.Curves))
	}
	for i, pt := range sw.Points {
		var man report.Manifest
		b, err := os.ReadFile(filepath.Join(res.Dir, pt.Dir, "manifest.json"))
		if err != nil || json.Unmarshal(b, &man) != nil {
			t.Fatalf("value %s: manifest: %v", pt.Value, err)
		}
		if !slices.Equal(man.Overrides, []string{"load.rate=" + values[i]}) || man.Profile.Phases[0].Name != profile.WarmupPhase {
			t.Errorf("value %s: overrides %v, phases %+v", pt.Value, man.Overrides, man.Profile.Phases)
		}
	}
	for _, cv := range sw.Curves {
		if len(cv.Points) != 3 {
			t.Fatalf("%s: %d points", cv.Scenario, len(cv.Points))
		}
		n := 0
		for n < 3 && !cv.Points[n].FellBehind && cv.Points[n].Ops["read"].P99 != nil && *cv.Points[n].Ops["read"].P99 <= 1000 {
			n++
		}
		if (n == 0) != (cv.Knee == nil) || (n > 0 && *cv.Knee != values[n-1]) {
			t.Errorf("%s: knee %v (%s), but the first %d values qualify", cv.Scenario, cv.Knee, cv.KneeReason, n)
		}
		for _, p := range cv.Points {
			if p.WarmupOps == 0 || p.Ops["read"].P50 == nil {
				t.Errorf("%s at %s: warm-up ops %d, read %+v", cv.Scenario, p.Value, p.WarmupOps, p.Ops["read"])
			}
			if cv.Scenario == "linearizable" && (p.StaleRatio == nil || *p.StaleRatio != 0) {
				t.Errorf("linearizable at %s: stale ratio %v, want 0", p.Value, p.StaleRatio)
			}
		}
	}
	var page htmlreport.SweepData
	file := filepath.Join(res.Dir, htmlreport.ReportFile)
	pagetest.Embedded(t, file, &page)
	if len(page.Curves) != 4 || len(page.Stale) != 1 {
		t.Errorf("report.html: %d curves (want 2 levels × read, write), %d stale charts", len(page.Curves), len(page.Stale))
	}
	pagetest.Check(t, file, page.Charts(), pagetest.Options{Shot: "report-sweep-etcd.png"})
	t.Logf("knees: %s %v (%s); %s %v (%s)", sw.Curves[0].Scenario, deref(sw.Curves[0].Knee), sw.Curves[0].KneeReason,
		sw.Curves[1].Scenario, deref(sw.Curves[1].Knee), sw.Curves[1].KneeReason)
}
