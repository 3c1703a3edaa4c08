package workloads

import (
	"errors"
	"testing"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Shard
		bad  bool
	}{
		{in: "0/3", want: Shard{0, 3}},
		{in: " 2 / 3 ", want: Shard{2, 3}},
		{in: "0/1", want: Shard{0, 1}},
		{in: "3/3", bad: true},
		{in: "-1/3", bad: true},
		{in: "0/0", bad: true},
		{in: "1", bad: true},
		{in: "a/b", bad: true},
		{in: "0/1025", bad: true},
		{in: "", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseShard(tc.in)
			if tc.bad {
				if !errors.Is(err, ErrShard) {
					t.Fatalf("ParseShard(%q) = %v, %v; want an ErrShard", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
			if back, _ := ParseShard(got.String()); back != got {
				t.Fatalf("String round trip: %q → %v", got.String(), back)
			}
		})
	}
}

// TestSplit: the parts are consecutive, disjoint, differ by at most one
// and add up to n, the remainder going to the first shards.
func TestSplit(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 7, 8, 9, 100, 1001} {
		for _, c := range []int{1, 2, 3, 8} {
			next := 0
			for i := range c {
				first, k := Shard{i, c}.Split(n)
				if first != next {
					t.Fatalf("Split(%d) of %d/%d starts at %d, want %d", n, i, c, first, next)
				}
				if want := n / c; k != want && k != want+1 || (k == want+1) != (i < n%c) {
					t.Fatalf("Split(%d) of %d/%d = %d items", n, i, c, k)
				}
				next += k
			}
			if next != n {
				t.Fatalf("parts of %d over %d shards add up to %d", n, c, next)
			}
		}
	}
}

// TestShardKeyspaces: the shards' key names are disjoint, cover exactly
// the records of the whole run, and the inserts of every shard are new
// names.
func TestShardKeyspaces(t *testing.T) {
	t.Parallel()
	whole := spec(t, func(s *Spec) { s.Records = 1000; s.InsertHeadroom = 30 })
	seen := map[string]int{}
	records := 0
	for i := range 3 {
		s := whole.ForShard(Shard{i, 3})
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("shard %d: %v", i, errs)
		}
		ks := NewKeyspace(s)
		records += ks.Records()
		for j := range uint64(ks.Capacity()) {
			name := ks.Key(j)
			if prev, dup := seen[name]; dup {
				t.Fatalf("key %s of shard %d is also shard %d's", name, i, prev)
			}
			seen[name] = i
			g, ok := ParseKey(name)
			if !ok || g%3 != uint64(i) || g != (Shard{i, 3}).Global(j) {
				t.Fatalf("shard %d local %d is %s (global %d)", i, j, name, g)
			}
			if (j < uint64(ks.Records())) != (g < 1000) {
				t.Fatalf("shard %d local %d (global %d): record %v", i, j, g, j < uint64(ks.Records()))
			}
		}
		beyond := uint64(ks.Capacity()) + 5
		if got, want := ks.Key(beyond), formatted(s.Shard.Global(beyond)); got != want {
			t.Fatalf("shard %d: key %d beyond capacity is %s, want %s", i, beyond, got, want)
		}
	}
	if records != 1000 || len(seen) != 1030 {
		t.Fatalf("shards hold %d records and %d names, want 1000 and 1030", records, len(seen))
	}
}

func formatted(g uint64) string {
	var buf [KeyLen]byte
	copy(buf[:], KeyPrefix)
	formatKey(&buf, g)
	return string(buf[:])
}
