package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// TestRemoteWriteToPrometheus: a shard run against a real etcd cluster
// pushes its metrics (--remote-write, no /metrics endpoint) to a real
// Prometheus with its remote-write receiver on; the pushed series, queried
// back through Prometheus's HTTP API, hold every op of the summary and
// pacbench_run_info names the run and the shard.
func TestRemoteWriteToPrometheus(t *testing.T) {
	testenv.Short(t)
	bin := testenv.Require(t, "PACBENCH_PROMETHEUS_BIN", "scripts/prometheus.sh install (Debian's prometheus)")
	base := startReceiver(t, bin)
	c, err := cluster.StartEtcd(t.Context(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	eps := make([]string, len(c.Endpoints()))
	for i, e := range c.Endpoints() {
		eps[i] = strconv.Quote(e)
	}
	prof := filepath.Join(t.TempDir(), "rw.yaml")
	if err := os.WriteFile(prof, []byte(fmt.Sprintf(shardsProfile, strings.Join(eps, ", "))), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, "run", "--profile", prof, "--shard", "1/3", "--run-id", "rw", "--out", t.TempDir(),
		"--metrics-addr", "off", "--remote-write", base+"/api/v1/write", "--quiet", "--format", "json", "--interval", "250ms")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	var sum report.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatal(err)
	}
	var total, ok int64
	for _, sc := range sum.Scenarios {
		for _, ph := range sc.Phases {
			for _, o := range ph.Ops {
				total, ok = total+o.Count, ok+o.OK
			}
		}
	}
	for _, n := range sum.Notes {
		if strings.Contains(n, "remote-write") {
			t.Errorf("note: %s", n)
		}
	}
	q := `sum(pacbench_ops_total and on(instance, job) pacbench_run_info{run_id="rw",shard="1/3"})`
	if got := promScalar(t, base, q); got != float64(total) || total == 0 {
		t.Errorf("%s = %v in Prometheus, the summary has %d ops", q, got, total)
	}
	// The response-time histogram as a scrape would store it: its count
	// is every ok op.
	q = `sum(pacbench_op_duration_seconds_count{outcome="ok"} and on(instance, job) pacbench_run_info{run_id="rw"})`
	if got := promScalar(t, base, q); got != float64(ok) {
		t.Errorf("%s = %v in Prometheus, the summary has %d ok ops", q, got, ok)
	}
}

// startReceiver starts Prometheus with its remote-write receiver on a free
// loopback port and returns its base URL.
func startReceiver(t *testing.T, bin string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte("global: {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+addr, "--web.enable-remote-write-receiver", "--log.level=warn")
	var logb testenv.SyncBuffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		t.Fatalf("prometheus: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", logb.String())
		}
	})
	base := "http://" + addr
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(base + "/-/ready")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus on %s not ready after 60s: %v\n%s", addr, err, logb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// promScalar runs an instant query whose answer is one sample.
func promScalar(t *testing.T, base, q string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		t.Fatalf("%s: %s %s, %d samples", q, r.Status, r.Error, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s: value %q", q, s)
	}
	return v
}
