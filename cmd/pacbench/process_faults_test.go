package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/owner"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// watchStates samples pid's state every millisecond until it is gone and
// returns the distinct states seen, in order.
func watchStates(pid int) <-chan []byte {
	out := make(chan []byte, 1)
	go func() {
		var seen []byte
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			s := owner.State(pid)
			if s == 0 || s == 'Z' {
				break
			}
			if len(seen) == 0 || seen[len(seen)-1] != s {
				seen = append(seen, s)
			}
		}
		out <- seen
	}()
	return out
}

// TestPauseHealedOnInterrupt: a member paused by a phase (SIGSTOP) is
// continued (SIGCONT) by the heal when pacbench is interrupted mid-phase,
// before the cluster stops; the run says it healed the pause.
func TestPauseHealedOnInterrupt(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "paused", ", op_timeout: 500ms", "{read: m2, write: m1}",
		"{name: base, duration: 1s}", "{name: frozen, duration: 60s, impairments: [{kind: pause, target: m2}]}")
	out := t.TempDir()
	p := startPacbench(t, nil, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off")
	p.waitFor(t, "impairment: pause m2", 60*time.Second)
	pid := memberPID(t, p.cmd.Process.Pid, "m2")
	states := watchStates(pid)
	deadline := time.Now().Add(5 * time.Second)
	for !owner.Stopped(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("m2 (pid %d) in state %q during the pause, want T", pid, owner.State(pid))
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(time.Second) // paused long enough for the watcher to see it, loaded machine or not
	p.signalGroup(syscall.SIGINT)
	code, took := p.wait(t, 60*time.Second)
	stderr := p.stderr.String()
	t.Logf("exit %d %s after SIGINT", code, took.Round(time.Millisecond))
	if code != ExitRun {
		t.Fatalf("exit %d, want %d\n%s", code, ExitRun, stderr)
	}
	for _, w := range []string{"interrupted in phase frozen", "impairments healed (1 removed)"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	seen := <-states
	if i := slices.Index(seen, 'T'); i < 0 || !slices.ContainsFunc(seen[i:], func(s byte) bool { return s != 'T' }) {
		t.Errorf("m2's states %q: never continued after the pause", seen)
	}
	man := readManifest(t, filepath.Join(out, "r"))
	if n := len(man.Phases); n != 2 || len(man.Phases[1].Impairments) != 1 {
		t.Fatalf("manifest phases %+v", man.Phases)
	}
	if ev := man.Phases[1].Impairments[0]; ev.Describe != "pause m2" || ev.ClearedNs <= ev.AppliedNs {
		t.Errorf("manifest records the pause as %+v", ev)
	}
}

// TestPauseThenKillOnLocalCluster: the leader paused for 3 s, then a
// follower killed for 3 s and restarted by the heal, writes throughout:
// the run ends well (exit 0, no member counted dead) and writes succeed
// again once healed. A phase in which no write ran (likely while the leader
// is paused) has no "write" op in the summary.
func TestPauseThenKillOnLocalCluster(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "faults", ", op_timeout: 1s", "{read: leader, write: leader}",
		"{name: base, duration: 2s}",
		"{name: paused, duration: 3s, impairments: [{kind: pause, target: leader}]}",
		"{name: killed, duration: 3s, impairments: [{kind: kill, target: follower}]}",
		"{name: healed, duration: 4s}")
	out := t.TempDir()
	p := startPacbench(t, nil, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off")
	code, _ := p.wait(t, 3*time.Minute)
	stderr := p.stderr.String()
	if code != ExitOK {
		t.Fatalf("exit %d, want 0\n%s", code, stderr)
	}
	man := readManifest(t, filepath.Join(out, "r"))
	if len(man.MembersDied) != 0 {
		t.Errorf("members counted dead: %+v", man.MembersDied)
	}
	b, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	for _, ph := range sum.Scenarios[0].Phases {
		// A phase where no write ran has no "write" entry: with the leader
		// paused, workers wait op_timeout per op and preset b's 5 % of
		// writes can draw none in the phase.
		w := ph.Ops["write"]
		if w == nil {
			w = &report.Op{}
		}
		t.Logf("phase %s: %s; writes %d, ok %d", ph.Name, ph.Impairment, w.Count, w.OK)
		if ph.Name == "healed" && w.OK == 0 {
			t.Errorf("no write succeeded once healed: %+v", w)
		}
	}
	for _, w := range []string{"impairment: pause m", "impairment: kill m"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
}
