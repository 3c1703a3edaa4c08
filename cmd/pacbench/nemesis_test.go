package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// TestNemesisOnLocalCluster: a phase drawing three faults (pauses and
// partitions of members, 1–2 s each, one per 4 s slot) on the embedded
// etcd cluster. The run ends well; `validate` and `run --dry-run` show the
// draws the run then records in its manifest; each drawn fault was applied
// (its log line, its actions numbered in the manifest) and healed inside
// the phase; the summary is valid and writes succeed again once healed.
// 17 s of phases; no timing is asserted beyond the order of events.
func TestNemesisOnLocalCluster(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "nemesis", ", op_timeout: 1s", "{read: leader, write: leader}",
		"{name: base, duration: 2s}",
		`{name: nemesis, duration: 12s, faults: {draw: 3, every: 4s, from: [
			{kind: pause, targets: [m1, m2, m3], durations: [1s, 2s]},
			{kind: partition, targets: [m2, m3], durations: [1s, 2s]}]}}`,
		"{name: healed, duration: 3s}")
	v := startPacbench(t, nil, "validate", prof)
	if code, _ := v.wait(t, time.Minute); code != ExitOK {
		t.Fatalf("validate: exit %d\n%s%s", code, v.stdout, v.stderr)
	}
	dry := startPacbench(t, nil, "run", "--dry-run", "--profile", prof)
	if code, _ := dry.wait(t, time.Minute); code != ExitOK {
		t.Fatalf("run --dry-run: exit %d\n%s%s", code, dry.stdout, dry.stderr)
	}
	out := t.TempDir()
	p := startPacbench(t, nil, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off")
	code, _ := p.wait(t, 3*time.Minute)
	stderr := p.stderr.String()
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	man := readManifest(t, filepath.Join(out, "r"))
	drawn := man.Profile.Phases[1].Drawn
	if len(drawn) != 3 || len(man.Phases) != 3 {
		t.Fatalf("manifest: %d drawn faults, %d phases; want 3, 3", len(drawn), len(man.Phases))
	}
	win := man.Phases[1]
	for i, d := range drawn {
		line := fmt.Sprintf("phase nemesis fault %d/3 (seed 1): %s %s at +%s for %s", i+1, d.Fault.Kind, d.Fault.Target, d.Start, d.Duration)
		if !strings.Contains(v.stdout.String(), line) {
			t.Errorf("validate does not show %q:\n%s", line, v.stdout)
		}
		if w := fmt.Sprintf("# fault %d/3 of phase nemesis, drawn with seed 1: %s", i+1, d); !strings.Contains(dry.stdout.String(), w) {
			t.Errorf("run --dry-run does not show %q:\n%s", w, dry.stdout)
		}
		if w := fmt.Sprintf("fault %d/3 of phase nemesis: %s", i+1, d); !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q", w)
		}
		n := 0
		for _, ev := range win.Impairments {
			if ev.Fault != i+1 {
				continue
			}
			n++
			// A partition acts on the target's links and on its peers' links it dials (pair proxies).
			if (ev.Action.Member != d.Fault.Target && ev.Action.From != d.Fault.Target) || ev.Action.Kind != d.Fault.Kind || ev.Error != "" {
				t.Errorf("fault %d drawn as %s %s, applied as %+v", i+1, d.Fault.Kind, d.Fault.Target, ev)
			}
			if ev.AppliedNs < win.StartNs+int64(d.Start) || ev.ClearedNs < win.StartNs+int64(d.End()) || ev.ClearedNs > win.EndNs {
				t.Errorf("fault %d (+%s for %s): applied at +%s, healed at +%s, phase over at +%s", i+1, d.Start, d.Duration,
					time.Duration(ev.AppliedNs-win.StartNs), time.Duration(ev.ClearedNs-win.StartNs), time.Duration(win.EndNs-win.StartNs))
			}
		}
		if n == 0 {
			t.Errorf("fault %d (%s %s) has no action in the manifest: %+v", i+1, d.Fault.Kind, d.Fault.Target, win.Impairments)
		}
		t.Logf("fault %d: %s %s at +%s for %s, %d actions", i+1, d.Fault.Kind, d.Fault.Target, d.Start, d.Duration, n)
	}
	if len(man.MembersDied) != 0 {
		t.Errorf("members counted dead: %+v", man.MembersDied)
	}
	b, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatalf("summary.json: %v", err)
	}
	if len(sum.Scenarios) != 1 || len(sum.Scenarios[0].Phases) != 3 {
		t.Fatalf("summary: %d scenarios, want 1 with 3 phases", len(sum.Scenarios))
	}
	for _, ph := range sum.Scenarios[0].Phases {
		w := ph.Ops["write"]
		if w == nil {
			w = &report.Op{}
		}
		t.Logf("phase %s: %d impairment actions; writes %d, ok %d", ph.Name, len(ph.Impairment), w.Count, w.OK)
		if ph.Name == "healed" && w.OK == 0 {
			t.Errorf("no write succeeded once healed: %+v", w)
		}
	}
}
