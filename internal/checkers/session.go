package checkers

import (
	"math/bits"

	"github.com/pacbench/pacbench/metrics"
)

// Session guarantee defaults.
const (
	// DefaultSessionKeys caps one session's table (slots of 24 bytes).
	DefaultSessionKeys = 1 << 14
	// DefaultSessionSlots is the budget of table slots shared by all the
	// sessions of a run (24 MiB at most), so that memory does not grow with
	// the worker count: each session may use SessionSlots/sessions slots
	// (at least minSessionSlots).
	DefaultSessionSlots = 1 << 20
	// minSessionSlots is the least a session's table may hold.
	minSessionSlots = 64
	// directBudget is the memory (bytes, all sessions together) below
	// which every session's table indexes keys directly (no hashing): the
	// fastest, and small for the keyspaces and worker counts of most runs.
	directBudget = 4 << 20
)

// Session is the session-guarantee check (DESIGN.md, "Session
// guarantees"): per client session, a read-your-writes violation when a
// read returns a seq below the session's own last acked write to the key,
// a monotonic-reads violation when it returns a seq below the highest the
// session already read of the key.
type Session struct {
	keysPerSession int
	direct         func(keys int) bool // whether a session of keys keys indexes directly
}

// Session measure names.
const (
	SessionRYW       = "session.ryw"
	SessionMonotonic = "session.monotonic_read"
	SessionEvictions = "session.evictions"
)

// NewSession returns the check. Each session's table grows with the keys
// it touches up to min(keys, perSession) slots, perSession =
// clamp(budget/sessions, 64, maxPerSession) (zero values: the defaults);
// beyond it a key evicts another, which can hide a violation, never invent
// one (evictions are counted).
func NewSession(maxPerSession, budget, sessions int) *Session {
	if maxPerSession <= 0 {
		maxPerSession = DefaultSessionKeys
	}
	if budget <= 0 {
		budget = DefaultSessionSlots
	}
	per := maxPerSession
	if sessions > 0 {
		per = min(per, max(budget/sessions, minSessionSlots))
	}
	direct := func(keys int) bool {
		return keys <= per && keys*max(sessions, 1)*int(slotBytes) <= directBudget
	}
	return &Session{keysPerSession: per, direct: direct}
}

// slotBytes is the size of a session-table slot in bytes.
const slotBytes = 24

// Name implements metrics.Check.
func (*Session) Name() string { return "session" }

// Measures implements metrics.Check.
func (*Session) Measures() []metrics.Measure {
	fam := metrics.Metric{Name: "pacbench_session_violations_total",
		Help: "Session guarantee violations, by kind (ryw: read-your-writes, monotonic_read)."}
	ryw, mono := fam, fam
	ryw.Labels = []metrics.Label{{Name: "kind", Value: "ryw"}}
	mono.Labels = []metrics.Label{{Name: "kind", Value: "monotonic_read"}}
	return []metrics.Measure{
		{Name: SessionRYW, Kind: metrics.KindCounter, Metric: ryw,
			Help: "Reads that returned a seq below the session's own last acked write to the key."},
		{Name: SessionMonotonic, Kind: metrics.KindCounter, Metric: mono,
			Help: "Reads that returned a seq below the highest the session had already read of the key."},
		{Name: SessionEvictions, Kind: metrics.KindCounter,
			Help: "Session-table slots reused for another key (each may hide, never invent, a violation)."},
	}
}

// Layout implements metrics.Check.
func (*Session) Layout() metrics.Layout {
	return metrics.Layout{
		Fields: []metrics.Field{
			{Scope: metrics.ScopePhase, Group: "session", Key: "ryw_violations", Measure: SessionRYW},
			{Scope: metrics.ScopePhase, Group: "session", Key: "monotonic_read_violations", Measure: SessionMonotonic},
		},
		Columns: []metrics.Column{
			{Name: "ryw_violations", Scope: metrics.ScopePhase, Measure: SessionRYW},
			{Name: "monotonic_read_violations", Scope: metrics.ScopePhase, Measure: SessionMonotonic},
		},
	}
}

// NewWorker implements metrics.Check.
func (s *Session) NewWorker(info metrics.WorkerInfo) metrics.CheckWorker {
	t := newSessionTable(info.Keys, s.keysPerSession)
	if s.direct(info.Keys) {
		t.direct = true
		t.slots = make([]sessSlot, t.keys)
	}
	return &sessionWorker{t: t}
}

// Measure indexes within Session.Measures.
const (
	mRYW = iota
	mMonotonic
	mEvictions
)

type sessionWorker struct{ t sessionTable }

func (w *sessionWorker) Read(ev *metrics.Read, t metrics.Tally) {
	if !ev.Checked() {
		return
	}
	ryw, mono, evicted := w.t.read(ev.Key, ev.Seq)
	if ryw {
		t.Add(mRYW, 1)
	}
	if mono {
		t.Add(mMonotonic, 1)
	}
	if evicted {
		t.Add(mEvictions, 1)
	}
}

