package metrics

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// TestConcurrentRecordCollect records from several workers while a
// collector keeps collecting (run with -race): every op must land in
// exactly one interval, and the cumulative results must match.
func TestConcurrentRecordCollect(t *testing.T) {
	t.Parallel()
	const workers, opsPer, keys = 4, 20000, 64
	checks := mustChecks(t, &countCheck{})
	rec := NewRecorder(Options{Scenarios: []string{"a", "b"}, Phases: []string{"p0", "p1"}, Keys: keys, Checks: checks})
	o := rec.Oracle()
	for k := uint64(0); k < keys; k++ {
		o.Loaded(k)
	}
	type tally struct {
		series  map[SeriesKey]int64
		checked int64
	}
	tallies := make([]tally, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wk := rec.NewWorker(i%2, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			tl := tally{series: map[SeriesKey]int64{}}
			for n := range opsPer {
				phase := n * 2 / opsPer
				kind := op.Kind(rng.IntN(int(op.NumKinds)))
				class := op.OK
				if rng.IntN(10) == 0 {
					class = op.Class(1 + rng.IntN(int(op.NumClasses)-1))
				}
				key := uint64(rng.IntN(keys))
				lat := rng.Int64N(5_000_000)
				if kind == op.Write && class == op.OK {
					o.Lock(key)
					seq := o.NextSeq(key)
					o.Acked(key, seq, int64(n), int64(n)+1)
					o.Unlock(key)
					wk.Write(&Write{Phase: phase, Key: key, Seq: seq, InvokeNs: int64(n), ReturnNs: int64(n) + 1})
				}
				wk.Record(phase, kind, class, lat, lat/2)
				tl.series[SeriesKey{Scenario: i % 2, Phase: phase, Kind: kind, Class: class}]++
				if kind == op.Read && class == op.OK {
					wk.CheckRead(phase, key, true, workloads.Header{Key: key, Seq: 0}, int64(n)+2)
					tl.checked++
				}
			}
			tallies[i] = tl
		}()
	}
	got := map[SeriesKey]int64{}
	var gotChecked int64
	add := func(iv *Interval) {
		for _, s := range iv.Series {
			if s.Response.TotalCount() != s.Service.TotalCount() {
				t.Errorf("%+v: response %d vs service %d", s.Key, s.Response.TotalCount(), s.Service.TotalCount())
			}
			got[s.Key] += s.Response.TotalCount()
		}
		for _, c := range iv.Checks {
			gotChecked += c.Values[0].Count
			if h := c.Values[1].Hist; h != nil && h.TotalCount() != c.Values[0].Count {
				t.Errorf("interval: %d reads counted, %d observed", c.Values[0].Count, h.TotalCount())
			}
		}
		rec.Recycle(iv)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	intervals := 0
	for now := int64(1); ; now++ {
		select {
		case <-done:
			add(rec.Collect(now))
			goto check
		default:
			add(rec.Collect(now))
			intervals++
		}
	}
check:
	t.Logf("%d intervals", intervals)
	want := map[SeriesKey]int64{}
	var wantChecked, total int64
	for _, tl := range tallies {
		for k, n := range tl.series {
			want[k] += n
			total += n
		}
		wantChecked += tl.checked
	}
	if total != workers*opsPer {
		t.Fatalf("tally %d ops, want %d", total, workers*opsPer)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("series %+v: intervals counted %d, want %d", k, got[k], n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("intervals have %d series, want %d", len(got), len(want))
	}
	if gotChecked != wantChecked {
		t.Errorf("intervals checked %d reads, want %d", gotChecked, wantChecked)
	}
	res := rec.Results()
	var cum int64
	for _, c := range res.Cells {
		for kind, s := range c.Ops {
			var sum int64
			for class, h := range s.Response {
				n := want[SeriesKey{c.Scenario, c.Phase, kind, class}]
				if h.TotalCount() != n {
					t.Errorf("cell %d/%d %v/%v: histogram %d, want %d", c.Scenario, c.Phase, kind, class, h.TotalCount(), n)
				}
				sum += n
			}
			if s.Count != sum || s.OK+sumErrors(s.Errors) != s.Count {
				t.Errorf("cell %d/%d %v: count %d ok %d errors %v, want count %d", c.Scenario, c.Phase, kind, s.Count, s.OK, s.Errors, sum)
			}
			cum += s.Count
		}
	}
	if cum != total {
		t.Errorf("results count %d ops, want %d", cum, total)
	}
}

func sumErrors(m map[op.Class]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestResultsDeepCopy: Results must not change when the run continues, and
// mutating a copy's counts and maps must not reach the recorder.
// (Histograms are shared read-only snapshots.)
func TestResultsDeepCopy(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Phases: []string{"p"}, Keys: 4, Checks: mustChecks(t, &countCheck{})})
	wk := rec.NewWorker(0, 0)
	wk.RecordAt(0, op.Read, op.OK, 100, 2_000, 1_000)
	wk.CheckRead(0, 1, true, workloads.Header{Key: 1, Seq: 3}, 50)
	rec.Collect(1000)
	first := rec.Results()
	snap := func(r *Results) [5]int64 {
		c := r.Cell(0, 0)
		s := c.Ops[op.Read]
		b := c.Values[cWhen].Buckets
		return [5]int64{s.Count, s.Response[op.OK].TotalCount(), c.Values[cReads].Count, c.Values[cSeq].Hist.TotalCount(), b[0].Total + b[1].Total + b[2].Total}
	}
	before := snap(first)

	// The run continues.
	wk.RecordAt(0, op.Read, op.OK, 200, 3_000, 1_000)
	wk.CheckRead(0, 1, true, workloads.Header{Key: 1, Seq: 4}, 60)
	rec.Collect(2000)
	if after := snap(first); after != before {
		t.Errorf("earlier Results changed: %v -> %v", before, after)
	}
	second := snap(rec.Results())

	// Mutating the copy must not reach the recorder.
	c := first.Cell(0, 0)
	c.Ops[op.Read].Count = 99
	c.Values[cReads].Count = 99
	c.Values[cWhen].Buckets[0].Total = 99
	first.Phases[0] = "mutated"
	delete(c.Ops, op.Read)
	third := rec.Results()
	if snap(third) != second || third.Phases[0] != "p" {
		t.Errorf("mutating a copy changed the recorder: %v vs %v", snap(third), second)
	}
	if second[0] != 2 || second[2] != 2 || second[3] != 2 || second[4] != 2 {
		t.Errorf("second results: %v, want 2 reads everywhere", second)
	}
	// An unchanged histogram is shared between calls; a changed one is a
	// new copy, and the old snapshot kept its content.
	if third.Cell(0, 0).Ops[op.Read].Response[op.OK] != rec.Results().Cell(0, 0).Ops[op.Read].Response[op.OK] {
		t.Error("an unchanged histogram was copied again")
	}
	if first.Cell(0, 0).Values[cSeq].Hist == third.Cell(0, 0).Values[cSeq].Hist {
		t.Error("a changed histogram was not copied")
	}
	if n := first.Cell(0, 0).Values[cSeq].Hist.TotalCount(); n != 1 {
		t.Errorf("the first snapshot changed: %d values, want 1", n)
	}
}

func TestCollectIntervals(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Scenarios: []string{"s"}, Phases: []string{"a", "b"}, Keys: 1, Clock: NewClock()})
	wk := rec.NewWorker(0, 0)
	start := rec.Collect(100)
	if start.EndNs != 100 || len(start.Series) != 0 || len(start.Checks) != 0 {
		t.Fatalf("empty interval = %+v", start)
	}
	wk.RecordAt(1, op.Write, op.Timeout, 500, 2_000_000, 1_000_000)
	wk.RecordAt(1, op.Write, op.OK, 600, 3_000, 3_000)
	wk.RecordAt(1, op.Write, op.OK, 700, 5_000, 4_000)
	wk.RecordAt(0, op.Read, op.OK, 400, 5_000, 5_000)
	iv := rec.Collect(1000)
	if iv.StartNs != 100 || iv.EndNs != 1000 {
		t.Errorf("interval [%d,%d], want [100,1000]", iv.StartNs, iv.EndNs)
	}
	wantKeys := []SeriesKey{
		{Scenario: 0, Phase: 0, Kind: op.Read, Class: op.OK},
		{Scenario: 0, Phase: 1, Kind: op.Write, Class: op.OK},
		{Scenario: 0, Phase: 1, Kind: op.Write, Class: op.Timeout},
	}
	if len(iv.Series) != len(wantKeys) {
		t.Fatalf("series %d, want %d", len(iv.Series), len(wantKeys))
	}
	for i, s := range iv.Series {
		if s.Key != wantKeys[i] {
			t.Errorf("series[%d] = %+v, want %+v", i, s.Key, wantKeys[i])
		}
	}
	if m := iv.Series[1].Response.Max(); !iv.Series[1].Response.ValuesAreEquivalent(m, 5_000) {
		t.Errorf("write ok response max %d, want ≈5000", m)
	}
	c := rec.Results().Cell(0, 1)
	s := c.Ops[op.Write]
	if s.Count != 3 || s.OK != 2 || s.Errors[op.Timeout] != 1 || len(s.Errors) != 1 {
		t.Errorf("write stats %+v", s)
	}
	// FirstNs: earliest end − service = 500 − 1_000_000; LastNs: latest end.
	if s.FirstNs != 500-1_000_000 || s.LastNs != 700 {
		t.Errorf("span [%d,%d], want [%d,700]", s.FirstNs, s.LastNs, 500-1_000_000)
	}
	if _, ok := c.Ops[op.Read]; ok {
		t.Errorf("phase b has reads")
	}

	// The next interval starts where this one ended.
	iv = rec.Collect(2000)
	if iv.StartNs != 1000 || len(iv.Series) != 0 {
		t.Errorf("idle interval = [%d,%d] with %d series", iv.StartNs, iv.EndNs, len(iv.Series))
	}
	rec.Collect(3000)
	if got := rec.Results().Cell(0, 1).Ops[op.Write].Count; got != 3 {
		t.Errorf("cumulative count after idle intervals = %d, want 3", got)
	}
}

