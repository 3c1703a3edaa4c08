package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture builds a deterministic two-scenario, three-phase result: "strong"
// never stale and unavailable in the partition; "weak" available and stale.
func fixture(t *testing.T) Input {
	t.Helper()
	phases := []profile.Phase{
		{Name: "baseline", Duration: profile.Duration(time.Second)},
		{Name: "partition", Duration: profile.Duration(time.Second), Impairments: []profile.Impairment{{Kind: impair.KindPartition, Target: "follower"}}},
		{Name: "healed", Duration: profile.Duration(time.Second)},
	}
	plan := &profile.Plan{
		Profile:   &profile.Profile{Name: "fixture", System: profile.System{Driver: "etcd"}, Routes: profile.Routes{Read: "follower", Write: "leader"}},
		Scenarios: []profile.Scenario{{Name: "strong", Levels: drivers.Levels{"read": "linearizable", "write": ""}}, {Name: "weak", Levels: drivers.Levels{"read": "serializable", "write": ""}}},
		Phases:    phases,
		Mode:      "side_by_side",
	}
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"strong", "weak"}, Phases: []string{"baseline", "partition", "healed"}, Keys: 10,
		Checks: builtinChecks(t)})
	orc := rec.Oracle()
	for k := uint64(0); k < 10; k++ {
		orc.Loaded(k)
	}
	strong, weak := rec.NewWorker(0, 1), rec.NewWorker(1, 2)
	ms := int64(time.Millisecond)
	now := int64(0)
	for pi := range phases {
		for i := int64(0); i < 1000; i++ {
			now += ms
			key := uint64(i % 10)
			// One writer: seq i/10+1 of each key acked at now.
			seq := orc.NextSeq(key)
			orc.Acked(key, seq, now-ms/2, now)
			strong.RecordAt(pi, op.Write, op.OK, now, 2*ms, 2*ms)
			// strong reads see the newest; fail in the partition.
			if pi == 1 && i%10 != 0 {
				strong.RecordAt(pi, op.Read, op.Timeout, now, 1000*ms, 1000*ms)
			} else {
				strong.CheckRead(pi, key, true, workloads.Header{Key: key, Seq: seq}, now+1)
				strong.RecordAt(pi, op.Read, op.OK, now, 5*ms+i*1000, 5*ms+i*1000)
			}
			// weak reads: one version behind in the partition, fresh
			// otherwise except 1 in 100.
			got := seq
			if pi == 1 || i%100 == 0 {
				got = seq - 1
			}
			weak.CheckRead(pi, key, true, workloads.Header{Key: key, Seq: got}, now+1)
			weak.RecordAt(pi, op.Read, op.OK, now, ms/2+i*100, ms/2+i*100)
		}
		rec.Collect(now)
	}
	res := &runner.Result{
		Results: rec.Results(),
		Start:   time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC),
		End:     time.Date(2026, 11, 21, 12, 0, 3, 0, time.UTC),
		Load:    []runner.LoadStats{{Model: "closed", Workers: 1, KeptUp: true, Ops: 3000}, {Model: "closed", Workers: 1, KeptUp: true, Ops: 3000}},
		Probes: []runner.ProbeStats{{Scenario: 1, Phase: 0, DeltaNs: 0, N: 100, Consistent: 90},
			{Scenario: 1, Phase: 0, DeltaNs: 10 * ms, N: 100, Consistent: 100}},
	}
	for pi, ph := range phases {
		w := runner.PhaseWindow{Name: ph.Name, Index: pi, Scenarios: []string{"strong", "weak"}, StartNs: int64(pi) * 1000 * ms, EndNs: int64(pi+1) * 1000 * ms}
		if len(ph.Impairments) > 0 {
			w.Impairments = []runner.ImpairmentEvent{{Describe: "partition on m2 peer downstream"}}
		}
		res.Phases = append(res.Phases, w)
	}
	return Input{RunID: "fixture", Plan: plan, Result: res}
}

// builtinChecks returns the run's built-in checks (sampling off).
func builtinChecks(t testing.TB) *metrics.Checks {
	t.Helper()
	cs, err := checkers.Registry(checkers.Config{Sessions: 2})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden (-update to accept):\n%s", name, got)
	}
}

