package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// fullDisk is a FileWriter whose first write fails with ENOSPC, and a
// Releaser that records being asked.
type fullDisk struct {
	files
	name     string
	fails    int
	released *[]string
}

func (f *fullDisk) WriteFiles(dir *Dir, _ *End) error {
	if f.fails > 0 {
		f.fails--
		return fmt.Errorf("write %s: %w", f.name, syscall.ENOSPC)
	}
	return dir.WriteFile(f.name, []byte(f.name))
}

func (f *fullDisk) Release(*Dir) (string, error) {
	*f.released = append(*f.released, f.name)
	return f.name + " released", nil
}

func factory(s Sink) Factory { return func(context.Context, Config) (Sink, error) { return s, nil } }

// TestWriteFilesReleasesOnFullDisk: a file that does not fit is retried
// once after the Releasers (least important first) gave back their space;
// every file that fits is written; the release is noted.
func TestWriteFilesReleasesOnFullDisk(t *testing.T) {
	t.Parallel()
	var released []string
	reg := NewRegistry()
	_ = reg.Register("first", factory(&fullDisk{name: "first.json", fails: 1, released: &released}))
	_ = reg.Register("second", factory(&fullDisk{name: "second.json", released: &released}))
	_ = reg.Register("never", factory(&fullDisk{name: "never.json", fails: 2, released: &released}))
	set, err := reg.Open(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := NewDir(t.TempDir(), "r", false)
	if err != nil {
		t.Fatal(err)
	}
	end := &End{Summary: &report.Summary{}, Manifest: &report.Manifest{}}
	set.Finish(end)
	err = set.WriteFiles(dir, end)
	if err == nil || !strings.Contains(err.Error(), "never.json") {
		t.Errorf("WriteFiles = %v, want the never.json failure", err)
	}
	if got := strings.Join(dir.Files(), " "); got != "first.json second.json" {
		t.Errorf("files %q, want first.json second.json", got)
	}
	if strings.Join(released, " ") != "never.json second.json first.json" {
		t.Errorf("released %q, want reverse order, once", released)
	}
	if !strings.Contains(strings.Join(end.Summary.Notes, "\n"), "second.json released") {
		t.Errorf("release not noted: %q", end.Summary.Notes)
	}
	_ = dir.Abort()
}

// TestSummaryNonFinite: a summary and manifest holding NaN/±Inf are
// written, with null in their place and a note in both documents.
func TestSummaryNonFinite(t *testing.T) {
	t.Parallel()
	for _, x := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		t.Run(fmt.Sprint(x), func(t *testing.T) {
			t.Parallel()
			dir, err := NewDir(t.TempDir(), "r", false)
			if err != nil {
				t.Fatal(err)
			}
			sum := &report.Summary{Schema: report.Schema, Scenarios: []report.Scenario{{Name: "s",
				Load: &runner.LoadStats{TargetRate: x}, Phases: []report.Phase{{PhaseHead: report.PhaseHead{Name: "p", DurationS: x}}}}}}
			man := &report.Manifest{Schema: report.ManifestSchema, Load: []runner.LoadStats{{TargetRate: x}}}
			end := &End{Summary: sum, Manifest: man}
			set, err := Default().Open(context.Background(), Config{})
			if err != nil {
				t.Fatal(err)
			}
			if err := set.Start(Info{Dir: dir}); err != nil {
				t.Fatal(err)
			}
			set.Finish(end)
			if err := set.WriteFiles(dir, end); err != nil {
				t.Fatalf("WriteFiles: %v", err)
			}
			if _, err := dir.Commit(); err != nil {
				t.Fatal(err)
			}
			for _, f := range []struct{ name, path string }{{"summary.json", "scenarios[0].load.target_rate_ops"},
				{"summary.json", "scenarios[0].phases[0].duration_s"}, {"manifest.json", "load[0].target_rate_ops"}} {
				b, err := os.ReadFile(filepath.Join(dir.Path(), f.name))
				if err != nil {
					t.Fatal(err)
				}
				var d struct {
					Notes []string `json:"notes"`
				}
				if err := json.Unmarshal(b, &d); err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				if !strings.Contains(strings.Join(d.Notes, "\n"), f.path) {
					t.Errorf("%s: no note about %s: %q", f.name, f.path, d.Notes)
				}
			}
			b, _ := os.ReadFile(filepath.Join(dir.Path(), "summary.json"))
			if !bytes.Contains(b, []byte(`"target_rate_ops": null`)) {
				t.Errorf("summary.json: target_rate_ops not null:\n%s", b)
			}
		})
	}
}

// TestProgressBounded: however short the interval, at most one status
// line per ProgressEvery, with the ops of every interval counted.
func TestProgressBounded(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s, err := NewProgress(context.Background(), Config{Progress: &buf})
	if err != nil {
		t.Fatal(err)
	}
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"p"}, Keys: 1})
	w := rec.NewWorker(0, 1)
	const step = 10 * time.Millisecond
	for i := 1; i <= 300; i++ { // 3 s of 10 ms intervals, one op each
		w.RecordAt(0, op.Read, op.OK, int64(i)*int64(step), int64(step), int64(step))
		iv := rec.Collect(int64(i) * int64(step))
		if err := s.AddInterval(Tick{Interval: iv, Phase: "p", Elapsed: time.Duration(i) * step, Ops: 1}); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines for 3 s, want 3:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if !strings.Contains(l, "100 ops/s") || !strings.Contains(l, "p99 10ms") {
			t.Errorf("line %q: want 100 ops/s and p99 10ms", l)
		}
	}
}

func TestFormatsLookup(t *testing.T) {
	t.Parallel()
	f := DefaultFormats()
	if _, err := f.Lookup("json"); err != nil {
		t.Fatal(err)
	}
	_, err := f.Lookup("xml")
	if err == nil || err.Error() != `"xml" is not table or json` {
		t.Errorf("Lookup(xml) = %v", err)
	}
	if err := f.Register("json", JSONFormat); err == nil {
		t.Errorf("duplicate format registered")
	}
}

func TestValidateListenAddr(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:9464", true}, {"127.0.0.1:0", true}, {"[::1]:80", true}, {"localhost:1", true}, {":9464", true},
		{"127.0.0.1", false}, {"127.0.0.1:99999", false}, {"127.0.0.1:-1", false}, {"::::", false},
		{"127.0.0.1:http", false}, {"bad host:1", false}, {"", false}, {"127.0.0.1:", false},
	} {
		err := ValidateListenAddr(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateListenAddr(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}

// TestProgressNoDataIsNotZero: a window with no successful op prints "p99
// -", not "p99 0s" (issue 11: no data is not zero).
func TestProgressNoDataIsNotZero(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s, err := NewProgress(context.Background(), Config{Progress: &buf})
	if err != nil {
		t.Fatal(err)
	}
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"p"}, Keys: 1})
	w := rec.NewWorker(0, 1)
	w.RecordAt(0, op.Read, op.Timeout, int64(time.Second), int64(time.Second), int64(time.Second))
	iv := rec.Collect(int64(time.Second))
	if err := s.AddInterval(Tick{Interval: iv, Phase: "p", Elapsed: time.Second, Ops: 1, Errors: 1}); err != nil {
		t.Fatal(err)
	}
	if l := buf.String(); !strings.Contains(l, "p99 -") {
		t.Errorf("line %q: want p99 -", l)
	}
}
