// Package checkers verifies what a consistency level buys: it keeps the full
// operation history of a small sample of keys and checks it for
// linearizability with porcupine (DESIGN.md, "Linearizability").
//
// The runner records every completed operation on a sampled key with
// [History.Record] from its worker goroutines; at the end of the run
// [History.Check] returns one [Verdict] per (scenario, phase): linearizable,
// not linearizable (with porcupine's HTML visualization), or unknown.
//
// # Model
//
// Each sampled key is a read/write register whose values are write sequence
// numbers (workloads.Header.Seq: unique per key, 0 = the initial load or "not
// found"). The checks are partitioned by key, which is exact for registers.
// For scenario s and phase p, the history of key k is
//
//   - every write to k recorded in phase p, from any scenario (in side-by-side
//     mode all scenarios share the database);
//   - every write to k, from any phase, whose value a kept read of (s, p)
//     returned (so a read at a phase boundary that sees a write recorded in
//     the neighbouring phase is not mistaken for a read of a value never
//     written);
//   - the seed: the last write to k acknowledged before the first kept read of
//     (s, p) was invoked, from any phase, so that a stale read at the very
//     start of a phase is caught;
//   - the successful reads of scenario s in phase p from workers whose index
//     is below Options.MaxClients.
//
// Every history checked is therefore a subset of the real history that
// contains the write of every value its reads returned. The restriction of a
// linearization of the real history to such a subset is a linearization of
// the subset, so a violation found in a subset is a violation of the real
// history: the checker never invents one. The requirement is that every
// write to a sampled key is recorded (a probe or loader that writes sampled
// keys without recording them makes reads of its values look unjustified).
//
// The register's value before the first linearized write is not known (the
// keyspace was loaded before the run, and the value may have been left by an
// earlier run): the initial state is "unknown", which accepts as its value the
// first read of a value that no write in the history produced, and then
// behaves as a normal register. A read of a value that a write in the history
// produced is never accepted before that write. This can hide a violation
// only in reads that linearize before every write of the history — with the
// seed write present, only reads concurrent with the seed — never invent one.
//
// # Failed operations
//
// A failed read is dropped: it returned nothing. A failed or timed-out write
// is indeterminate: it may or may not have taken effect, so its return time
// is +∞. Two exact reductions keep such writes cheap to check: an
// indeterminate write whose value no read in the history returned is left
// out (a history with it pending is linearizable iff the history without it
// is: it can be linearized last, or it is overwritten before any read), and
// one whose value was read (and that no other write shares) gets as its
// return time the earliest return of a read of its value (it must linearize
// before that read anyway). A write reported as Failed is treated as
// indeterminate too: a client error never proves that a write did not happen.
//
// # Bounds
//
// porcupine's cost is exponential in the number of operations concurrent on
// one key, not in the history length, so only the reads of the first
// MaxClients workers of each scenario are kept. Memory is bounded by MaxOps
// per (key, phase): operations beyond it are not kept. A key whose history
// was truncated can no longer prove linearizability: in the truncated phase
// it is not checked at all, and in the key's other phases (whose seed write
// or observed writes may be among the dropped ones) it can still disprove
// linearizability but not prove it. Such a phase's verdict is therefore at
// best unknown (null); a violation found on any key still makes it false.
package checkers

import (
	"slices"
	"sync"
)

// DefaultMaxClients is Options.MaxClients when it is zero or negative.
const DefaultMaxClients = 3

// DefaultMaxOps is Options.MaxOps when it is zero or negative. At about 40
// bytes per kept operation it bounds memory to ~400 KB per (key, phase).
const DefaultMaxOps = 10000

// Options configures a History. The zero value of each bound selects its
// default.
type Options struct {
	// Keys are the sampled key indexes (workload record indexes) whose full
	// history is kept. Duplicates are ignored.
	Keys []uint64
	// Scenarios and Phases name the scenario and phase indexes used in
	// Event.Scenario and Event.Phase (index i is named Scenarios[i]); they
	// size the history and label the visualization. Events whose indexes are
	// out of range are ignored.
	Scenarios []string
	Phases    []string
	// MaxClients keeps reads only from sessions whose worker index is below
	// it (default DefaultMaxClients): porcupine's cost is exponential in
	// per-key concurrency. Writes are always kept.
	MaxClients int
	// MaxOps bounds the operations kept per (key, phase), all scenarios
	// together (default DefaultMaxOps). Operations beyond it are dropped and
	// the verdict of that phase becomes unknown unless a violation is found
	// on another key. Memory never grows with run length.
	MaxOps int
}

// Outcome is how a recorded operation ended.
type Outcome uint8

// Outcomes of a recorded operation.
const (
	// OK: the operation completed successfully.
	OK Outcome = iota
	// Indeterminate: a write failed or timed out; it may or may not have
	// taken effect (its return time is +∞).
	Indeterminate
	// Failed: the operation failed. A failed read is dropped; a failed write
	// is treated as Indeterminate.
	Failed
)

// String returns "ok", "indeterminate" or "failed".
func (o Outcome) String() string {
	switch o {
	case OK:
		return "ok"
	case Indeterminate:
		return "indeterminate"
	case Failed:
		return "failed"
	}
	return "outcome(?)"
}

