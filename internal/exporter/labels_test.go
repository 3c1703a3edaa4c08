package exporter

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// cleanRE is what a cleaned free-form label value looks like.
var cleanRE = regexp.MustCompile(`^[A-Za-z0-9_.:=,+/@-]{1,64}$`)

// labelSpec is the exact label set of each family and, for closed labels,
// the allowed values (nil: a cleaned free-form value).
func labelSpec() map[string]map[string][]string {
	var classes, errClasses []string
	for c := op.OK; c < op.NumClasses; c++ {
		classes = append(classes, c.String())
		if c != op.OK {
			errClasses = append(errClasses, c.String())
		}
	}
	var kinds []string
	for _, k := range op.Kinds() {
		kinds = append(kinds, k.String())
	}
	var tle []string
	for _, b := range checkers.VisibilityBounds() {
		tle = append(tle, bucketLE(b, metrics.UnitNanoseconds))
	}
	cell := func(extra map[string][]string) map[string][]string {
		m := map[string][]string{"system": nil, "scenario": nil, "phase": nil, "level": nil}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	opl := cell(map[string][]string{"op": kinds, "outcome": classes})
	imp := map[string][]string{"kind": {"latency", "bandwidth", "partition", "down", "reset", "other"}, "target": nil}
	return map[string]map[string][]string{
		"pacbench_op_duration_seconds":         opl,
		"pacbench_op_service_duration_seconds": opl,
		"pacbench_op_duration_window_seconds":  opl,
		"pacbench_ops_total":                   opl,
		"pacbench_op_errors_total":             cell(map[string][]string{"op": kinds, "class": errClasses}),
		"pacbench_stale_reads_total":           cell(nil),
		"pacbench_stale_checked_reads_total":   cell(nil),
		"pacbench_read_staleness_seconds":      cell(nil),
		"pacbench_read_staleness_versions":     cell(nil),
		"pacbench_visibility_reads_total":      cell(map[string][]string{"t_le": tle, "fresh": {"true", "false"}}),
		"pacbench_session_violations_total":    cell(map[string][]string{"kind": {"ryw", "monotonic_read"}}),
		"pacbench_audit_writes_total":          cell(map[string][]string{"result": {"acked", "indeterminate", "lost", "unknown", "indeterminate_found"}}),
		"pacbench_audit_convergence_seconds":   cell(nil),
		"pacbench_no_worker_ops_total":         cell(map[string][]string{"op": kinds}),
		"pacbench_no_worker_wait_seconds":      cell(map[string][]string{"op": kinds}),
		"pacbench_phase_active":                cell(nil),
		"pacbench_impairment_active":           imp,
		"pacbench_impairment_delay_seconds":    imp,
		"pacbench_run_info":                    {"run_id": nil, "profile": nil, "version": nil, "system": nil, "mode": nil, "shard": nil},
		"pacbench_phase_info":                  {"phase": nil, "index": nil},
	}
}

// runID marks the run id; it must only ever appear on pacbench_run_info.
const runID = "run-20250101T120000-7f3a9c"

// recordAll feeds a real recorder ops of every kind and class plus checked
// reads of real keys, so every family has series.
func recordAll(t testing.TB) (*metrics.Results, *metrics.Interval) {
	t.Helper()
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s0", "s1"}, Phases: []string{"p0"}, Keys: 64, Checks: builtin(t)})
	or := rec.Oracle()
	w := rec.NewWorker(1, 0)
	for k := op.Kind(0); k < op.NumKinds; k++ {
		for c := op.OK; c < op.NumClasses; c++ {
			w.Record(0, k, c, 1e6, 1e6)
		}
	}
	now := rec.Clock().Now()
	for key := uint64(0); key < 64; key++ {
		or.Loaded(key)
		or.Acked(key, 1, now-2e6, now-1e6)
		w.Write(&metrics.Write{Key: key, Seq: 1, InvokeNs: now - 2e6, ReturnNs: now - 1e6})
		w.CheckRead(0, key, true, workloads.Header{Key: key, Seq: 0}, now) // stale, ryw
	}
	iv := rec.Collect(rec.Clock().Now())
	return rec.Results(), iv
}

// checkLabels gathers e and checks every label against labelSpec.
func checkLabels(t *testing.T, e *Exporter, forbidden ...string) {
	t.Helper()
	mfs, err := e.gatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	spec := labelSpec()
	for _, mf := range mfs {
		want, ok := spec[mf.GetName()]
		if !ok {
			t.Errorf("unexpected family %s", mf.GetName())
			continue
		}
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				t.Errorf("%s: labels %v, want names %v", mf.GetName(), labelsOf(m), slices.Sorted(mapsKeysOf(want)))
			}
			for _, lp := range m.GetLabel() {
				allowed, ok := want[lp.GetName()]
				v := lp.GetValue()
				switch {
				case !ok:
					t.Errorf("%s: unexpected label %s=%q", mf.GetName(), lp.GetName(), v)
				case allowed != nil && !slices.Contains(allowed, v):
					t.Errorf("%s: %s=%q outside its closed set %v", mf.GetName(), lp.GetName(), v, allowed)
				case allowed == nil && !cleanRE.MatchString(v):
					t.Errorf("%s: %s=%q is not a cleaned value", mf.GetName(), lp.GetName(), v)
				}
				if mf.GetName() == "pacbench_run_info" {
					continue
				}
				if strings.Contains(v, runID) {
					t.Errorf("%s: run id in label %s=%q", mf.GetName(), lp.GetName(), v)
				}
				for _, f := range forbidden {
					if f != "" && strings.Contains(v, f) {
						t.Errorf("%s: forbidden text %q in label %s=%q", mf.GetName(), f, lp.GetName(), v)
					}
				}
			}
		}
	}
}

