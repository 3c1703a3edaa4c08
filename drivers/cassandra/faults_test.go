package cassandra_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/cassandra"
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
	testenv.Short(t)
	testenv.Require(t, "PACBENCH_CASSANDRA_HOSTS", `run: eval "$(scripts/cassandra.sh start)"`)
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
	reg := drivers.NewRegistry(cassandra.New())
	p, err := profile.Load(filepath.Join("..", "..", "profiles", "cassandra-local.yaml"), profile.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	var keep []profile.LevelSet
	for _, l := range p.Levels {
		if l.Name == "one-one" || l.Name == "quorum-quorum" {
			keep = append(keep, l)
		}
	}
	p.Levels, p.Checks = keep, profile.Checks{}
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

// opCounts renders an op's count, ok and errors for messages.
func opCounts(o *report.Op) string {
	if o == nil {
		return "none"
	}
	return fmt.Sprintf("%d/%d ok, errors %v", o.OK, o.Count, o.Errors)
}
