package checkers_test

// The lost-write audit through the real engine against the fake driver:
// a check that cannot see a loss is worthless, so the fake drops, fails or
// stalls exactly one chosen write or key and the audit must say exactly
// that.

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// auditProfile inserts about 100 new keys (open loop, one worker, each
// key written once), so the chosen write is its key's last one.
const auditProfile = `
system: {driver: fake, endpoints: [fake://1], op_timeout: 300ms}
workload: {records: 10, value_size: 64, mix: {insert: 1}, distribution: uniform, load: false}
load: {model: open, rate: 200, workers: 1}
levels: [{name: only, read: fresh}]
phases: [{name: baseline, duration: 500ms}]
`

// runFake runs profile yaml through the real engine against the fake
// driver (with extra checks) and builds its summary.
func runFake(t *testing.T, o fakedriver.Options, name, yaml string, extra ...metrics.Check) (*runner.Result, *report.Summary) {
	t.Helper()
	reg := drivers.NewRegistry(fakedriver.New(o))
	p, err := profile.Parse(name+".yaml", []byte(yaml), profile.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	typed, err := plan.New(pl, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := runner.Run(context.Background(), runner.Config{Plan: typed, Registry: reg, Interval: 100 * time.Millisecond,
		Checks: extra})
	if err != nil {
		t.Fatal(err)
	}
	return res, report.Build(report.Input{RunID: name, Plan: pl, Result: res})
}

func TestAuditFakeDriver(t *testing.T) {
	t.Parallel()
	// Insert n (from 1) writes key index records+n-1 (one worker).
	fifth := fmt.Sprintf("%s%0*d", workloads.KeyPrefix, workloads.KeyDigits, 10+4)
	tests := []struct {
		name string
		o    fakedriver.Options
		// want: lost, unknown, indeterminate, indeterminate_found counts
		// of the phase; intact: "true", "false" or "null".
		lost, unknown, indet, found int64
		intact, loss                string // the verdict's third column: lossy, lossless or null
	}{
		{"one acknowledged write dropped", fakedriver.Options{DropWrite: 5}, 1, 0, 0, 0, "false", report.Lossy},
		{"final read times out", fakedriver.Options{StallKeys: []string{fifth}}, 0, 1, 0, 0, "null", "null"},
		{"timed-out write that took effect", fakedriver.Options{FailWrite: 5}, 0, 0, 1, 1, "true", report.Lossless},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, s := runFake(t, tc.o, "audit", auditProfile)
			c := res.Results.Cell(0, 0)
			acked, _ := res.Results.Value(c, checkers.AuditAcked)
			if acked.Count < 10 {
				t.Fatalf("only %d acknowledged inserts: the chosen write did not happen", acked.Count)
			}
			got := func(m string) int64 {
				v, ok := res.Results.Value(c, m)
				if !ok {
					t.Fatalf("no measure %s", m)
				}
				return v.Count
			}
			if l, u, i, f := got(checkers.AuditLost), got(checkers.AuditUnknown), got(checkers.AuditIndeterminate),
				got(checkers.AuditIndeterminateFound); l != tc.lost || u != tc.unknown || i != tc.indet || f != tc.found {
				t.Errorf("lost %d unknown %d indeterminate %d found %d, want %d %d %d %d (audits %+v)",
					l, u, i, f, tc.lost, tc.unknown, tc.indet, tc.found, res.Audits)
			}
			v, _ := res.Results.Value(c, checkers.AuditIntact)
			intact := "null"
			if v.Verdict == nil {
				t.Fatalf("no audit verdict (audits %+v)", res.Audits)
			}
			if v.Verdict.OK != nil {
				intact = map[bool]string{true: "true", false: "false"}[*v.Verdict.OK]
			}
			if intact != tc.intact {
				t.Errorf("intact %s (%s), want %s", intact, v.Verdict.Detail, tc.intact)
			}
			v3 := s.Scenarios[0].PACELC
			if loss := deref(v3.Loss); loss != tc.loss || v3.LostWrites == nil || *v3.LostWrites != tc.lost ||
				v3.IndeterminateWrites == nil || *v3.IndeterminateWrites != tc.indet {
				t.Errorf("verdict loss %s, lost %v, indeterminate %v; want %s, %d, %d (%s)", loss, v3.LostWrites,
					v3.IndeterminateWrites, tc.loss, tc.lost, tc.indet, v3.Evidence)
			}
			if n, ok := s.Scenarios[0].Phases[0].Checks.Int("audit", "lost"); !ok || n != tc.lost {
				t.Errorf("summary audit.lost = %d (%v), want %d", n, ok, tc.lost)
			}
			if len(res.Audits) != 1 || res.Audits[0].Keys != int(acked.Count+tc.indet) {
				t.Errorf("audits %+v: want one of %d keys", res.Audits, acked.Count+tc.indet)
			}
		})
	}
}

