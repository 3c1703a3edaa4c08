package cassandra_test

import (
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// TestAuditNoFaults runs the lost-write audit end to end on the loopback
// cluster without faults, at ONE/ONE and QUORUM/QUORUM: one writer at a
// time per key, timestamps from one host's clock, last-write-wins keeps
// every key's newest write, so the audit (reads at ALL after the run)
// finds every acknowledged write: 0 lost, in every scenario, and the
// verdict's third column says lossless unless a final read failed.
func TestAuditNoFaults(t *testing.T) {
	p, reg := localProfile(t)
	var keep []profile.LevelSet
	for _, l := range p.Levels {
		if l.Name == "one-one" || l.Name == "quorum-quorum" {
			keep = append(keep, l)
		}
	}
	p.Levels = keep
	p.Checks = profile.Checks{}
	p.Workload.Mix = map[string]float64{"read": 0.5, "update": 0.5}
	p.Phases = []profile.Phase{{Name: "baseline", Duration: profile.Duration(5 * time.Second)}}
	logw := &testenv.SyncBuffer{}
	out, err := run(t, p, reg, logw, 3*time.Minute)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, logw.String())
	}
	if len(out.Summary.Scenarios) != 2 {
		t.Fatalf("%d scenarios, want 2", len(out.Summary.Scenarios))
	}
	for _, sc := range out.Summary.Scenarios {
		ph := sc.Phases[0]
		lost, audited := ph.Checks.Int("audit", "lost")
		acked, _ := ph.Checks.Int("audit", "acked")
		if !audited {
			t.Fatalf("%s: not audited\n%s", sc.Name, logw.String())
		}
		if acked == 0 {
			t.Errorf("%s: no acknowledged write", sc.Name)
		}
		if lost != 0 {
			t.Errorf("%s: %d of %d acknowledged writes lost without any fault (%s)", sc.Name, lost, acked, sc.PACELC.Evidence)
		}
		if v := sc.PACELC; v.LostWrites == nil || *v.LostWrites != 0 || (v.Loss != nil && *v.Loss != "lossless") {
			t.Errorf("%s: verdict third column %v / %v, want lossless with 0 lost (%s)", sc.Name, v.Loss, v.LostWrites, v.Evidence)
		}
	}
}
