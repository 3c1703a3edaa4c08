package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// asCLIEnv, set in a test binary's environment, makes it run as the
// pacbench command itself (main) instead of its tests: for commands that
// re-execute their own binary for other subcommands (calibrate --open runs
// `calibrate raw-open` and `run` as child processes).
const asCLIEnv = "PACBENCH_TEST_AS_CLI"

func TestMain(m *testing.M) {
	cluster.MaybeRunMember()
	if os.Getenv(asCLIEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// invoke runs the CLI in-process with an injected environment.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	exe, _ := os.Executable()
	code = Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" },
		Context: context.Background(), Exe: exe})
	return code, out.String(), errb.String()
}

func TestUsageAndValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		args       []string
		code       int
		wantOut    []string
		wantErr    []string
		notInFiles bool
	}{
		{name: "bad format", args: []string{"run", "--format", "xml"}, code: 2, wantErr: []string{`--format: "xml"`}},
		{name: "unknown flag", args: []string{"run", "--bogus"}, code: 2, wantErr: []string{"unknown flag: --bogus"}},
		{name: "bad duration", args: []string{"run", "--duration", "soon"}, code: 2, wantErr: []string{"--duration"}},
		{name: "negative duration", args: []string{"run", "--duration", "-1s"}, code: 2, wantErr: []string{"--duration"}},
		{name: "missing profile", args: []string{"run", "--profile", "testdata/nope.yaml"}, code: 2, wantErr: []string{"testdata/nope.yaml"}},
		{name: "unknown key", args: []string{"run", "--profile", "testdata/unknown-key.yaml"}, code: 2,
			wantErr: []string{"testdata/unknown-key.yaml:8:", "duraton"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, wantErr: []string{"unknown command"}},
		{name: "bad shard", args: []string{"run", "--shard", "3/3"}, code: 2, wantErr: []string{`--shard: "3/3"`, "index 3 is outside 0…2"}},
		{name: "shard of a local cluster", args: []string{"run", "--shard", "0/2"}, code: 2, wantErr: []string{"--shard 0/2", "cluster: local starts one per process"}},
		{name: "bad remote-write", args: []string{"run", "--remote-write", "ftp://u:s3cret@h/x"}, code: 2, wantErr: []string{"--remote-write ftp://u:xxxxx@h/x: want http(s)://"}},
		{name: "merge needs -o", args: []string{"merge", "somewhere"}, code: 2, wantErr: []string{"-o DIR is required"}},
		{name: "merge of no run", args: []string{"merge", "testdata", "-o", "OUT/m"}, code: 2, wantErr: []string{"testdata: no manifest.json"}},
		{name: "start-at past", args: []string{"run", "--start-at", "2020-01-02T03:04:05Z"}, code: 2, wantErr: []string{"--start-at 2020-01-02T03:04:05Z is already past"}},
		{name: "start-at garbage", args: []string{"run", "--start-at", "tomorrow"}, code: 2, wantErr: []string{`--start-at: "tomorrow" is not an RFC 3339 instant`}},
		{name: "validate bad impairments", args: []string{"validate", "testdata/bad-impairment.yaml"}, code: 2,
			wantOut: []string{"testdata/bad-impairment.yaml:8:", "sideways", "delay", "testdata/bad-impairment.yaml:11:", "every member"}},
		{name: "validate shipped profiles", args: append([]string{"validate"}, shippedProfiles(t)...), code: 0,
			wantOut: []string{"quickstart.yaml: ok"}},
		{name: "validate needs a file", args: []string{"validate"}, code: 2},
		{name: "drivers", args: []string{"drivers"}, code: 0, wantOut: []string{"etcd", "linearizable serializable", "cassandra", "mongodb",
			"impairment backends", "toxiproxy — ", "password_env", "netem — ", "reset_pulse  (default 1s)"}},
		{name: "drivers json", args: []string{"drivers", "--format", "json"}, code: 0, wantOut: []string{`"name": "etcd"`}},
		{name: "version", args: []string{"version"}, code: 0, wantOut: []string{"pacbench dev", "go.etcd.io/etcd/client/v3"}},
		{name: "dry run netem", args: []string{"run", "--dry-run", "--profile", "../../profiles/drill-cassandra.yaml"}, code: 0,
			wantOut: []string{"docker exec pacbench-netem-cassandra3-1 iptables -w -N PACBENCH", "# end of phase partition: heal"}},
		{name: "dry run quickstart", args: []string{"run", "--dry-run"}, code: 0,
			wantOut: []string{"# toxiproxy: latency 40ms±5ms on m1 peer downstream", "toxiproxy: POST /proxies/m1-peer/toxics", "# toxiproxy: partition on m2 peer upstream"}},
		{name: "heal netem dry run", args: []string{"heal", "--profile", "../../profiles/drill-cassandra.yaml", "--dry-run"}, code: 0,
			wantOut: []string{"docker exec pacbench-netem-cassandra1-1", "netem: would remove qdiscs", "netem: dry run, nothing changed"}},
		{name: "heal alone cleans locally", args: []string{"heal"}, code: 0, wantOut: []string{"remote impairments: give --toxiproxy URL"}},
		{name: "unreachable database", args: []string{"run", "--profile", "testdata/unreachable.yaml", "--metrics-addr", "off", "--out", "OUT"},
			code: 1, wantErr: []string{"unreachable", "127.0.0.1:1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := append([]string(nil), tc.args...)
			for i, a := range args {
				if a == "OUT" || strings.HasPrefix(a, "OUT/") {
					args[i] = t.TempDir() + strings.TrimPrefix(a, "OUT")
				}
			}
			code, out, errs := invoke(t, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs)
				}
			}
			if strings.Contains(errs, "goroutine ") || strings.Contains(errs, "panic:") {
				t.Errorf("stack trace on stderr:\n%s", errs)
			}
		})
	}
}

func shippedProfiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../profiles/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped profiles: %v", err)
	}
	return files
}

// TestRunQuickstart is the README's first command, shortened: the built-in
// quickstart on a local etcd cluster started by pacbench itself.
func TestRunQuickstart(t *testing.T) {
	testenv.Short(t)
	out := t.TempDir()
	code, stdout, stderr := invoke(t, "run", "--duration", "2s", "--format", "json", "--out", out, "--run-id", "q", "--metrics-addr", "127.0.0.1:0")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var s report.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("stdout is not the summary document: %v\n%s", err, stdout)
	}
	if s.Schema != report.Schema || len(s.Scenarios) != 2 {
		t.Fatalf("summary: schema %q, %d scenarios", s.Schema, len(s.Scenarios))
	}
	for _, sc := range s.Scenarios {
		if len(sc.Phases) != 4 {
			t.Errorf("%s: %d phases, want 4", sc.Name, len(sc.Phases))
		}
		for _, ph := range sc.Phases {
			r := ph.Ops["read"]
			if r == nil || r.Count == 0 {
				t.Errorf("%s/%s: no reads", sc.Name, ph.Name)
				continue
			}
			if n, _ := r.Checks.Int("staleness", "stale"); sc.Name == "linearizable" && n != 0 {
				t.Errorf("linearizable/%s: %d stale reads, want 0", ph.Name, n)
			}
			for _, p := range []*float64{r.LatencyMs.P50, r.LatencyMs.P90, r.LatencyMs.P99, r.LatencyMs.P999, r.LatencyMs.P9999, r.LatencyMs.Max} {
				if (p == nil || *p <= 0) && r.OK > 0 {
					t.Errorf("%s/%s: percentile missing: %+v", sc.Name, ph.Name, r.LatencyMs)
				}
			}
		}
	}
	for _, f := range []string{"manifest.json", "summary.json", "summary.csv", "intervals.hlog"} {
		if _, err := os.Stat(filepath.Join(out, "q", f)); err != nil {
			t.Errorf("results: %v", err)
		}
	}
	if !strings.Contains(stderr, "phase baseline") || !strings.Contains(stderr, "ops/s") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
}

