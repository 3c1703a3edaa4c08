package calibrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

func TestMain(m *testing.M) {
	cluster.MaybeRunMember()
	os.Exit(m.Run())
}

func TestSpreadOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []float64
		want Spread
	}{
		{"none", nil, Spread{}},
		{"one", []float64{0.97}, Spread{0.97, 0.97, 0.97}},
		{"odd count takes the middle", []float64{1.02, 0.91, 0.99}, Spread{0.91, 0.99, 1.02}},
		{"even count averages the middle two", []float64{4, 1, 3, 2}, Spread{1, 2.5, 4}},
		{"negatives", []float64{-3, 5, -1}, Spread{-3, -1, 5}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := append([]float64(nil), tc.in...)
			if got := spreadOf(tc.in); got != tc.want {
				t.Errorf("spreadOf(%v) = %+v, want %+v", tc.in, got, tc.want)
			}
			for i := range in {
				if in[i] != tc.in[i] {
					t.Fatalf("spreadOf reordered its input: %v", tc.in)
				}
			}
		})
	}
}

func TestNewPairAndVerdict(t *testing.T) {
	t.Parallel()
	raw := Side{ThroughputOps: 10_000, P50Ms: 0.5, P99Ms: 2}
	cases := []struct {
		name            string
		pac             Side
		ratio, p50, p99 float64
		meets           bool
	}{
		{"equal", Side{ThroughputOps: 10_000, P50Ms: 0.5, P99Ms: 2}, 1, 0, 0, true},
		{"slower", Side{ThroughputOps: 9_000, P50Ms: 0.55, P99Ms: 3}, 0.9, 10, 50, false},
		{"within the targets", Side{ThroughputOps: 9_600, P50Ms: 0.52, P99Ms: 2}, 0.96, 4, 0, true},
		{"throughput just below", Side{ThroughputOps: 9_400, P50Ms: 0.5, P99Ms: 2}, 0.94, 0, 0, false},
		{"faster", Side{ThroughputOps: 11_000, P50Ms: 0.45, P99Ms: 1}, 1.1, -10, -50, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newPair(1, raw, tc.pac)
			if !near(p.ThroughputRatio, tc.ratio) || !near(p.P50DiffPct, tc.p50) || !near(p.P99DiffPct, tc.p99) {
				t.Errorf("pair = ratio %g p50 %g%% p99 %g%%, want %g %g%% %g%%", p.ThroughputRatio, p.P50DiffPct, p.P99DiffPct, tc.ratio, tc.p50, tc.p99)
			}
			r := &Report{Pairs: []Pair{p}}
			r.summarize()
			if r.MeetsTargets != tc.meets {
				t.Errorf("MeetsTargets = %v, want %v", r.MeetsTargets, tc.meets)
			}
		})
	}
	if p := newPair(1, Side{}, Side{ThroughputOps: 5}); p.ThroughputRatio != 0 || p.P50DiffPct != 0 {
		t.Errorf("raw side with no ops: %+v, want zero ratios rather than Inf/NaN", p)
	}
	if r := (&Report{}); func() bool { r.summarize(); return r.MeetsTargets }() {
		t.Error("a report without pairs meets the targets")
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		in      Options
		bad     string // substring of the error; "" = valid
		checkFn func(t *testing.T, o Options)
	}{
		{name: "defaults", checkFn: func(t *testing.T, o Options) {
			if o.Pairs != DefaultPairs || o.Duration != DefaultDuration || o.Warmup != DefaultWarmup ||
				o.Workers != DefaultWorkers || o.Records != DefaultRecords || o.ValueSize != DefaultValueSize ||
				o.ReadRatio != DefaultReadRatio || o.Level != DefaultLevel || o.ReadVia != RouteFollower ||
				o.WriteVia != RouteLeader || o.Seed != 1 || o.Log == nil {
				t.Errorf("defaults not applied: %+v", o)
			}
		}},
		{name: "negative warm-up means none", in: Options{Warmup: -1}, checkFn: func(t *testing.T, o Options) {
			if o.Warmup != 0 {
				t.Errorf("warmup = %v, want 0", o.Warmup)
			}
		}},
		{name: "write only", in: Options{WriteOnly: true}, checkFn: func(t *testing.T, o Options) {
			if o.ReadRatio != 0 {
				t.Errorf("read ratio = %g, want 0", o.ReadRatio)
			}
		}},
		{name: "write only with reads", in: Options{WriteOnly: true, ReadRatio: 0.5}, bad: "write-only"},
		{name: "pairs", in: Options{Pairs: -1}, bad: "pairs"},
		{name: "workers", in: Options{Workers: -2}, bad: "workers"},
		{name: "value size below the header", in: Options{ValueSize: 16}, bad: "value size"},
		{name: "read ratio", in: Options{ReadRatio: 1.5}, bad: "read ratio"},
		{name: "level", in: Options{Level: "strong"}, bad: "level"},
		{name: "route", in: Options{ReadVia: "m1"}, bad: "read via"},
		{name: "every problem at once", in: Options{Pairs: -1, Records: -1, WriteVia: "x"}, bad: "records"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o, err := tc.in.withDefaults()
			if tc.bad == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tc.checkFn(t, o)
				return
			}
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.bad) {
				t.Fatalf("err = %v, want ErrInvalidOptions mentioning %q", err, tc.bad)
			}
		})
	}
}

