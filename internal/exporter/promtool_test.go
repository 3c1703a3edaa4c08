package exporter

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"testing"

	"github.com/pacbench/pacbench/internal/testenv"
)

// TestPromtoolCheckMetrics scrapes the handler and runs `promtool check
// metrics` on the exposition. promtool ships with the Debian prometheus
// package: scripts/prometheus.sh install.
func TestPromtoolCheckMetrics(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		testenv.Missing(t, "promtool not on PATH: run scripts/prometheus.sh install")
	}
	res, iv := recordAll(t)
	e := newTest(t, Options{})
	e.Update("etcd", []string{"read=linearizable", "read=serializable"}, res, iv)
	e.SetImpairments([]Active{{Kind: "latency", Target: "etcd1"}})
	e.SetRunInfo(map[string]string{"run_id": runID})
	e.SetPhases([]string{"baseline", "partition"})
	e.SetPhase(0)
	srv := httptest.NewServer(e.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
