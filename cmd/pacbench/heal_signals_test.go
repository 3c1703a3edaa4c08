package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
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

// toxiproxyServerBin returns the toxiproxy-server binary: PACBENCH_TOXIPROXY_SERVER
// if set (scripts/cassandra.sh builds one), else built here from the Go
// module pacbench depends on (as scripts/cassandra.sh does).
var toxiproxyServerBin = sync.OnceValues(func() (string, error) {
	if p := os.Getenv("PACBENCH_TOXIPROXY_SERVER"); p != "" {
		return p, nil
	}
	dir, err := os.MkdirTemp("", "pacbench-toxiproxy-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "toxiproxy-server")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/Shopify/toxiproxy/v2/cmd/server")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build toxiproxy-server: %v\n%s", err, out)
	}
	return bin, nil
})

// toxiServer is a toxiproxy-server process on a loopback port.
type toxiServer struct {
	cmd *exec.Cmd
	api string
}

func startToxiServer(t *testing.T) *toxiServer {
	t.Helper()
	bin, err := toxiproxyServerBin()
	if err != nil {
		testenv.Missing(t, err.Error())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	s := &toxiServer{cmd: exec.Command(bin, "-host", "127.0.0.1", "-port", port), api: "http://127.0.0.1:" + port}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.cmd.Process.Signal(syscall.SIGCONT)
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.api + "/version")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy-server did not answer: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freeze stops the server (SIGSTOP) and waits until the kernel reports it
// stopped, so that no request is served after freeze returns.
func (s *toxiServer) freeze(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGSTOP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
		if i := bytes.LastIndexByte(b, ')'); err == nil && i > 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("toxiproxy-server not stopped: %v %q", err, b)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stuckFixture is a local etcd cluster reached through a remote
// toxiproxy-server (client links only), and a profile using it.
type stuckFixture struct {
	srv     *toxiServer
	profile string
}

func newStuckFixture(t *testing.T, c *cluster.Etcd, slow string) *stuckFixture {
	t.Helper()
	srv := startToxiServer(t)
	tc := toxiclient.NewClient(srv.api)
	var eps, nodes []string
	for i, m := range c.Topology().Members {
		up := strings.TrimPrefix(c.Endpoints()[i], "http://")
		p, err := tc.CreateProxy("r-"+m.Name, "127.0.0.1:0", up)
		if err != nil {
			t.Fatal(err)
		}
		eps = append(eps, strconv.Quote("http://"+p.Listen))
		nodes = append(nodes, fmt.Sprintf("{name: %s, endpoint: %q, client_proxy: %s}", m.Name, "http://"+p.Listen, p.Name))
	}
	prof := filepath.Join(t.TempDir(), "stuck.yaml")
	yml := fmt.Sprintf(`name: stuck
system:
  driver: etcd
  endpoints: [%s]
  nodes: [%s]
  impairer: {kind: toxiproxy, api: %q}
  op_timeout: 500ms
workload: {preset: b, records: 50}
load: {workers: 2}
levels: [{name: ser, read: serializable}]
phases:
  - {name: base, duration: 1s}
  - {name: slow, duration: %s, impairments: [{kind: latency, target: m1, links: client, direction: both, delay: 5ms}]}
`, strings.Join(eps, ", "), strings.Join(nodes, ", "), srv.api, slow)
	if err := os.WriteFile(prof, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	return &stuckFixture{srv: srv, profile: prof}
}

// pacbenchProc is a pacbench binary run in its own process group.
type pacbenchProc struct {
	cmd    *exec.Cmd
	stderr *testenv.SyncBuffer
	stdout *bytes.Buffer
	done   chan struct{}
}

func startPacbench(t *testing.T, env []string, args ...string) *pacbenchProc {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	p := &pacbenchProc{cmd: exec.Command(bin, args...), stderr: &testenv.SyncBuffer{}, stdout: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Stderr, p.cmd.Stdout = p.stderr, p.stdout
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	})
	return p
}

// waitFor waits until stderr contains s.
func (p *pacbenchProc) waitFor(t *testing.T, s string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(p.stderr.String(), s) {
		select {
		case <-p.done:
			t.Fatalf("pacbench exited before %q:\n%s", s, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q within %s:\n%s", s, within, p.stderr.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// signalGroup sends sig to pacbench's whole process group, as a terminal
// Ctrl-C does.
func (p *pacbenchProc) signalGroup(sig syscall.Signal) { _ = syscall.Kill(-p.cmd.Process.Pid, sig) }

// wait waits for the exit and returns its code and how long it took.
func (p *pacbenchProc) wait(t *testing.T, within time.Duration) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	select {
	case <-p.done:
	case <-time.After(within):
		t.Fatalf("pacbench did not exit within %s:\n%s", within, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode(), time.Since(start)
}

func readManifest(t *testing.T, dir string) report.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("no results: %v", err)
	}
	var m report.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestStuckHealIsReported: with the remote toxiproxy-server frozen (SIGSTOP)
// or killed while an impairment is active, pacbench never claims to have
// healed: it says what was left in place, exits 1, prints and records the
// heal command, and that command then finishes the job. A second interrupt
// stops the wait at once.
func TestStuckHealIsReported(t *testing.T) {
	testenv.Short(t)
	c, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	tests := []struct {
		name        string
		slow        string   // duration of the impaired phase
		healTimeout string   // --heal-timeout
		kill        bool     // kill the server instead of freezing it
		signals     int      // interrupts sent after the server stops answering
		say         []string // on stderr
		within      time.Duration
	}{
		{"no signal, heal times out at the end", "2s", "2s", false, 0,
			[]string{"impairments not healed", "gave up after 2s"}, 40 * time.Second},
		{"one signal, heal times out", "60s", "2s", false, 1,
			[]string{"interrupted", "impairments NOT healed", "gave up after 2s"}, 40 * time.Second},
		{"two signals abandon the heal", "60s", "5m", false, 2,
			[]string{"second interrupt", "heal abandoned", "impairments NOT healed"}, 30 * time.Second},
		{"server killed", "60s", "5m", true, 1,
			[]string{"impairments NOT healed", "connection re"}, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newStuckFixture(t, c, tc.slow)
			out := t.TempDir()
			p := startPacbench(t, nil, "run", "--profile", f.profile, "--out", out, "--run-id", "r", "--metrics-addr", "off", "--heal-timeout", tc.healTimeout)
			p.waitFor(t, "impairment: latency", 30*time.Second)
			if n := countToxics(t, f.srv.api); n != 2 {
				t.Fatalf("%d toxics active, want 2", n)
			}
			if tc.kill {
				_ = f.srv.cmd.Process.Kill()
			} else {
				f.srv.freeze(t)
			}
			for i := range tc.signals {
				if i > 0 {
					p.waitFor(t, "again to stop waiting", 10*time.Second)
					time.Sleep(500 * time.Millisecond)
				}
				p.signalGroup(syscall.SIGINT)
			}
			code, took := p.wait(t, tc.within)
			stderr := p.stderr.String()
			t.Logf("exit %d after %s\n%s", code, took.Round(time.Millisecond), stderr)
			if code != ExitRun {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			heal := "pacbench heal --profile " + f.profile
			for _, w := range append(tc.say, "pacbench_latency_downstream", "pacbench_latency_upstream", heal) {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stderr, "impairments healed") {
				t.Errorf("claims a heal that did not happen:\n%s", stderr)
			}
			man := readManifest(t, filepath.Join(out, "r"))
			if !strings.Contains(strings.Join(man.Notes, "\n"), "to remove what is left: "+heal) {
				t.Errorf("manifest notes lack the heal command: %q", man.Notes)
			}
			if tc.kill {
				return
			}
			// Thawed, the server also serves the requests pacbench sent
			// before giving up: "not confirmed removed" is all pacbench
			// could honestly say. The printed command removes the rest.
			_ = f.srv.cmd.Process.Signal(syscall.SIGCONT)
			time.Sleep(200 * time.Millisecond)
			n := countToxics(t, f.srv.api)
			want := fmt.Sprintf("toxiproxy: healed (%d removed)", n)
			if n == 0 {
				want = "toxiproxy: nothing to heal"
			}
			code, hout, herr := invoke(t, "heal", "--profile", f.profile)
			if code != 0 || !strings.Contains(hout, want) {
				t.Errorf("%s: exit %d, want %q\n%s\n%s", heal, code, want, hout, herr)
			}
			if n := countToxics(t, f.srv.api); n != 0 {
				t.Errorf("%d toxics left after %s", n, heal)
			}
		})
	}
}

// TestHealDryRunRemovesNothing: `heal --dry-run` against a real
// toxiproxy-server with toxics in place lists exactly what it would remove
// and leaves every toxic and disabled proxy there.
func TestHealDryRunRemovesNothing(t *testing.T) {
	srv := startToxiServer(t)
	tc := toxiclient.NewClient(srv.api)
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	for _, name := range []string{"a", "b"} {
		p, err := tc.CreateProxy(name, "127.0.0.1:0", echo.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []string{"pacbench_latency_downstream_1_0", "theirs"} {
			if _, err := p.AddToxic(x, "latency", "downstream", 1, toxiclient.Attributes{"latency": 10}); err != nil {
				t.Fatal(err)
			}
		}
		if name == "b" {
			if err := p.Disable(); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := countToxics(t, srv.api)
	code, out, errs := invoke(t, "heal", "--toxiproxy", srv.api, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, w := range []string{
		"toxiproxy: would remove toxic pacbench_latency_downstream_1_0 (latency downstream) on proxy a",
		"toxiproxy: would remove toxic pacbench_latency_downstream_1_0 (latency downstream) on proxy b",
		"toxiproxy: would remove proxy b disabled",
		"toxiproxy: dry run, nothing changed (3 to remove)",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("stdout lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "theirs") {
		t.Errorf("lists a toxic pacbench did not create:\n%s", out)
	}
	if after := countToxics(t, srv.api); after != before {
		t.Errorf("dry run changed the server: %d toxics/disabled before, %d after", before, after)
	}
	code, out, _ = invoke(t, "heal", "--toxiproxy", srv.api)
	if code != 0 || !strings.Contains(out, "toxiproxy: healed (3 removed)") || countToxics(t, srv.api) != 2 {
		t.Errorf("real heal: exit %d, %d left (want the 2 foreign toxics)\n%s", code, countToxics(t, srv.api), out)
	}
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st := procStat(n); len(st) > 2 && st[2] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}

// procStat returns the fields of /proc/pid/stat after the command name:
// state, ppid, pgrp, … (nil if the process is gone).
func procStat(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	i := bytes.LastIndexByte(b, ')')
	if err != nil || i < 0 {
		return nil
	}
	return append([]string{""}, strings.Fields(string(b[i+1:]))...)
}

// etcdDirs lists the local-cluster data directories under dir.
func etcdDirs(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "pacbench-etcd-*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestRepeatedSignals: 1, 2 and 3 interrupts at different moments of a
// run on the local cluster, sent to pacbench's process group as a
// terminal's Ctrl-C is (or to pacbench alone): what pacbench says and
// does, what it writes and what it leaves in the temp dir.
func TestRepeatedSignals(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "sigs", "", "{read: follower, write: leader}",
		"{name: base, duration: 1s}", "{name: slow, duration: 60s, impairments: [{kind: latency, target: leader, links: peer_out, delay: 20ms}]}")
	short := localProfile(t, "short", "", "", "{name: base, duration: 1s}")
	// peer_out latency on the leader of the local cluster is 5 toxics: its
	// 3 peer proxies downstream and the 2 it dials through upstream.
	tests := []struct {
		name    string
		profile string
		extra   []string
		at      string // send the first signal when stderr shows this
		signals int
		group   bool
		code    int
		say     []string
		results bool // a results directory is written
		leftDir bool // the cluster's data dir is left in the temp dir
	}{
		{"1 before the cluster is up", prof, nil, "starting local", 1, true, ExitRun, []string{"stopping", "local etcd cluster"}, false, false},
		{"2 before the cluster is up", prof, nil, "starting local", 2, true, ExitRun, []string{"second interrupt"}, false, false},
		{"1 mid-phase, terminal Ctrl-C", prof, nil, "impairment: latency", 1, true, ExitRun,
			[]string{"interrupted in phase slow", "impairments healed (5 removed)"}, true, false},
		{"1 mid-phase, pacbench alone", prof, nil, "impairment: latency", 1, false, ExitRun,
			[]string{"interrupted in phase slow", "impairments healed (5 removed)"}, true, false},
		{"2 mid-phase", prof, nil, "impairment: latency", 2, true, ExitRun, []string{"second interrupt", "partial results written"}, true, false},
		// The third signal races pacbench's own (fast) exit after the
		// second: either it exits at once, writing nothing and leaving the
		// cluster's data dir to the next run's cleanup, or it had already
		// finished. Both are checked, whichever happened.
		{"3 mid-phase", prof, nil, "impairment: latency", 3, true, ExitRun, nil, false, true},
		{"1 after the last phase", short, []string{"--linger", "30s", "--metrics-addr", "127.0.0.1:0"}, "keeping /metrics up", 1, true, ExitOK,
			[]string{"interrupt received while /metrics lingered: /metrics closed early; results written completely"}, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp, out := t.TempDir(), t.TempDir()
			args := append([]string{"run", "--profile", tc.profile, "--out", out, "--run-id", "r"}, tc.extra...)
			if !slices.Contains(args, "--metrics-addr") {
				args = append(args, "--metrics-addr", "off")
			}
			p := startPacbench(t, []string{"TMPDIR=" + tmp}, args...)
			p.waitFor(t, tc.at, 60*time.Second)
			members := children(p.cmd.Process.Pid)
			if tc.at == "impairment: latency" {
				if len(members) != 3 {
					t.Fatalf("%d member processes, want 3", len(members))
				}
				for _, m := range members {
					if st := procStat(m); st[3] == strconv.Itoa(p.cmd.Process.Pid) {
						t.Errorf("member %d is in pacbench's process group: a terminal Ctrl-C reaches it too", m)
					}
				}
			}
			start := time.Now()
			for i := range tc.signals {
				switch i { // each signal once the previous one was handled (signals do not queue)
				case 1:
					p.waitFor(t, "again to stop waiting", 10*time.Second)
				case 2:
					p.waitFor(t, "again to exit at once", 10*time.Second)
				}
				if tc.group {
					p.signalGroup(syscall.SIGINT)
				} else {
					_ = p.cmd.Process.Signal(syscall.SIGINT)
				}
			}
			code, _ := p.wait(t, 60*time.Second)
			stderr := p.stderr.String()
			t.Logf("exit %d %s after the first signal", code, time.Since(start).Round(time.Millisecond))
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			if tc.signals == 3 {
				forced := strings.Contains(stderr, "exiting now")
				t.Logf("third signal forced the exit: %v", forced)
				if forced {
					tc.say = []string{"exiting now; results not written; impairments: the local cluster and its embedded Toxiproxy die with pacbench"}
				} else {
					tc.say, tc.results, tc.leftDir = []string{"partial results written"}, true, false
				}
			}
			for _, w := range tc.say {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(filepath.Join(out, "r", "summary.json")); (err == nil) != tc.results {
				t.Errorf("results written: %v, want %v", err == nil, tc.results)
			}
			if left := etcdDirs(t, tmp); (len(left) > 0) != tc.leftDir {
				t.Errorf("cluster data dirs left: %q, want left %v", left, tc.leftDir)
			}
			deadline := time.Now().Add(10 * time.Second)
			for _, m := range members {
				for procStat(m) != nil && procStat(m)[1] != "Z" {
					if time.Now().After(deadline) {
						t.Fatalf("member %d outlived pacbench", m)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
}

// memberPID returns the pid of local-cluster member name among pacbench's
// children (from the configuration in its environment).
func memberPID(t *testing.T, parent int, name string) int {
	t.Helper()
	for _, pid := range children(parent) {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte(cluster.MemberEnv+"=")); ok && bytes.Contains(v, []byte(`"name":"`+name+`"`)) {
				return pid
			}
		}
	}
	t.Fatalf("no member %s among the children of %d", name, parent)
	return 0
}

// TestMemberDiedIsReported: the read member of the local cluster killed
// mid-run (by someone else) is reported in the table, the summary and the
// manifest, and the run exits 1 (its later numbers measure a smaller
// cluster than the profile's); the results are complete, not partial.
func TestMemberDiedIsReported(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "dying", ", op_timeout: 500ms", "{read: m2, write: m1}", "{name: base, duration: 1s}", "{name: mid, duration: 3s}")
	out := t.TempDir()
	p := startPacbench(t, nil, "run", "--profile", prof, "--out", out, "--run-id", "r", "--metrics-addr", "off")
	p.waitFor(t, "phase mid", 60*time.Second)
	victim := memberPID(t, p.cmd.Process.Pid, "m2")
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	code, took := p.wait(t, 60*time.Second)
	stderr, stdout := p.stderr.String(), p.stdout.String()
	t.Logf("exit %d %s after the kill\n%s", code, took.Round(time.Millisecond), stderr)
	if code != ExitRun {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	who := fmt.Sprintf("m2 (pid %d) at ", victim)
	if !strings.Contains(stderr, "cluster member died during the run: "+who) {
		t.Errorf("stderr does not report the death:\n%s", stderr)
	}
	if !strings.Contains(stdout, "WARNING: member died during the run: "+who) || !strings.Contains(stdout, "in phase mid: signal: killed") {
		t.Errorf("table does not report the death:\n%s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "r", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Partial || !strings.Contains(strings.Join(sum.Notes, "\n"), "member died during the run: "+who) {
		t.Errorf("summary: partial %v, notes %q", sum.Partial, sum.Notes)
	}
	man := readManifest(t, filepath.Join(out, "r"))
	if len(man.MembersDied) != 1 || man.MembersDied[0].Name != "m2" || man.MembersDied[0].PID != victim ||
		man.MembersDied[0].Phase != "mid" || man.MembersDied[0].Error != "signal: killed" || man.Partial {
		t.Errorf("manifest: partial %v, members_died %+v", man.Partial, man.MembersDied)
	}
}

// writeFile writes body to name in a new temporary directory and returns
// its path.
func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKilledRunIsCleanedUp: a run SIGKILLed mid-phase leaves its local
// cluster's data directory in the temp dir (its members die with it);
// `pacbench heal --dry-run` lists it and keeps it, `pacbench heal` removes
// it, and so does the next run.
func TestKilledRunIsCleanedUp(t *testing.T) {
	testenv.Short(t)
	prof := localProfile(t, "killed", "", "", "{name: base, duration: 60s}")
	tmp := t.TempDir()
	env := []string{"TMPDIR=" + tmp}
	kill := func() string {
		t.Helper()
		p := startPacbench(t, env, "run", "--profile", prof, "--out", t.TempDir(), "--metrics-addr", "off")
		p.waitFor(t, "phase base", 60*time.Second)
		members := children(p.cmd.Process.Pid)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		p.wait(t, 10*time.Second)
		for _, m := range members {
			for deadline := time.Now().Add(10 * time.Second); procStat(m) != nil && procStat(m)[1] != "Z"; {
				if time.Now().After(deadline) {
					t.Fatalf("member %d outlived its SIGKILLed parent", m)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		left := etcdDirs(t, tmp)
		if len(left) != 1 {
			t.Fatalf("after SIGKILL: data dirs %q, want 1", left)
		}
		return left[0]
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	heal := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"heal", "--out", t.TempDir()}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("heal %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	dir := kill()
	if out := heal("--dry-run"); !strings.Contains(out, "local clusters: would remove "+dir) || len(etcdDirs(t, tmp)) != 1 {
		t.Errorf("heal --dry-run: %s", out)
	}
	if out := heal(); !strings.Contains(out, "local clusters: removed "+dir) || len(etcdDirs(t, tmp)) != 0 {
		t.Errorf("heal: %s (left %q)", out, etcdDirs(t, tmp))
	}
	dir = kill()
	short := localProfile(t, "next", "", "", "{name: base, duration: 1s}")
	p := startPacbench(t, env, "run", "--profile", short, "--out", t.TempDir(), "--metrics-addr", "off")
	if code, _ := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("next run: exit %d\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "local clusters: removed "+dir) || len(etcdDirs(t, tmp)) != 0 {
		t.Errorf("the next run did not clean %s (left %q):\n%s", dir, etcdDirs(t, tmp), p.stderr.String())
	}
}

// localProfile writes a small profile on the local cluster: one
// serializable scenario, 2 workers; system adds to the system mapping
// (", op_timeout: 500ms"), routes is a routes mapping ("" for the
// default), phases are flow mappings.
func localProfile(t *testing.T, name, system, routes string, phases ...string) string {
	t.Helper()
	if routes != "" {
		routes = "routes: " + routes + "\n"
	}
	return writeFile(t, name+".yaml", fmt.Sprintf(`name: %s
system: {driver: etcd, cluster: local%s}
workload: {preset: b, records: 50}
load: {workers: 2}
%slevels: [{name: ser, read: serializable}]
phases: [%s]
`, name, system, routes, strings.Join(phases, ", ")))
}
