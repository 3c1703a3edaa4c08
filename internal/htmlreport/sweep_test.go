package htmlreport

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// sweepFixture is a real sweep's summary.json (pacbench run --profile
// profiles/sweep-etcd.yaml --sweep load.rate=100..400x3 --duration 1500ms
// --sweep-warmup 500ms --knee-p99 1s), without its points/ directories.
const sweepFixture = "testdata/sweep"

func loadSweepFixture(t *testing.T) *SweepData {
	t.Helper()
	d, err := LoadSweep(os.DirFS(sweepFixture))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestGoldenSweepData: the data a sweep's report.html embeds.
func TestGoldenSweepData(t *testing.T) {
	t.Parallel()
	b, err := json.MarshalIndent(loadSweepFixture(t), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Golden(t, filepath.Join("testdata", "sweep.data.json"), append(b, '\n'), *update)
}

// TestSweepDataFollowsSummary: every curve point of the summary is on the
// page once per op kind, sorted by throughput, the knee marked at the
// knee's value, the stale ratio at its value's position.
func TestSweepDataFollowsSummary(t *testing.T) {
	t.Parallel()
	var s report.Summary
	if err := readJSON(os.DirFS(sweepFixture), SummaryFile, &s); err != nil {
		t.Fatal(err)
	}
	d := BuildSweep(&s, nil)
	want := 0
	for _, c := range s.Sweep.Curves {
		want += len(curveOps(c))
	}
	if len(d.Curves) != want || want < 4 {
		t.Fatalf("%d curves on the page, %d level × phase × op in the summary", len(d.Curves), want)
	}
	for _, c := range d.Curves {
		for i := 1; i < len(c.Throughput); i++ {
			if c.Throughput[i] < c.Throughput[i-1] {
				t.Errorf("%s: throughput not ascending: %v", SweepCurveID(c), c.Throughput)
			}
		}
		marked := c.Knee != nil && (s.Sweep.KneeOp == "" || c.Op == s.Sweep.KneeOp)
		if marked != (c.KneeAt != nil) || (c.KneeAt != nil && c.Value[*c.KneeAt] != *c.Knee) {
			t.Errorf("%s: knee %v marked at %v (values %v)", SweepCurveID(c), c.Knee, c.KneeAt, c.Value)
		}
	}
	if len(d.Stale) != 1 || len(d.Stale[0].Levels) != 2 || len(d.Stale[0].Levels[0].Ratio) != len(s.Sweep.Values) {
		t.Fatalf("stale charts %+v", d.Stale)
	}
	for _, p := range d.Points {
		if p.Report == "" || p.Exists {
			t.Errorf("point %+v: want a link to a report that is not in the fixture", p)
		}
	}
}

// TestSweepLinks: a value's report is linked only when its directory is
// one of the sweep's points/ and exists; a failed value says so.
func TestSweepLinks(t *testing.T) {
	t.Parallel()
	s := &report.Summary{Schema: report.Schema, Sweep: &report.Sweep{Param: "load.rate", Values: []string{"1", "2", "3", "4"},
		Points: []report.SweepPoint{{Value: "1", Dir: "points/01-1"}, {Value: "2", Dir: "points/02-2"},
			{Value: "3", Dir: "javascript:alert(1)"}, {Value: "4", Error: "boom"}}}}
	fsys := fstest.MapFS{"points/01-1/report.html": {Data: []byte("x")}}
	d := BuildSweep(s, fsys)
	want := []SweepPointInfo{{Value: "1", Report: "points/01-1/report.html", Exists: true}, {Value: "2", Report: "points/02-2/report.html"},
		{Value: "3"}, {Value: "4", Error: "boom"}}
	for i, p := range d.Points {
		if p != want[i] {
			t.Errorf("point %d: %+v, want %+v", i, p, want[i])
		}
	}
	if len(d.Charts()) != 0 || len(d.Notes) != 1 {
		t.Errorf("no curves: charts %v, notes %q", d.Charts(), d.Notes)
	}
}

// TestLoadSweepErrors: an ordinary run is not a sweep; no summary is not
// a run.
func TestLoadSweepErrors(t *testing.T) {
	t.Parallel()
	if _, err := LoadSweep(os.DirFS(fixture)); !errors.Is(err, ErrNotSweep) {
		t.Errorf("ordinary run: %v, want ErrNotSweep", err)
	}
	if _, err := LoadSweep(fstest.MapFS{}); !errors.Is(err, ErrNotRun) {
		t.Errorf("empty directory: %v, want ErrNotRun", err)
	}
}

// TestWriteReportSweep: `pacbench report SWEEP_DIR` writes the sweep's
// page (its data is the sweep's).
func TestWriteReportSweep(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(sweepFixture, SummaryFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	file, err := WriteReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?s)<script id="pacbench-data" type="application/json">(.*?)</script>`).FindSubmatch(html)
	var back SweepData
	if m == nil || json.Unmarshal(m[1], &back) != nil || back.Schema != SweepSchema || len(back.Curves) != len(loadSweepFixture(t).Curves) {
		t.Fatalf("%s does not embed the sweep's data", file)
	}
}
