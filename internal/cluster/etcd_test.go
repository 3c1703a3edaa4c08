package cluster_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/testenv"
)

// parentEnv switches the test binary into "cluster parent" mode for
// TestMemberDiesWithParent: it starts a cluster in the directory the variable
// names, prints the member pids and blocks until killed.
const parentEnv = "PACBENCH_TEST_CLUSTER_PARENT"

func TestMain(m *testing.M) {
	cluster.MaybeRunMember()
	if dir := os.Getenv(parentEnv); dir != "" {
		runParent(dir)
		return
	}
	os.Exit(m.Run())
}

// runParent is the body of the parent subprocess.
func runParent(dir string) {
	e, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{Dir: dir})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	var pids []string
	for _, p := range e.PIDs() {
		pids = append(pids, strconv.Itoa(p))
	}
	fmt.Println("PIDS", strings.Join(pids, " "))
	select {} // until SIGKILLed by the test
}

// alive reports whether pid is a live (non-zombie) process.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// state is the field after the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// waitGone waits up to d for every pid to be gone; returns the survivors.
func waitGone(pids []int, d time.Duration) []int {
	deadline := time.Now().Add(d)
	for {
		var left []int
		for _, p := range pids {
			if alive(p) {
				left = append(left, p)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newClient(t *testing.T, eps ...string) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestEtcdLifecycle: 3 members in 3 processes elect a leader and serve
// through their proxies; killing the leader leaves the other two serving
// writes; Stop removes the data dir and leaves no process behind.
func TestEtcdLifecycle(t *testing.T) {
	testenv.Short(t)
	ctx := t.Context()
	t0 := time.Now()
	e, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster healthy after %v", time.Since(t0).Round(time.Millisecond))
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			e.Stop()
		}
	})

	pids := e.PIDs()
	if len(pids) != 3 {
		t.Fatalf("PIDs = %v, want 3 members", pids)
	}
	seen := map[int]bool{os.Getpid(): true}
	var all []int
	for name, p := range pids {
		if seen[p] {
			t.Fatalf("member %s pid %d is not its own process", name, p)
		}
		seen[p] = true
		all = append(all, p)
	}
	if _, err := os.Stat(e.Dir()); err != nil {
		t.Fatalf("data dir: %v", err)
	}

	eps := e.Endpoints()
	topo := e.Topology()
	if len(eps) != 3 || len(topo.Members) != 3 {
		t.Fatalf("endpoints %v, topology %+v", eps, topo)
	}
	for i, m := range topo.Members {
		if want := fmt.Sprintf("m%d", i+1); m.Name != want || m.ClientProxy != want+"-client" || m.PeerProxy != want+"-peer" || m.Endpoint != eps[i] {
			t.Errorf("topology member %d = %+v", i, m)
		}
	}

	// Members advertise their proxies: the member list shows proxied URLs.
	c := newClient(t, eps...)
	ml, err := c.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ml.Members {
		if len(m.ClientURLs) != 1 || !contains(eps, m.ClientURLs[0]) {
			t.Errorf("member %s advertises client URLs %v, want one of %v", m.Name, m.ClientURLs, eps)
		}
	}

	leader, err := e.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var rest []string
	for i, m := range topo.Members {
		if m.Name != leader {
			rest = append(rest, eps[i])
		}
	}
	if len(rest) != 2 {
		t.Fatalf("leader %q not among members", leader)
	}

	if err := e.Kill(leader); err != nil {
		t.Fatal(err)
	}
	if alive(pids[leader]) {
		t.Fatalf("killed member %s (pid %d) still alive", leader, pids[leader])
	}
	if err := e.Kill("m9"); !errors.Is(err, cluster.ErrUnknownMember) {
		t.Errorf("Kill(m9) = %v, want ErrUnknownMember", err)
	}
	// The killed member is unreachable through its proxy.
	for i, m := range topo.Members {
		if m.Name != leader {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := c.Status(sctx, eps[i])
		cancel()
		if err == nil {
			t.Errorf("Status of killed member %s succeeded", leader)
		}
	}
	// The other two elect a new leader and keep serving writes.
	wc := newClient(t, rest...)
	t0 = time.Now()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := wc.Put(pctx, "k", "first")
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no write accepted by the surviving members: %v", err)
		}
	}
	t.Logf("first write accepted %v after killing leader %s", time.Since(t0).Round(time.Millisecond), leader)
	for i := range 20 {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := wc.Put(pctx, "k", strconv.Itoa(i))
		cancel()
		if err != nil {
			t.Fatalf("write %d after kill: %v", i, err)
		}
	}
	gr, err := wc.Get(ctx, "k")
	if err != nil || len(gr.Kvs) != 1 || string(gr.Kvs[0].Value) != "19" {
		t.Fatalf("read back = %v, %v", gr, err)
	}

	dir := e.Dir()
	stopped = true
	t0 = time.Now()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped in %v", time.Since(t0).Round(time.Millisecond))
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data dir %s still exists after Stop (stat: %v)", dir, err)
	}
	if left := waitGone(all, 0); len(left) > 0 {
		t.Errorf("processes left after Stop: %v", left)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

// TestMemberDiesWithParent: SIGKILL the process that started the cluster;
// every member exits on its own.
func TestMemberDiesWithParent(t *testing.T) {
	testenv.Short(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), parentEnv+"="+t.TempDir())
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	var pids []int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 && f[0] == "ERROR" {
			t.Fatalf("parent: %s", sc.Text())
		}
		if len(f) > 0 && f[0] == "PIDS" {
			for _, s := range f[1:] {
				p, err := strconv.Atoi(s)
				if err != nil {
					t.Fatal(err)
				}
				pids = append(pids, p)
			}
			break
		}
	}
	if len(pids) != 3 {
		t.Fatalf("parent reported pids %v (scan err %v)", pids, sc.Err())
	}
	for _, p := range pids {
		if !alive(p) {
			t.Fatalf("member pid %d not running before the parent dies", p)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if left := waitGone(pids, 10*time.Second); len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p, syscall.SIGKILL)
		}
		t.Fatalf("members %v survived their parent", left)
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
