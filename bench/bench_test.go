package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

func TestMain(m *testing.M) {
	cluster.MaybeRunMember()
	os.Exit(m.Run())
}

// impairedProfile targets an existing cluster through its (remote, from
// pacbench's point of view) Toxiproxy API: the quickstart's four phases.
func impairedProfile(c *cluster.Etcd, phase time.Duration) string {
	return fmt.Sprintf(`
name: impaired
%s
workload: {preset: b, records: 100, value_size: 128}
load: {model: closed, workers: 8}
routes: {read: follower, write: leader}
levels:
  - {name: linearizable, read: linearizable}
  - {name: serializable, read: serializable}
phases:
  - {name: baseline, duration: %[2]s}
  - name: latency
    duration: %[2]s
    impairments: [{kind: latency, target: leader, links: peer_out, delay: 40ms, jitter: 5ms}]
  - name: partition
    duration: %[2]s
    impairments: [{kind: partition, target: follower}]
  - {name: healed, duration: %[2]s}
checks:
  linearizable_keys: 4
  probes: [0ms, 1ms, 5ms, 20ms, 50ms, 100ms, 200ms]
`, remoteSystem(c), phase)
}

// remoteSystem is the system section reaching cluster c as an existing
// deployment: its endpoints, its members and their proxies (pair proxies
// included, so that a partition cuts both directions), its Toxiproxy
// API as a remote impairer, a 1 s op timeout.
func remoteSystem(c *cluster.Etcd) string {
	var nodes []string
	for i, m := range c.Topology().Members {
		from, _ := json.Marshal(m.PeerFrom) // a YAML flow mapping
		nodes = append(nodes, fmt.Sprintf("{name: %s, endpoint: %q, client_proxy: %s, peer_proxy: %s, peer_proxy_from: %s}",
			m.Name, c.Endpoints()[i], m.ClientProxy, m.PeerProxy, from))
	}
	return fmt.Sprintf(`system:
  driver: etcd
  endpoints: [%s]
  nodes: [%s]
  impairer: {kind: toxiproxy, api: %q}
  op_timeout: 1s`, strings.Join(quoteAll(c.Endpoints()), ", "), strings.Join(nodes, ", "), c.ToxiproxyAPI())
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// startCluster starts a local etcd cluster for one test (integration).
func startCluster(t *testing.T) (context.Context, *cluster.Etcd) {
	t.Helper()
	testenv.Short(t)
	ctx := context.Background()
	c, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	return ctx, c
}

func phaseOf(t *testing.T, s *report.Summary, scenario, phase string) report.Phase {
	t.Helper()
	for _, sc := range s.Scenarios {
		if sc.Name != scenario {
			continue
		}
		for _, ph := range sc.Phases {
			if ph.Name == phase {
				return ph
			}
		}
	}
	t.Fatalf("no phase %s/%s in summary", scenario, phase)
	return report.Phase{}
}

// TestPACELCOnRealEtcd runs the quickstart's phases against a real 3-member
// etcd cluster whose every link passes through Toxiproxy, and checks the
// behaviour DESIGN.md and issue 3 describe.
func TestPACELCOnRealEtcd(t *testing.T) {
	ctx, c := startCluster(t)
	reg := drivers.NewRegistry(etcd.New())
	p, err := profile.Parse("impaired.yaml", []byte(impairedProfile(c, 4*time.Second)), profile.Options{Registry: reg})
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	out := t.TempDir()
	res, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: out, RunID: "impaired", Version: "test"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	s := res.Summary
	var buf strings.Builder
	_ = report.WriteTable(&buf, s)
	t.Log("\n" + buf.String())

	// Linearizable reads never stale, in every phase.
	for _, ph := range []string{"baseline", "latency", "partition", "healed"} {
		r := phaseOf(t, s, "linearizable", ph).Ops["read"]
		if r == nil {
			continue
		}
		if n := staleReads(r); n != 0 {
			t.Errorf("linearizable %s: %d stale reads, want 0", ph, n)
		}
		if ryw, mono := sessionViolations(phaseOf(t, s, "linearizable", ph)); ryw+mono != 0 {
			t.Errorf("linearizable %s: session violations ryw %d monotonic %d", ph, ryw, mono)
		}
	}
	// Latency phase: the follower lags.
	serLat := phaseOf(t, s, "serializable", "latency").Ops["read"]
	if r := staleRatio(serLat); r <= 0.01 {
		t.Errorf("serializable latency: stale ratio %.4f, want > 1%%", r)
	}
	if p50, _ := serLat.Checks.Float("staleness", "ms", "p50"); p50 < 5 || p50 > 500 {
		t.Errorf("serializable latency: staleness p50 %.1f ms, want of the order of the 40 ms delay", p50)
	}
	linLat := phaseOf(t, s, "linearizable", "latency").Ops["read"]
	if p50 := linLat.LatencyMs.P50; p50 == nil || *p50 < 40 {
		t.Errorf("linearizable latency: read p50 %v ms, want ≥ the 40 ms injected delay", p50)
	}
	// Partition: linearizable reads through the isolated follower fail,
	// serializable ones stay available and grow stale.
	linPart := phaseOf(t, s, "linearizable", "partition").Ops["read"]
	if linPart.Availability >= 0.5 {
		t.Errorf("linearizable partition: availability %.2f, want < 50%%", linPart.Availability)
	}
	if bad := linPart.Count - linPart.OK - linPart.Errors["timeout"] - linPart.Errors["unavailable"]; bad != 0 {
		t.Errorf("linearizable partition: %d errors not classed timeout/unavailable: %v", bad, linPart.Errors)
	}
	if linPart.ErrorLatency == nil || linPart.ErrorLatency.P50 == nil || *linPart.ErrorLatency.P50 <= 0 {
		t.Errorf("linearizable partition: error latencies not recorded")
	}
	serPart := phaseOf(t, s, "serializable", "partition").Ops["read"]
	if serPart.Availability <= 0.99 {
		t.Errorf("serializable partition: availability %.3f, want > 99%%", serPart.Availability)
	}
	serBase := phaseOf(t, s, "serializable", "baseline").Ops["read"]
	if staleRatio(serPart) <= staleRatio(serBase) {
		t.Errorf("serializable partition: stale ratio %.3f not above baseline %.3f", staleRatio(serPart), staleRatio(serBase))
	}
	// Healed: staleness back to milliseconds, well below the partition's.
	serHeal := phaseOf(t, s, "serializable", "healed").Ops["read"]
	if staleRatio(serHeal) >= staleRatio(serPart)/2 {
		t.Errorf("serializable healed: stale ratio %.3f, want well below partition %.3f", staleRatio(serHeal), staleRatio(serPart))
	}
	// Verdicts.
	for _, want := range []struct{ sc, p, e string }{{"serializable", "PA", "EL"}, {"linearizable", "PC", "EC"}} {
		for _, sc := range s.Scenarios {
			if sc.Name == want.sc && (deref(sc.PACELC.Partition) != want.p || deref(sc.PACELC.Else) != want.e) {
				t.Errorf("%s verdict %s/%s, want %s/%s (%s)", want.sc, deref(sc.PACELC.Partition), deref(sc.PACELC.Else), want.p, want.e, sc.PACELC.Evidence)
			}
		}
	}
	// No toxics left, every proxy enabled (asserted through the API).
	proxies, err := toxiclient.NewClient(c.ToxiproxyAPI()).Proxies()
	if err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	for name, px := range proxies {
		toxics, err := px.Toxics()
		if err != nil {
			t.Fatalf("toxics of %s: %v", name, err)
		}
		if len(toxics) != 0 || !px.Enabled {
			t.Errorf("proxy %s left impaired: %d toxics, enabled=%v", name, len(toxics), px.Enabled)
		}
	}
	checkConsistency(t, s, res.Dir)
	// Results on disk, complete: every op in the interval log.
	checkResultsDir(t, res.Dir, "baseline", "latency", "partition", "healed")
	checkHlogComplete(t, res.Dir, s)
}

// checkConsistency asserts issue 4's behaviour: what consistency buys.
func checkConsistency(t *testing.T, s *report.Summary, dir string) {
	t.Helper()
	for _, ph := range []string{"baseline", "latency", "partition", "healed"} {
		p := phaseOf(t, s, "linearizable", ph)
		lin, evidence := p.Checks.Bool("linearizable"), evidenceOf(p)
		if lin != nil && !*lin {
			t.Errorf("linearizable/%s: porcupine says not linearizable (%+v)", ph, evidence)
		}
		if ph != "partition" && (lin == nil || !*lin) {
			t.Errorf("linearizable/%s: verdict %v, want true (%+v)", ph, lin, evidence)
		}
		for _, pr := range p.Probes {
			if pr.PConsistent != 1 {
				t.Errorf("linearizable/%s: probe Δ=%vms p=%.4f, want 1", ph, pr.DeltaMs, pr.PConsistent)
			}
		}
	}
	lat := phaseOf(t, s, "serializable", "latency")
	if lin, ev := lat.Checks.Bool("linearizable"), evidenceOf(lat); lin == nil || *lin {
		t.Errorf("serializable/latency: verdict %v, want false (%+v)", lin, ev)
	} else if ev == nil || ev.Visualization == "" {
		t.Errorf("serializable/latency: no visualization saved")
	} else if st, err := os.Stat(filepath.Join(dir, ev.Visualization)); err != nil || st.Size() == 0 {
		t.Errorf("visualization file: %v", err)
	}
	if len(lat.Probes) == 0 {
		t.Fatalf("serializable/latency: no probes")
	}
	first, last := lat.Probes[0], lat.Probes[len(lat.Probes)-1]
	if first.PConsistent >= last.PConsistent {
		t.Errorf("serializable/latency: visibility does not rise with Δ: %+v", lat.Probes)
	}
	// What bounds visibility on the follower: the leader sends the new
	// commit index when the other follower's ack commits the write, over
	// the delayed link (40 ms ± 5 ms), so the follower applies it about
	// 45 ms after the client's ack plus whatever the machine stalls the
	// members by. 100 ms leaves ~55 ms for stalls, which a loaded 2-core
	// machine exceeds (P was 0.90 at load average 26); 200 ms leaves
	// ~155 ms. A stall hits every read in its window at once, so the share
	// it costs is lumpy: 0.923 at load 22 once (with the pair proxies'
	// extra hop). 0.8 still fails a probe that does not rise to "almost
	// every read sees the write" well past the delay.
	for _, pr := range lat.Probes {
		if pr.DeltaMs >= 200 && pr.PConsistent < 0.8 {
			t.Errorf("serializable/latency: P(consistent | Δ=%vms) = %.3f, want ≥ 0.8 well past the 40 ms delay", pr.DeltaMs, pr.PConsistent)
		}
	}
	if c := phaseOf(t, s, "serializable", "healed").Convergence; c == nil {
		t.Errorf("serializable/healed: no convergence measured")
	} else {
		t.Logf("serializable/healed: convergence %+v", *c)
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

// checkResultsDir asserts the documented layout and the phase annotations.
func checkResultsDir(t *testing.T, dir string, phases ...string) {
	t.Helper()
	for _, f := range []string{"manifest.json", "summary.json", "summary.csv", "intervals.hlog"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	hgrms, _ := filepath.Glob(filepath.Join(dir, "hgrm", "*.hgrm"))
	if len(hgrms) == 0 {
		t.Errorf("no .hgrm files")
	}
	var man struct {
		Phases []struct {
			Name        string `json:"name"`
			StartNs     int64  `json:"start_ns"`
			EndNs       int64  `json:"end_ns"`
			Impairments []struct {
				AppliedNs int64 `json:"applied_ns"`
				ClearedNs int64 `json:"cleared_ns"`
			} `json:"impairments"`
		} `json:"phases"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	impaired := 0
	for _, ph := range man.Phases {
		for _, im := range ph.Impairments {
			impaired++
			// In effect before the phase's first op, cleared after its end.
			if im.AppliedNs > ph.StartNs || im.ClearedNs < ph.EndNs {
				t.Errorf("phase %s: impairment window %d–%d does not cover the phase %d–%d", ph.Name, im.AppliedNs, im.ClearedNs, ph.StartNs, ph.EndNs)
			}
		}
	}
	if impaired == 0 {
		t.Errorf("manifest records no impairment windows")
	}
	hlog, _ := os.ReadFile(filepath.Join(dir, "intervals.hlog"))
	for _, ph := range phases {
		if !strings.Contains(string(hlog), "/"+ph+"/") {
			t.Errorf("hlog has no interval tagged with phase %s", ph)
		}
	}
}

// TestSessionGuaranteesMovingSessions: sessions that move between members
// (checks.session_moves) while the leader's replication is delayed break
// read-your-writes and monotonic reads at serializable, never at
// linearizable.
func TestSessionGuaranteesMovingSessions(t *testing.T) {
	ctx, c := startCluster(t)
	yml := strings.Replace(impairedProfile(c, 3*time.Second), "routes: {read: follower, write: leader}", "routes: {read: any, write: leader}", 1)
	yml = strings.Replace(yml, "workload: {preset: b, records: 100, value_size: 128}", "workload: {preset: a, records: 20, value_size: 128}", 1)
	yml = strings.Replace(yml, "  linearizable_keys: 4\n", "  session_moves: 2\n", 1)
	reg := drivers.NewRegistry(etcd.New())
	p, err := profile.Parse("moves.yaml", []byte(yml), profile.Options{Registry: reg})
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	res, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), RunID: "moves"})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	var serRYW, serMono int64
	for _, ph := range []string{"baseline", "latency", "partition", "healed"} {
		if ryw, mono := sessionViolations(phaseOf(t, res.Summary, "linearizable", ph)); ryw+mono != 0 {
			t.Errorf("linearizable/%s: session violations ryw %d monotonic %d, want none", ph, ryw, mono)
		}
		ryw, mono := sessionViolations(phaseOf(t, res.Summary, "serializable", ph))
		serRYW += ryw
		serMono += mono
	}
	t.Logf("serializable, moving sessions: ryw %d monotonic %d", serRYW, serMono)
	if serRYW == 0 || serMono == 0 {
		t.Errorf("serializable with moving sessions under replica delay: ryw %d monotonic %d, want both kinds of violation", serRYW, serMono)
	}
}

// TestMemberDiesMidRun: SIGKILL the read follower during a run; the run
// goes on to the end, failures are counted by class with their latencies,
// and the results are written.
func TestMemberDiesMidRun(t *testing.T) {
	ctx, c := startCluster(t)
	yml := strings.Replace(impairedProfile(c, 2*time.Second), "  - name: latency\n    duration: 2s\n    impairments: [{kind: latency, target: leader, links: peer_out, delay: 40ms, jitter: 5ms}]\n", "  - {name: dying, duration: 3s}\n", 1)
	reg := drivers.NewRegistry(etcd.New())
	p, err := profile.Parse("dying.yaml", []byte(yml), profile.Options{Registry: reg})
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	var logBuf testenv.SyncBuffer
	// The follower reads are pinned to is the first follower by name.
	leader, err := c.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	victim := "m1"
	if leader == "m1" {
		victim = "m2"
	}
	go func() {
		for !strings.Contains(logBuf.String(), "phase dying") {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second)
		_ = c.Kill(victim)
	}()
	res, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), RunID: "dying", Log: &logBuf})
	if err != nil {
		t.Fatalf("run did not survive a member dying: %v\n%s", err, logBuf.String())
	}
	for _, sc := range []string{"linearizable", "serializable"} {
		r := phaseOf(t, res.Summary, sc, "dying").Ops["read"]
		failed := r.Count - r.OK
		t.Logf("%s reads while %s died: %d/%d failed %v", sc, victim, failed, r.Count, r.Errors)
		if failed == 0 || r.ErrorLatency == nil {
			t.Errorf("%s: no failed reads counted after the read member died", sc)
		}
		if r.Errors["other"] != 0 {
			t.Errorf("%s: unclassified errors: %v", sc, r.Errors)
		}
	}
	checkResultsDir(t, res.Dir, "baseline", "dying", "partition", "healed")
}

// staleReads is a read op's stale count (summary key staleness.stale).
func staleReads(r *report.Op) int64 {
	n, _ := r.Checks.Int("staleness", "stale")
	return n
}

// staleRatio is a read op's stale ratio (0 when nothing was checked).
func staleRatio(r *report.Op) float64 {
	x, _ := r.Checks.Float("staleness", "stale_ratio")
	return x
}

// sessionViolations are a phase's session-guarantee violations.
func sessionViolations(p report.Phase) (ryw, mono int64) {
	ryw, _ = p.Checks.Int("session", "ryw_violations")
	mono, _ = p.Checks.Int("session", "monotonic_read_violations")
	return ryw, mono
}

// evidenceOf is a phase's linearizability evidence (nil: none).
func evidenceOf(p report.Phase) *checkers.Evidence {
	v, ok := p.Checks.Get("linearizability")
	if !ok {
		return nil
	}
	ev, _ := v.(*checkers.Evidence)
	return ev
}
