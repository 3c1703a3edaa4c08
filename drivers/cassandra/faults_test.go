package cassandra_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// script runs scripts/cassandra.sh with args and returns its stdout.
func script(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join("..", "..", "scripts", "cassandra.sh"), args...).Output()
	return strings.TrimSpace(string(out)), err
}

// nodePID is node n's pid as scripts/cassandra.sh reports it (0: not running).
func nodePID(n int) int {
	out, err := script("pid", strconv.Itoa(n))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(out)
	return pid
}

// TestNodePauseKillRestart pauses cassandra3 (the read coordinator) for a
// phase, then kills it, through the process settings of
// profiles/cassandra-local.yaml (scripts/cassandra.sh pid / start-node):
// reads it coordinates all fail while it is paused (no answer: timeouts)
// and while it is dead (refused: unavailable), writes through cassandra1
// keep succeeding at ONE and QUORUM, and the heal restarts it (a new JVM)
// so that it coordinates reads again in the healed phase. The run ends
// well: nothing is left paused or dead.
func TestNodePauseKillRestart(t *testing.T) {
	p, reg := localProfile(t)
	before := nodePID(3)
	if before == 0 {
		t.Fatal("cassandra3 is not running")
	}
	t.Cleanup(func() {
		if p := nodePID(3); p > 0 {
			_ = syscall.Kill(p, syscall.SIGCONT)
		}
		if out, err := script("start-node", "3"); err != nil {
			t.Errorf("start-node 3: %v %s", err, out)
		}
	})
	p.Levels, p.Checks = levelsNamed(p, "one-one", "quorum-quorum"), profile.Checks{}
	p.Workload.Mix = map[string]float64{"read": 0.5, "update": 0.5}
	p.Phases = []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "paused", Duration: profile.Duration(12 * time.Second), Impairments: []profile.Impairment{{Kind: "pause", Target: "cassandra3"}}},
		{Name: "killed", Duration: profile.Duration(12 * time.Second), Impairments: []profile.Impairment{{Kind: "kill", Target: "cassandra3"}}},
		{Name: "healed", Duration: profile.Duration(20 * time.Second)},
	}
	logw := &testenv.SyncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), Log: logw})
	t.Logf("log:\n%s", logw.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var tbl bytes.Buffer
	_ = report.WriteTable(&tbl, out.Summary)
	t.Logf("\n%s", tbl.String())
	if after := nodePID(3); after == 0 || after == before {
		t.Errorf("cassandra3 after the run: pid %d (before %d), want a restarted node", after, before)
	}
	for _, s := range out.Summary.Scenarios {
		byName := map[string]report.Phase{}
		for _, ph := range s.Phases {
			byName[ph.Name] = ph
		}
		for _, ph := range []string{"paused", "killed"} {
			if r := byName[ph].Ops["read"]; r == nil || r.Count == 0 || r.OK != 0 {
				t.Errorf("%s/%s: reads through cassandra3 %+v; want every one to fail", s.Name, ph, opCounts(r))
			}
			if w := byName[ph].Ops["write"]; w == nil || w.OK == 0 {
				t.Errorf("%s/%s: writes through cassandra1 %+v; want them to succeed (two replicas of three are up)", s.Name, ph, opCounts(w))
			}
		}
		if r := byName["paused"].Ops["read"]; r != nil && r.Errors["read_timeout"]+r.Errors["timeout"] == 0 {
			t.Errorf("%s/paused: read errors %v; a paused coordinator never answers: want timeouts", s.Name, r.Errors)
		}
		if r := byName["healed"].Ops["read"]; r == nil || r.OK == 0 {
			t.Errorf("%s/healed: reads through the restarted cassandra3 %+v; want some to succeed", s.Name, opCounts(r))
		}
	}
}

// levelsNamed returns p's level sets of those names, in p's order.
func levelsNamed(p *profile.Profile, names ...string) []profile.LevelSet {
	var keep []profile.LevelSet
	for _, l := range p.Levels {
		if slices.Contains(names, l.Name) {
			keep = append(keep, l)
		}
	}
	return keep
}

// opCounts renders an op's count, ok and errors for messages.
func opCounts(o *report.Op) string {
	if o == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%d ok, errors %v", o.OK, o.Count, o.Errors)
}

// TestClientClockSkew: two write routes (cassandra1, cassandra2) at
// QUORUM/QUORUM on five keys, and a phase in which the writers via
// cassandra2 stamp their writes 500 ms behind: their writes lose to the
// writes just before them via cassandra1 (last-write-wins on the client
// timestamps), so QUORUM reads, which return every acknowledged write
// while the clocks agree, read stale values under the skew.
func TestClientClockSkew(t *testing.T) {
	p, reg := localProfile(t)
	p.Levels, p.Checks = levelsNamed(p, "quorum-quorum"), profile.Checks{}
	p.Routes = profile.Routes{Read: "cassandra3", Writers: []string{"cassandra1", "cassandra2"}}
	p.Workload.Records, p.Workload.Distribution = 5, "uniform"
	p.Workload.Mix = map[string]float64{"read": 0.5, "update": 0.5}
	p.Phases = []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "skewed", Duration: profile.Duration(10 * time.Second), Impairments: []profile.Impairment{
			{Kind: "client_clock_skew", Target: "cassandra2", Offset: impair.Duration(-500 * time.Millisecond)}}},
	}
	logw := &testenv.SyncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), Log: logw})
	t.Logf("log:\n%s", logw.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logw.String(), "impairment: client_clock_skew -500ms on the writers via cassandra2") {
		t.Error("the log does not show the skew applied")
	}
	for _, ph := range out.Summary.Scenarios[0].Phases {
		r := ph.Ops["read"]
		if r == nil {
			t.Fatalf("%s: no reads", ph.Name)
		}
		checked, _ := r.Checks.Int("staleness", "checked")
		stale, _ := r.Checks.Int("staleness", "stale")
		t.Logf("%s: %d of %d checked reads stale", ph.Name, stale, checked)
		if ph.Name == "skewed" && stale == 0 {
			t.Errorf("skewed: no stale read of %d; want writes via the skewed route to lose", checked)
		}
	}
}
