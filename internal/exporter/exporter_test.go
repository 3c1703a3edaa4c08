package exporter

import (
	"bytes"
	"context"
	"flag"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/pacbench/pacbench/internal/impair"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fullExporter is an exporter fed the hand-made results, impairments and
// run info.
func fullExporter(t *testing.T) *Exporter {
	t.Helper()
	e := newTest(t, Options{})
	e.Update("etcd", []string{"read=linearizable", "read=serializable"}, handMade(t), handMadeInterval(t))
	e.Declare([]Active{{Kind: impair.KindPartition, Target: "etcd2"}})
	e.SetImpairments([]Active{
		{Kind: impair.KindLatency, Target: "etcd1", Delay: 40 * time.Millisecond},
		{Kind: impair.KindLatency, Target: "etcd1", Delay: 10 * time.Millisecond},
	})
	e.SetRunInfo(map[string]string{"run_id": "20250101-120000-abcd", "profile": "quickstart", "version": "dev",
		"system": "etcd", "mode": "side_by_side", "secret": "must-not-appear"})
	e.SetPhases([]string{"baseline", "latency", "partition"})
	e.SetPhase(1)
	return e
}

func TestGolden(t *testing.T) {
	t.Parallel()
	e := fullExporter(t)
	got, err := testutil.CollectAndFormat(both{e}, expfmt.TypeTextPlain, FamiliesOf(builtin(t))...)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "handmade.prom")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if err := testutil.GatherAndCompare(e.gatherer, bytes.NewReader(want)); err != nil {
		t.Errorf("exposition differs from %s (go test -update rewrites it after review):\n%v", golden, err)
	}
	if strings.Contains(string(got), "must-not-appear") {
		t.Error("run info exported an unknown key")
	}
}

func TestLint(t *testing.T) {
	t.Parallel()
	e := fullExporter(t)
	problems, err := testutil.CollectAndLint(both{e})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestPedanticRegistry(t *testing.T) {
	t.Parallel()
	// A pedantic registry checks every collected metric against its Desc.
	reg := prometheus.NewPedanticRegistry()
	e := newTest(t, Options{Registry: reg})
	e.Update("etcd", []string{"a", "b"}, handMade(t), handMadeInterval(t))
	e.SetImpairments([]Active{{Kind: "latency", Target: "etcd1", Delay: time.Millisecond}})
	e.SetRunInfo(map[string]string{"run_id": "x"})
	e.SetPhases([]string{"p"})
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, name := range FamiliesOf(builtin(t)) {
		if !got[name] {
			t.Errorf("family %s not exported", name)
		}
	}
}

// gatherFamily returns the named family from the exporter.
func gatherFamily(t *testing.T, e *Exporter, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := e.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	t.Fatalf("family %s missing", name)
	return nil
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// TestNativeBuckets checks the native half of the op-duration histogram:
// each observation in the bucket (2^((i-1)/8), 2^(i/8)] of schema 3.
func TestNativeBuckets(t *testing.T) {
	t.Parallel()
	e := fullExporter(t)
	mf := gatherFamily(t, e, "pacbench_op_duration_seconds")
	var h *dto.Histogram
	for _, m := range mf.GetMetric() {
		l := labelsOf(m)
		if l["scenario"] == "linearizable" && l["phase"] == "baseline" && l["op"] == "read" && l["outcome"] == "ok" {
			h = m.GetHistogram()
		}
	}
	if h == nil {
		t.Fatal("read ok series missing")
	}
	if h.GetSchema() != DefaultNativeSchema || h.GetZeroThreshold() <= 0 {
		t.Fatalf("schema %d zero threshold %g: not a native histogram", h.GetSchema(), h.GetZeroThreshold())
	}
	if len(h.GetBucket()) != len(DurationBuckets()) {
		t.Errorf("classic buckets: %d, want %d", len(h.GetBucket()), len(DurationBuckets()))
	}
	// Expand spans/deltas into index → count.
	got := map[int]int64{}
	idx, cnt := int32(0), int64(0)
	di := 0
	for _, sp := range h.GetPositiveSpan() {
		idx += sp.GetOffset()
		for j := uint32(0); j < sp.GetLength(); j++ {
			cnt += h.GetPositiveDelta()[di]
			di++
			if cnt != 0 {
				got[int(idx)] = cnt
			}
			idx++
		}
	}
	// Observations 100 µs, 1 ms, 1 ms, 3 ms. Bucket i of schema 3 has upper
	// bound 2^(i/8): log2(1e-4)*8 = -106.3 → -106; log2(1e-3)*8 = -79.7 →
	// -79; log2(3e-3)*8 = -67.0… → -67.
	want := map[int]int64{-106: 1, -79: 2, -67: 1}
	if len(got) != len(want) {
		t.Fatalf("native buckets %v, want %v", got, want)
	}
	for i, n := range want {
		if got[i] != n {
			t.Errorf("native bucket %d = %d, want %d (all: %v)", i, got[i], n, got)
		}
	}
	if h.GetSampleCount() != 4 {
		t.Errorf("count %d, want 4", h.GetSampleCount())
	}
}

func TestNativeIndex(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v      float64
		schema int32
		want   int
	}{
		{1, 0, 0}, {1.5, 0, 1}, {2, 0, 1}, {2.01, 0, 2}, {0.5, 0, -1}, {0.3, 0, -1},
		{1, 3, 0}, {math.Exp2(1.0 / 8), 3, 1}, {math.Exp2(1.0/8) * 1.0001, 3, 2},
		{4, -1, 1}, {4.5, -1, 2}, {0.001, 8, -2551},
	} {
		if got := nativeIndex(tc.v, tc.schema); got != tc.want {
			t.Errorf("nativeIndex(%g, %d) = %d, want %d", tc.v, tc.schema, got, tc.want)
		}
	}
}

func TestClassicBuckets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		values []int64 // ns
		want   map[float64]uint64
	}{
		{"exact edge counts as ≤", []int64{1 * ms}, map[float64]uint64{0.0005: 0, 0.001: 1, 0.0025: 1}},
		{"just above edge", []int64{1*ms + 10*us}, map[float64]uint64{0.001: 0, 0.0025: 1}},
		{"below first", []int64{5 * us}, map[float64]uint64{0.0001: 1}},
		{"beyond last", []int64{59_000 * ms}, map[float64]uint64{30: 0, 60: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := convert(bars(latency(t, tc.values...)), 1e-9, DurationBuckets(), 3)
			for ub, n := range tc.want {
				if d.classic[ub] != n {
					t.Errorf("bucket le=%g: %d, want %d", ub, d.classic[ub], n)
				}
			}
			if d.count != uint64(len(tc.values)) {
				t.Errorf("count %d", d.count)
			}
			var sum float64
			for _, v := range tc.values {
				sum += float64(v) * 1e-9
			}
			// HDR resolution: 3 significant digits, and 512 ns below ~1 ms
			// (the latency histogram's lowest discernible value is 1 µs).
			if tol := sum*1e-3 + float64(len(tc.values))*512e-9; math.Abs(d.sum-sum) > tol {
				t.Errorf("sum %g, want %g ± %g", d.sum, sum, tol)
			}
		})
	}
}