func mapsKeysOf(m map[string][]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestLabelsClosed checks every family's label names and values with a
// real recorder's results, error-looking names included.
func TestLabelsClosed(t *testing.T) {
	t.Parallel()
	res, iv := recordAll(t)
	// Names a careless profile or caller could pass: they get cleaned, and
	// the text after forbidden characters cannot smuggle quotes/newlines.
	res.Scenarios[1] = "quorum\"}\n# evil"
	e := newTest(t, Options{})
	e.Update("etcd", []string{"", "read=linearizable"}, res, iv)
	e.SetImpairments([]Active{{Kind: impair.KindLatency, Target: "etcd1", Delay: time.Millisecond}, {Kind: "rm -rf", Target: "x\ny"}})
	e.SetRunInfo(map[string]string{"run_id": runID, "profile": "p.yaml"})
	e.SetPhases([]string{"base\nline\"} # evil", ""})
	e.SetPhase(0)
	checkLabels(t, e, "\n", "\"", "evil\n")
}

// FuzzLabels feeds arbitrary names (as a profile or caller could) and
// checks every exported label stays well-formed and closed, and that the
// run id only appears on pacbench_run_info.
func FuzzLabels(f *testing.F) {
	f.Add("etcd", "linearizable", "baseline", "read=linearizable", "etcd1")
	f.Add("", "", "", "", "")
	f.Add("cassandra", "rpc error: code = Unavailable desc = connection refused", "partition",
		"context deadline exceeded", "dial tcp 127.0.0.1:2379: connect: connection refused")
	f.Add("\xff\xfe", strings.Repeat("ü", 200), "a\"b", "x\ny", "key-000042")
	res, iv := recordAll(f)
	f.Fuzz(func(t *testing.T, system, scenario, phase, level, target string) {
		for _, s := range []string{system, scenario, phase, level, target} {
			if strings.Contains(s, runID) {
				t.Skip("input contains the run id itself")
			}
		}
		r := *res
		r.Scenarios = []string{"s0", scenario}
		r.Phases = []string{phase}
		e := newTest(t, Options{})
		e.Update(system, []string{level, level}, &r, iv)
		e.SetImpairments([]Active{{Kind: target, Target: target}})
		e.SetRunInfo(map[string]string{"run_id": runID})
		checkLabels(t, e)
	})
}

func TestCleanLabel(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"read=linearizable", "read=linearizable"},
		{"", "none"},
		{"a b\"c\n", "a_b_c_"},
		{"ü", "_"},
		{"\xff", "_"},
		{strings.Repeat("x", 100), strings.Repeat("x", MaxLabelLen)},
	} {
		if got := cleanLabel(tc.in); got != tc.want {
			t.Errorf("cleanLabel(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
