package bench_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/htmlreport"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// shardProfile is a short sharded run of the in-memory fake driver (the
// merge's unit test: never a stand-in for a database).
const shardProfile = `
name: sharded
system: {driver: fake, endpoints: ["fake://1"]}
workload: {records: 90, value_size: 64, mix: {read: 0.6, write: 0.4}, distribution: uniform}
load: {model: open, workers: 7, rate: 900}
levels:
  - {name: fresh, read: fresh}
  - {name: stale, read: stale}
phases:
  - {name: baseline, duration: 500ms}
  - {name: second, duration: 400ms}
checks: {linearizable_keys: 2}
thresholds:
  - "read.p99(baseline) < 10s"
`

// runShards runs shards idx of n of shardProfile at once, with one start
// barrier and one run id, and returns their results directories.
func runShards(t *testing.T, runID string, n int, idx ...int) []string {
	t.Helper()
	start := time.Now().Add(time.Second)
	dirs := make([]string, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for j, i := range idx {
		reg := drivers.NewRegistry(fakedriver.New(fakedriver.Options{Lag: 20 * time.Millisecond, OpDelay: time.Millisecond}))
		p, err := profile.Parse("sharded.yaml", []byte(shardProfile), profile.Options{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := bench.Execute(context.Background(), bench.Options{Profile: p, Registry: reg, RunID: runID,
				OutDir: t.TempDir(), Interval: 100 * time.Millisecond, StartAt: start,
				Overrides: profile.Overrides{Shard: fmt.Sprintf("%d/%d", i, n)}})
			errs[j] = err
			if out != nil {
				dirs[j] = out.Dir
			}
		}()
	}
	wg.Wait()
	for j, err := range errs {
		if err != nil || dirs[j] == "" {
			t.Fatalf("shard %d: %v", idx[j], err)
		}
	}
	return dirs
}

// TestMergeShards: three shards of one run merge into one results
// directory whose counts are the shards' sums, whose percentiles are those
// of the added histograms, whose interval log holds every op once, and
// which report and thresholds read like a run's.
func TestMergeShards(t *testing.T) {
	t.Parallel()
	dirs := runShards(t, "merge-test", 3, 0, 1, 2)
	out := filepath.Join(t.TempDir(), "merged")
	res, err := bench.Merge(context.Background(), bench.MergeOptions{Dirs: dirs, Out: out, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	sum := readSummary(t, out)
	if sum.RunID != "merge-test" || sum.Partial || sum.Shards == nil || sum.Shards.Count != 3 || len(sum.Shards.Merged) != 3 || res.Dir != out {
		t.Fatalf("merged summary: run %q partial %v shards %+v dir %q", sum.RunID, sum.Partial, sum.Shards, res.Dir)
	}
	for si, sc := range sum.Scenarios {
		for pi, ph := range sc.Phases {
			for kind, o := range ph.Ops {
				k, _ := op.ParseKind(kind)
				var count, ok int64
				var added *hdrhistogram.Histogram
				for _, d := range dirs {
					c := shardCell(t, d, si, pi)
					if c == nil || c.Ops[k] == nil {
						continue
					}
					count += c.Ops[k].Count
					ok += c.Ops[k].OK
					if h := c.Ops[k].Response[op.OK]; h != nil {
						if added == nil {
							added = metrics.NewLatencyHistogram()
						}
						added.Merge(h)
					}
				}
				if o.Count != count || o.OK != ok {
					t.Errorf("%s/%s/%s: merged %d ops (%d ok), the shards %d (%d)", sc.Name, ph.Name, kind, o.Count, o.OK, count, ok)
				}
				p99, has := metrics.Quantile(added, 0.99)
				// summary.json has ms to 3 decimals (report.round3).
				if !has || o.LatencyMs.P99 == nil || *o.LatencyMs.P99 != math.Round(float64(p99)/1e6*1000)/1000 {
					t.Errorf("%s/%s/%s: merged p99 %v ms, the added histograms' %d ns", sc.Name, ph.Name, kind, fmtPtr(o.LatencyMs.P99), p99)
				}
			}
		}
	}
	// Every op of every shard is in the merged interval log exactly once.
	want := map[string]int64{}
	for _, d := range dirs {
		for tag, n := range hlogCounts(t, d) {
			want[tag] += n
		}
	}
	got := hlogCounts(t, out)
	if len(got) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged interval log counts %v, the shards' %v", got, want)
	}
	var man report.Manifest
	readJSONFile(t, filepath.Join(out, "manifest.json"), &man)
	if man.Merged == nil || len(man.Merged.Inputs) != 3 || man.StartBarrier == nil || man.Profile.Shard != "" || man.Merged.MaxSkewMs == nil {
		t.Errorf("merged manifest: %+v, barrier %+v, profile shard %q", man.Merged, man.StartBarrier, man.Profile.Shard)
	}
	if len(sum.Thresholds) != 1 || !sum.Thresholds[0].Pass {
		t.Errorf("thresholds on the merged run: %+v", sum.Thresholds)
	}
	if _, err := htmlreport.Load(os.DirFS(out)); err != nil {
		t.Errorf("report cannot read the merged directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, htmlreport.ReportFile)); err != nil {
		t.Errorf("no report.html in the merged directory: %v", err)
	}
	// The output is never overwritten.
	if _, err := bench.Merge(context.Background(), bench.MergeOptions{Dirs: dirs, Out: out}); !errors.Is(err, bench.ErrUsage) {
		t.Errorf("merge over an existing directory: %v, want ErrUsage", err)
	}
}

// TestMergeRefuses: what does not fit together is refused with a clear
// error before anything is written; --allow-missing merges a partial run.
func TestMergeRefuses(t *testing.T) {
	t.Parallel()
	a := runShards(t, "run-a", 3, 0, 2)
	b := runShards(t, "run-b", 3, 1)
	for _, tc := range []struct {
		name string
		dirs []string
		want string
	}{
		{"missing", a, "shard 1 of 3 missing (--allow-missing"},
		{"other run", append([]string{a[0], b[0]}, a[1]), `is run "run-b" but`},
		{"duplicate", []string{a[0], a[0], a[1]}, "shard 0/3 given twice"},
		{"not a shard dir", []string{t.TempDir()}, "no manifest.json"},
	} {
		out := filepath.Join(t.TempDir(), "m")
		_, err := bench.Merge(context.Background(), bench.MergeOptions{Dirs: tc.dirs, Out: out})
		if !errors.Is(err, bench.ErrUsage) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want a usage error saying %q", tc.name, err, tc.want)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s: %s was written", tc.name, out)
		}
	}
	out := filepath.Join(t.TempDir(), "partial")
	if _, err := bench.Merge(context.Background(), bench.MergeOptions{Dirs: a, Out: out, AllowMissing: true}); err != nil {
		t.Fatal(err)
	}
	sum := readSummary(t, out)
	if !sum.Partial || sum.Shards == nil || fmt.Sprint(sum.Shards.Missing) != "[1]" || !strings.Contains(strings.Join(sum.Notes, "\n"), "shard 1 of 3 missing") {
		t.Errorf("partial merge: partial %v, shards %+v, notes %q", sum.Partial, sum.Shards, sum.Notes)
	}
}

func readSummary(t *testing.T, dir string) *report.Summary {
	t.Helper()
	var s report.Summary
	readJSONFile(t, filepath.Join(dir, "summary.json"), &s)
	return &s
}

func readJSONFile(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// shardCell reads a shard's cumulative cell from its measurements.json.
func shardCell(t *testing.T, dir string, si, pi int) *metrics.Cell {
	t.Helper()
	var m report.Measurements
	readJSONFile(t, filepath.Join(dir, report.MeasurementsFile), &m)
	var man report.Manifest
	readJSONFile(t, filepath.Join(dir, "manifest.json"), &man)
	pp, err := man.Profile.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := m.Results(checksOf(t), pp.ScenarioNames(), pp.PhaseNames())
	if err != nil {
		t.Fatal(err)
	}
	return res.Cell(si, pi)
}

func checksOf(t *testing.T) *metrics.Checks {
	t.Helper()
	cs, err := checkers.Registry(checkers.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func fmtPtr(f *float64) string {
	if f == nil {
		return "null"
	}
	return fmt.Sprint(*f)
}
