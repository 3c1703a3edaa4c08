package workloads

import (
	"slices"
	"sync"
	"testing"

	"github.com/pacbench/pacbench/op"
)

// spec returns a valid Spec with defaults and the given changes.
func spec(t testing.TB, change func(*Spec)) Spec {
	t.Helper()
	s := Spec{Mix: [op.NumKinds]float64{op.Read: 1}}
	change(&s)
	s = s.WithDefaults()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("invalid test spec: %v", errs)
	}
	return s
}

func TestKeyNames(t *testing.T) {
	t.Parallel()
	ks := NewKeyspace(spec(t, func(s *Spec) { s.Records = 1500; s.InsertHeadroom = 10 }))
	if ks.Capacity() != 1510 || ks.Records() != 1500 || ks.Limit() != 1500 {
		t.Fatalf("capacity %d records %d limit %d", ks.Capacity(), ks.Records(), ks.Limit())
	}
	for _, tc := range []struct {
		i    uint64
		want string
	}{
		{0, "pb000000000000"},
		{9, "pb000000000009"},
		{1234, "pb000000001234"},
		{1509, "pb000000001509"},
		{1510, "pb000000001510"}, // beyond capacity: formatted on demand
		{999_999_999_999, "pb999999999999"},
	} {
		got := ks.Key(tc.i)
		if got != tc.want {
			t.Errorf("Key(%d) = %q, want %q", tc.i, got, tc.want)
		}
		if back, ok := ParseKey(got); !ok || back != tc.i {
			t.Errorf("ParseKey(%q) = %d, %v", got, back, ok)
		}
	}
	var names []string
	for i := range uint64(ks.Capacity()) {
		names = append(names, ks.Key(i))
	}
	if !slices.IsSorted(names) {
		t.Error("key names are not in lexical order of their indexes")
	}
	for _, bad := range []string{"", "pb", "pb00000000000x", "xx000000000001", "pb0000000000001", "user000000001"} {
		if _, ok := ParseKey(bad); ok {
			t.Errorf("ParseKey(%q) accepted", bad)
		}
	}
}

func TestInsertAckContiguousPrefix(t *testing.T) {
	t.Parallel()
	ks := NewKeyspace(spec(t, func(s *Spec) { s.Records = 100; s.InsertHeadroom = 4 }))
	var got []uint64
	for range 4 {
		i, ok := ks.NextInsert()
		if !ok {
			t.Fatal("headroom refused early")
		}
		got = append(got, i)
	}
	if !slices.Equal(got, []uint64{100, 101, 102, 103}) {
		t.Fatalf("reserved %v", got)
	}
	if !ks.InsertsExhausted() {
		t.Fatal("headroom not reported exhausted")
	}
	if _, ok := ks.NextInsert(); ok {
		t.Fatal("reserved beyond headroom")
	}
	if ks.InsertsRefused() != 1 {
		t.Fatalf("InsertsRefused = %d, want 1", ks.InsertsRefused())
	}
	steps := []struct {
		ack   uint64
		limit uint64
	}{
		{101, 100}, // 100 still in flight: latest does not move
		{103, 100},
		{5, 100},   // a loaded record: ignored
		{999, 100}, // never reserved: ignored
		{100, 102}, // the prefix 100,101 is now acked
		{100, 102}, // repeated ack: ignored
		{102, 104}, // 102 releases 103 too
	}
	for _, st := range steps {
		ks.AckInsert(st.ack)
		if ks.Limit() != st.limit {
			t.Fatalf("after AckInsert(%d): Limit %d, want %d", st.ack, ks.Limit(), st.limit)
		}
	}
}

func TestAckOfUnreservedIndexIgnored(t *testing.T) {
	t.Parallel()
	ks := NewKeyspace(spec(t, func(s *Spec) { s.Records = 10; s.InsertHeadroom = 5 }))
	ks.AckInsert(10) // not reserved yet
	i, _ := ks.NextInsert()
	if i != 10 || ks.Limit() != 10 {
		t.Fatalf("reserved %d, limit %d", i, ks.Limit())
	}
	ks.AckInsert(i)
	if ks.Limit() != 11 {
		t.Fatalf("limit %d, want 11", ks.Limit())
	}
}

// Many goroutines reserving and acknowledging in any order end with every
// insert visible; run with -race.
func TestKeyspaceConcurrentInserts(t *testing.T) {
	t.Parallel()
	const workers, headroom = 8, 4000
	ks := NewKeyspace(spec(t, func(s *Spec) { s.Records = 50; s.InsertHeadroom = headroom }))
	var wg sync.WaitGroup
	reserved := make([][]uint64, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []uint64
			for {
				i, ok := ks.NextInsert()
				if !ok {
					break
				}
				held = append(held, i)
				if l := ks.Limit(); l < 50 || l > uint64(ks.Capacity()) {
					t.Errorf("limit %d out of bounds", l)
				}
				if len(held) == 3 { // acknowledge out of order
					ks.AckInsert(held[2])
					ks.AckInsert(held[0])
					ks.AckInsert(held[1])
					reserved[w] = append(reserved[w], held...)
					held = held[:0]
				}
			}
			for _, i := range held {
				ks.AckInsert(i)
			}
			reserved[w] = append(reserved[w], held...)
		}()
	}
	wg.Wait()
	all := slices.Concat(reserved...)
	slices.Sort(all)
	if len(all) != headroom || all[0] != 50 || all[len(all)-1] != 50+headroom-1 || len(slices.Compact(all)) != headroom {
		t.Fatalf("reserved %d distinct indexes, want %d from 50", len(slices.Compact(all)), headroom)
	}
	if ks.Limit() != uint64(ks.Capacity()) {
		t.Fatalf("final limit %d, want %d", ks.Limit(), ks.Capacity())
	}
	if ks.InsertsRefused() < workers {
		t.Fatalf("InsertsRefused = %d, want ≥ %d", ks.InsertsRefused(), workers)
	}
}

func TestNewKeyspacePanicsOnInvalidSpec(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewKeyspace(Spec{})
}
