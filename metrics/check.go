package metrics

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/pacbench/pacbench/op"
)

// Check is one measurement over the op stream beyond latency (DESIGN.md,
// "check"): staleness, session guarantees, t-visibility, linearizability,
// lost writes. A check describes what it publishes (Measures, Layout) and
// keeps per-worker state (NewWorker) fed from the record path; it never
// touches the renderers, which show its measures from their descriptions.
//
// A Check value is shared by all workers of a run: its methods other than
// through CheckWorker must be safe for concurrent use.
type Check interface {
	// Name identifies the check in errors ("staleness").
	Name() string
	// Measures describes the check's measurements, in order; Tally
	// methods take an index into this slice. The result must not change.
	Measures() []Measure
	// Layout says where the measures appear in the summary, the CSV and the
	// table; it refers to measures by Name.
	Layout() Layout
	// NewWorker returns the check's state for one worker goroutine (one
	// client session). Per-worker memory must not depend on the number of
	// series: record through the Tally, which buffers.
	NewWorker(WorkerInfo) CheckWorker
}

// WorkerInfo identifies the worker a CheckWorker belongs to.
type WorkerInfo struct {
	// Scenario index; Session is the caller's session id (unique per
	// worker); Index is the worker's index within its scenario.
	Scenario, Session, Index int
	// Keys is the number of tracked keys: [0, Keys).
	Keys int
}

// CheckWorker is a check's state for one worker: a ReadChecker, a
// WriteChecker or both (found by type assertion), or nil when the check
// needs nothing from this worker. Its methods are called only by that
// worker's goroutine: they must not block and, after warm-up, should not
// allocate (the built-in checks do not). The event is valid only during
// the call.
type CheckWorker any

// ReadChecker is a CheckWorker that sees reads: once per read that reached
// the database (ok or failed).
type ReadChecker interface {
	Read(ev *Read, t Tally)
}

// WriteChecker is a CheckWorker that sees writes: once per write whose
// outcome is known (acked, failed or a lost CAS), after the oracle learnt
// it.
type WriteChecker interface {
	Write(ev *Write, t Tally)
}

// Finisher is an optional capability of a Check (found by type assertion):
// a check that judges whole histories after the run (linearizability).
// Finish is called once, after the last op; its verdicts become the values
// of the check's KindVerdict measures.
type Finisher interface {
	Finish(ctx context.Context, info FinishInfo) []CellVerdict
}

// FinishInfo is what a Finisher may use.
type FinishInfo struct {
	// Windows are the impairment windows of the run (run-clock ns), to
	// annotate evidence.
	Windows []Window
}

// Window is a named span of the run clock.
type Window struct {
	Name           string
	StartNs, EndNs int64
}

// CellVerdict is a Finisher's verdict for one (scenario, phase) and one of
// its KindVerdict measures (by Name).
type CellVerdict struct {
	Scenario, Phase int
	Measure         string
	Verdict         Verdict
}

// QueueChecker is a CheckWorker that sees the open-loop ops that could not
// start on time because no worker was free (the pool at its maximum):
// once per such op, before the op itself is recorded.
type QueueChecker interface {
	Queued(ev *Queued, t Tally)
}

// Queued is one open-loop op that waited for a free worker.
type Queued struct {
	// Phase the op is issued in; Kind its op kind.
	Phase int
	Kind  op.Kind
	// WaitNs is how long it waited for a worker (ns): from when it was
	// due, or from when its arrival stream reached it if later, to when a
	// worker took it. Part of its response time, none of its service time.
	WaitNs int64
}

// Read is one read as the record path reports it to the checks.
type Read struct {
	// Phase the read was issued in; Key its key index.
	Phase int
	Key   uint64
	// InvokeNs and ReturnNs on the run clock.
	InvokeNs, ReturnNs int64
	// Class is op.OK, or the failure class (then nothing was read and
	// Staleness is untracked).
	Class op.Class
	// Found: a value was found (false: the key had no value, seq 0).
	Found bool
	// Foreign: the value was not written by pacbench for this key (no
	// header, or another key's); it is not checked (Staleness untracked).
	Foreign bool
	// Seq is the value's version (0 when not found).
	Seq uint64
	// Overlapped: the read was issued while a key's writers may overlap
	// (split-brain writers during a partition), so seq order is not
	// real-time order; it is not checked (Staleness untracked).
	Overlapped bool
	// Staleness is the oracle's verdict (filled by Worker.Read).
	Staleness Staleness
}