// sampleReport is a fixed report for the golden text.
func sampleReport() *Report {
	r := &Report{Schema: Schema, Settings: Settings{
		Pairs: 2, DurationS: 5, WarmupS: 1, Workers: 8, Records: 1000, ValueSize: 128, ReadRatio: 0.95,
		Level: LevelSerializable, ReadVia: RouteFollower, WriteVia: RouteLeader,
		Endpoints: Endpoints{ReadMember: "m2", WriteMember: "m1", ReadEndpoint: "http://127.0.0.1:2", WriteEndpoint: "http://127.0.0.1:1", LocalCluster: true, Members: 3},
		Machine:   Machine{CPUs: 2, GOMAXPROCS: 2, GoVersion: "go1.26", LoadAvgStart: 1.5, LoadAvgEnd: -1},
	}}
	r.Pairs = []Pair{
		newPair(1, Side{OK: 50_000, DurationS: 5, ThroughputOps: 10_000, P50Ms: 0.5, P99Ms: 2, MeanMs: 0.6, CPUPerOpUs: 60},
			Side{OK: 49_000, Errors: 1, DurationS: 5, ThroughputOps: 9_800, P50Ms: 0.51, P99Ms: 2.1, MeanMs: 0.61, CPUPerOpUs: 62.5}),
		newPair(2, Side{OK: 51_000, DurationS: 5, ThroughputOps: 10_200, P50Ms: 0.49, P99Ms: 1.9, MeanMs: 0.6, CPUPerOpUs: 58},
			Side{OK: 51_500, DurationS: 5, ThroughputOps: 10_300, P50Ms: 0.48, P99Ms: 2.2, MeanMs: 0.59, CPUPerOpUs: 59}),
	}
	r.summarize()
	return r
}

func TestWriteTextGolden(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := sampleReport().WriteText(&b); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.txt")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("text report differs from %s (run with -update if intended):\n%s", golden, b.String())
	}
}

func TestReportJSON(t *testing.T) {
	t.Parallel()
	r := sampleReport()
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Schema != Schema || len(back.Pairs) != 2 || back.ThroughputRatio != r.ThroughputRatio ||
		back.Settings != r.Settings || back.Pairs[1] != r.Pairs[1] {
		t.Errorf("JSON round trip lost data:\n%s", data)
	}
	if !near(r.CPUPerOpDiffUs.Median, 1.75) {
		t.Errorf("cpu diff median = %g µs, want 1.75 (2.5 and 1)", r.CPUPerOpDiffUs.Median)
	}
	for _, key := range []string{`"throughput_ratio":{"min":`, `"p50_diff_pct"`, `"meets_targets"`, `"load_avg_start"`, `"cpu_per_op_us":62.5`} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("JSON lacks %s: %s", key, data)
		}
	}
}

// TestRunLocalCluster calibrates for real on a local 3-member etcd cluster
// (short runs: it checks the wiring, not the figures, which are
// measurements and belong in docs/performance.md). PACBENCH_CALIBRATE=full
// runs the default calibration (4 pairs × 5 s) and logs its report.
func TestRunLocalCluster(t *testing.T) {
	testenv.Short(t)
	o := Options{Pairs: 2, Duration: time.Second, Warmup: 300 * time.Millisecond, Workers: 4, Records: 200}
	if os.Getenv("PACBENCH_CALIBRATE") == "full" {
		o = Options{}
	}
	var log bytes.Buffer
	o.Log = &log
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := Run(ctx, o)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	t.Logf("report:\n%s", text.String())
	s := rep.Settings
	if !s.LocalCluster || s.Members != 3 {
		t.Errorf("settings: local %v, %d members; want a local 3-member cluster", s.LocalCluster, s.Members)
	}
	if s.ReadMember == "" || s.ReadMember == s.WriteMember || s.ReadEndpoint == s.WriteEndpoint {
		t.Errorf("reads via %s (%s), writes via %s (%s): want a follower and the leader", s.ReadMember, s.ReadEndpoint, s.WriteMember, s.WriteEndpoint)
	}
	want := o.Pairs
	if want == 0 {
		want = DefaultPairs
	}
	if len(rep.Pairs) != want {
		t.Fatalf("%d pairs, want %d", len(rep.Pairs), want)
	}
	for _, p := range rep.Pairs {
		for name, sd := range map[string]Side{"raw": p.Raw, "pacbench": p.Pacbench} {
			if sd.OK == 0 || sd.Errors != 0 || sd.DurationS <= 0 || sd.P50Ms <= 0 || sd.P99Ms < sd.P50Ms || sd.CPUPerOpUs <= 0 {
				t.Errorf("pair %d %s: %+v; want ok ops, no errors, ordered percentiles and CPU time", p.Index, name, sd)
			}
		}
		if p.ThroughputRatio <= 0 {
			t.Errorf("pair %d: ratio %g", p.Index, p.ThroughputRatio)
		}
	}
	if !strings.Contains(log.String(), "pair 1/") {
		t.Errorf("no per-run progress logged:\n%s", log.String())
	}
}
