package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// TestStallDuringRampOnLocalCluster: an open-loop ramp (stages, 50 → 300
// ops/s) reads linearizably through m2 on a real local etcd cluster; a
// phase SIGSTOPs m2 for its 1 s. The stall shows in that phase's
// response-time tail: its reads wait for m2 until the op timeout (1 s,
// measured from each op's intended start), recorded as timeouts with
// their latency, not dropped; before the stall reads succeed.
func TestStallDuringRampOnLocalCluster(t *testing.T) {
	testenv.Short(t)
	prof := writeFile(t, "stall.yaml", `name: stall
system: {driver: etcd, cluster: local, op_timeout: 1s}
workload: {preset: b, records: 50}
load: {model: stages, rate: 50, workers: 64, options: {stages: "4s:300"}}
routes: {read: m2, write: m1}
levels: [{name: lin, read: linearizable}]
phases:
  - {name: base, duration: 1500ms}
  - {name: stalled, duration: 1s, impairments: [{kind: pause, target: m2}]}
  - {name: after, duration: 1500ms}
`)
	out := t.TempDir()
	p := startPacbench(t, nil, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off", "--quiet")
	if code, _ := p.wait(t, 3*time.Minute); code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, p.stderr.String())
	}
	var sum report.Summary
	readJSON(t, filepath.Join(out, "r", "summary.json"), &sum)
	phases := map[string]*report.Op{}
	for _, ph := range sum.Scenarios[0].Phases {
		phases[ph.Name] = ph.Ops["read"]
	}
	base, stalled := phases["base"], phases["stalled"]
	if base == nil || base.OK == 0 {
		t.Fatalf("no read succeeded before the stall: %+v", base)
	}
	if stalled == nil || stalled.Errors["timeout"] == 0 || stalled.ErrorLatency == nil || stalled.ErrorLatency.P99 == nil {
		t.Fatalf("stalled phase: reads %+v, want timeouts with their latency", stalled)
	}
	if p99 := *stalled.ErrorLatency.P99; p99 < 950 {
		t.Errorf("stalled phase: timed-out reads' p99 response time %.1f ms, want about the 1 s op timeout or more", p99)
	}
	t.Logf("reads: base ok %d p99 %v ms; stalled %d, timeouts %d, error p99 %.0f ms", base.OK, deref(base.LatencyMs.P99),
		stalled.Count, stalled.Errors["timeout"], *stalled.ErrorLatency.P99)
}