func TestClamping(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Phases: []string{"p"}})
	wk := rec.NewWorker(0, 0)
	wk.RecordAt(0, op.Read, op.OK, 0, -5, 10)
	wk.RecordAt(0, op.Read, op.OK, 0, 2*LatencyHighestNs, 2*LatencyHighestNs)
	wk.RecordAt(0, op.Read, op.OK, 0, 500, 500) // sub-µs: kept, not clamped
	rec.Collect(1)
	c := rec.Results().Cell(0, 0)
	if c.Clamped != 3 {
		t.Errorf("clamped %d, want 3", c.Clamped)
	}
	h := c.Ops[op.Read].Response[op.OK]
	if h.TotalCount() != 3 || !h.ValuesAreEquivalent(h.Max(), LatencyHighestNs) {
		t.Errorf("response count %d max %d, want 3 values, max 60 s", h.TotalCount(), h.Max())
	}
}

func TestNewWorkerScenarioRange(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Scenarios: []string{"a"}})
	defer func() {
		if recover() == nil {
			t.Error("NewWorker(1) on one scenario did not panic")
		}
	}()
	rec.NewWorker(1, 0)
}

// verdictCheck judges every (scenario, phase) after the run.
type verdictCheck struct{ countCheck }

func (*verdictCheck) Name() string { return "verdict" }

