package metrics

import "math/bits"

// DefaultSessionKeys is the default per-worker session table capacity.
const DefaultSessionKeys = 1 << 14

// sessionTable is one session's per-key memory for the session guarantees:
// its own last acked write and the highest seq it has read. It belongs to
// one worker goroutine (no locking). When Keys fits in the table, keys index
// it directly and nothing is ever forgotten; otherwise keys hash into a
// fixed table and a colliding key evicts the previous one (losing its
// state can only hide a violation, never invent one).
type sessionTable struct {
	slots  []sessSlot // allocated on first use
	size   int        // power of two
	shift  uint8      // 64 − log2(size), for Fibonacci hashing
	direct bool       // keys < size: identity index
	keys   uint64     // tracked keys: [0, keys)
}

type sessSlot struct {
	key1    uint64 // key + 1; 0 = empty
	own     uint64 // this session's last acked write seq (0 = none)
	maxRead uint64 // highest seq this session has read
}

func newSessionTable(keys, capacity int) sessionTable {
	if capacity <= 0 {
		capacity = DefaultSessionKeys
	}
	n := max(min(keys, capacity), 1)
	size := 1 << bits.Len(uint(n-1))
	return sessionTable{
		size:   size,
		shift:  uint8(64 - bits.TrailingZeros(uint(size))),
		direct: keys <= size,
		keys:   uint64(max(keys, 0)),
	}
}

// slot returns key's slot, or nil for an untracked key; evicted reports
// that another key's state was dropped to make room.
func (t *sessionTable) slot(key uint64) (s *sessSlot, evicted bool) {
	if key >= t.keys {
		return nil, false
	}
	if t.slots == nil {
		t.slots = make([]sessSlot, t.size)
	}
	idx := key
	if !t.direct {
		idx = (key * 0x9E3779B97F4A7C15) >> t.shift
	}
	s = &t.slots[idx&uint64(t.size-1)]
	if s.key1 != key+1 {
		evicted = s.key1 != 0
		*s = sessSlot{key1: key + 1}
	}
	return s, evicted
}

// wrote records the session's own acked write of seq to key.
func (t *sessionTable) wrote(key, seq uint64) (evicted bool) {
	s, evicted := t.slot(key)
	if s != nil && seq > s.own {
		s.own = seq
	}
	return evicted
}

// read checks a read of key that returned seq against the session's
// memory and remembers it.
func (t *sessionTable) read(key, seq uint64) (ryw, monotonic, evicted bool) {
	s, evicted := t.slot(key)
	if s == nil {
		return false, false, evicted
	}
	ryw = seq < s.own
	monotonic = seq < s.maxRead
	if seq > s.maxRead {
		s.maxRead = seq
	}
	return ryw, monotonic, evicted
}
