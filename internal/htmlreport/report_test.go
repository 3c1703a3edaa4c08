package htmlreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// fixture is a real quickstart run (pacbench run --duration 1500ms
// --interval 500ms), kept without its .hgrm, csv and visualization files.
const fixture = "testdata/run"

func loadFixture(t *testing.T) *Data {
	t.Helper()
	r, err := Load(os.DirFS(fixture))
	if err != nil {
		t.Fatal(err)
	}
	return Build(r)
}

// TestGoldenData: the data report.html embeds for a fixed small run.
func TestGoldenData(t *testing.T) {
	t.Parallel()
	d := loadFixture(t)
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	testenv.Golden(t, filepath.Join("testdata", "run.data.json"), append(b, '\n'), *update)
}

// TestDataMatchesSummary: what the page draws from the interval logs
// agrees with summary.json, computed by the run from its own histograms:
// per phase, the spectra's sample counts are the ok op counts and their
// p50 the summary's p50; the checks log's checked and stale reads add up
// to the summary's.
func TestDataMatchesSummary(t *testing.T) {
	t.Parallel()
	r, err := Load(os.DirFS(fixture))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for si, sc := range r.Summary.Scenarios {
		for _, ph := range sc.Phases {
			pi := r.phaseIdx[ph.Name]
			for o, st := range ph.Ops {
				tr := r.tracks[tagKey{si, pi, o, outcomeOK, measureResponse}]
				if st.OK == 0 {
					continue
				}
				if tr == nil || tr.all.TotalCount() != st.OK {
					t.Errorf("%s/%s/%s: %v ok ops in the log, %d in the summary", sc.Name, ph.Name, o, tr, st.OK)
					continue
				}
				p50, _ := metrics.Quantile(tr.all, 0.5)
				if got := float64(p50) / 1e6; st.LatencyMs.P50 == nil || !near(got, *st.LatencyMs.P50) {
					t.Errorf("%s/%s/%s: p50 %v ms from the log, %v in the summary", sc.Name, ph.Name, o, got, st.LatencyMs.P50)
				}
				var blocks int64
				for _, b := range tr.blocks {
					blocks += b.bins.Total()
				}
				if blocks != st.OK {
					t.Errorf("%s/%s/%s: blocks hold %d ops, want %d", sc.Name, ph.Name, o, blocks, st.OK)
				}
				checked++
			}
			if checkedN, staleN, _ := staleOf(ph.Ops["read"]); checkedN > 0 {
				c := r.tracks[tagKey{si, pi, report.CheckOp, checkers.StalenessChecked, report.PartCount}]
				s := r.tracks[tagKey{si, pi, report.CheckOp, checkers.StalenessStale, report.PartCount}]
				var gotStale int64
				if s != nil {
					gotStale = s.all.TotalCount()
				}
				if c == nil || c.all.TotalCount() != checkedN || gotStale != staleN {
					t.Errorf("%s/%s: checks log disagrees with the summary's %d checked, %d stale", sc.Name, ph.Name, checkedN, staleN)
				}
				checked++
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d series checked", checked)
	}
}

func near(a, b float64) bool { return a == b || (a-b < 0.0015 && b-a < 0.0015) }

// TestRenderEmbedsData: the page carries exactly the data document, as
// JSON that cannot end its script element, and no external reference.
func TestRenderEmbedsData(t *testing.T) {
	t.Parallel()
	d := loadFixture(t)
	d.Notes = append(d.Notes, `</script><script>alert(1)</script> & <b>`)
	var buf bytes.Buffer
	if err := Render(&buf, d); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	m := regexp.MustCompile(`(?s)<script id="pacbench-data" type="application/json">(.*?)</script>`).FindStringSubmatch(html)
	if m == nil {
		t.Fatal("no data script")
	}
	var back Data
	if err := json.Unmarshal([]byte(m[1]), &back); err != nil {
		t.Fatalf("embedded data: %v", err)
	}
	want, _ := json.Marshal(d)
	got, _ := json.Marshal(&back)
	if !bytes.Equal(want, got) {
		t.Error("embedded data differs from the data rendered")
	}
	if strings.Count(html, "<script") != 3 || strings.Contains(m[1], "</") {
		t.Error("a note escaped its script element")
	}
	for _, bad := range []string{"http://", "https://", "src=", "@import"} {
		if i := strings.Index(html, bad); i >= 0 && !strings.Contains(html[max(0, i-40):i+60], "github.com/leeoniya") &&
			!strings.Contains(html[max(0, i-60):i+60], "w3.org/2000/svg") {
			t.Errorf("page references %q: %s", bad, html[max(0, i-40):min(len(html), i+60)])
		}
	}
}

// TestAssetsPinned: the vendored charting library is the one its README
// names.
func TestAssetsPinned(t *testing.T) {
	t.Parallel()
	for name, sum := range map[string]string{
		"assets/uPlot.iife.min.js": "19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f",
		"assets/uPlot.min.css":     "df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04",
	} {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != sum {
			t.Errorf("%s: sha256 %s, README says %s", name, got, sum)
		}
		readme, _ := os.ReadFile("assets/README.md")
		if !strings.Contains(string(readme), sum) {
			t.Errorf("assets/README.md does not record %s's sha256", name)
		}
	}
}

// TestMissingLogs: a run directory that lost its interval logs (a full
// disk removes intervals.hlog first; older runs have no checks.hlog)
// still gives a page, with notes saying what is missing.
func TestMissingLogs(t *testing.T) {
	t.Parallel()
	for _, drop := range [][]string{{report.ChecksLogFile}, {report.IntervalLogFile, report.ChecksLogFile}} {
		t.Run(strings.Join(drop, "+"), func(t *testing.T) {
			t.Parallel()
			fsys := fstest.MapFS{}
			for _, f := range []string{SummaryFile, ManifestFile, report.IntervalLogFile, report.ChecksLogFile} {
				if slices.Contains(drop, f) {
					continue
				}
				b, err := os.ReadFile(filepath.Join(fixture, f))
				if err != nil {
					t.Fatal(err)
				}
				fsys[f] = &fstest.MapFile{Data: b}
			}
			r, err := Load(fsys)
			if err != nil {
				t.Fatal(err)
			}
			d := Build(r)
			if !strings.Contains(strings.Join(d.Notes, "\n"), drop[0]) {
				t.Errorf("no note about %s: %q", drop[0], d.Notes)
			}
			if len(d.Staleness.Ratio) != 0 || len(d.Map) != 2 || len(d.Visibility) == 0 {
				t.Errorf("ratio lines %d, map points %d, visibility charts %d", len(d.Staleness.Ratio), len(d.Map), len(d.Visibility))
			}
			if err := Render(io.Discard, d); err != nil {
				t.Fatal(err)
			}
		})
	}
}
