package workloads

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxShards bounds Shard.Count: a run is split over at most this many
// cooperating processes.
const MaxShards = 1024

// ErrShard: a shard that is not "I/N" with 0 ≤ I < N ≤ MaxShards.
var ErrShard = errors.New("invalid shard")

// Shard is one of Count cooperating pacbench processes of one run (Index
// 0…Count-1). The zero value (and 0/1) is the whole run, unsharded.
//
// Shard I owns the key indexes k with k mod Count = I: its local key j is
// the global key j·Count + I, so every shard's keys are disjoint, the
// records are split with the remainder going to the first shards (shard I
// has ⌈(Records − I)/Count⌉ of them), and a shard's writes, tracked reads
// and checks never touch another shard's keys. Plain data.
type Shard struct {
	Index, Count int
}

// ParseShard parses "I/N" (0 ≤ I < N ≤ MaxShards). The error wraps
// ErrShard and says what is wrong.
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Shard{}, fmt.Errorf("%w %q: want INDEX/COUNT, e.g. 0/3", ErrShard, s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(is))
	n, err2 := strconv.Atoi(strings.TrimSpace(ns))
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("%w %q: INDEX and COUNT must be integers, e.g. 0/3", ErrShard, s)
	}
	sh := Shard{Index: i, Count: n}
	if err := sh.validate(); err != nil {
		return Shard{}, fmt.Errorf("%q: %w", s, err)
	}
	return sh, nil
}

// Validate reports whether sh is usable: Count 1…MaxShards and Index in
// [0, Count) (the zero value is valid: unsharded).
func (sh Shard) Validate() error {
	if sh == (Shard{}) {
		return nil
	}
	return sh.validate()
}

func (sh Shard) validate() error {
	if sh.Count < 1 || sh.Count > MaxShards {
		return fmt.Errorf("%w: count %d is outside 1…%d", ErrShard, sh.Count, MaxShards)
	}
	if sh.Index < 0 || sh.Index >= sh.Count {
		return fmt.Errorf("%w: index %d is outside 0…%d (indexes start at 0)", ErrShard, sh.Index, sh.Count-1)
	}
	return nil
}

// Sharded reports whether sh is a part of a run split in several.
func (sh Shard) Sharded() bool { return sh.Count > 1 }

// String returns "I/N" ("" for the zero value).
func (sh Shard) String() string {
	if sh == (Shard{}) {
		return ""
	}
	return strconv.Itoa(sh.Index) + "/" + strconv.Itoa(sh.Count)
}

// count returns Count, 1 for the zero value.
func (sh Shard) count() int { return max(sh.Count, 1) }

// Split returns this shard's part of n items (workers, records): the first
// of them by global numbering and how many. Every shard gets ⌊n/Count⌋,
// and the first n mod Count shards one more, so the parts of all shards
// are disjoint, consecutive and add up to n.
func (sh Shard) Split(n int) (first, count int) {
	c := sh.count()
	q, r := n/c, n%c
	first = sh.Index*q + min(sh.Index, r)
	count = q
	if sh.Index < r {
		count++
	}
	return first, count
}

// Global returns the global key index of this shard's local key j.
func (sh Shard) Global(j uint64) uint64 { return j*uint64(sh.count()) + uint64(sh.Index) }

// ForShard returns the workload of shard sh of a run of s: its records
// (the keys k < Records with k mod Count = Index, as many as Split gives)
// and its part of the insert headroom, with Shard set so that the
// Keyspace names local keys by their global index. The zero Shard returns
// s unchanged.
func (s Spec) ForShard(sh Shard) Spec {
	if !sh.Sharded() {
		return s
	}
	_, s.Records = sh.Split(s.Records)
	_, s.InsertHeadroom = sh.Split(s.InsertHeadroom)
	s.Shard = sh
	return s
}
