package sink

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPrometheusPhaseInfo: pacbench_phase_info says which phase of the
// profile runs (from each interval's phase), and none after the last.
func TestPrometheusPhaseInfo(t *testing.T) {
	t.Parallel()
	s, err := NewPrometheus(context.Background(), Config{MetricsAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	p := s.(*promSink)
	defer func() { _ = p.Stop(context.Background()) }()
	scrape := func() string {
		t.Helper()
		resp, err := http.Get("http://" + p.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "pacbench_phase_info{") {
				lines = append(lines, l)
			}
		}
		return strings.Join(lines, "\n")
	}
	if err := p.Start(Info{RunID: "r", Phases: []string{"baseline", "partition"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tick Tick
		want string
	}{
		{Tick{}, `pacbench_phase_info{index="0",phase="baseline"} 0` + "\n" + `pacbench_phase_info{index="1",phase="partition"} 0`},
		{Tick{Phase: "baseline"}, `pacbench_phase_info{index="0",phase="baseline"} 1` + "\n" + `pacbench_phase_info{index="1",phase="partition"} 0`},
		{Tick{Phase: "partition"}, `pacbench_phase_info{index="0",phase="baseline"} 0` + "\n" + `pacbench_phase_info{index="1",phase="partition"} 1`},
		{Tick{Phase: "partition", Final: true}, `pacbench_phase_info{index="0",phase="baseline"} 0` + "\n" + `pacbench_phase_info{index="1",phase="partition"} 0`},
	} {
		if tc.tick.Phase != "" || tc.tick.Final {
			if err := p.AddInterval(tc.tick); err != nil {
				t.Fatal(err)
			}
		}
		if got := scrape(); got != tc.want {
			t.Errorf("after %+v:\n%s\nwant\n%s", tc.tick, got, tc.want)
		}
	}
}

// TestPrometheusRunInfoShard: pacbench_run_info carries the run id and the
// shard ("I/N", "none" for a run that is not sharded), the labels that
// tell the shards of one run apart and bring them together.
func TestPrometheusRunInfoShard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ shard, want string }{{"1/3", `shard="1/3"`}, {"", `shard="none"`}} {
		s, err := NewPrometheus(context.Background(), Config{MetricsAddr: "127.0.0.1:0"})
		if err != nil {
			t.Fatal(err)
		}
		p := s.(*promSink)
		if err := p.Start(Info{RunID: "run-1", Shard: tc.shard}); err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get("http://" + p.Addr() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		_ = p.Stop(context.Background())
		var info string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "pacbench_run_info{") {
				info = l
			}
		}
		if !strings.Contains(info, `run_id="run-1"`) || !strings.Contains(info, tc.want) {
			t.Errorf("shard %q: %q, want run_id and %s", tc.shard, info, tc.want)
		}
	}
}