// Event is one completed operation on a sampled key. Times are nanoseconds
// on the run clock (one monotonic clock per process).
type Event struct {
	// Scenario and Phase index Options.Scenarios and Options.Phases.
	Scenario, Phase int
	// Client is the session id (unique per worker across the run).
	Client int
	// Worker is the worker index within its scenario (compared with
	// Options.MaxClients).
	Worker int
	// Key is the key's record index.
	Key uint64
	// Write is true for a write (Seq is the written value's seq) and false
	// for a read (Seq is the seq read; 0 = initial load or not found).
	Write bool
	Seq   uint64
	// CallNs and ReturnNs are the invocation and completion times (closed
	// interval). A ReturnNs before CallNs is taken as CallNs.
	CallNs, ReturnNs int64
	// Outcome is how the operation ended.
	Outcome Outcome
}

// rec is the compact form of a kept Event (~40 bytes).
type rec struct {
	call, ret int64
	seq       uint64
	client    int32
	scenario  int32 // the writer's scenario, for writes; the reader's for reads
	worker    int32
	indet     bool // writes only: may or may not have taken effect
}

// keyLog is the kept history of one sampled key.
type keyLog struct {
	mu        sync.Mutex
	writes    [][]rec // [phase]
	reads     [][]rec // [scenario*phases + phase]
	kept      []int   // [phase]: ops kept, all scenarios
	truncated []bool  // [phase]: an op was dropped by MaxOps
}

// History keeps the full operation history of the sampled keys. Sampled and
// Record are safe for concurrent use by any number of goroutines; Check may
// run concurrently with Record and checks what was recorded before it
// started.
type History struct {
	opts  Options
	index map[uint64]int // sampled key → position in logs
	logs  []*keyLog
}

// NewHistory returns an empty history for o (see Options for defaults).
func NewHistory(o Options) *History {
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	if o.MaxOps <= 0 {
		o.MaxOps = DefaultMaxOps
	}
	keys := slices.Clone(o.Keys)
	slices.Sort(keys)
	keys = slices.Compact(keys)
	o.Keys = keys
	o.Scenarios = slices.Clone(o.Scenarios)
	o.Phases = slices.Clone(o.Phases)
	h := &History{opts: o, index: make(map[uint64]int, len(keys)), logs: make([]*keyLog, len(keys))}
	ns, np := len(o.Scenarios), len(o.Phases)
	for i, k := range keys {
		h.index[k] = i
		h.logs[i] = &keyLog{
			writes:    make([][]rec, np),
			reads:     make([][]rec, ns*np),
			kept:      make([]int, np),
			truncated: make([]bool, np),
		}
	}
	return h
}

// Options returns the options in effect (defaults applied, keys sorted and
// deduplicated). The caller must not modify the returned slices.
func (h *History) Options() Options { return h.opts }

// Sampled reports whether key's history is kept. It is the runner's hot-path
// filter: one map lookup, no allocation, safe for concurrent use.
func (h *History) Sampled(key uint64) bool {
	_, ok := h.index[key]
	return ok
}

// Record keeps one completed operation on a sampled key; operations on other
// keys, with out-of-range scenario or phase, failed reads and reads from
// workers at or above MaxClients are ignored. Safe for concurrent use (one
// mutex per key); it allocates only when a per-phase slice grows.
func (h *History) Record(e Event) {
	i, ok := h.index[e.Key]
	if !ok {
		return
	}
	ns, np := len(h.opts.Scenarios), len(h.opts.Phases)
	if e.Scenario < 0 || e.Scenario >= ns || e.Phase < 0 || e.Phase >= np {
		return
	}
	if !e.Write && (e.Outcome != OK || e.Worker >= h.opts.MaxClients) {
		return
	}
	r := rec{
		call:     e.CallNs,
		ret:      max(e.ReturnNs, e.CallNs),
		seq:      e.Seq,
		client:   int32(e.Client),
		scenario: int32(e.Scenario),
		worker:   int32(e.Worker),
		indet:    e.Write && e.Outcome != OK,
	}
	l := h.logs[i]
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kept[e.Phase] >= h.opts.MaxOps {
		l.truncated[e.Phase] = true
		return
	}
	l.kept[e.Phase]++
	if e.Write {
		l.writes[e.Phase] = append(l.writes[e.Phase], r)
	} else {
		j := e.Scenario*np + e.Phase
		l.reads[j] = append(l.reads[j], r)
	}
}

// keySnapshot is a consistent copy of one keyLog taken by Check.
type keySnapshot struct {
	key       uint64
	writes    []rec            // every phase, in phase order
	phaseOf   []int            // phase of writes[i]
	bySeq     map[uint64][]int // seq → indexes into writes
	reads     [][]rec          // [scenario*phases + phase]
	truncated []bool           // [phase]
	anyTrunc  bool
}

// snapshot copies every key's log under its mutex.
func (h *History) snapshot() []keySnapshot {
	out := make([]keySnapshot, len(h.logs))
	for i, l := range h.logs {
		s := keySnapshot{key: h.opts.Keys[i], bySeq: make(map[uint64][]int)}
		l.mu.Lock()
		for p, ws := range l.writes {
			for _, w := range ws {
				s.bySeq[w.seq] = append(s.bySeq[w.seq], len(s.writes))
				s.writes = append(s.writes, w)
				s.phaseOf = append(s.phaseOf, p)
			}
		}
		s.reads = make([][]rec, len(l.reads))
		for j, rs := range l.reads {
			s.reads[j] = slices.Clone(rs)
		}
		s.truncated = slices.Clone(l.truncated)
		l.mu.Unlock()
		s.anyTrunc = slices.Contains(s.truncated, true)
		out[i] = s
	}
	return out
}
