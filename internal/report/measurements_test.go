package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// TestMeasurementsRoundTrip: a run's measurements.json read back rebuilds
// the very same summary.json through Build.
func TestMeasurementsRoundTrip(t *testing.T) {
	t.Parallel()
	in := fixture(t)
	want, err := json.Marshal(Build(in))
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMeasurements(in.RunID, in.Result)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back Measurements
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	res, err := back.Results(in.Result.Results.Checks, in.Plan.ScenarioNames(), in.Plan.PhaseNames())
	if err != nil {
		t.Fatal(err)
	}
	r2 := *in.Result
	r2.Results, r2.Probes, r2.Convergence = res, back.Probes, back.Convergence
	in.Result = &r2
	got, err := json.Marshal(Build(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("summary rebuilt from %s differs:\n got %s\nwant %s", MeasurementsFile, got, want)
	}
	// What cannot be read back is refused, saying why.
	for _, tc := range []struct {
		name   string
		change func(*Measurements)
		want   string
	}{
		{"schema", func(m *Measurements) { m.Schema = "x" }, `schema "x"`},
		{"measures", func(m *Measurements) { m.Measures = m.Measures[1:] }, "check measures"},
		{"renamed", func(m *Measurements) { m.Measures[0].Name = "other" }, "measure 0 is other"},
		{"histogram", func(m *Measurements) { m.Cells[0].Ops[0].Classes[0].Response = "AAAA" }, "histogram"},
		{"count", func(m *Measurements) { m.Cells[0].Ops[0].Classes[0].Count++ }, "ops but a response histogram of"},
		{"cell", func(m *Measurements) { m.Cells[0].Phase = 9 }, "outside the plan"},
	} {
		var bad Measurements
		_ = json.Unmarshal(b, &bad)
		tc.change(&bad)
		_, err := bad.Results(in.Result.Results.Checks, in.Plan.ScenarioNames(), in.Plan.PhaseNames())
		if !errors.Is(err, ErrMeasurements) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrMeasurements saying %q", tc.name, err, tc.want)
		}
	}
}
