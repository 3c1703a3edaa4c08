package checkers

import (
	"testing"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/workloads"
)

// sop is one session step: a write (own acked write of seq) or a read
// that returned seq (found=false: nothing, seq 0).
type sop struct {
	write    bool
	worker   int
	key, seq uint64
	notFound bool
}

func sw(worker int, key, seq uint64) sop { return sop{write: true, worker: worker, key: key, seq: seq} }
func rd(worker int, key, seq uint64) sop { return sop{worker: worker, key: key, seq: seq} }
func rdNone(worker int, key uint64) sop  { return sop{worker: worker, key: key, notFound: true} }

func TestSessionGuarantees(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		keys, sessKeys  int
		sessions        int // for the shared budget (0: none)
		ops             []sop
		wantRYW, wantMR int64
		wantEvictions   bool
	}{
		{name: "read own write", ops: []sop{sw(0, 1, 3), rd(0, 1, 3)}},
		{name: "read newer than own write", ops: []sop{sw(0, 1, 3), rd(0, 1, 7)}},
		{name: "read older than own write", ops: []sop{sw(0, 1, 3), rd(0, 1, 2)}, wantRYW: 1},
		{name: "own write then not found", ops: []sop{sw(0, 1, 3), rdNone(0, 1)}, wantRYW: 1},
		{name: "own writes: last one counts", ops: []sop{sw(0, 1, 3), sw(0, 1, 5), rd(0, 1, 4)}, wantRYW: 1},
		{name: "another session's write is not ours", ops: []sop{sw(1, 1, 3), rd(0, 1, 2)}},
		{name: "other key's write irrelevant", ops: []sop{sw(0, 2, 3), rd(0, 1, 2)}},
		{name: "monotonic ok", ops: []sop{rd(0, 1, 2), rd(0, 1, 2), rd(0, 1, 5)}},
		{name: "monotonic violation", ops: []sop{rd(0, 1, 5), rd(0, 1, 3)}, wantMR: 1},
		{name: "monotonic: not found after a value", ops: []sop{rd(0, 1, 5), rdNone(0, 1)}, wantMR: 1},
		{name: "monotonic: highest is remembered", ops: []sop{rd(0, 1, 5), rd(0, 1, 3), rd(0, 1, 4)}, wantMR: 2},
		{name: "monotonic is per session", ops: []sop{rd(1, 1, 5), rd(0, 1, 3)}},
		{name: "monotonic is per key", ops: []sop{rd(0, 2, 5), rd(0, 1, 3)}},
		{name: "both at once", ops: []sop{sw(0, 1, 6), rd(0, 1, 6), rd(0, 1, 4)}, wantRYW: 1, wantMR: 1},
		{name: "untracked key not checked", ops: []sop{sw(0, 50, 6), rd(0, 50, 9), rd(0, 50, 1)}},
		{
			// 2 slots for 16 keys: evictions lose memory, never invent
			// violations (monotone reads stay violation-free).
			name: "bounded table never invents", keys: 16, sessKeys: 2,
			ops: []sop{
				rd(0, 0, 1), rd(0, 1, 1), rd(0, 2, 1), rd(0, 3, 1), sw(0, 4, 2),
				rd(0, 0, 2), rd(0, 1, 2), rd(0, 2, 2), rd(0, 3, 2), rd(0, 4, 2),
			},
			wantEvictions: true,
		},
		{
			// A direct table keeps every key: violations on the first key
			// are still seen after many others.
			name: "direct table remembers", keys: 1000,
			ops:    append(append([]sop{rd(0, 7, 9)}, manyReads(0, 1000, 1)...), rd(0, 7, 3)),
			wantMR: 1,
		},
		{
			// So does a hashed table that grows (200 sessions × 1000 keys
			// exceed the direct budget; 5,242 slots each may grow).
			name: "growing table remembers", keys: 1000, sessions: 200,
			ops:    append(append([]sop{rd(0, 7, 9)}, manyReads(0, 1000, 1)...), rd(0, 7, 3)),
			wantMR: 1,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := tc.keys
			if keys == 0 {
				keys = 10
			}
			sess := NewSession(tc.sessKeys, 0, tc.sessions)
			if want := tc.sessions == 0 && tc.sessKeys == 0; sess.direct(keys) != want {
				t.Fatalf("direct tables: %v, want %v", sess.direct(keys), want)
			}
			cs, err := metrics.NewChecks(sess)
			if err != nil {
				t.Fatal(err)
			}
			rec := metrics.NewRecorder(metrics.Options{Phases: []string{"p"}, Keys: keys, Checks: cs})
			workers := []*metrics.Worker{rec.NewWorker(0, 0), rec.NewWorker(0, 1)}
			for _, s := range tc.ops {
				if s.write {
					workers[s.worker].Write(&metrics.Write{Key: s.key, Seq: s.seq})
					continue
				}
				workers[s.worker].CheckRead(0, s.key, !s.notFound, workloads.Header{Key: s.key, Seq: s.seq}, 100)
			}
			rec.Collect(1000)
			res := rec.Results()
			c := res.Cell(0, 0) // nil when nothing was recorded: all zero
			get := func(n string) int64 { v, _ := res.Value(c, n); return v.Count }
			if ryw, mr := get(SessionRYW), get(SessionMonotonic); ryw != tc.wantRYW || mr != tc.wantMR {
				t.Errorf("violations ryw=%d monotonic=%d, want %d/%d", ryw, mr, tc.wantRYW, tc.wantMR)
			}
			if got := get(SessionEvictions); (got > 0) != tc.wantEvictions {
				t.Errorf("session evictions %d, want some: %v", got, tc.wantEvictions)
			}
		})
	}
}

