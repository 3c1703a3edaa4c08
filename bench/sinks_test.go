package bench_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// fakeProfile is a short run of the in-memory fake driver (unit tests of
// the output path only: never a stand-in for a database).
const fakeProfile = `
name: fake
system: {driver: fake, endpoints: ["fake://1"]}
workload: {records: 20, value_size: 64, mix: {read: 0.7, write: 0.3}, distribution: uniform}
load: {model: closed, workers: 4}
levels:
  - {name: %s, read: stale}
  - {name: %s, read: fresh}
phases:
  - {name: %s, duration: 500ms}
  - {name: %s, duration: 700ms}
checks: {linearizable_keys: 2}
`

func fakeRun(t *testing.T, names [4]string, o bench.Options) (*bench.Outcome, error) {
	t.Helper()
	reg := drivers.NewRegistry(fakedriver.New(fakedriver.Options{Lag: 20 * time.Millisecond, OpDelay: time.Millisecond}))
	yml := fakeProfile
	for _, n := range names {
		yml = strings.Replace(yml, "%s", quoteYAML(n), 1)
	}
	p, err := profile.Parse("fake.yaml", []byte(yml), profile.Options{Registry: reg})
	if err != nil {
		t.Fatalf("profile: %v", err)
	}
	o.Profile, o.Registry = p, reg
	if o.OutDir == "" {
		o.OutDir = t.TempDir()
	}
	if o.Interval == 0 {
		o.Interval = 100 * time.Millisecond
	}
	return bench.Execute(context.Background(), o)
}

