package cassandra_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// auditOf returns the lost-write audit's counts of phase ph and its
// convergence evidence (the wait before the final reads, ms, and whether
// every replica agreed within its bound); it fails t if ph was not
// audited.
func auditOf(t *testing.T, sc report.Scenario, ph string) (acked, lost int64, waitMs float64, converged bool) {
	t.Helper()
	for _, p := range sc.Phases {
		if p.Name != ph {
			continue
		}
		var ok bool
		if lost, ok = p.Checks.Int("audit", "lost"); !ok {
			t.Fatalf("%s/%s: not audited", sc.Name, ph)
		}
		acked, _ = p.Checks.Int("audit", "acked")
		ev, _ := p.Checks.Get("audit", "evidence")
		var conv struct {
			WaitMs    float64 `json:"wait_ms"`
			Converged bool    `json:"converged"`
		}
		if b, err := json.Marshal(ev); err != nil || json.Unmarshal(b, &conv) != nil {
			t.Fatalf("%s/%s: audit evidence %v: %v", sc.Name, ph, ev, err)
		}
		return acked, lost, conv.WaitMs, conv.Converged
	}
	t.Fatalf("%s: no phase %s", sc.Name, ph)
	return 0, 0, 0, false
}

// TestSplitBrainWritersOne: split-brain writers (routes.split_brain) via
// cassandra1 and the partitioned cassandra3 at ONE/ONE write five keys
// on both sides of the partition at the same time, and both sides keep
// acknowledging. Both sides stamp their writes from one correct clock
// (pacbench's), so last-write-wins keeps, per key, the write invoked last:
// after the heal the audit (at ALL, judging by real-time order) finds no
// acknowledged write lost — what split-brain under last-write-wins loses
// is the clocks' disagreement (TestClientClockSkewLostWrites), not the
// partition's. The convergence wait reports how long the replicas took to
// agree, or that its bound ended it.
func TestSplitBrainWritersOne(t *testing.T) {
	acked, lost, waitMs, ev := splitBrainOne(t, 5, nil)
	if lost != 0 {
		t.Errorf("%d of %d acknowledged writes lost (%s); want none with one clock", lost, acked, ev)
	}
	if waitMs <= 0 {
		t.Errorf("convergence wait %.0f ms: want the time reported", waitMs)
	}
}

// TestSplitBrainWritersOneSkewed is TestSplitBrainWritersOne with the
// clocks disagreeing, as Jepsen's Cassandra analyses had them: during the
// partition the writers on the minority side (via cassandra3) stamp
// their writes 5 s behind. After the heal, last-write-wins keeps a key's
// last majority write whenever the majority wrote it in the partition's
// last 5 s (nearly every key at these rates), and the minority's writes
// acknowledged after it are lost: lost acknowledged writes > 0. (With
// 500 ms of skew the majority won only on keys it happened to write in
// the last 500 ms: 3 lost of about 760 in each of four runs, too few to
// rule out a run with none.)
func TestSplitBrainWritersOneSkewed(t *testing.T) {
	acked, lost, _, ev := splitBrainOne(t, 20, &profile.Impairment{
		Kind: "client_clock_skew", Target: "cassandra3", Offset: impair.Duration(-5 * time.Second)})
	if lost == 0 {
		t.Errorf("none of %d acknowledged writes lost (%s); want the skewed side's writes lost to last-write-wins", acked, ev)
	}
}

// splitBrainOne runs the ONE/ONE split-brain schedule (a 5 s baseline, a
// 25 s partition of cassandra3 with writers via cassandra1 and cassandra3
// on the given number of keys, plus extra in the partition) and returns the partition
// phase's audit: acknowledged and lost writes, the convergence wait (ms)
// and the verdict's evidence. It fails t unless both sides acknowledged
// writes in every phase.
func splitBrainOne(t *testing.T, keys int, extra *profile.Impairment) (acked, lost int64, waitMs float64, evidence string) {
	t.Helper()
	p, reg := localProfile(t)
	p.Levels, p.Checks = levelsNamed(p, "one-one"), profile.Checks{}
	p.Routes = profile.Routes{Read: "cassandra3", Writers: []string{"cassandra1", "cassandra3"}, SplitBrain: true}
	p.Workload.Records, p.Workload.Distribution = keys, "uniform"
	p.Workload.Mix = map[string]float64{"read": 0.2, "update": 0.8}
	imps := []profile.Impairment{{Kind: "partition", Target: "cassandra3"}}
	if extra != nil {
		imps = append(imps, *extra)
	}
	p.Phases = []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "partition", Duration: profile.Duration(25 * time.Second), Impairments: imps},
	}
	logw := &testenv.SyncBuffer{}
	out, err := run(t, p, reg, logw, 5*time.Minute)
	t.Logf("log:\n%s", logw.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	sc := out.Summary.Scenarios[0]
	for _, ph := range sc.Phases {
		if w := ph.Ops["write"]; w == nil || w.OK == 0 {
			t.Errorf("%s: writes %s; want acknowledged writes", ph.Name, opCounts(w))
		}
	}
	acked, lost, waitMs, converged := auditOf(t, sc, "partition")
	t.Logf("partition: %d of %d acknowledged writes lost; convergence wait %.0f ms (converged %v)", lost, acked, waitMs, converged)
	if acked == 0 {
		t.Error("no acknowledged write in the partition")
	}
	return acked, lost, waitMs, sc.PACELC.Evidence
}