// Checked reports whether the read returned a value the checks can judge:
// a successful read of pacbench's own value (or of no value), issued while
// the key's writers were disjoint in time.
func (r *Read) Checked() bool { return r.Class == op.OK && !r.Foreign && !r.Overlapped }

// Write is one write outcome as the record path reports it to the checks.
type Write struct {
	// Phase the write was issued in; Key its key index; Seq its version.
	Phase    int
	Key, Seq uint64
	// InvokeNs (service start) and ReturnNs on the run clock.
	InvokeNs, ReturnNs int64
	// Outcome says whether the write took effect.
	Outcome WriteOutcome
}

// WriteOutcome is what is known about whether a write took effect.
type WriteOutcome uint8

// Write outcomes.
const (
	// Acked: the database acknowledged the write.
	Acked WriteOutcome = iota
	// Indeterminate: it failed or timed out; it may or may not have
	// happened (never counted as acked).
	Indeterminate
	// NotApplied: it certainly did not happen (a CAS that lost its
	// comparison).
	NotApplied
)

// Tally is a CheckWorker's recording handle for one event: counters,
// histogram observations and bucket counts of the check's own measures
// (by index into its Measures), in the event's phase. It buffers into the
// worker, so memory does not grow with the worker count; the worker's
// recording lock is taken at the first call (an event no check records
// costs no lock). Valid only during the call it is passed to.
type Tally struct {
	w    *Worker
	base int
}

// Add adds n to counter m.
func (t Tally) Add(m int, n int64) {
	w := t.w
	if !w.held {
		w.lockFor()
	}
	w.block.counters[t.base+m] += n // counter g is at slot g
}

// Observe records v into histogram m (clamped into the geometry's range;
// clamped values are counted).
func (t Tally) Observe(m int, v int64) { t.w.observe(t.base+m, v) }

// Bucket counts one event of value v into buckets m, as a hit or not.
func (t Tally) Bucket(m int, v int64, hit bool) { t.w.bucket(t.base+m, v, hit) }

// Checks is an explicit registry of checks: the checks a Recorder runs, in
// registration order, which is also their order in every rendering. It is
// a value (no package-level state); build one with NewChecks. Read-only
// after construction: safe for concurrent use.
type Checks struct {
	list     []Check
	measures []Measure
	base     []int // check → index of its first measure
	byName   map[string]int
	layout   Layout // merged, in check order
}

// Errors of NewChecks.
var (
	// ErrInvalidCheck: a check's description is inconsistent.
	ErrInvalidCheck = errors.New("metrics: invalid check")
)

// NewChecks registers cs in order. It validates every description:
// unique measure names, ratios over counters of the same check, ascending
// bucket bounds, layouts naming existing measures of the same check, and
// measures sharing a Prometheus family agreeing on its help and kind.
func NewChecks(cs ...Check) (*Checks, error) {
	c := &Checks{byName: map[string]int{}}
	families := map[string]Measure{}
	for _, ch := range cs {
		if ch == nil {
			return nil, fmt.Errorf("%w: nil check", ErrInvalidCheck)
		}
		own := map[string]Measure{}
		c.base = append(c.base, len(c.measures))
		for _, m := range ch.Measures() {
			if err := validMeasure(m, own, families); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCheck, ch.Name(), err)
			}
			if _, dup := c.byName[m.Name]; dup {
				return nil, fmt.Errorf("%w: %s: measure %q registered twice", ErrInvalidCheck, ch.Name(), m.Name)
			}
			own[m.Name] = m
			c.byName[m.Name] = len(c.measures)
			m.Bounds = slices.Clone(m.Bounds)
			c.measures = append(c.measures, m)
		}
		if err := validLayout(ch.Layout(), own); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCheck, ch.Name(), err)
		}
		l := ch.Layout()
		c.layout.Fields = append(c.layout.Fields, l.Fields...)
		c.layout.Columns = append(c.layout.Columns, l.Columns...)
		c.layout.Table = append(c.layout.Table, l.Table...)
		c.layout.Sections = append(c.layout.Sections, l.Sections...)
		c.list = append(c.list, ch)
	}
	return c, nil
}