// buildBinary builds pacbench once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "pacbench-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "pacbench")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// TestSignalsHealAndWritePartial runs pacbench as a subprocess against a
// cluster whose Toxiproxy it reaches through the API (as a remote one),
// interrupts it while an impairment is active, and checks that it exits 1,
// heals every link and writes partial results.
func TestSignalsHealAndWritePartial(t *testing.T) {
	testenv.Short(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	var nodes []string
	for i, m := range c.Topology().Members {
		from, _ := json.Marshal(m.PeerFrom) // a YAML flow mapping
		nodes = append(nodes, fmt.Sprintf("{name: %s, endpoint: %q, client_proxy: %s, peer_proxy: %s, peer_proxy_from: %s}", m.Name, c.Endpoints()[i], m.ClientProxy, m.PeerProxy, from))
	}
	prof := filepath.Join(t.TempDir(), "p.yaml")
	yml := fmt.Sprintf(`
name: sig
system:
  driver: etcd
  endpoints: [%q]
  nodes: [%s]
  impairer: {kind: toxiproxy, api: %q}
  op_timeout: 500ms
workload: {preset: b, records: 50}
load: {workers: 4}
routes: {read: follower, write: leader}
levels: [{name: ser, read: serializable}]
phases:
  - {name: baseline, duration: 1s}
  - name: latency
    duration: 60s
    impairments: [{kind: latency, target: leader, links: peer_out, delay: 30ms}, {kind: partition, target: follower}]
`, c.Endpoints()[0], strings.Join(nodes, ", "), c.ToxiproxyAPI())
	if err := os.WriteFile(prof, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(bin, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off")
			var stderr testenv.SyncBuffer
			cmd.Stderr = &stderr
			cmd.Stdout = &bytes.Buffer{}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(stderr.String(), "impairment: partition") {
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatalf("impairment never applied:\n%s", stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			if n := countToxics(t, c.ToxiproxyAPI()); n == 0 {
				t.Fatalf("no toxics active before the signal")
			}
			time.Sleep(500 * time.Millisecond)
			_ = cmd.Process.Signal(sig)
			err := cmd.Wait()
			code := cmd.ProcessState.ExitCode()
			if code != 1 {
				t.Fatalf("exit %d (%v), want 1\n%s", code, err, stderr.String())
			}
			if !strings.Contains(stderr.String(), "interrupted") {
				t.Errorf("stderr does not say the run was interrupted:\n%s", stderr.String())
			}
			if n := countToxics(t, c.ToxiproxyAPI()); n != 0 {
				t.Errorf("%d toxics left after %s", n, sig)
			}
			b, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
			if err != nil {
				t.Fatalf("no partial results: %v", err)
			}
			var s report.Summary
			if err := json.Unmarshal(b, &s); err != nil || !s.Partial {
				t.Errorf("summary not marked partial (err %v)", err)
			}
		})
	}
}

func countToxics(t *testing.T, api string) int {
	t.Helper()
	proxies, err := toxiclient.NewClient(api).Proxies()
	if err != nil {
		t.Fatalf("toxiproxy: %v", err)
	}
	n := 0
	for _, p := range proxies {
		ts, err := p.Toxics()
		if err != nil {
			t.Fatalf("toxics: %v", err)
		}
		n += len(ts)
		if !p.Enabled {
			n++
		}
	}
	return n
}

// TestClusterEtcdForeground: `pacbench cluster etcd` prints the endpoints
// of a running cluster and stops it cleanly when its context ends (Ctrl-C).
func TestClusterEtcdForeground(t *testing.T) {
	testenv.Short(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb testenv.SyncBuffer
	exe, _ := os.Executable()
	done := make(chan int, 1)
	go func() {
		done <- Main([]string{"cluster", "etcd"}, Env{Stdout: &out, Stderr: &errb, Context: ctx, Exe: exe})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), "TOXIPROXY_API=") {
		if time.Now().After(deadline) {
			t.Fatalf("no endpoints printed:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var eps string
	for _, line := range strings.Split(out.String(), "\n") {
		if v, ok := strings.CutPrefix(line, "ETCD_ENDPOINTS="); ok {
			eps = v
		}
	}
	if n := len(strings.Split(eps, ",")); n != 3 {
		t.Errorf("ETCD_ENDPOINTS=%q: %d endpoints, want 3", eps, n)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d\n%s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("cluster etcd did not stop")
	}
}
