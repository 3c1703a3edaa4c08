package checkers_test

// A toy check proves the check seam: "reads of not-found keys" is this one
// file (the check) plus one registration (Registry's extra argument, the
// line a real check adds to Registry's list), and it appears in
// summary.json, summary.csv, the table and Prometheus with no code in
// internal/report or internal/exporter.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/pacbench/pacbench/internal/exporter"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// notFound counts successful reads that found no value, and all successful
// reads, per phase.
type notFound struct{}

const (
	nfMissing = iota
	nfReads
	nfRatio
)

func (notFound) Name() string { return "not_found" }

func (notFound) Measures() []metrics.Measure {
	return []metrics.Measure{
		{Name: "not_found.reads", Kind: metrics.KindCounter, Help: "Successful reads that found no value.",
			Metric: metrics.Metric{Name: "pacbench_not_found_reads_total", Help: "Successful reads that found no value."}},
		{Name: "not_found.of", Kind: metrics.KindCounter, Help: "Successful reads."},
		{Name: "not_found.ratio", Kind: metrics.KindRatio, Num: "not_found.reads", Den: "not_found.of",
			Help: "Fraction of successful reads that found no value."},
	}
}

func (notFound) Layout() metrics.Layout {
	f := func(key, m string) metrics.Field {
		return metrics.Field{Scope: metrics.ScopeOp, Op: op.Read, Group: "not_found", Key: key, Measure: m}
	}
	return metrics.Layout{
		Fields:  []metrics.Field{f("reads", "not_found.reads"), f("ratio", "not_found.ratio")},
		Columns: []metrics.Column{{Name: "not_found_reads", Scope: metrics.ScopeOp, Op: op.Read, Measure: "not_found.reads"}},
		Table:   []metrics.Column{{Name: "not found", Scope: metrics.ScopeOp, Op: op.Read, Measure: "not_found.ratio"}},
	}
}

func (notFound) NewWorker(metrics.WorkerInfo) metrics.CheckWorker { return notFoundWorker{} }

type notFoundWorker struct{}

func (notFoundWorker) Read(ev *metrics.Read, t metrics.Tally) {
	if ev.Class != op.OK {
		return
	}
	t.Add(nfReads, 1)
	if !ev.Found {
		t.Add(nfMissing, 1)
	}
}

// TestToyCheckRendersEverywhere runs the real engine against the fake
// driver without loading the records (so reads of never-written keys find
// nothing) and finds the toy check in every output.
func TestToyCheckRendersEverywhere(t *testing.T) {
	t.Parallel()
	// One worker, a fixed seed and 8 keys: the op sequence is the same on
	// every run, and within its first few dozen ops it reads a key not yet
	// written and one already written (1000 keys and 300 ms gave 19 reads,
	// all of unwritten keys, under the race detector at load 28).
	res, s := runFake(t, fakedriver.Options{}, "toy", `
seed: 7
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 8, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform, load: false}
load: {model: closed, workers: 1}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 1s}]
`, notFound{})
	c := res.Results.Cell(0, 0)
	missing, _ := res.Results.Value(c, "not_found.reads")
	reads, _ := res.Results.Value(c, "not_found.of")
	t.Logf("not found %d of %d reads", missing.Count, reads.Count)
	if missing.Count == 0 || missing.Count >= reads.Count || reads.Count != c.Ops[op.Read].OK {
		t.Fatalf("not found %d of %d reads (%d ok): want some, not all", missing.Count, reads.Count, c.Ops[op.Read].OK)
	}

	// summary.json: ops.read.not_found after the built-in staleness object.
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	js := string(b)
	if i, j := strings.Index(js, `"staleness":`), strings.Index(js, `"not_found":{"reads":`); i < 0 || j < i {
		t.Errorf("summary.json: no ops.read.not_found after staleness: %s", js)
	}
	if n, _ := s.Scenarios[0].Phases[0].Ops["read"].Checks.Int("not_found", "reads"); n != missing.Count {
		t.Errorf("summary not_found.reads = %d, want %d", n, missing.Count)
	}

	// summary.csv: a not_found_reads column, empty on write rows.
	raw, err := report.CSV(s)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := -1
	for i, h := range rows[0] {
		if h == "not_found_reads" {
			col = i
		}
	}
	if col < 0 {
		t.Fatalf("csv header %v has no not_found_reads", rows[0])
	}
	for _, r := range rows[1:] {
		want := ""
		if r[6] == "read" {
			want = "x"
		}
		if (r[col] == "") != (want == "") {
			t.Errorf("csv row %v: not_found_reads %q", r[6], r[col])
		}
	}

	// The table: a "not found" column.
	var tb bytes.Buffer
	if err := report.WriteTable(&tb, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tb.String(), "not found") {
		t.Errorf("table has no 'not found' column:\n%s", tb.String())
	}

	// Prometheus: pacbench_not_found_reads_total with the cell labels.
	preg := prometheus.NewPedanticRegistry()
	e, err := exporter.New(exporter.Options{Registry: preg})
	if err != nil {
		t.Fatal(err)
	}
	e.Update("fake", []string{"read=fresh"}, res.Results, nil)
	want := `
# HELP pacbench_not_found_reads_total Successful reads that found no value.
# TYPE pacbench_not_found_reads_total counter
pacbench_not_found_reads_total{level="read=fresh",phase="baseline",scenario="only",system="fake"} ` + strconv.FormatInt(missing.Count, 10) + "\n"
	if err := testutil.GatherAndCompare(preg, strings.NewReader(want), "pacbench_not_found_reads_total"); err != nil {
		t.Error(err)
	}
}