func validMeasure(m Measure, own, families map[string]Measure) error {
	if m.Name == "" {
		return errors.New("measure without a name")
	}
	switch m.Kind {
	case KindCounter, KindHistogram, KindVerdict:
	case KindRatio:
		for _, ref := range []string{m.Num, m.Den} {
			if o, ok := own[ref]; !ok || o.Kind != KindCounter {
				return fmt.Errorf("ratio %s: %q is not an earlier counter of the same check", m.Name, ref)
			}
		}
	case KindBuckets:
		if len(m.Bounds) == 0 || !slices.IsSorted(m.Bounds) || m.Bounds[0] <= 0 {
			return fmt.Errorf("buckets %s: bounds must be positive and ascending", m.Name)
		}
	default:
		return fmt.Errorf("measure %s: unknown kind %d", m.Name, m.Kind)
	}
	if m.Given != "" {
		if o, ok := own[m.Given]; m.Kind != KindCounter || !ok || o.Kind != KindVerdict {
			return fmt.Errorf("counter %s: given %q is not an earlier verdict of the same check", m.Name, m.Given)
		}
	}
	if f := m.Metric.Name; f != "" {
		if m.Kind == KindRatio || m.Kind == KindVerdict {
			return fmt.Errorf("measure %s: ratios and verdicts are not exported", m.Name)
		}
		if o, ok := families[f]; ok && (o.Metric.Help != m.Metric.Help || o.Kind != m.Kind || o.Unit != m.Unit) {
			return fmt.Errorf("measure %s: family %s shared with %s with another help, kind or unit", m.Name, f, o.Name)
		}
		if m.Kind == KindBuckets && (m.Metric.BucketLabel == "" || m.Metric.HitLabel == "") {
			return fmt.Errorf("buckets %s: exported without bucket and hit labels", m.Name)
		}
		families[f] = m
	}
	return nil
}

func validLayout(l Layout, own map[string]Measure) error {
	ref := func(what, name string, kinds ...Kind) error {
		m, ok := own[name]
		if !ok {
			return fmt.Errorf("%s names unknown measure %q", what, name)
		}
		if len(kinds) > 0 && !slices.Contains(kinds, m.Kind) {
			return fmt.Errorf("%s: measure %q has the wrong kind", what, name)
		}
		return nil
	}
	for _, f := range l.Fields {
		if f.Key == "" {
			return fmt.Errorf("field of %q without a key", f.Measure)
		}
		if err := ref("field "+f.Key, f.Measure); err != nil {
			return err
		}
	}
	for _, c := range append(slices.Clone(l.Columns), l.Table...) {
		if c.Name == "" {
			return fmt.Errorf("column of %q without a name", c.Measure)
		}
		for _, k := range columnKinds(c) {
			if err := ref("column "+c.Name, c.OpMeasure(k), KindCounter, KindRatio, KindHistogram, KindVerdict); err != nil {
				return err
			}
		}
	}
	for _, s := range l.Sections {
		if err := ref("section "+s.Title, s.Measure, KindVerdict); err != nil {
			return err
		}
	}
	return nil
}

// List returns the registered checks in order (a new slice).
func (c *Checks) List() []Check { return slices.Clone(c.list) }

// Measures returns every registered measure, in order (a new slice);
// Value slices of Results are indexed alike.
func (c *Checks) Measures() []Measure { return slices.Clone(c.measures) }

// Layout returns the checks' layouts merged in registration order.
func (c *Checks) Layout() Layout { return c.layout }

// Measure returns the measure named name and its index.
func (c *Checks) Measure(name string) (Measure, int, bool) {
	i, ok := c.byName[name]
	if !ok {
		return Measure{}, 0, false
	}
	return c.measures[i], i, true
}

// Index returns the index of the measure named name.
func (c *Checks) Index(name string) (int, bool) {
	i, ok := c.byName[name]
	return i, ok
}

// columnKinds returns the op kinds whose measures column c names: every
// kind for a PerOp column, one (any) otherwise.
func columnKinds(c Column) []op.Kind {
	if c.PerOp {
		return op.Kinds()
	}
	return []op.Kind{c.Op}
}
