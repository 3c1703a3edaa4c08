package report

import (
	"bytes"
	"encoding/csv"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// TestHlogReadsBack: the interval log parses with HdrHistogram's own log
// reader, tags carry scenario/phase/op/outcome/measure, counts survive.
func TestHlogReadsBack(t *testing.T) {
	t.Parallel()
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"lin"}, Phases: []string{"baseline", "latency"}, Keys: 1})
	w := rec.NewWorker(0, 1)
	for i := int64(1); i <= 100; i++ {
		w.RecordAt(0, op.Read, op.OK, i*1000, i*1000, i*900)
		w.RecordAt(1, op.Read, op.Timeout, i*1000, 1e9, 1e9)
	}
	// The recorder's first interval starts when it was made: end it after.
	iv := rec.Collect(rec.Clock().Now() + 200_000)
	var buf bytes.Buffer
	h, err := NewHlogWriter(&buf, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC).UnixMilli(), "test",
		NewNames([]string{"lin"}, []string{"baseline", "latency"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Add(iv); err != nil {
		t.Fatal(err)
	}
	counts := testenv.HlogCounts(t, &buf)
	want := map[string]int64{
		"lin/baseline/read/ok/response": 100, "lin/baseline/read/ok/service": 100,
		"lin/latency/read/timeout/response": 100, "lin/latency/read/timeout/service": 100,
	}
	for tag, n := range want {
		if counts[tag] != n {
			t.Errorf("tag %s: %d values, want %d (all: %v)", tag, counts[tag], n, counts)
		}
	}
}

// TestNamesHostile: names from profile text become safe, unique stems;
// safe names are unchanged (so existing file names do not move).
func TestNamesHostile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   []string
		want []string
	}{
		{"safe names unchanged", []string{"linearizable", "serializable", "w=1_j-2.x"}, []string{"linearizable", "serializable", "w=1_j-2.x"}},
		{"parent", []string{"../x", ".."}, []string{"_._x", "_."}},
		{"absolute", []string{"/etc", "/etc/passwd"}, []string{"_etc", "_etc_passwd"}},
		{"separator", []string{"a/b", `a\b`}, []string{"a_b", "a_b-2"}},
		{"dot", []string{".", ".hidden"}, []string{"_", "_hidden"}},
		{"empty", []string{""}, []string{"_"}},
		{"unicode", []string{"ünïcødé", "日本"}, []string{"_n_c_d_", "_"}},
		{"spaces and NUL", []string{"a b\x00c", "tab\tx"}, []string{"a_b_c", "tab_x"}},
		{"collisions resolved in order", []string{"a/b", "a_b", "a?b", "a_b-2"}, []string{"a_b", "a_b-2", "a_b-3", "a_b-2-2"}},
		{"long", []string{strings.Repeat("x", 300), strings.Repeat("x", 301)},
			[]string{strings.Repeat("x", 64), strings.Repeat("x", 62) + "-2"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := NewNames(tc.in, nil).Scenarios
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("stem(%q) = %q, want %q", tc.in[i], got[i], tc.want[i])
				}
			}
			seen := map[string]bool{}
			for _, s := range got {
				if seen[s] {
					t.Errorf("stem %q given twice: %q", s, got)
				}
				seen[s] = true
				if !filepath.IsLocal(s) || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".") || len(s) > 64 {
					t.Errorf("stem %q is not a safe file name", s)
				}
			}
		})
	}
}

func TestNamesFiles(t *testing.T) {
	t.Parallel()
	n := NewNames([]string{"../up", "ok"}, []string{"/etc", "base"})
	k := metrics.SeriesKey{Scenario: 0, Phase: 0, Kind: op.Read, Class: op.Timeout}
	if got, want := n.HgrmFile(k), "hgrm/_._up._etc.read.timeout.hgrm"; got != want {
		t.Errorf("HgrmFile = %q, want %q", got, want)
	}
	if got, want := n.Tag(metrics.SeriesKey{Scenario: 1, Phase: 1, Kind: op.Write, Class: op.OK}), "ok/base/write/ok"; got != want {
		t.Errorf("Tag = %q, want %q", got, want)
	}
	if got, want := n.VisualizationFile(0, 1), "linearizability/_._up.base.html"; got != want {
		t.Errorf("VisualizationFile = %q, want %q", got, want)
	}
}

// TestCSVNonFinite: a non-finite number is an empty CSV field, never
// "+Inf"/"NaN", and the CSV stays readable.
func TestCSVNonFinite(t *testing.T) {
	t.Parallel()
	s := Build(fixture(t))
	for _, x := range []float64{math.Inf(1), math.Inf(-1), math.NaN()} {
		s.Scenarios[0].Phases[0].Ops["read"].ThroughputOps = x
		s.Scenarios[0].Phases[0].DurationS = x
		b, err := CSV(s)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("csv: %v", err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		if v := rows[1][col["throughput_ops"]]; v != "" {
			t.Errorf("%v: throughput_ops = %q, want empty", x, v)
		}
		if v := rows[1][col["duration_s"]]; v != "" {
			t.Errorf("%v: duration_s = %q, want empty", x, v)
		}
	}
}

// TestCSVTidyColumns (issue 13): summary.csv ends with run_id, the phase's
// index in run order and one column per level key (read, write, then the
// others alphabetically), after every column that existed before.
func TestCSVTidyColumns(t *testing.T) {
	t.Parallel()
	ops := func() map[string]*Op { return map[string]*Op{"read": {}, "write": {}} }
	s := &Summary{RunID: "run-7", Scenarios: []Scenario{
		{Name: "q", Levels: map[string]string{"read": "QUORUM", "write": "ONE", "serial": "SERIAL"},
			Phases: []Phase{{PhaseHead: PhaseHead{Name: "zeta", Ops: ops()}}, {PhaseHead: PhaseHead{Name: "alpha", Ops: ops()}}}},
		{Name: "o", Levels: map[string]string{"read": "ONE", "write": "", "consistency_hint": "x"},
			Phases: []Phase{{PhaseHead: PhaseHead{Name: "zeta", Ops: ops()}}}},
	}}
	raw, err := CSV(s)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	h := rows[0]
	tail := []string{"run_id", "phase_index", "level_read", "level_write", "level_consistency_hint", "level_serial"}
	if got := h[len(h)-len(tail):]; !slices.Equal(got, tail) {
		t.Errorf("last columns %v, want %v", got, tail)
	}
	if i := slices.Index(h, "generator_wait_max_ms"); i != len(h)-len(tail)-1 {
		t.Errorf("new columns are not appended after the existing ones: %v", h)
	}
	want := [][]string{
		{"q", "zeta", "read", "run-7", "0", "QUORUM", "ONE", "", "SERIAL"},
		{"q", "zeta", "write", "run-7", "0", "QUORUM", "ONE", "", "SERIAL"},
		{"q", "alpha", "read", "run-7", "1", "QUORUM", "ONE", "", "SERIAL"},
		{"q", "alpha", "write", "run-7", "1", "QUORUM", "ONE", "", "SERIAL"},
		{"o", "zeta", "read", "run-7", "0", "ONE", "", "x", ""},
		{"o", "zeta", "write", "run-7", "0", "ONE", "", "x", ""},
	}
	if len(rows) != 1+len(want) {
		t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
	}
	for i, w := range want {
		r := rows[i+1]
		got := append([]string{r[0], r[3], r[6]}, r[len(r)-len(tail):]...)
		if !slices.Equal(got, w) {
			t.Errorf("row %d = %v, want %v", i+1, got, w)
		}
	}
}
