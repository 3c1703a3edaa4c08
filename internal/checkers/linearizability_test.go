package checkers

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// opts returns the options most tests use: keys 1 and 2, two scenarios, two
// phases.
func opts() Options {
	return Options{Keys: []uint64{1, 2}, Scenarios: []string{"linearizable", "serializable"}, Phases: []string{"baseline", "partition"}}
}

// w and r build an OK write or read of key 1 by client c in scenario 0,
// phase 0 (worker 0); times in ns.
func w(c int, seq uint64, call, ret int64) Event {
	return Event{Client: c, Key: 1, Write: true, Seq: seq, CallNs: call, ReturnNs: ret}
}

func r(c int, seq uint64, call, ret int64) Event {
	return Event{Client: c, Key: 1, Seq: seq, CallNs: call, ReturnNs: ret}
}

// with returns e modified by f (for outcome, phase, scenario, worker, key).
func with(e Event, f func(*Event)) Event {
	f(&e)
	return e
}

func indet(e Event) Event         { return with(e, func(e *Event) { e.Outcome = Indeterminate }) }
func failed(e Event) Event        { return with(e, func(e *Event) { e.Outcome = Failed }) }
func phase1(e Event) Event        { return with(e, func(e *Event) { e.Phase = 1 }) }
func scenario1(e Event) Event     { return with(e, func(e *Event) { e.Scenario = 1 }) }
func worker(n int, e Event) Event { return with(e, func(e *Event) { e.Worker = n }) }

func record(h *History, evs []Event) *History {
	for _, e := range evs {
		h.Record(e)
	}
	return h
}

func verdictString(v Verdict) string {
	if v.Linearizable == nil {
		return "null (" + string(v.Reason) + ")"
	}
	return fmt.Sprint(*v.Linearizable)
}

// cell returns the verdict of (s, p).
func cell(t *testing.T, vs []Verdict, s, p int) Verdict {
	t.Helper()
	for _, v := range vs {
		if v.Scenario == s && v.Phase == p {
			return v
		}
	}
	t.Fatalf("no verdict for scenario %d phase %d", s, p)
	return Verdict{}
}