// skewProfile is TestClientClockSkew's schedule on 20 keys: two write
// routes (cassandra1, cassandra2), a baseline and a last phase in
// which the writers via cassandra2 stamp their writes 500 ms behind, at
// level set lv with the op mix.
func skewProfile(t *testing.T, lv string, mix map[string]float64) (*profile.Profile, *testenv.SyncBuffer, func() report.Scenario) {
	p, reg := localProfile(t)
	p.Levels, p.Checks = levelsNamed(p, lv), profile.Checks{}
	p.Routes = profile.Routes{Read: "cassandra3", Writers: []string{"cassandra1", "cassandra2"}}
	p.Workload.Records, p.Workload.Distribution = 20, "uniform"
	p.Workload.Mix = mix
	p.Phases = []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "skewed", Duration: profile.Duration(10 * time.Second), Impairments: []profile.Impairment{
			{Kind: "client_clock_skew", Target: "cassandra2", Offset: impair.Duration(-500 * time.Millisecond)}}},
	}
	logw := &testenv.SyncBuffer{}
	return p, logw, func() report.Scenario {
		t.Helper()
		out, err := run(t, p, reg, logw, 5*time.Minute)
		t.Logf("log:\n%s", logw.String())
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if !strings.Contains(logw.String(), "impairment: client_clock_skew -500ms on the writers via cassandra2") {
			t.Error("the log does not show the skew applied")
		}
		return out.Summary.Scenarios[0]
	}
}

// TestClientClockSkewLostWrites: at QUORUM/QUORUM, with the writers via
// cassandra2 500 ms behind, their acknowledged writes lose to older ones
// via cassandra1 (last-write-wins on client timestamps; quorums do not
// help): the audit after the skewed phase finds lost acknowledged writes.
// It sees what each key's last writes lost (earlier losers are overwritten
// by later writes): a key's writes via cassandra2 after its last write via
// cassandra1, when that one came in the skew's last 500 ms — about one key
// in three at 100 ops/s, so P(none of 20) ≈ 0.7^20 < 0.1 %.
func TestClientClockSkewLostWrites(t *testing.T) {
	p, _, runIt := skewProfile(t, "quorum-quorum", map[string]float64{"read": 0.2, "update": 0.8})
	p.Load.Rate = 100
	sc := runIt()
	acked, lost, _, _ := auditOf(t, sc, "skewed")
	t.Logf("skewed: %d of %d acknowledged writes lost", lost, acked)
	if acked == 0 || lost == 0 {
		t.Errorf("skewed: %d of %d acknowledged writes lost; want some lost (%s)", lost, acked, sc.PACELC.Evidence)
	}
}

// TestClientClockSkewLWT: the same schedule with lightweight transactions
// (cas at SERIAL): Paxos orders the writes, whatever the client clocks,
// so the audit (at SERIAL) finds every acknowledged write: 0 lost.
func TestClientClockSkewLWT(t *testing.T) {
	_, _, runIt := skewProfile(t, "lwt-serial", map[string]float64{"read": 0.3, "cas": 0.7})
	sc := runIt()
	for _, ph := range []string{"baseline", "skewed"} {
		acked, lost, _, _ := auditOf(t, sc, ph)
		t.Logf("%s: %d of %d acknowledged cas writes lost", ph, lost, acked)
		if acked == 0 || lost != 0 {
			t.Errorf("%s: %d of %d acknowledged cas writes lost; want 0 of some (%s)", ph, lost, acked, sc.PACELC.Evidence)
		}
	}
}