// manyReads reads keys [1, n) once each at seq.
func manyReads(worker int, n int, seq uint64) []sop {
	var out []sop
	for k := 1; k < n; k++ {
		if k != 7 {
			out = append(out, rd(worker, uint64(k), seq))
		}
	}
	return out
}

func TestSessionTableSizing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		keys, capacity int
		limit          int
	}{
		{keys: 10, capacity: DefaultSessionKeys, limit: 32},
		{keys: 1 << 20, capacity: DefaultSessionKeys, limit: DefaultSessionKeys},
		{keys: 100, capacity: 100, limit: 128},
		{keys: 0, capacity: 10, limit: 8},
		{keys: 1000, capacity: 3, limit: 4},
	}
	for _, tc := range cases {
		st := newSessionTable(tc.keys, tc.capacity)
		if st.limit != tc.limit {
			t.Errorf("newSessionTable(%d, %d): limit %d, want %d", tc.keys, tc.capacity, st.limit, tc.limit)
		}
	}
	// The table grows with the keys touched, not with the keyspace.
	st := newSessionTable(1<<20, DefaultSessionKeys)
	for k := uint64(0); k < 20; k++ {
		st.read(k*7919, 1)
	}
	if len(st.slots) > 64 {
		t.Errorf("20 keys touched: %d slots, want ≤ 64", len(st.slots))
	}
	// The shared budget bounds each session's cap.
	if s := NewSession(0, 1<<20, 1024); s.keysPerSession != 1024 {
		t.Errorf("1024 sessions on a 1M-slot budget: %d slots each, want 1024", s.keysPerSession)
	}
	if s := NewSession(0, 0, 1<<20); s.keysPerSession != minSessionSlots {
		t.Errorf("a million sessions: %d slots each, want the floor %d", s.keysPerSession, minSessionSlots)
	}
}

func TestVisibilityBounds(t *testing.T) {
	t.Parallel()
	want := []int64{
		100e3, 200e3, 500e3, 1e6, 2e6, 5e6, 10e6, 20e6, 50e6, 100e6, 200e6, 500e6,
		1e9, 2e9, 5e9, 10e9, metrics.OpenBound,
	}
	got := VisibilityBounds()
	if len(got) != len(want) {
		t.Fatalf("%d bounds, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bound %d = %d, want %d", i, got[i], want[i])
		}
	}

	// End to end: a fresh read 150 µs after c's ack and a stale one 3 ms
	// after land in their buckets; a foreign value is unchecked.
	cs, err := metrics.NewChecks(Staleness{}, Visibility{})
	if err != nil {
		t.Fatal(err)
	}
	rec := metrics.NewRecorder(metrics.Options{Phases: []string{"p"}, Keys: 2, Checks: cs})
	o := rec.Oracle()
	o.Loaded(0)
	o.Acked(0, 1, 100_000, 1_000_000)
	wk := rec.NewWorker(0, 0)
	wk.CheckRead(0, 0, true, workloads.Header{Key: 0, Seq: 1}, 1_150_000)
	wk.CheckRead(0, 0, true, workloads.Header{Key: 0, Seq: 0}, 4_000_000)
	wk.CheckRead(0, 0, true, workloads.Header{Key: 1, Seq: 0}, 4_000_000) // wrong key
	rec.Collect(5_000_000)
	res := rec.Results()
	c := res.Cell(0, 0)
	vis, _ := res.Value(c, VisibilityReads)
	if v := vis.Buckets[1]; v.Hits != 1 || v.Total != 1 || v.Lower != 100_000 || v.Upper != 200_000 {
		t.Errorf("bucket 0.1–0.2ms = %+v, want 1/1", v)
	}
	if v := vis.Buckets[5]; v.Hits != 0 || v.Total != 1 {
		t.Errorf("bucket 2–5ms = %+v, want 0/1", v)
	}
	get := func(n string) int64 { v, _ := res.Value(c, n); return v.Count }
	if get(StalenessChecked) != 2 || get(StalenessStale) != 1 || get(StalenessUnchecked) != 1 {
		t.Errorf("staleness checked %d stale %d unchecked %d, want 2, 1, 1",
			get(StalenessChecked), get(StalenessStale), get(StalenessUnchecked))
	}
}