func (*verdictCheck) Measures() []Measure {
	return []Measure{{Name: "verdict.ok", Kind: KindVerdict}}
}

func (*verdictCheck) NewWorker(WorkerInfo) CheckWorker { return nil }

func (*verdictCheck) Finish(context.Context, FinishInfo) []CellVerdict {
	yes := true
	return []CellVerdict{
		{Scenario: 0, Phase: 0, Measure: "verdict.ok", Verdict: Verdict{OK: &yes, Detail: "fine"}},
		{Scenario: 0, Phase: 1, Measure: "verdict.ok", Verdict: Verdict{OK: &yes}},  // no op ran there
		{Scenario: 0, Phase: 0, Measure: "count.reads", Verdict: Verdict{OK: &yes}}, // another check's
		{Scenario: 9, Phase: 0, Measure: "verdict.ok", Verdict: Verdict{OK: &yes}},  // out of range
	}
}

// TestFinishStoresVerdicts: a Finisher's verdicts become its measure's
// values in the cells that ran ops; others are ignored.
func TestFinishStoresVerdicts(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Phases: []string{"a", "b"}, Checks: mustChecks(t, &countCheck{}, &verdictCheck{})})
	rec.NewWorker(0, 0).RecordAt(0, op.Read, op.OK, 10, 5, 5)
	rec.Collect(100)
	rec.Finish(context.Background(), FinishInfo{})
	res := rec.Results()
	if len(res.Cells) != 1 {
		t.Fatalf("%d cells, want the one that ran ops", len(res.Cells))
	}
	v, ok := res.Value(res.Cell(0, 0), "verdict.ok")
	if !ok || v.Verdict == nil || !*v.Verdict.OK || v.Verdict.Detail != "fine" {
		t.Errorf("verdict %+v", v.Verdict)
	}
	if r, _ := res.Value(res.Cell(0, 0), "count.reads"); r.Verdict != nil {
		t.Error("a verdict was stored on another check's counter")
	}
}