func TestCheckHandBuilt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		evs  []Event
		s, p int
		want string
	}{
		{"stale read after acked write", []Event{w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, 1, 40, 50)}, 0, 0, "false"},
		{"value read before it was written", []Event{w(0, 1, 0, 10), r(1, 2, 20, 30), w(0, 2, 40, 50)}, 0, 0, "false"},
		{"first op reads a value written later", []Event{r(1, 1, 0, 10), w(0, 1, 20, 30)}, 0, 0, "false"},
		{"concurrent read returns old", []Event{w(0, 1, 0, 10), w(0, 2, 20, 40), r(1, 1, 25, 35)}, 0, 0, "true"},
		{"concurrent read returns new", []Event{w(0, 1, 0, 10), w(0, 2, 20, 40), r(1, 2, 25, 35)}, 0, 0, "true"},
		{"overlapping reads see new then old, both overlapping each other", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 40), r(1, 2, 22, 38), r(2, 1, 25, 35)}, 0, 0, "true"},
		{"new then old in real-time order during a write", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 60), r(1, 2, 25, 30), r(2, 1, 35, 40)}, 0, 0, "false"},
		{"indeterminate write took effect", []Event{
			w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), r(1, 2, 100, 110), r(2, 2, 120, 130)}, 0, 0, "true"},
		{"indeterminate write did not take effect", []Event{
			w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), r(1, 1, 100, 110), r(2, 1, 120, 130)}, 0, 0, "true"},
		{"indeterminate write took effect late", []Event{
			w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), r(1, 1, 100, 110), r(2, 2, 120, 130)}, 0, 0, "true"},
		{"indeterminate write seen, then old value again", []Event{
			w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), r(1, 2, 100, 110), r(2, 1, 120, 130)}, 0, 0, "false"},
		{"indeterminate write read before it was invoked", []Event{
			w(0, 1, 0, 10), r(1, 2, 12, 15), indet(w(0, 2, 20, 30))}, 0, 0, "false"},
		{"failed write is indeterminate", []Event{w(0, 1, 0, 10), failed(w(0, 2, 20, 30)), r(1, 2, 100, 110)}, 0, 0, "true"},
		{"failed read is dropped", []Event{w(0, 1, 0, 10), failed(r(1, 99, 20, 30)), r(1, 1, 40, 50)}, 0, 0, "true"},
		{"initial value read before first write", []Event{r(1, 0, 0, 10), w(0, 1, 20, 30), r(1, 1, 40, 50)}, 0, 0, "true"},
		{"leftover initial value never written in the run", []Event{r(1, 7, 0, 10), w(0, 8, 20, 30), r(1, 8, 40, 50)}, 0, 0, "true"},
		{"initial value read after the first write was acked", []Event{w(0, 1, 0, 10), r(1, 0, 20, 30)}, 0, 0, "false"},
		{"two different initial values", []Event{r(1, 0, 0, 10), r(2, 7, 20, 30)}, 0, 0, "false"},
		{"stale read at phase start (seed write from previous phase)", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), phase1(r(1, 1, 40, 50))}, 0, 1, "false"},
		{"write pending across the phase boundary", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 60), phase1(r(1, 1, 40, 45)), phase1(r(1, 2, 70, 80))}, 0, 1, "true"},
		{"previous-phase indeterminate write applied late", []Event{
			w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), phase1(r(1, 1, 40, 45)), phase1(r(1, 2, 70, 80))}, 0, 1, "true"},
		{"phase with writes only", []Event{w(0, 1, 0, 10), phase1(r(1, 1, 40, 45))}, 0, 0, "null (no reads)"},
		{"side by side: other scenario's write makes a read stale", []Event{
			scenario1(w(0, 1, 0, 10)), scenario1(w(0, 2, 20, 30)), r(1, 1, 40, 50)}, 0, 0, "false"},
		{"side by side: scenarios judged separately", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, 2, 40, 50), scenario1(r(5, 1, 40, 50))}, 0, 0, "true"},
		{"side by side: the stale scenario", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, 2, 40, 50), scenario1(r(5, 1, 40, 50))}, 1, 0, "false"},
		{"keys are independent", []Event{
			w(0, 1, 0, 10), with(w(0, 2, 20, 30), func(e *Event) { e.Key = 2 }), r(1, 1, 40, 50)}, 0, 0, "true"},
		{"unsampled key ignored", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), with(r(1, 1, 40, 50), func(e *Event) { e.Key = 3 })}, 0, 0, "null (no reads)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := record(NewHistory(opts()), tc.evs)
			v := cell(t, h.Check(context.Background(), 10*time.Second, nil), tc.s, tc.p)
			if got := verdictString(v); got != tc.want {
				t.Errorf("verdict = %s, want %s", got, tc.want)
			}
			if (v.Linearizable != nil && !*v.Linearizable) != (len(v.IllegalKeys) > 0) {
				t.Errorf("IllegalKeys = %v with verdict %s", v.IllegalKeys, verdictString(v))
			}
		})
	}
}

func TestCheckCounts(t *testing.T) {
	t.Parallel()
	h := record(NewHistory(opts()), []Event{
		w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, 2, 40, 50), r(2, 2, 40, 50),
		with(w(0, 1, 0, 10), func(e *Event) { e.Key = 2 }),
		with(r(1, 1, 40, 50), func(e *Event) { e.Key = 2 }),
		phase1(w(0, 3, 100, 110)),
	})
	vs := h.Check(context.Background(), 0, nil)
	if len(vs) != 4 {
		t.Fatalf("%d verdicts, want 4 (2 scenarios × 2 phases)", len(vs))
	}
	v := cell(t, vs, 0, 0)
	if verdictString(v) != "true" || v.Keys != 2 || v.Ops != 6 {
		t.Errorf("verdict %s, keys %d, ops %d; want true, 2, 6", verdictString(v), v.Keys, v.Ops)
	}
	if v.Visualization != nil {
		t.Errorf("visualization on a linearizable history")
	}
}

