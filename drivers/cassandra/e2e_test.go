package cassandra_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
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

// TestClusterProfileEndToEnd runs profiles/cassandra-local.yaml (phases
// shortened; the partition phase outlasts failure detection) on the local
// cluster and checks what must hold whatever the machine's speed: R+W>N
// scenarios never read stale, ONE stays available through the partition
// (PA) while ALL does not (PC).
func TestClusterProfileEndToEnd(t *testing.T) {
	p, reg := localProfile(t)
	durs := map[string]time.Duration{"baseline": 10 * time.Second, "latency": 10 * time.Second, "partition": 35 * time.Second, "healed": 10 * time.Second}
	for i := range p.Phases {
		d, ok := durs[p.Phases[i].Name]
		if !ok {
			t.Fatalf("unexpected phase %q", p.Phases[i].Name)
		}
		p.Phases[i].Duration = profile.Duration(d)
	}
	log := &testenv.SyncBuffer{}
	out, err := run(t, p, reg, log, 5*time.Minute)
	t.Logf("log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	sc := map[string]report.Scenario{}
	for _, s := range out.Summary.Scenarios {
		sc[s.Name] = s
		if len(s.Phases) != len(durs) {
			t.Fatalf("scenario %s has %d phases, want %d", s.Name, len(s.Phases), len(durs))
		}
	}
	neverStale(t, sc, "quorum-quorum", "all-one", "all-all")
	staleOnlyAfterUnfinishedCAS(t, sc["lwt-serial"])
	readIn := func(scenario, phase string) *report.Op {
		for _, ph := range sc[scenario].Phases {
			if ph.Name == phase {
				if r := ph.Ops["read"]; r != nil && r.Count > 0 {
					return r
				}
			}
		}
		t.Fatalf("%s/%s: no reads", scenario, phase)
		return nil
	}
	if r := readIn("one-one", "partition"); r.Availability < 0.5 || func() bool { n, _ := r.Checks.Int("staleness", "stale"); return n == 0 }() {
		t.Errorf("one-one reads via the partitioned node: availability %.2f, staleness %+v; want available and stale", r.Availability, r.Checks)
	}
	// ALL through the cut-off cassandra3 is refused once the partition is in
	// place and its failure detector has convicted its peers. Reads issued
	// before that can still succeed: on a loaded machine that is seconds of
	// the 35 s phase (10% of the phase's reads seen at load average 25), so
	// the bound is "mostly refused", not "all refused"; PC is asserted below.
	if r := readIn("all-all", "partition"); r.Availability >= 0.5 || r.Errors["unavailable"] == 0 {
		t.Errorf("all-all reads during the partition: availability %.2f, errors %v; want mostly unavailable", r.Availability, r.Errors)
	}
	verdict := func(name string) string {
		if v := sc[name].PACELC.Partition; v != nil {
			return *v
		}
		return "null"
	}
	if got := verdict("one-one"); got != "PA" {
		t.Errorf("one-one partition verdict %s, want PA (%s)", got, sc["one-one"].PACELC.Evidence)
	}
	if got := verdict("all-all"); got != "PC" {
		t.Errorf("all-all partition verdict %s, want PC (%s)", got, sc["all-all"].PACELC.Evidence)
	}
}

// localProfile loads profiles/cassandra-local.yaml with this driver (the
// test needs the local cluster).
func localProfile(t *testing.T) (*profile.Profile, *drivers.Registry) {
	t.Helper()
	testenv.Short(t)
	testenv.Require(t, "PACBENCH_CASSANDRA_HOSTS", `run: eval "$(scripts/cassandra.sh start)"`)
	reg := drivers.NewRegistry(cassandra.New())
	p, err := profile.Load(filepath.Join("..", "..", "profiles", "cassandra-local.yaml"), profile.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

// run executes p (bounded by limit), logging to log, and logs the table.
func run(t *testing.T, p *profile.Profile, reg *drivers.Registry, log io.Writer, limit time.Duration) (*bench.Outcome, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	out, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), Log: log})
	if err != nil {
		return out, err
	}
	var tbl bytes.Buffer
	if err := report.WriteTable(&tbl, out.Summary); err != nil {
		t.Error(err)
	}
	t.Logf("\n%s", tbl.String())
	return out, nil
}