func TestSummaryAndTableGolden(t *testing.T) {
	t.Parallel()
	s := Build(fixture(t))
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", b)
	var tb bytes.Buffer
	if err := WriteTable(&tb, s); err != nil {
		t.Fatal(err)
	}
	golden(t, "table.txt", tb.Bytes())
	c, err := CSV(s)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.csv", c)
	rows, err := csv.NewReader(bytes.NewReader(c)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	// header + 3 phases × (strong read, strong write) + 3 × weak read.
	if len(rows) != 1+9 {
		t.Errorf("csv rows = %d, want 10", len(rows))
	}
}

func TestVerdicts(t *testing.T) {
	t.Parallel()
	s := Build(fixture(t))
	want := map[string][2]string{"strong": {"PC", "EC"}, "weak": {"PA", "EL"}}
	for _, sc := range s.Scenarios {
		w := want[sc.Name]
		if sc.PACELC.Partition == nil || *sc.PACELC.Partition != w[0] || sc.PACELC.Else == nil || *sc.PACELC.Else != w[1] {
			t.Errorf("%s: verdict %s, want %s/%s (%s)", sc.Name, verdictWord(sc.PACELC), w[0], w[1], sc.PACELC.Evidence)
		}
		if sc.PACELC.Evidence == "" {
			t.Errorf("%s: no evidence", sc.Name)
		}
	}
	// Staleness arithmetic flows through: weak is 1 version behind in the
	// partition, 1 % stale elsewhere.
	for _, sc := range s.Scenarios {
		if sc.Name != "weak" {
			continue
		}
		part := sc.Phases[1].Ops["read"].Checks
		ratio, _ := part.Float("staleness", "stale_ratio")
		v50, _ := part.Float("staleness", "versions", "p50")
		if ratio != 1 || v50 != 1 {
			t.Errorf("weak partition staleness = %+v, want all 1 version behind", part)
		}
		if base, _ := sc.Phases[0].Ops["read"].Checks.Int("staleness", "stale"); base != 10 {
			t.Errorf("weak baseline stale = %d, want 10", base)
		}
		if sc.Phases[0].ConsistentAfterMs == nil || *sc.Phases[0].ConsistentAfterMs != 10 {
			t.Errorf("consistent after = %v, want 10 ms", sc.Phases[0].ConsistentAfterMs)
		}
	}
}

// TestPercentilesReferenceRank: the summary's percentiles use the reference
// rank ⌈q·N⌉ (issue 11): with 1,598 fast ops and two slow ones, p99.9 is
// the first slow one (hdrhistogram-go's round(q·N) picks a fast one).
func TestPercentilesReferenceRank(t *testing.T) {
	t.Parallel()
	h := metrics.NewLatencyHistogram()
	for range 1598 {
		_ = h.RecordValue(1_000_000)
	}
	_ = h.RecordValues(88_500_000, 2)
	p := percentiles(h)
	if *p.P999 < 88.5 || *p.P999 > 88.6 {
		t.Errorf("p99.9 = %v ms, want the slow ops' 88.5 ms", *p.P999)
	}
	if *p.P99 > 1.01 {
		t.Errorf("p99 = %v ms, want the fast ops' 1 ms", *p.P99)
	}
}

// TestSummaryRoundTrip: summary.json decodes into a Summary (check fields
// kept in order) that encodes to the same bytes, and the accessors read
// decoded values like built ones.
func TestSummaryRoundTrip(t *testing.T) {
	t.Parallel()
	s := Build(fixture(t))
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	var back Summary
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, err := json.MarshalIndent(&back, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, again) {
		t.Errorf("re-encoded summary differs:\n%s", again)
	}
	built, decoded := s.Scenarios[1].Phases[1], back.Scenarios[1].Phases[1]
	for _, path := range [][]string{{"staleness", "checked"}, {"staleness", "stale"}} {
		x, _ := built.Ops["read"].Checks.Int(path...)
		y, ok := decoded.Ops["read"].Checks.Int(path...)
		if !ok || x != y {
			t.Errorf("%v: built %d, decoded %d (%v)", path, x, y, ok)
		}
	}
	if x, _ := decoded.Ops["read"].Checks.Float("staleness", "stale_ratio"); x != 1 {
		t.Errorf("decoded stale ratio %v, want 1", x)
	}
	if decoded.Checks.Bool("linearizable") != nil {
		t.Error("decoded linearizable is not null")
	}
}

// TestNoDataIsNull (issue 11): a series without successful ops has no
// percentiles and reads with nothing checked have no stale ratio: null in
// summary.json, empty in summary.csv, "-" in the table, never 0; write rows
// carry no staleness figures.
func TestNoDataIsNull(t *testing.T) {
	t.Parallel()
	in := fixture(t)
	// Phase "partition" of "strong": every read fails, nothing is checked.
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"strong", "weak"}, Phases: []string{"baseline", "partition", "healed"},
		Keys: 10, Checks: builtinChecks(t)})
	w := rec.NewWorker(0, 1)
	for i := int64(1); i <= 50; i++ {
		w.RecordAt(1, op.Read, op.Timeout, i*1e6, 1e9, 1e9)
		w.RecordAt(1, op.Write, op.OK, i*1e6, 2e6, 2e6)
	}
	rec.Collect(100e6)
	in.Result.Results = rec.Results()
	s := Build(in)
	ph := s.Scenarios[0].Phases[1]
	read := ph.Ops["read"]
	if read == nil || read.OK != 0 || read.Count != 50 {
		t.Fatalf("read = %+v, want 50 failed reads", read)
	}
	b, err := json.Marshal(read)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	for _, want := range []string{
		`"latency_ms":{"p50":null,"p90":null,"p99":null,"p999":null,"p9999":null,"max":null,"mean":null}`,
		`"service_ms":{"p50":null,"p90":null,"p99":null,"p999":null,"p9999":null,"max":null,"mean":null}`,
		`"staleness":{"checked":0,"stale":0,"stale_ratio":null,"versions":{"p50":null,"p99":null,"max":null},"ms":{"p50":null,"p99":null,"max":null}}`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("summary read op lacks %s:\n%s", want, js)
		}
	}
	if !strings.Contains(js, `"error_latency_ms":{"p50":1000`) {
		t.Errorf("the failed reads' latencies are missing: %s", js)
	}
	if wb, _ := json.Marshal(ph.Ops["write"]); strings.Contains(string(wb), "staleness") {
		t.Errorf("write op carries staleness: %s", wb)
	}

	raw, err := CSV(s)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, r := range rows[1:] {
		if r[col["scenario"]] != "strong" || r[col["phase"]] != "partition" {
			continue
		}
		switch r[col["op"]] {
		case "read":
			for _, c := range []string{"p50_ms", "p90_ms", "p99_ms", "p999_ms", "p9999_ms", "max_ms", "mean_ms", "service_p50_ms",
				"service_p99_ms", "stale_ratio", "staleness_ms_p50", "staleness_ms_p99", "staleness_versions_p50"} {
				if r[col[c]] != "" {
					t.Errorf("csv read row %s = %q, want empty", c, r[col[c]])
				}
			}
			if r[col["stale_checked"]] != "0" || r[col["err_timeout"]] != "50" {
				t.Errorf("csv read row: stale_checked %q err_timeout %q, want 0 and 50", r[col["stale_checked"]], r[col["err_timeout"]])
			}
		case "write":
			for _, c := range []string{"stale_checked", "stale", "stale_ratio", "staleness_ms_p50", "staleness_ms_p99", "staleness_versions_p50"} {
				if r[col[c]] != "" {
					t.Errorf("csv write row %s = %q, want empty (no check applies)", c, r[col[c]])
				}
			}
			if r[col["p50_ms"]] == "" {
				t.Errorf("csv write row has no p50")
			}
		}
	}

	var tb bytes.Buffer
	if err := WriteTable(&tb, s); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, line := range strings.Split(tb.String(), "\n") {
		f := strings.Fields(line)
		if len(f) > 10 && f[0] == "strong" && f[1] == "read" && strings.Contains(line, "timeout:50") {
			found = true
			for i, name := range []string{"p50", "p90", "p99", "p99.9", "p99.99", "max"} {
				if f[3+i] != "-" {
					t.Errorf("table %s = %q, want -", name, f[3+i])
				}
			}
		}
	}
	if !found {
		t.Errorf("no strong read row in the partition phase:\n%s", tb.String())
	}
}