func quoteYAML(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\x00", `\0`, "\t", `\t`).Replace(s) + `"`
}

// TestToySink: one new file (toy_sink_test.go) and one Register line add an
// output that sees the run info, every interval (every op, the final partial
// interval included) and the summary, and writes into the run directory.
func TestToySink(t *testing.T) {
	t.Parallel()
	toy := &toySink{}
	sinks := sink.Default()
	_ = sinks.Register("toy", func(context.Context, sink.Config) (sink.Sink, error) { return toy, nil })
	out, err := fakeRun(t, [4]string{"stale", "fresh", "baseline", "second"}, bench.Options{RunID: "toy", Sinks: sinks})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if toy.info.RunID != "toy" || len(toy.info.Scenarios) != 2 || toy.info.Dir == nil {
		t.Errorf("run info: %+v", toy.info)
	}
	if toy.intervals < 5 || !toy.final {
		t.Errorf("%d intervals, final seen %v: want every interval of 1.2 s at 100 ms and the final one", toy.intervals, toy.final)
	}
	if n := summaryOps(out.Summary); toy.ops != n || n == 0 {
		t.Errorf("toy saw %d ops in the intervals, summary has %d", toy.ops, n)
	}
	if toy.summary != out.Summary {
		t.Errorf("toy was not finished with the summary")
	}
	b, err := os.ReadFile(filepath.Join(out.Dir, "toy.txt"))
	if err != nil || !strings.HasPrefix(string(b), "run toy: ") {
		t.Errorf("toy.txt = %q, %v", b, err)
	}
}

func summaryOps(s *report.Summary) int64 {
	var n int64
	for _, sc := range s.Scenarios {
		for _, ph := range sc.Phases {
			for _, o := range ph.Ops {
				n += o.Count
			}
		}
	}
	return n
}

// hlogCounts reads intervals.hlog back with HdrHistogram's log reader and
// returns the op count of each scenario/phase/op tag (response measure).
func hlogCounts(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "intervals.hlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	counts := map[string]int64{}
	for tag, n := range testenv.HlogCounts(t, f) {
		parts := strings.Split(tag, "/")
		if len(parts) != 5 {
			t.Fatalf("tag %q: want scenario/phase/op/outcome/measure", tag)
		}
		if parts[4] == "response" {
			counts[strings.Join(parts[:3], "/")] += n
		}
	}
	return counts
}

// checkHlogComplete asserts that every op of the summary is in the interval
// log: per scenario/phase/op, the log's total count equals the summary's.
func checkHlogComplete(t *testing.T, dir string, s *report.Summary) {
	t.Helper()
	got := hlogCounts(t, dir)
	var scs, phs []string
	for _, sc := range s.Scenarios {
		scs = append(scs, sc.Name)
	}
	for _, ph := range s.Scenarios[0].Phases {
		phs = append(phs, ph.Name)
	}
	names := report.NewNames(scs, phs)
	want := map[string]int64{}
	for si, sc := range s.Scenarios {
		for pi, ph := range sc.Phases {
			for k, o := range ph.Ops {
				want[names.Scenario(si)+"/"+names.Phase(pi)+"/"+k] = o.Count
			}
		}
	}
	for tag, n := range want {
		if got[tag] != n {
			t.Errorf("%s: %d ops in intervals.hlog, %d in the summary", tag, got[tag], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("hlog series %v, summary series %v", got, want)
	}
}

// TestHlogHoldsEveryOp: the final partial interval is in the log too.
func TestHlogHoldsEveryOp(t *testing.T) {
	t.Parallel()
	// An interval longer than the whole run: every op is in the final one.
	for _, iv := range []time.Duration{100 * time.Millisecond, 5 * time.Second} {
		out, err := fakeRun(t, [4]string{"stale", "fresh", "baseline", "second"}, bench.Options{RunID: "h", Interval: iv})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		checkHlogComplete(t, out.Dir, out.Summary)
	}
}

// TestHostileNames: scenario and phase names from the profile cannot put a
// file outside the run directory; every file lands inside it under a
// sanitised, unique name, and the summary names the files that exist.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		names [4]string
	}{
		{"parent dirs", [4]string{"../x", "../../y", "..", "../p"}},
		{"absolute", [4]string{"/etc", "/etc/passwd", "/tmp", "/"}},
		{"separators", [4]string{"a/b", `a\b`, "p/q", "p_q"}},
		{"dots", [4]string{".", ".hidden", "..", "." + "." + "."}},
		{"unicode and control", [4]string{"ünï/cødé", "日本", "tab\there", "nul\x00x"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			out, err := fakeRun(t, tc.names, bench.Options{RunID: "r", OutDir: filepath.Join(parent, "out")})
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			var files []string
			_ = filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					files = append(files, p)
				}
				return err
			})
			hgrms := 0
			for _, f := range files {
				rel, err := filepath.Rel(out.Dir, f)
				if err != nil || !filepath.IsLocal(rel) {
					t.Errorf("file outside the run directory: %s", f)
				}
				if strings.HasPrefix(filepath.Base(f), ".") {
					t.Errorf("hidden file: %s", f)
				}
				if strings.HasSuffix(f, ".hgrm") {
					hgrms++
				}
			}
			if hgrms < 4 {
				t.Errorf("%d .hgrm files, want one per series (≥ 4): %v", hgrms, files)
			}
			for _, sc := range out.Summary.Scenarios {
				for _, ph := range sc.Phases {
					if lc := evidenceOf(ph); lc != nil && lc.Visualization != "" {
						if _, err := os.Stat(filepath.Join(out.Dir, lc.Visualization)); err != nil {
							t.Errorf("summary names %s: %v", lc.Visualization, err)
						}
					}
				}
			}
			checkHlogComplete(t, out.Dir, out.Summary)
		})
	}
}

// TestRunDirectorySafety: an existing run is never replaced silently.
func TestRunDirectorySafety(t *testing.T) {
	t.Parallel()
	names := [4]string{"stale", "fresh", "baseline", "second"}
	outDir := t.TempDir()
	first, err := fakeRun(t, names, bench.Options{RunID: "r", OutDir: outDir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fakeRun(t, names, bench.Options{RunID: "r", OutDir: outDir}); !errors.Is(err, bench.ErrUsage) || !errors.Is(err, sink.ErrRunExists) {
		t.Errorf("second run with the same id: %v, want ErrRunExists (usage)", err)
	}
	second, err := fakeRun(t, names, bench.Options{RunID: "r", OutDir: outDir, Overwrite: true})
	if err != nil || second.Dir != first.Dir {
		t.Fatalf("--overwrite: %v, dir %s", err, second.Dir)
	}
	if err := os.Mkdir(filepath.Join(outDir, "mine"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := fakeRun(t, names, bench.Options{RunID: "mine", OutDir: outDir, Overwrite: true}); !errors.Is(err, sink.ErrNotARun) {
		t.Errorf("--overwrite of a non-run: %v, want ErrNotARun", err)
	}
	// Default ids never collide with an existing run.
	a, err := fakeRun(t, names, bench.Options{OutDir: outDir})
	if err != nil {
		t.Fatal(err)
	}
	b, err := fakeRun(t, names, bench.Options{OutDir: outDir})
	if err != nil || a.Dir == b.Dir {
		t.Errorf("default ids: %s and %s (%v)", a.Dir, b.Dir, err)
	}
	entries, _ := os.ReadDir(outDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("leftover %s in --out", e.Name())
		}
	}
}

// failingStart is a sink that cannot start (e.g. its file cannot be made).
type failingStart struct{ toySink }

func (*failingStart) Start(sink.Info) error { return errors.New("no room") }

// TestSinkStartFails: an output that cannot start stops the run before
// anything starts (ErrOutput), leaves nothing in --out and releases the
// metrics port.
func TestSinkStartFails(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	sinks := sink.Default()
	_ = sinks.Register("failing", func(context.Context, sink.Config) (sink.Sink, error) { return &failingStart{}, nil })
	outDir := t.TempDir()
	_, err = fakeRun(t, [4]string{"a", "b", "c", "d"}, bench.Options{RunID: "r", OutDir: outDir, Sinks: sinks, MetricsAddr: addr})
	if !errors.Is(err, bench.ErrOutput) || !strings.Contains(err.Error(), "no room") {
		t.Fatalf("run: %v, want ErrOutput saying no room", err)
	}
	if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
		t.Errorf("--out holds %v", entries)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("metrics port %s not released: %v", addr, err)
	}
	_ = ln.Close()
}