// staleOnlyAfterUnfinishedCAS: lwt-serial (SERIAL reads, QUORUM plain
// writes and some cas on the same keys) reads stale only after a cas that
// did not finish. A SERIAL read that finds a Paxos proposal accepted but
// committed by less than a quorum (a cas that timed out) completes it, and
// Cassandra's Paxos (v1, 5.0's default) re-stamps the proposal with the
// read's own new ballot (Commit.newProposal → updateAllTimestamp): the old
// cas value then overwrites plain writes acknowledged after it, and the
// read returns it — stale to the oracle, and really there (a lost write,
// the documented hazard of mixing LWT and plain writes). A cas that
// finished has a quorum's commit, and the read's prepare sees it. So the
// tolerance: stale reads in a phase only when a cas or a SERIAL read of
// this or an earlier phase timed out (seen once in CI, at load 22–56: 1
// stale read of 187 after a SERIAL read's write_timeout); none otherwise.
func staleOnlyAfterUnfinishedCAS(t *testing.T, sc report.Scenario) {
	t.Helper()
	var unfinished int64
	for _, ph := range sc.Phases {
		// A SERIAL read runs Paxos too, and one that timed out may leave
		// its replay of a cas accepted but not committed.
		for _, name := range []string{"cas", "read"} {
			if c := ph.Ops[name]; c != nil {
				for _, class := range []string{"timeout", "write_timeout", "read_timeout", "other"} {
					unfinished += c.Errors[class]
				}
			}
		}
		r := ph.Ops["read"]
		if r == nil {
			continue
		}
		stale, _ := r.Checks.Int("staleness", "stale")
		checked, _ := r.Checks.Int("staleness", "checked")
		switch {
		case stale != 0 && unfinished == 0:
			t.Errorf("%s/%s: %d stale reads of %d with every cas finished; SERIAL reads must not read stale", sc.Name, ph.Name, stale, checked)
		case stale != 0:
			t.Logf("%s/%s: %d stale reads of %d after %d unfinished cas (Paxos replay re-stamps them; see staleOnlyAfterUnfinishedCAS)", sc.Name, ph.Name, stale, checked, unfinished)
		}
	}
}

// neverStale: R+W>N scenarios never read stale, in any phase.
func neverStale(t *testing.T, sc map[string]report.Scenario, names ...string) {
	t.Helper()
	for _, name := range names {
		for _, ph := range sc[name].Phases {
			r := ph.Ops["read"]
			if r == nil {
				continue
			}
			stale, _ := r.Checks.Int("staleness", "stale")
			checked, _ := r.Checks.Int("staleness", "checked")
			if stale != 0 {
				t.Errorf("%s/%s: %d stale reads of %d; R+W>N must never read stale", name, ph.Name, stale, checked)
			}
		}
	}
}

// TestNodeKilledMidRun SIGKILLs a replica (cassandra2, on neither route)
// while the run is going: the run goes on to its end, ONE stays available,
// ALL's failures are counted by class with their latencies, and the results
// are written. The node is restarted afterwards (scripts/cassandra.sh start
// is idempotent and starts only what is missing).
func TestNodeKilledMidRun(t *testing.T) {
	p, reg := localProfile(t)
	var keep []profile.LevelSet
	for _, l := range p.Levels {
		if l.Name == "one-one" || l.Name == "all-all" {
			keep = append(keep, l)
		}
	}
	p.Levels = keep
	p.Checks = profile.Checks{}
	p.Workload.Mix = map[string]float64{"read": 0.5, "update": 0.5}
	p.Phases = []profile.Phase{{Name: "baseline", Duration: profile.Duration(5 * time.Second)},
		{Name: "node-down", Duration: profile.Duration(25 * time.Second)}}
	pid := nodePid(t, 2)
	t.Cleanup(func() {
		cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "cassandra.sh"), "start")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("restart cassandra2: %v\n%s", err, out)
		}
	})
	logw := &testenv.SyncBuffer{}
	done := make(chan struct{})
	defer close(done)
	go killOnPhase(logw, "phase node-down", pid, done)
	out, err := run(t, p, reg, logw, 3*time.Minute)
	if err != nil {
		t.Fatalf("run did not survive a node dying: %v\n%s", err, logw.String())
	}
	for _, s := range out.Summary.Scenarios {
		checkNodeDown(t, s.Name, s.Phases[1])
	}
	if _, err := os.Stat(filepath.Join(out.Dir, "summary.json")); err != nil {
		t.Errorf("results not written: %v", err)
	}
}

// nodePid returns the pid of cassandraN from scripts/cassandra.sh's pid
// file.
func nodePid(t *testing.T, n int) int {
	t.Helper()
	dir := os.Getenv("PACBENCH_CASSANDRA_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "pacbench-cassandra")
	}
	pidb, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d", n), "cassandra.pid"))
	if err != nil {
		t.Fatalf("pid of cassandra%d: %v", n, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(pidb)))
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	return pid
}

// killOnPhase SIGKILLs pid 2 s after log shows marker, unless done closes
// first.
func killOnPhase(log *testenv.SyncBuffer, marker string, pid int, done <-chan struct{}) {
	for !strings.Contains(log.String(), marker) {
		select {
		case <-done:
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// checkNodeDown: with a replica dead, failures are classified and keep
// their latencies; ONE stays available, ALL fails.
func checkNodeDown(t *testing.T, scenario string, down report.Phase) {
	t.Helper()
	var ok, all, errs int64
	for _, o := range down.Ops {
		ok += o.OK
		all += o.Count
		errs += o.Count - o.OK
		if o.Errors["other"] != 0 {
			t.Errorf("%s: unclassified errors %v", scenario, o.Errors)
		}
		if o.Count > o.OK && o.ErrorLatency == nil {
			t.Errorf("%s: failures without latencies", scenario)
		}
	}
	switch scenario {
	case "one-one":
		if all == 0 || float64(ok)/float64(all) < 0.95 {
			t.Errorf("one-one with a replica dead: %d/%d ok, want ≥ 95%%", ok, all)
		}
	case "all-all":
		if errs == 0 {
			t.Errorf("all-all with a replica dead: no failures counted")
		}
	}
}
