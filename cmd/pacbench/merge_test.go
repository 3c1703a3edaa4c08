package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/metrics"
)

// shardsProfile is the sharded run of TestMergeEtcdShards: open loop over
// the three members, linearizable and serializable reads side by side.
const shardsProfile = `
name: shards-etcd
seed: 7
system: {driver: etcd, endpoints: [%s], op_timeout: 1s}
workload: {preset: b, records: 90, value_size: 64}
load: {model: open, workers: 6, rate: 240}
levels:
  - {name: linearizable, read: linearizable}
  - {name: serializable, read: serializable}
phases:
  - {name: baseline, duration: 2s}
  - {name: second, duration: 1s}
checks: {linearizable_keys: 2}
`

// TestMergeEtcdShards is issue 17's proof on this machine: three shard
// processes of one run against one local etcd cluster, started with one
// --start-at, merged by pacbench merge. Total ops are the shards' sum
// exactly, every merged p99 is the p99 of the shards' histograms added
// here (from their interval logs), linearizable reads show 0 stale across
// the shards, and report and compare read the merged directory.
func TestMergeEtcdShards(t *testing.T) {
	testenv.Short(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.StartEtcd(t.Context(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	eps := make([]string, len(c.Endpoints()))
	for i, e := range c.Endpoints() {
		eps[i] = fmt.Sprintf("%q", e)
	}
	prof := filepath.Join(t.TempDir(), "shards.yaml")
	if err := os.WriteFile(prof, []byte(fmt.Sprintf(shardsProfile, strings.Join(eps, ", "))), 0o644); err != nil {
		t.Fatal(err)
	}
	dirs := runEtcdShards(t, bin, prof, 3)
	merged := filepath.Join(t.TempDir(), "sh")
	args := append(append([]string{"merge"}, dirs...), "-o", merged, "--format", "json")
	code, stdout, stderr := invoke(t, args...)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s", code, stderr)
	}
	var sum report.Summary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("merge --format json: %v\n%s", err, stdout)
	}
	if sum.Shards == nil || len(sum.Shards.Merged) != 3 || sum.Partial {
		t.Fatalf("merged: shards %+v, partial %v", sum.Shards, sum.Partial)
	}
	checkMergedSums(t, &sum, merged, dirs)
	for _, ph := range sum.Scenarios[0].Phases {
		r := ph.Ops["read"]
		if r == nil {
			t.Errorf("linearizable/%s: no reads", ph.Name)
			continue
		}
		if n, ok := r.Checks.Int("staleness", "stale"); !ok || n != 0 {
			t.Errorf("linearizable/%s: %d stale reads over the shards (checked: %v), want 0", ph.Name, n, ok)
		}
	}
	if code, _, stderr := invoke(t, "report", merged); code != 0 {
		t.Errorf("report on the merged run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := invoke(t, "compare", merged, dirs[0], "--html", "off"); code != 0 {
		t.Errorf("compare of the merged run with a shard: exit %d\n%s", code, stderr)
	}
}

// runEtcdShards runs n shard processes of the profile with one run id and
// one start barrier, each into its own --out, and returns their results
// directories.
func runEtcdShards(t *testing.T, bin, prof string, n int) []string {
	t.Helper()
	// Far enough ahead for every process to start and load its keys on a
	// loaded machine (a late shard would start late, with its skew recorded).
	at := time.Now().Add(8 * time.Second).UTC().Truncate(time.Second).Format(time.RFC3339)
	dirs := make([]string, n)
	errs := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		out := t.TempDir()
		dirs[i] = filepath.Join(out, "sh")
		cmd := exec.Command(bin, "run", "--profile", prof, "--shard", fmt.Sprintf("%d/%d", i, n), "--start-at", at,
			"--run-id", "sh", "--out", out, "--metrics-addr", "off", "--quiet", "--interval", "250ms")
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &stderr
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Sprintf("shard %d/%d: %v\n%s", i, n, err, stderr.String())
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Fatal(e)
		}
	}
	return dirs
}

// checkMergedSums compares the merged summary with the shards': every op
// count is their sum, every p99 that of their response histograms added
// from their interval logs, and the merged interval log holds their ops.
func checkMergedSums(t *testing.T, sum *report.Summary, merged string, dirs []string) {
	t.Helper()
	added := map[string]*hdrhistogram.Histogram{}
	counts := map[string]int64{}
	shardSums := make([]report.Summary, len(dirs))
	for i, d := range dirs {
		readHlog(t, filepath.Join(d, report.IntervalLogFile), added, counts)
		b, err := os.ReadFile(filepath.Join(d, "summary.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &shardSums[i]); err != nil {
			t.Fatal(err)
		}
	}
	var total int64
	for si, sc := range sum.Scenarios {
		for pi, ph := range sc.Phases {
			for kind, o := range ph.Ops {
				var want int64
				for _, s := range shardSums {
					if so := s.Scenarios[si].Phases[pi].Ops[kind]; so != nil {
						want += so.Count
					}
				}
				total += o.Count
				if o.Count != want || o.Count == 0 {
					t.Errorf("%s/%s/%s: merged %d ops, the shards %d", sc.Name, ph.Name, kind, o.Count, want)
				}
				h := added[fmt.Sprintf("%s/%s/%s/ok/response", sc.Name, ph.Name, kind)]
				p99, ok := metrics.Quantile(h, 0.99)
				// summary.json has ms to 3 decimals.
				if !ok || o.LatencyMs.P99 == nil || *o.LatencyMs.P99 != math.Round(float64(p99)/1e3)/1e3 {
					t.Errorf("%s/%s/%s: merged p99 %v ms, the added shard histograms' %d ns", sc.Name, ph.Name, kind, o.LatencyMs.P99, p99)
				}
			}
		}
	}
	mergedCounts := map[string]int64{}
	readHlog(t, filepath.Join(merged, report.IntervalLogFile), map[string]*hdrhistogram.Histogram{}, mergedCounts)
	if len(counts) == 0 || fmt.Sprint(mergedCounts) != fmt.Sprint(counts) {
		t.Errorf("merged interval log counts %v, the shards' %v", mergedCounts, counts)
	}
	t.Logf("merged %d ops of %d shards", total, len(dirs))
}

// readHlog adds every interval histogram of the log at path into hists
// and counts, by tag.
func readHlog(t *testing.T, path string, hists map[string]*hdrhistogram.Histogram, counts map[string]int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lr := hdrhistogram.NewHistogramLogReader(bytes.NewReader(b))
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if h == nil {
			return
		}
		if hists[h.Tag()] == nil {
			hists[h.Tag()] = metrics.NewLatencyHistogram()
		}
		hists[h.Tag()].Merge(h)
		counts[h.Tag()] += h.TotalCount()
	}
}
