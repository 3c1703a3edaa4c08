package threshold

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// doc is a summary document with two scenarios; serializable's partition
// phase has no linearizability verdict (null) and no reads succeeded in
// linearizable's partition phase (percentiles null).
const doc = `{"schema":"pacbench.summary/v1","scenarios":[
 {"name":"linearizable","load":{"kept_up":true},"pacelc":{"partition":"PC","else":"EC"},"phases":[
  {"name":"baseline","availability":1,"linearizable":true,
   "ops":{"read":{"count":100,"latency_ms":{"p99":2.5},"staleness":{"stale_ratio":0}},"write":{"count":10,"latency_ms":{"p99":4}}}},
  {"name":"partition","availability":0.05,"linearizable":true,
   "ops":{"read":{"count":40,"latency_ms":{"p99":null},"staleness":{"stale_ratio":null}}}}]},
 {"name":"serializable","load":{"kept_up":false},"pacelc":{"partition":"PA","else":"EL"},"phases":[
  {"name":"baseline","availability":1,"linearizable":false,
   "ops":{"read":{"count":100,"latency_ms":{"p99":0.4},"staleness":{"stale_ratio":0.05}}}},
  {"name":"partition","availability":1,"linearizable":null,
   "ops":{"read":{"count":90,"latency_ms":{"p99":0.5},"staleness":{"stale_ratio":0.9}}}}]}]}`

func TestEvaluate(t *testing.T) {
	t.Parallel()
	cat := Builtin()
	for _, tc := range []struct {
		in     string
		pass   bool
		values []Value
		reason string
	}{
		{"read.p99(baseline) < 3ms", true, []Value{
			{Scenario: "linearizable", Phase: "baseline", Value: 2.5, Pass: true},
			{Scenario: "serializable", Phase: "baseline", Value: 0.4, Pass: true}}, ""},
		{"read.p99 < 3ms", false, []Value{
			{Scenario: "linearizable", Phase: "baseline", Value: 2.5, Pass: true},
			{Scenario: "linearizable", Phase: "partition", Reason: "no data (null)"},
			{Scenario: "serializable", Phase: "baseline", Value: 0.4, Pass: true},
			{Scenario: "serializable", Phase: "partition", Value: 0.5, Pass: true}}, ""},
		{"write.p99(partition) < 1s", false, []Value{
			{Scenario: "linearizable", Phase: "partition", Reason: "no write ops"},
			{Scenario: "serializable", Phase: "partition", Reason: "no write ops"}}, ""},
		{"availability(partition) >= 99%", false, []Value{
			{Scenario: "linearizable", Phase: "partition", Value: 0.05},
			{Scenario: "serializable", Phase: "partition", Value: 1.0, Pass: true}}, ""},
		{"serializable: availability(partition) >= 0.99", true, []Value{
			{Scenario: "serializable", Phase: "partition", Value: 1.0, Pass: true}}, ""},
		{"stale_ratio(baseline) < 0.01", false, []Value{
			{Scenario: "linearizable", Phase: "baseline", Value: 0.0, Pass: true},
			{Scenario: "serializable", Phase: "baseline", Value: 0.05}}, ""},
		{"linearizable: linearizable == true", true, []Value{
			{Scenario: "linearizable", Phase: "baseline", Value: true, Pass: true},
			{Scenario: "linearizable", Phase: "partition", Value: true, Pass: true}}, ""},
		{"serializable: linearizable != true", false, []Value{
			{Scenario: "serializable", Phase: "baseline", Value: false, Pass: true},
			{Scenario: "serializable", Phase: "partition", Reason: "no data (null)"}}, ""},
		{"kept_up == true", false, []Value{
			{Scenario: "linearizable", Value: true, Pass: true},
			{Scenario: "serializable", Value: false}}, ""},
		{"pacelc.partition == PC", false, []Value{
			{Scenario: "linearizable", Value: "PC", Pass: true},
			{Scenario: "serializable", Value: "PA"}}, ""},
		{"read.p99(healed) < 1", false, []Value{
			{Scenario: "linearizable", Phase: "healed", Reason: "the phase did not run"},
			{Scenario: "serializable", Phase: "healed", Reason: "the phase did not run"}}, ""},
		{"other: read.p99 < 1", false, []Value{}, "nothing to compare: scenario other did not run"},
		{"read.count == 100", false, []Value{
			{Scenario: "linearizable", Phase: "baseline", Value: 100.0, Pass: true},
			{Scenario: "linearizable", Phase: "partition", Value: 40.0},
			{Scenario: "serializable", Phase: "baseline", Value: 100.0, Pass: true},
			{Scenario: "serializable", Phase: "partition", Value: 90.0}}, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			th, err := cat.Compile(tc.in, "src", Names{})
			if err != nil {
				t.Fatal(err)
			}
			rs, err := Evaluate([]*Threshold{th}, []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if r.Pass != tc.pass || r.Reason != tc.reason || !reflect.DeepEqual(r.Values, tc.values) {
				t.Errorf("got pass %v reason %q\n%+v\nwant pass %v reason %q\n%+v", r.Pass, r.Reason, r.Values, tc.pass, tc.reason, tc.values)
			}
			if r.Threshold != tc.in || r.Source != "src" || r.Metric != th.Metric.Name {
				t.Errorf("result head %+v", r)
			}
			if _, err := json.Marshal(r); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestEvaluateBadDocument(t *testing.T) {
	t.Parallel()
	th, err := Builtin().Compile("read.p99 < 1", "", Names{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate([]*Threshold{th}, []byte(`{"scenarios": 3}`)); !errors.Is(err, ErrDocument) {
		t.Errorf("err = %v, want ErrDocument", err)
	}
	rs, err := Evaluate([]*Threshold{th}, []byte(`{"scenarios": []}`))
	if err != nil || len(rs) != 1 || rs[0].Pass || rs[0].Reason == "" {
		t.Errorf("no scenarios: %+v, %v (want a failure with a reason)", rs, err)
	}
	if got := Failed(rs); len(got) != 1 {
		t.Errorf("Failed = %v", got)
	}
}
