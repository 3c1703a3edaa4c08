package metrics

import (
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// DefaultRingSize is the default number of recent acked writes the oracle
// keeps per key.
const DefaultRingSize = 16

// unlockedStripes is the number of writer mutexes shared by untracked keys.
const unlockedStripes = 64

// Staleness is the oracle's verdict on one read (DESIGN.md, "Staleness").
// With c the newest seq of the key acked before the read was invoked:
type Staleness struct {
	// Tracked reports whether the read was checked. It is false for keys
	// outside [0, Keys), keys with no acked write or load yet, reads whose
	// value carries another key's header, and reads invoked so long ago that
	// every write the oracle still remembers was acked after them (c has
	// been forgotten).
	Tracked bool
	// Stale reports whether the read returned a seq below c.
	Stale bool
	// LowerBound reports that BehindNs is only a lower bound: the first
	// acked seq above the returned one has left the oracle's history, so the
	// oldest acked entry still remembered was used.
	LowerBound bool
	// Versions is the version staleness c − seq (0 when fresh). Failed
	// (indeterminate) writes between the two count, as they may have happened.
	Versions uint64
	// BehindNs is the time staleness of a stale read: its invocation time
	// minus the ack time of the first acked seq above the one it returned
	// (failed writes are skipped); 0 when fresh.
	BehindNs int64
	// SinceAckNs is the time between c's ack and the read's invocation
	// (t-visibility's t); -1 if no c.
	SinceAckNs int64
	// Current is c (meaningful when SinceAckNs ≥ 0).
	Current uint64
}

// Oracle knows, per key, the recent history of acked writes and answers
// whether a read was stale. One Oracle is shared by all workers of one
// database (all scenarios of a side-by-side run share it). All methods are
// goroutine-safe; Check is lock-free and never blocks on a writer for long.
//
// Keys in [0, Keys) are tracked. For each, the oracle keeps a ring of the
// last RingSize acked writes (seq, invoke, ack) in seq order plus the newest
// write evicted from it: that is its whole memory of the key, so memory is
// O(keys × RingSize) and never grows with run length: 24 bytes per key, plus
// about 24×RingSize+100 bytes per key written since the load.
type Oracle struct {
	keys     []keyState
	ringSize uint64 // power of two
	stripes  [unlockedStripes]sync.Mutex
	// loaded is the shared, never-written ring of every key whose only
	// history is the initial load, so cold keys cost no ring.
	loaded *ring
}

type keyState struct {
	mu     sync.Mutex           // writer lock held by the runner around a write
	issued atomic.Uint64        // highest seq handed out, acked or failed
	ring   atomic.Pointer[ring] // nil until the first ack or load
	// settled: reads invoked before it are not judged (Overlap, Settle);
	// 0 for a key whose writes never overlapped.
	settled atomic.Int64
}

// ring is a seqlock-protected circular buffer of acked writes in seq order.
// Writers (Acked, Loaded) take the seqlock by moving ver from even to odd;
// readers retry when ver changed under them. Every field is atomic so the
// race detector sees no data race.
type ring struct {
	ver   atomic.Uint64
	n     atomic.Uint64 // entries ever appended
	floor entry         // newest entry evicted from e (valid when n > len(e))
	e     []entry
	mask  uint64
}

type entry struct {
	seq    atomic.Uint64
	invoke atomic.Int64
	ack    atomic.Int64
}

// newOracle returns an oracle tracking keys [0, keys) with rings of
// ringSize entries (rounded up to a power of two; ≤ 0 means DefaultRingSize).
func newOracle(keys, ringSize int) *Oracle {
	if ringSize <= 0 {
		ringSize = DefaultRingSize
	}
	if keys < 0 {
		keys = 0
	}
	size := uint64(1) << bits.Len64(uint64(ringSize-1))
	loaded := newRing(1)
	loaded.append(0, 0, 0)
	return &Oracle{keys: make([]keyState, keys), ringSize: size, loaded: loaded}
}

// Keys returns the number of tracked keys.
func (o *Oracle) Keys() int { return len(o.keys) }

// RingSize returns the per-key history length actually used (a power of two).
func (o *Oracle) RingSize() int { return int(o.ringSize) }

func (o *Oracle) state(key uint64) *keyState {
	if key < uint64(len(o.keys)) {
		return &o.keys[key]
	}
	return nil
}

// Lock takes key's writer mutex. The runner holds it around each write
// (NextSeq … write … Acked/Failed) so writes to a key never overlap and seq
// is the key's true version order. Untracked keys share striped mutexes.
func (o *Oracle) Lock(key uint64) {
	if k := o.state(key); k != nil {
		k.mu.Lock()
		return
	}
	o.stripes[key%unlockedStripes].Lock()
}

// Unlock releases the mutex taken by Lock.
func (o *Oracle) Unlock(key uint64) {
	if k := o.state(key); k != nil {
		k.mu.Unlock()
		return
	}
	o.stripes[key%unlockedStripes].Unlock()
}

// NextSeq returns the seq for the next write of key: 1 + the highest seq
// handed out, acked or failed so far (1 for a key never written; the
// initial load is seq 0). Each call reserves its seq, so a write that is
// never reported as Acked or Failed leaves a harmless gap. The caller holds
// Lock(key). Untracked keys always get 0.
func (o *Oracle) NextSeq(key uint64) uint64 {
	k := o.state(key)
	if k == nil {
		return 0
	}
	return k.issued.Add(1)
}

// raiseIssued makes issued ≥ seq.
func (k *keyState) raiseIssued(seq uint64) {
	for {
		cur := k.issued.Load()
		if cur >= seq || k.issued.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// Acked records that the write of seq to key, invoked at invokeNs, was
// acknowledged at ackNs (run-clock ns). Acks must arrive in seq order (they
// do when writes to a key never overlap); an ack whose seq is not above the
// newest one recorded is ignored. The first ack of a key allocates its ring.
func (o *Oracle) Acked(key, seq uint64, invokeNs, ackNs int64) {
	k := o.state(key)
	if k == nil {
		return
	}
	k.raiseIssued(seq)
	for {
		r := k.ring.Load()
		if r != nil && r != o.loaded {
			r.append(seq, invokeNs, ackNs)
			return
		}
		if r == o.loaded && seq == 0 {
			return // already loaded
		}
		// First ack of the key: give it its own ring, seeded with the
		// initial load if it had one.
		nr := newRing(o.ringSize)
		if r == o.loaded {
			nr.append(0, 0, 0)
		}
		nr.append(seq, invokeNs, ackNs)
		if k.ring.CompareAndSwap(r, nr) {
			return
		}
	}
}

// Overlap records that a write of key may overlap other writes of it
// (split-brain writers): seq order is no longer real-time order, so reads
// of key are not judged (untracked) until Settle.
func (o *Oracle) Overlap(key uint64) {
	if k := o.state(key); k != nil {
		k.settled.Store(math.MaxInt64)
	}
}

// Settle records that a write of key that overlapped no other write (it
// was invoked after every earlier write of key had returned) was acked at
// ackNs: reads invoked from then on are judged again, against it.
func (o *Oracle) Settle(key uint64, ackNs int64) {
	if k := o.state(key); k != nil {
		k.settled.CompareAndSwap(math.MaxInt64, ackNs)
	}
}

// Failed records that the write of seq to key, invoked at invokeNs, ended
// without a verdict (timeout, unavailable…): it may or may not have
// happened. It never counts as acked: reads returning it are fresh, and the
// time staleness of older reads is measured to the next acked write.
func (o *Oracle) Failed(key, seq uint64, invokeNs int64) {
	if k := o.state(key); k != nil {
		k.raiseIssued(seq)
	}
}

// Loaded records the initial load of key: seq 0, acked at t=0. A key whose
// only history is its load shares one immutable ring with all such keys.
func (o *Oracle) Loaded(key uint64) {
	if k := o.state(key); k != nil && !k.ring.CompareAndSwap(nil, o.loaded) {
		o.Acked(key, 0, 0, 0)
	}
}

// Check returns the staleness of a read of key invoked at invokeNs that
// returned readSeq (0 for a key that had no value). See Staleness.
func (o *Oracle) Check(key, readSeq uint64, invokeNs int64) Staleness {
	var st Staleness
	o.checkInto(key, readSeq, invokeNs, &st)
	return st
}

// checkInto is Check writing the verdict into *st.
func (o *Oracle) checkInto(key, readSeq uint64, invokeNs int64, st *Staleness) {
	k := o.state(key)
	if k == nil {
		*st = Staleness{SinceAckNs: -1}
		return
	}
	r := k.ring.Load()
	if r == nil || invokeNs < k.settled.Load() {
		*st = Staleness{SinceAckNs: -1}
		return
	}
	for spins := 0; ; spins++ {
		v := r.ver.Load()
		if v&1 == 0 {
			r.check(readSeq, invokeNs, st)
			if r.ver.Load() == v {
				return
			}
		}
		if spins&15 == 15 {
			runtime.Gosched() // a writer was preempted inside its section
		}
	}
}

func newRing(size uint64) *ring {
	return &ring{e: make([]entry, size), mask: size - 1}
}

// append adds an acked write; see Oracle.Acked.
func (r *ring) append(seq uint64, invokeNs, ackNs int64) {
	for spins := 0; ; spins++ {
		v := r.ver.Load()
		if v&1 == 0 && r.ver.CompareAndSwap(v, v+1) {
			break
		}
		if spins&15 == 15 {
			runtime.Gosched()
		}
	}
	defer r.ver.Add(1)
	n := r.n.Load()
	if n > 0 && seq <= r.e[(n-1)&r.mask].seq.Load() {
		return
	}
	slot := &r.e[n&r.mask]
	if n > r.mask {
		r.floor.set(slot)
	}
	slot.seq.Store(seq)
	slot.invoke.Store(invokeNs)
	slot.ack.Store(ackNs)
	r.n.Store(n + 1)
}

func (e *entry) set(from *entry) {
	e.seq.Store(from.seq.Load())
	e.invoke.Store(from.invoke.Load())
	e.ack.Store(from.ack.Load())
}

// check computes the verdict from one (possibly torn) view of the ring; the
// caller discards it if the seqlock version moved.
func (r *ring) check(readSeq uint64, t int64, st *Staleness) {
	n := r.n.Load()
	held := min(n, r.mask+1)
	evicted := n > r.mask+1
	*st = Staleness{SinceAckNs: -1}

	// c: newest entry acked strictly before t (writes still in flight at t,
	// or acked at/after t, do not count).
	j := uint64(0)
	var c *entry
	for ; j < held; j++ {
		e := &r.e[(n-1-j)&r.mask]
		if e.ack.Load() < t {
			c = e
			break
		}
	}
	if c == nil {
		switch {
		case !evicted:
			// Nothing was acked before the read: it cannot be stale.
			st.Tracked = true
			return
		case r.floor.ack.Load() < t:
			c = &r.floor
		default:
			return // c is older than everything remembered
		}
	}
	cSeq, cAck := c.seq.Load(), c.ack.Load()
	st.Tracked, st.Current, st.SinceAckNs = true, cSeq, t-cAck
	if readSeq >= cSeq {
		return
	}
	st.Stale, st.Versions = true, cSeq-readSeq

	// First acked seq above readSeq: walk older from c while seq > readSeq.
	first, exact := c, true
	if c == &r.floor {
		exact = false // older acked writes were forgotten
	} else {
		for j++; j < held; j++ {
			e := &r.e[(n-1-j)&r.mask]
			if e.seq.Load() <= readSeq {
				break
			}
			first = e
		}
		if j == held && evicted && r.floor.seq.Load() > readSeq {
			// Ran off the ring with the floor still above readSeq.
			first, exact = &r.floor, false
		}
	}
	// Forgotten acked writes between readSeq and first were acked no later
	// than first, so t − ack(first) is a lower bound — exact if first is
	// readSeq+1.
	st.LowerBound = !exact && first.seq.Load() > readSeq+1
	st.BehindNs = t - first.ack.Load()
}
