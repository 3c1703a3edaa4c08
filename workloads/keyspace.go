package workloads

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pacbench/pacbench/op"
)

// Key names: KeyPrefix followed by the record index zero-padded to
// KeyDigits digits, so lexical order is numeric order (scans by key range
// see consecutive indexes).
const (
	KeyPrefix = "pb"
	KeyDigits = 12
	KeyLen    = len(KeyPrefix) + KeyDigits // bytes in every key name (14)
)

// Keyspace is the set of keys of one run: the Records loaded before it and
// the inserts made during it. One Keyspace is shared by all workers of a run
// (and by every generator built on it); all methods are safe for concurrent
// use. Limit, Key and InsertsExhausted are lock-free.
type Keyspace struct {
	records, capacity uint64
	shard             Shard  // the key slice (zero: all keys)
	names             string // capacity key names of KeyLen bytes, back to back

	reserved atomic.Uint64 // next index NextInsert hands out
	limit    atomic.Uint64 // keys [0, limit) exist: the contiguous acked prefix
	refused  atomic.Uint64 // NextInsert calls refused for lack of headroom

	mu    sync.Mutex
	acked []bool // acked[i-records]: insert i acknowledged; guarded by mu

	// Immutable after NewKeyspace: derived constants the generators share.
	zipfItems uint64      // modulus the scrambled zipfian hashes ranks onto
	zetas     []zetaEntry // precomputed ζ(n, θ) values
}

type zetaEntry struct {
	n     uint64
	theta float64
	zeta  float64
}

// NewKeyspace returns the keyspace of s: keys 0…Records-1 exist, and up to
// InsertHeadroom inserts can be reserved. It precomputes every key name
// (KeyLen bytes each) and the zeta constants the generators of s need. It
// panics if s is invalid (s.Validate() not empty): build s with FromProfile
// or WithDefaults.
func NewKeyspace(s Spec) *Keyspace {
	if errs := s.Validate(); len(errs) > 0 {
		panic(fmt.Sprintf("workloads.NewKeyspace: invalid spec: %v", errs[0]))
	}
	k := &Keyspace{
		records:  uint64(s.Records),
		capacity: uint64(s.Capacity()),
		shard:    s.Shard,
		acked:    make([]bool, s.InsertHeadroom),
	}
	// YCSB sizes the scrambled zipfian's key space as the records plus
	// twice the expected inserts of an op-count-bounded run; pacbench runs
	// are time-bounded, so it allows for the record count to double. Keys
	// inserted beyond that are written but never chosen by zipfian.
	k.zipfItems = k.records + min(uint64(s.InsertHeadroom), k.records)
	k.reserved.Store(k.records)
	k.limit.Store(k.records)
	k.names = buildNames(k.capacity, s.Shard)
	switch s.Distribution {
	case Zipfian:
		k.zetas = append(k.zetas, zetaEntry{scrambledItems, s.ZipfianConstant, zeta(scrambledItems, s.ZipfianConstant)})
	case Latest:
		k.zetas = append(k.zetas, zetaEntry{k.records, s.ZipfianConstant, zeta(k.records, s.ZipfianConstant)})
	}
	if s.ScanLengthDistribution == Zipfian && s.Mix[op.Scan] > 0 {
		n := uint64(s.MaxScanLength)
		k.zetas = append(k.zetas, zetaEntry{n, DefaultZipfianConstant, zeta(n, DefaultZipfianConstant)})
	}
	return k
}

func buildNames(n uint64, sh Shard) string {
	var b strings.Builder
	b.Grow(int(n) * KeyLen)
	var buf [KeyLen]byte
	copy(buf[:], KeyPrefix)
	for i := range n {
		formatKey(&buf, sh.Global(i))
		b.Write(buf[:])
	}
	return b.String()
}

// formatKey writes the digits of i into buf after the prefix.
func formatKey(buf *[KeyLen]byte, i uint64) {
	for p := KeyLen - 1; p >= len(KeyPrefix); p-- {
		buf[p] = byte('0' + i%10)
		i /= 10
	}
}

// zetaOf returns ζ(n, θ), from the precomputed values when available.
func (k *Keyspace) zetaOf(n uint64, theta float64) float64 {
	for _, e := range k.zetas {
		if e.n == n && e.theta == theta {
			return e.zeta
		}
	}
	return zeta(n, theta)
}

// Records returns the initial record count.
func (k *Keyspace) Records() int { return int(k.records) }

// Capacity returns Records + InsertHeadroom: the number of key indexes the
// run can ever use (size per-key state such as the staleness oracle by it).
func (k *Keyspace) Capacity() int { return int(k.capacity) }

// Key returns the key name of (local) index i: "pb" and its global index
// (Shard.Global; i itself when unsharded) in 12 zero-padded digits. For
// i < Capacity it returns a precomputed string without allocating; beyond,
// it formats one (allocating). Indexes ≥ 10^12 are not representable in
// 12 digits and yield longer names.
func (k *Keyspace) Key(i uint64) string {
	if i < k.capacity {
		const n = uint64(KeyLen)
		return k.names[i*n : (i+1)*n]
	}
	return fmt.Sprintf("%s%0*d", KeyPrefix, KeyDigits, k.shard.Global(i))
}

// ParseKey returns the global index of a key name made by Key, or false if
// s is not one.
func ParseKey(s string) (uint64, bool) {
	if len(s) != KeyLen || !strings.HasPrefix(s, KeyPrefix) {
		return 0, false
	}
	var i uint64
	for _, c := range []byte(s[len(KeyPrefix):]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		i = i*10 + uint64(c-'0')
	}
	return i, true
}

// NextInsert reserves the next insert key index (Records, Records+1, … in
// reservation order). It returns false once InsertHeadroom indexes have been
// handed out; the caller then performs an update of an existing key instead.
// Every index it returns must later be passed to AckInsert exactly once,
// whatever the insert's outcome (as YCSB acknowledges in a finally block),
// or Limit stops advancing at that index.
func (k *Keyspace) NextInsert() (uint64, bool) {
	if k.reserved.Load() >= k.capacity {
		k.refused.Add(1)
		return 0, false
	}
	i := k.reserved.Add(1) - 1
	if i >= k.capacity {
		k.refused.Add(1)
		return 0, false
	}
	return i, true
}

// AckInsert marks insert index i as done. Like YCSB's
// AcknowledgedCounterGenerator, Limit only moves over a contiguous prefix of
// acknowledged indexes: an earlier insert still in flight holds it back.
// Indexes never returned by NextInsert and repeated acks are ignored.
func (k *Keyspace) AckInsert(i uint64) {
	if i < k.records || i >= k.capacity || i >= k.reserved.Load() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.acked[i-k.records] = true
	l := k.limit.Load()
	for l < k.capacity && k.acked[l-k.records] {
		l++
	}
	k.limit.Store(l)
}

// Limit returns the number of keys that exist for reads and updates: keys
// [0, Limit) — the records plus the contiguous prefix of acknowledged
// inserts. It never decreases.
func (k *Keyspace) Limit() uint64 { return k.limit.Load() }

// InsertsExhausted reports whether every insert index has been reserved
// (NextInsert will return false from now on).
func (k *Keyspace) InsertsExhausted() bool { return k.reserved.Load() >= k.capacity }

// InsertsRefused returns how many NextInsert calls found no headroom left:
// inserts that became updates. A run should report it when non-zero.
func (k *Keyspace) InsertsRefused() uint64 { return k.refused.Load() }
