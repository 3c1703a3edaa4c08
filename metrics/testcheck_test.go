package metrics

import (
	"strings"
	"testing"

	"github.com/pacbench/pacbench/op"
)

// countCheck is a test check exercising every recording kind: it counts
// successful reads (0) and acked writes (1), derives writes/reads (2),
// observes the reads' seq (3) and buckets their invocation time (4) with
// found reads as hits.
type countCheck struct{}

const (
	cReads = iota
	cWrites
	cRatio
	cSeq
	cWhen
)

func (*countCheck) Name() string { return "count" }

func (*countCheck) Measures() []Measure {
	return []Measure{
		{Name: "count.reads", Kind: KindCounter, Metric: Metric{Name: "pacbench_test_reads_total", Help: "reads"}},
		{Name: "count.writes", Kind: KindCounter},
		{Name: "count.ratio", Kind: KindRatio, Num: "count.writes", Den: "count.reads"},
		{Name: "count.seq", Kind: KindHistogram, Unit: UnitVersions},
		{Name: "count.when", Kind: KindBuckets, Unit: UnitNanoseconds, Bounds: []int64{1000, 1_000_000, OpenBound}},
	}
}

func (*countCheck) Layout() Layout { return Layout{} }

func (*countCheck) NewWorker(WorkerInfo) CheckWorker { return countWorker{} }

type countWorker struct{}

func (countWorker) Read(ev *Read, t Tally) {
	if ev.Class != op.OK {
		return
	}
	t.Add(cReads, 1)
	t.Observe(cSeq, int64(ev.Seq))
	t.Bucket(cWhen, ev.InvokeNs, ev.Found)
}

func (countWorker) Write(ev *Write, t Tally) {
	if ev.Outcome == Acked {
		t.Add(cWrites, 1)
	}
}

func mustChecks(t testing.TB, cs ...Check) *Checks {
	t.Helper()
	c, err := NewChecks(cs...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// badCheck describes measures and a layout given by the test.
type badCheck struct {
	ms []Measure
	l  Layout
}

func (*badCheck) Name() string                     { return "bad" }
func (b *badCheck) Measures() []Measure            { return b.ms }
func (b *badCheck) Layout() Layout                 { return b.l }
func (*badCheck) NewWorker(WorkerInfo) CheckWorker { return countWorker{} }

func TestNewChecksValidates(t *testing.T) {
	t.Parallel()
	counter := Measure{Name: "c", Kind: KindCounter}
	cases := []struct {
		name string
		c    Check
		want string
	}{
		{"no name", &badCheck{ms: []Measure{{Kind: KindCounter}}}, "without a name"},
		{"unknown kind", &badCheck{ms: []Measure{{Name: "x"}}}, "unknown kind"},
		{"ratio of nothing", &badCheck{ms: []Measure{{Name: "r", Kind: KindRatio, Num: "a", Den: "b"}}}, "not an earlier counter"},
		{"ratio before its counter", &badCheck{ms: []Measure{{Name: "r", Kind: KindRatio, Num: "c", Den: "c"}, counter}}, "not an earlier counter"},
		{"buckets unsorted", &badCheck{ms: []Measure{{Name: "b", Kind: KindBuckets, Bounds: []int64{5, 1}}}}, "ascending"},
		{"buckets empty", &badCheck{ms: []Measure{{Name: "b", Kind: KindBuckets}}}, "ascending"},
		{"exported ratio", &badCheck{ms: []Measure{counter, {Name: "r", Kind: KindRatio, Num: "c", Den: "c", Metric: Metric{Name: "m"}}}}, "not exported"},
		{"buckets without labels", &badCheck{ms: []Measure{{Name: "b", Kind: KindBuckets, Bounds: []int64{1}, Metric: Metric{Name: "m"}}}}, "labels"},
		{"family disagrees", &badCheck{ms: []Measure{
			{Name: "a", Kind: KindCounter, Metric: Metric{Name: "m", Help: "x"}},
			{Name: "b", Kind: KindCounter, Metric: Metric{Name: "m", Help: "y"}}}}, "another help"},
		{"duplicate measure", &badCheck{ms: []Measure{counter, counter}}, "twice"},
		{"field of unknown", &badCheck{ms: []Measure{counter}, l: Layout{Fields: []Field{{Key: "k", Measure: "nope"}}}}, "unknown measure"},
		{"field without key", &badCheck{ms: []Measure{counter}, l: Layout{Fields: []Field{{Measure: "c"}}}}, "without a key"},
		{"column without name", &badCheck{ms: []Measure{counter}, l: Layout{Columns: []Column{{Measure: "c"}}}}, "without a name"},
		{"section of a counter", &badCheck{ms: []Measure{counter}, l: Layout{Sections: []Section{{Title: "t", Measure: "c"}}}}, "wrong kind"},
		{"given of nothing", &badCheck{ms: []Measure{{Name: "g", Kind: KindCounter, Given: "v"}}}, "not an earlier verdict"},
		{"given a counter", &badCheck{ms: []Measure{counter, {Name: "g", Kind: KindCounter, Given: "c"}}}, "not an earlier verdict"},
		{"given on a verdict", &badCheck{ms: []Measure{{Name: "v", Kind: KindVerdict}, {Name: "w", Kind: KindVerdict, Given: "v"}}}, "not an earlier verdict"},
		{"per-op column missing a kind", &badCheck{ms: []Measure{{Name: "q.read", Kind: KindCounter}},
			l: Layout{Columns: []Column{{Name: "q", Scope: ScopeOp, PerOp: true, Measure: "q"}}}}, `unknown measure "q.write"`},
		{"nil", nil, "nil check"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewChecks(tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewChecks: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// Two checks may not register the same measure name.
	if _, err := NewChecks(&badCheck{ms: []Measure{counter}}, &badCheck{ms: []Measure{counter}}); err == nil {
		t.Error("the same measure in two checks was accepted")
	}
	if _, err := NewChecks(&countCheck{}); err != nil {
		t.Errorf("countCheck: %v", err)
	}
	// A per-op column naming one measure per op kind is valid.
	var perOp []Measure
	for _, k := range op.Kinds() {
		perOp = append(perOp, Measure{Name: "q." + k.String(), Kind: KindCounter})
	}
	col := Column{Name: "q", Scope: ScopeOp, PerOp: true, Measure: "q"}
	if _, err := NewChecks(&badCheck{ms: perOp, l: Layout{Columns: []Column{col}}}); err != nil {
		t.Errorf("per-op column: %v", err)
	}
	if got := col.OpMeasure(op.Write); got != "q.write" {
		t.Errorf("OpMeasure(write) = %q, want q.write", got)
	}
}