// judgeWrite is one logged write of TestAuditJudge's key: seq, outcome,
// invocation and return (run-clock ns), in the order reported.
type judgeWrite struct {
	seq      uint64
	o        metrics.WriteOutcome
	inv, ret int64
}

// serial returns writes of seq 1, 2, … one after the other (disjoint in
// time, as one writer at a time per key writes).
func serial(os ...metrics.WriteOutcome) []judgeWrite {
	out := make([]judgeWrite, len(os))
	for i, o := range os {
		out[i] = judgeWrite{uint64(i + 1), o, int64(10 * (i + 1)), int64(10*(i+1) + 5)}
	}
	return out
}

// TestAuditJudge judges one key's logged writes against its final read;
// overlapping writes (split-brain writers) are lost only when invoked
// after the final value's write returned.
func TestAuditJudge(t *testing.T) {
	t.Parallel()
	const A, I = metrics.Acked, metrics.Indeterminate
	timeout := errors.New("read timed out")
	tests := []struct {
		name                 string
		writes               []judgeWrite
		final                checkers.FinalRead
		lost, unknown, found int64
	}{
		{"newest acked write kept", serial(A, A, A), checkers.FinalRead{Found: true, Seq: 3}, 0, 0, 0},
		{"older value kept over the last", serial(A, A, A), checkers.FinalRead{Found: true, Seq: 2}, 1, 0, 0},
		{"no value at all", serial(A, A), checkers.FinalRead{}, 2, 0, 0},
		{"indeterminate write applied late", serial(A, I, A), checkers.FinalRead{Found: true, Seq: 2}, 0, 0, 1},
		{"indeterminate write never applied", serial(A, I), checkers.FinalRead{Found: true, Seq: 1}, 0, 0, 0},
		{"final read failed", serial(A, A), checkers.FinalRead{Err: timeout}, 0, 2, 0},
		{"foreign value", serial(A), checkers.FinalRead{Found: true, Foreign: true}, 0, 1, 0},
		{"overlapping writes: the loser overlapped the winner", []judgeWrite{{1, A, 10, 15}, {3, A, 25, 30}, {2, A, 20, 40}},
			checkers.FinalRead{Found: true, Seq: 2}, 0, 0, 0},
		{"overlapping writes: the loser invoked after the winner returned", []judgeWrite{{1, A, 10, 15}, {2, A, 20, 22}, {4, A, 24, 40}, {3, A, 25, 30}},
			checkers.FinalRead{Found: true, Seq: 2}, 2, 0, 0},
		{"overlapping writes: a newer overlapping write kept", []judgeWrite{{1, A, 10, 15}, {3, A, 25, 30}, {2, A, 20, 40}},
			checkers.FinalRead{Found: true, Seq: 3}, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cs, err := checkers.Registry(checkers.Config{Audit: checkers.AuditConfig{Scenarios: 1, Phases: 1}})
			if err != nil {
				t.Fatal(err)
			}
			rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"s"}, Phases: []string{"p"}, Keys: 4, Checks: cs})
			w := rec.NewWorkerFor(metrics.WorkerInfo{Scenario: 0, Session: 1})
			for _, jw := range tc.writes {
				ev := w.WriteEvent()
				*ev = metrics.Write{Key: 2, Seq: jw.seq, InvokeNs: jw.inv, ReturnNs: jw.ret, Outcome: jw.o}
				w.Write(ev)
			}
			a := checkers.AuditOf(cs)
			fr := tc.final
			fr.Key = 2
			res := a.Judge(checkers.AuditInput{Group: []int{0}, Reads: []checkers.FinalRead{fr}, HealPhase: -1})
			if res.Lost != tc.lost || res.Unknown != tc.unknown || res.IndeterminateFound != tc.found {
				t.Errorf("lost %d unknown %d found %d, want %d %d %d", res.Lost, res.Unknown, res.IndeterminateFound,
					tc.lost, tc.unknown, tc.found)
			}
			if err := rec.Add(res.Values); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}