func TestImpairmentGauges(t *testing.T) {
	t.Parallel()
	e := newTest(t, Options{})
	e.SetImpairments(ActiveFromActions([]impair.Action{
		{Kind: impair.KindLatency, Member: "etcd1", Link: impair.LinkPeer, Direction: impair.Downstream, Delay: 40 * time.Millisecond},
		{Kind: impair.KindPartition, Member: "etcd2", Link: impair.LinkPeer},
	}))
	e.SetImpairments(nil) // healed: both stay, at 0
	e.SetImpairments([]Active{{Kind: "bogus kind", Target: "etcd3"}})
	want := `
# HELP pacbench_impairment_active 1 while the impairment is applied, else 0.
# TYPE pacbench_impairment_active gauge
pacbench_impairment_active{kind="latency",target="etcd1"} 0
pacbench_impairment_active{kind="other",target="etcd3"} 1
pacbench_impairment_active{kind="partition",target="etcd2"} 0
# HELP pacbench_impairment_delay_seconds Delay added by the impairment while applied (0 when inactive or not a latency impairment).
# TYPE pacbench_impairment_delay_seconds gauge
pacbench_impairment_delay_seconds{kind="latency",target="etcd1"} 0
pacbench_impairment_delay_seconds{kind="other",target="etcd3"} 0
pacbench_impairment_delay_seconds{kind="partition",target="etcd2"} 0
`
	if err := testutil.CollectAndCompare(collector{e}, strings.NewReader(want),
		"pacbench_impairment_active", "pacbench_impairment_delay_seconds"); err != nil {
		t.Error(err)
	}
}

func TestOptionsValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"negative window", Options{Window: -1}},
		{"schema too high", Options{NativeSchema: 9}},
		{"unsorted buckets", Options{DurationBuckets: []float64{1, 0.5}}},
		{"non-positive bucket", Options{VersionBuckets: []float64{0, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tc.o); err == nil {
				t.Error("New accepted invalid options")
			}
		})
	}
	// Two exporters cannot share a registry (duplicate descriptors).
	reg := prometheus.NewRegistry()
	newTest(t, Options{Registry: reg})
	if _, err := New(Options{Registry: reg}); err == nil {
		t.Error("second exporter on the same registry accepted")
	}
}

// TestServe scrapes a real server twice: as text, and as protobuf (which
// carries the native buckets).
func TestServe(t *testing.T) {
	t.Parallel()
	e := fullExporter(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := Serve(ctx, "127.0.0.1:0", e.Handler())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Errorf("Addr %q not on loopback", srv.Addr())
	}
	url := "http://" + srv.Addr() + "/metrics"

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("pacbench_op_duration_window_seconds{")) {
		t.Fatalf("text scrape: %s\n%s", resp.Status, body)
	}

	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeProtoDelim)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	dec := expfmt.NewDecoder(resp.Body, expfmt.ResponseFormat(resp.Header))
	var native int
	for {
		var mf dto.MetricFamily
		if err := dec.Decode(&mf); err != nil {
			if err == io.EOF {
				break
			}
			t.Fatal(err)
		}
		if mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h.GetZeroThreshold() > 0 && len(h.GetBucket()) > 0 {
				native++
			}
		}
	}
	if native == 0 {
		t.Error("protobuf scrape has no histogram with both classic and native buckets")
	}

	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := http.Get(url); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still up after its context was cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestConcurrentUse updates, sets impairments and scrapes from several
// goroutines at once (run with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	e := newTest(t, Options{})
	res, iv := handMade(t), handMadeInterval(t)
	h := e.Handler()
	done := make(chan struct{})
	for g := 0; g < 3; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 20; i++ {
				switch g {
				case 0:
					e.Update("etcd", []string{"a"}, res, iv)
				case 1:
					e.SetImpairments([]Active{{Kind: impair.KindLatency, Target: "m1", Delay: time.Duration(i) * time.Millisecond}})
					e.SetRunInfo(map[string]string{"run_id": "r"})
				case 2:
					rr := httptest.NewRecorder()
					h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
					if rr.Code != http.StatusOK {
						t.Errorf("scrape: %d", rr.Code)
					}
				}
			}
		}()
	}
	for g := 0; g < 3; g++ {
		<-done
	}
}