func (w *sessionWorker) Write(ev *metrics.Write, t metrics.Tally) {
	if ev.Outcome != metrics.Acked {
		return
	}
	if w.t.wrote(ev.Key, ev.Seq) {
		t.Add(mEvictions, 1)
	}
}

// sessionTable is one session's per-key memory for the session guarantees:
// its own last acked write and the highest seq it has read. It belongs to
// one worker goroutine (no locking). It is an open-addressing hash table
// (linear probing) that starts small and doubles while at most half full,
// up to its cap; at the cap a new key replaces the entry at its home slot
// (evicted: losing that state can only hide a violation, never invent one).
type sessionTable struct {
	slots  []sessSlot // nil until first use
	direct bool       // slots[key] (one per tracked key; never evicts)
	shift  uint8      // 64 − log2(len(slots)), for Fibonacci hashing
	used   int
	limit  int    // cap on len(slots), a power of two
	keys   uint64 // tracked keys: [0, keys)
}

type sessSlot struct {
	key1    uint64 // key + 1; 0 = empty
	own     uint64 // this session's last acked write seq (0 = none)
	maxRead uint64 // highest seq this session has read
}

// initialSessionSlots is a table's first size.
const initialSessionSlots = 8

func newSessionTable(keys, capacity int) sessionTable {
	// Room for every tracked key at load ≤ ½, within the cap.
	need := max(2*max(keys, 1), initialSessionSlots)
	limit := 1 << bits.Len(uint(min(need, max(capacity, 1))-1))
	return sessionTable{limit: limit, keys: uint64(max(keys, 0))}
}

func (t *sessionTable) home(key uint64) int {
	return int((key * 0x9E3779B97F4A7C15) >> t.shift)
}

// alloc sizes the table to n slots (a power of two).
func (t *sessionTable) alloc(n int) {
	t.slots = make([]sessSlot, n)
	t.shift = uint8(64 - bits.TrailingZeros(uint(n)))
}

// slot returns key's slot, or nil for an untracked key; evicted reports
// that another key's state was dropped to make room.
func (t *sessionTable) slot(key uint64) (s *sessSlot, evicted bool) {
	if key >= t.keys {
		return nil, false
	}
	if t.direct {
		return &t.slots[key], false
	}
	if t.slots == nil {
		t.alloc(min(initialSessionSlots, t.limit))
	}
	if s := &t.slots[t.home(key)]; s.key1 == key+1 {
		return s, false // the common case: the key sits at its home slot
	}
	for {
		i, found := t.find(key)
		if found {
			return &t.slots[i], false
		}
		if i >= 0 && t.used < t.maxUsed() {
			t.used++
			t.slots[i] = sessSlot{key1: key + 1}
			return &t.slots[i], false
		}
		if len(t.slots) < t.limit {
			t.grow()
			continue
		}
		// At the cap: take over the key's home slot (it stays occupied, so
		// no other key's probe chain breaks).
		s = &t.slots[t.home(key)]
		*s = sessSlot{key1: key + 1}
		return s, true
	}
}

// maxUsed is the occupancy that triggers growth (½) or, at the cap,
// eviction (¾).
func (t *sessionTable) maxUsed() int {
	if len(t.slots) < t.limit {
		return len(t.slots) / 2
	}
	return len(t.slots) * 3 / 4
}

// find probes from key's home slot: the key's index and true, or the first
// empty slot's index (-1 if none) and false.
func (t *sessionTable) find(key uint64) (int, bool) {
	mask := len(t.slots) - 1
	i := t.home(key)
	for range len(t.slots) {
		switch t.slots[i].key1 {
		case key + 1:
			return i, true
		case 0:
			return i, false
		}
		i = (i + 1) & mask
	}
	return -1, false
}

// grow doubles the table and reinserts every entry.
func (t *sessionTable) grow() {
	old := t.slots
	t.alloc(2 * len(old))
	mask := len(t.slots) - 1
	for _, e := range old {
		if e.key1 == 0 {
			continue
		}
		i := t.home(e.key1 - 1)
		for t.slots[i].key1 != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = e
	}
}

// wrote records the session's own acked write of seq to key.
func (t *sessionTable) wrote(key, seq uint64) (evicted bool) {
	var s *sessSlot
	if t.direct && key < uint64(len(t.slots)) { // the common case, inline
		s = &t.slots[key]
	} else if s, evicted = t.slot(key); s == nil {
		return evicted
	}
	if seq > s.own {
		s.own = seq
	}
	return evicted
}

// read checks a read of key that returned seq against the session's
// memory and remembers it.
func (t *sessionTable) read(key, seq uint64) (ryw, monotonic, evicted bool) {
	var s *sessSlot
	if t.direct && key < uint64(len(t.slots)) { // the common case, inline
		s = &t.slots[key]
	} else if s, evicted = t.slot(key); s == nil {
		return false, false, evicted
	}
	ryw = seq < s.own
	monotonic = seq < s.maxRead
	if seq > s.maxRead {
		s.maxRead = seq
	}
	return ryw, monotonic, evicted
}