// TestGeneratorWaitReported: the generator wait of writes is a key of
// their op object (the last) and three CSV columns at the end; reads,
// which never wait, have neither (empty columns).
func TestGeneratorWaitReported(t *testing.T) {
	t.Parallel()
	in := fixture(t)
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"strong", "weak"}, Phases: []string{"baseline", "partition", "healed"},
		Keys: 10, Checks: builtinChecks(t)})
	w := rec.NewWorker(0, 1)
	for i := int64(1); i <= 100; i++ {
		w.RecordOp(metrics.OpSample{Phase: 0, Kind: op.Write, Class: op.OK, EndNs: i * 1e6, ResponseNs: 2e6, ServiceNs: 2e6, WaitNs: i * 1e5})
		w.RecordOp(metrics.OpSample{Phase: 0, Kind: op.Read, Class: op.OK, EndNs: i * 1e6, ResponseNs: 1e6, ServiceNs: 1e6, WaitNs: -1})
	}
	rec.Collect(200e6)
	in.Result.Results = rec.Results()
	s := Build(in)
	ops := s.Scenarios[0].Phases[0].Ops
	b, _ := json.Marshal(ops["write"])
	if !strings.HasSuffix(string(b), `"generator_wait_ms":{"p50":5.001,"p90":9.003,"p99":9.904,"p999":10.002,"p9999":10.002,"max":10.002,"mean":5.05}}`) {
		t.Errorf("write op: %s", b)
	}
	if rb, _ := json.Marshal(ops["read"]); strings.Contains(string(rb), "generator_wait") {
		t.Errorf("read op has a generator wait: %s", rb)
	}
	raw, err := CSV(s)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	h := rows[0]
	at := slices.Index(h, "generator_wait_mean_ms")
	if at < 0 || strings.Join(h[at:at+3], ",") != "generator_wait_mean_ms,generator_wait_p99_ms,generator_wait_max_ms" {
		t.Fatalf("CSV header lacks the generator wait columns: %s", h)
	}
	for _, r := range rows[1:] {
		if r[0] != "strong" || r[3] != "baseline" {
			continue
		}
		last := strings.Join(r[at:at+3], ",")
		switch r[6] {
		case "write":
			if last != "5.05,9.904,10.002" {
				t.Errorf("write row wait columns %s", last)
			}
		case "read":
			if last != ",," {
				t.Errorf("read row wait columns %q, want empty", last)
			}
		}
	}
}