// addCheck has one measure of each kind Recorder.Add takes.
type addCheck struct{}

func (*addCheck) Name() string { return "add" }
func (*addCheck) Measures() []Measure {
	return []Measure{{Name: "add.n", Kind: KindCounter}, {Name: "add.t", Kind: KindHistogram, Unit: UnitNanoseconds},
		{Name: "add.ok", Kind: KindVerdict}}
}
func (*addCheck) Layout() Layout                   { return Layout{} }
func (*addCheck) NewWorker(WorkerInfo) CheckWorker { return nil }

func TestRecorderAdd(t *testing.T) {
	t.Parallel()
	rec := NewRecorder(Options{Scenarios: []string{"s0", "s1"}, Phases: []string{"p0", "p1"}, Keys: 1, Checks: mustChecks(t, &addCheck{})})
	yes := true
	bad := []struct {
		name string
		v    CellValue
		want string
	}{
		{"unknown measure", CellValue{Measure: "add.x", Count: 1}, "unknown measure"},
		{"cell out of range", CellValue{Scenario: 2, Measure: "add.n", Count: 1}, "out of range"},
		{"count into a histogram", CellValue{Measure: "add.t", Count: 1}, "does not fit"},
		{"verdict into a counter", CellValue{Measure: "add.n", Verdict: &Verdict{OK: &yes}}, "does not fit"},
	}
	for _, tc := range bad {
		// A bad value refuses the whole batch: the good one before it is not added.
		err := rec.Add([]CellValue{{Measure: "add.n", Count: 5}, tc.v})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Add: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
	err := rec.Add([]CellValue{{Scenario: 1, Phase: 1, Measure: "add.n", Count: 2}, {Scenario: 1, Phase: 1, Measure: "add.n", Count: 3},
		{Scenario: 1, Phase: 1, Measure: "add.t", Observe: []int64{1e6, 3e6}}, {Scenario: 1, Phase: 1, Measure: "add.ok", Verdict: &Verdict{OK: &yes}}})
	if err != nil {
		t.Fatal(err)
	}
	res := rec.Results()
	if n, _ := res.Value(res.Cell(0, 0), "add.n"); n.Count != 0 {
		t.Errorf("cell (0, 0) add.n = %d after refused batches, want 0", n.Count)
	}
	c := res.Cell(1, 1)
	n, _ := res.Value(c, "add.n")
	h, _ := res.Value(c, "add.t")
	v, _ := res.Value(c, "add.ok")
	if n.Count != 5 || h.Hist == nil || h.Hist.TotalCount() != 2 || v.Verdict == nil || !*v.Verdict.OK {
		t.Errorf("cell (1, 1): count %d, histogram %v, verdict %+v; want 5, 2 samples, true", n.Count, h.Hist, v.Verdict)
	}
}