// TestIndeterminateReduction: an unobserved indeterminate write is left out
// of the checked history (exact, and keeps the search small); an observed
// one is kept.
func TestIndeterminateReduction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		read uint64
		ops  int
	}{{"unobserved", 1, 2}, {"observed", 2, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := record(NewHistory(opts()), []Event{w(0, 1, 0, 10), indet(w(0, 2, 20, 30)), r(1, tc.read, 100, 110)})
			v := cell(t, h.Check(context.Background(), 0, nil), 0, 0)
			if verdictString(v) != "true" || v.Ops != tc.ops {
				t.Errorf("verdict %s with %d ops, want true with %d", verdictString(v), v.Ops, tc.ops)
			}
		})
	}
}

func TestMaxClients(t *testing.T) {
	t.Parallel()
	// Worker 3's read is stale; it is only kept when MaxClients > 3.
	evs := []Event{w(0, 1, 0, 10), w(0, 2, 20, 30), worker(2, r(1, 2, 40, 50)), worker(3, r(2, 1, 40, 50))}
	for _, tc := range []struct {
		maxClients int
		want       string
		ops        int
	}{{0, "true", 3}, {3, "true", 3}, {4, "false", 4}} {
		t.Run(fmt.Sprint(tc.maxClients), func(t *testing.T) {
			t.Parallel()
			o := opts()
			o.MaxClients = tc.maxClients
			v := cell(t, record(NewHistory(o), evs).Check(context.Background(), 0, nil), 0, 0)
			if verdictString(v) != tc.want || v.Ops != tc.ops {
				t.Errorf("verdict %s with %d ops, want %s with %d", verdictString(v), v.Ops, tc.want, tc.ops)
			}
		})
	}
}

func TestMaxOps(t *testing.T) {
	t.Parallel()
	k2 := func(e Event) Event { return with(e, func(e *Event) { e.Key = 2 }) }
	tests := []struct {
		name string
		evs  []Event
		p    int
		want string
	}{
		{"truncated cell is unknown, never true", []Event{
			w(0, 1, 0, 10), r(1, 1, 20, 30), w(0, 2, 40, 50), r(1, 2, 60, 70)}, 0, "null (truncated)"},
		{"nothing kept beyond the bound", []Event{
			w(0, 1, 0, 10), r(1, 1, 20, 30), w(0, 2, 40, 50), r(1, 1, 60, 70)}, 0, "null (truncated)"},
		{"violation on another key still counts", []Event{
			w(0, 1, 0, 10), r(1, 1, 20, 30), w(0, 2, 40, 50), r(1, 2, 60, 70),
			k2(w(0, 1, 0, 10)), k2(w(0, 2, 20, 30)), k2(r(1, 1, 40, 50))}, 0, "false"},
		{"read of a write dropped in another phase is unknown, not illegal", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), w(0, 3, 40, 50), w(0, 4, 60, 70), phase1(r(1, 4, 80, 90))}, 1, "null (truncated)"},
		{"another phase's truncation cannot prove a phase linearizable", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), w(0, 3, 40, 50), w(0, 4, 60, 70), phase1(r(1, 3, 80, 90))}, 1, "null (truncated)"},
		{"another phase's truncation can still disprove", []Event{
			w(0, 1, 0, 10), w(0, 2, 20, 30), w(0, 3, 40, 50), w(0, 4, 60, 70), phase1(r(1, 1, 80, 90))}, 1, "false"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := opts()
			o.MaxOps = 3
			h := record(NewHistory(o), tc.evs)
			for i, l := range h.logs {
				for p := range o.Phases {
					n := len(l.writes[p])
					for s := range o.Scenarios {
						n += len(l.reads[s*len(o.Phases)+p])
					}
					if n > o.MaxOps {
						t.Errorf("key %d phase %d keeps %d ops, bound %d", h.opts.Keys[i], p, n, o.MaxOps)
					}
				}
			}
			v := cell(t, h.Check(context.Background(), 0, nil), 0, tc.p)
			if got := verdictString(v); got != tc.want {
				t.Errorf("verdict = %s, want %s", got, tc.want)
			}
		})
	}
}

// hardHistory is illegal, but only an exhaustive search can tell: n
// mutually concurrent writes and reads of n values, then a read of a value
// no write produced.
func hardHistory(n int) []Event {
	var evs []Event
	for i := 1; i <= n; i++ {
		evs = append(evs, w(i, uint64(i), 0, 1000), r(n+i, uint64(i), 0, 1000))
	}
	return append(evs, r(0, 0, 2000, 2100))
}