// TestPctHonest (issue 11): rounding never changes the story — no 100 % for
// less than all, no 0 % for more than none, and enough digits near every
// verdict threshold that the printed number is on the fraction's side.
func TestPctHonest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		f    float64
		want string
	}{
		{0, "0%"},
		{1, "100%"},
		{367.0 / 368, "99.7%"},
		{999.0 / 1000, "99.9%"},
		{99999.0 / 100000, "99.999%"},
		{0.996, "99.6%"},
		{0.9949, "99%"},
		{0.896, "89.6%"},
		{0.8999, "89.99%"},
		{0.89999999, "89.999999%"},
		{0.9, "90%"},
		{0.90004, "90%"},
		{0.5, "50%"},
		{0.095, "9.5%"},
		{0.0015, "0.1%"},
		{0.00099, "0.099%"},
		{0.00099999, "0.099999%"},
		{0.001, "0.1%"},
		{0.0000123, "0.001%"},
		{1e-9, "0.0000001%"},
		{1e-6, "0.0001%"},
	} {
		if got := pct(tc.f); got != tc.want {
			t.Errorf("pct(%v) = %q, want %q", tc.f, got, tc.want)
		}
	}
	// The property, over many fractions near the thresholds and the ends.
	for _, base := range []float64{0, AvailableAbove, StaleAbove, 1} {
		for i := -2000; i <= 2000; i++ {
			f := base + float64(i)*1e-7
			if f < 0 || f > 1 {
				continue
			}
			s := pct(f)
			p, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
			if err != nil || !honestPct(f, p/100) {
				t.Fatalf("pct(%v) = %q changes the story", f, s)
			}
		}
	}
}

// TestVerdictEvidenceNeverRoundsUp: a partition phase with 367 of 368 reads
// ok prints 99.7 % available next to its timeout, not 100 %.
func TestVerdictEvidenceNeverRoundsUp(t *testing.T) {
	t.Parallel()
	s := &Summary{Scenarios: []Scenario{{Name: "x", System: "etcd", Phases: []Phase{{PhaseHead: PhaseHead{Name: "partition",
		Ops: map[string]*Op{"read": {OpHead: OpHead{Count: 368, OK: 367, Errors: map[string]int64{"timeout": 1}}}}}}}}}}
	phases := []profile.Phase{{Name: "partition", Impairments: []profile.Impairment{{Kind: impair.KindPartition, Target: "follower"}}}}
	v := Classify(s.Scenarios, 0, phases)
	if !strings.Contains(v.Evidence, "partition: 99.7% available") || v.Partition == nil || *v.Partition != "PA" {
		t.Errorf("evidence %q, verdict %v", v.Evidence, v.Partition)
	}
}