func TestTimeoutIsUnknown(t *testing.T) {
	t.Parallel()
	h := record(NewHistory(opts()), hardHistory(40))
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		v := cell(t, h.Check(context.Background(), 20*time.Millisecond, nil), 0, 0)
		if v.Linearizable != nil || v.Reason != ReasonTimeout {
			t.Errorf("verdict %s, want null (timeout)", verdictString(v))
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		v := cell(t, h.Check(ctx, 0, nil), 0, 0)
		if v.Linearizable != nil {
			t.Errorf("verdict %s, want null", verdictString(v))
		}
	})
	t.Run("context canceled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for _, v := range h.Check(ctx, time.Minute, nil) {
			if v.Linearizable != nil || (v.Ops > 0 && v.Reason != ReasonCanceled) {
				t.Errorf("scenario %d phase %d: verdict %s, want null", v.Scenario, v.Phase, verdictString(v))
			}
		}
	})
}

func TestVisualization(t *testing.T) {
	t.Parallel()
	windows := []Window{{Name: "partition-follower-2", StartNs: 15, EndNs: 45}, {Name: "leader-delay-40ms", StartNs: 100, EndNs: 100}}
	h := record(NewHistory(opts()), []Event{
		w(0, 1, 0, 10), w(0, 2, 20, 30), r(1, 1, 40, 50),
		with(w(0, 1, 0, 10), func(e *Event) { e.Key = 2 }),
		with(r(1, 1, 40, 50), func(e *Event) { e.Key = 2 }),
	})
	v := cell(t, h.Check(context.Background(), 10*time.Second, windows), 0, 0)
	if verdictString(v) != "false" {
		t.Fatalf("verdict %s, want false", verdictString(v))
	}
	if len(v.IllegalKeys) != 1 || v.IllegalKeys[0] != 1 {
		t.Errorf("IllegalKeys = %v, want [1]", v.IllegalKeys)
	}
	html := v.Visualization
	if !bytes.Contains(html, []byte("<html")) {
		t.Fatalf("visualization is not HTML (%d bytes)", len(html))
	}
	for _, want := range []string{"partition-follower-2", "leader-delay-40ms", "impairments", "read() → 1", "write(2)", "scenario linearizable"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("visualization lacks %q", want)
		}
	}
}

func TestSampled(t *testing.T) { // not parallel: AllocsPerRun
	h := NewHistory(Options{Keys: []uint64{9, 3, 3, 1 << 40}, Scenarios: []string{"s"}, Phases: []string{"p"}})
	for _, tc := range []struct {
		key  uint64
		want bool
	}{{3, true}, {9, true}, {1 << 40, true}, {0, false}, {4, false}, {1<<40 + 1, false}} {
		if got := h.Sampled(tc.key); got != tc.want {
			t.Errorf("Sampled(%d) = %v, want %v", tc.key, got, tc.want)
		}
	}
	if got := h.Options().Keys; len(got) != 3 {
		t.Errorf("keys = %v, want 3 distinct", got)
	}
	if a := testing.AllocsPerRun(1000, func() { h.Sampled(9); h.Sampled(10) }); a != 0 {
		t.Errorf("Sampled allocates %.1f times per call", a)
	}
}

// TestConcurrentRecord records from many goroutines while checking (run
// with -race).
func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	o := opts()
	o.MaxClients = 8
	h := NewHistory(o)
	evs := simulate(1, []uint64{1, 2}, 3, 400, 0)
	var wg sync.WaitGroup
	const workers = 8
	for g := range workers {
		wg.Go(func() {
			for i := g; i < len(evs); i += workers {
				h.Record(evs[i])
			}
		})
	}
	wg.Go(func() { h.Check(context.Background(), time.Second, nil) })
	wg.Wait()
	v := cell(t, h.Check(context.Background(), time.Minute, nil), 0, 0)
	if verdictString(v) != "true" || v.Ops != len(evs) {
		t.Errorf("verdict %s with %d ops, want true with %d", verdictString(v), v.Ops, len(evs))
	}
}
