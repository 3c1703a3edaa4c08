package metrics

import (
	"testing"
)

// ev is one oracle event of a hand-built history.
type ev struct {
	load   bool
	failed bool
	seq    uint64
	invoke int64
	ack    int64
}

func acked(seq uint64, invoke, ack int64) ev { return ev{seq: seq, invoke: invoke, ack: ack} }
func failed(seq uint64, invoke int64) ev     { return ev{failed: true, seq: seq, invoke: invoke} }

var loaded = ev{load: true}

// acksEvery returns acked writes 1..n invoked at 100·i−50 and acked at 100·i.
func acksEvery(n int) []ev {
	out := []ev{loaded}
	for i := 1; i <= n; i++ {
		out = append(out, acked(uint64(i), int64(100*i-50), int64(100*i)))
	}
	return out
}

func TestOracleCheck(t *testing.T) {
	t.Parallel()
	const key = 1
	fresh := func(c uint64, since int64) Staleness {
		return Staleness{Tracked: true, Current: c, SinceAckNs: since}
	}
	stale := func(c, k uint64, behind, since int64, lower bool) Staleness {
		return Staleness{Tracked: true, Stale: true, Current: c, Versions: k, BehindNs: behind, SinceAckNs: since, LowerBound: lower}
	}
	untracked := Staleness{SinceAckNs: -1}
	cases := []struct {
		name    string
		ring    int
		key     uint64 // default: key
		history []ev
		readSeq uint64
		t       int64
		want    Staleness
	}{
		{name: "fresh initial load", history: []ev{loaded}, readSeq: 0, t: 50, want: fresh(0, 50)},
		{name: "fresh newest", history: acksEvery(1), readSeq: 1, t: 300, want: fresh(1, 200)},
		{name: "stale by 1", history: acksEvery(1), readSeq: 0, t: 300, want: stale(1, 1, 200, 200, false)},
		{name: "stale by 3 from load", history: acksEvery(3), readSeq: 0, t: 1000, want: stale(3, 3, 900, 700, false)},
		{name: "stale by 2 mid", history: acksEvery(3), readSeq: 1, t: 1000, want: stale(3, 2, 800, 700, false)},
		{name: "newer than c is fresh", history: acksEvery(3), readSeq: 5, t: 1000, want: fresh(3, 700)},
		{
			name:    "write in flight at invocation is fresh",
			history: []ev{loaded, acked(1, 50, 100), acked(2, 500, 700)},
			readSeq: 1, t: 600, want: fresh(1, 500),
		},
		{
			name:    "in-flight write returned is fresh",
			history: []ev{loaded, acked(1, 50, 100), acked(2, 500, 700)},
			readSeq: 2, t: 600, want: fresh(1, 500),
		},
		{
			name:    "ack at invocation instant is in flight",
			history: []ev{loaded, acked(1, 50, 100), acked(2, 500, 700)},
			readSeq: 1, t: 700, want: fresh(1, 600),
		},
		{
			name:    "failed write skipped for time staleness",
			history: []ev{loaded, acked(1, 50, 100), failed(2, 200), acked(3, 500, 600)},
			readSeq: 1, t: 1000, want: stale(3, 2, 400, 400, false),
		},
		{
			name:    "failed write returned, newer acked",
			history: []ev{loaded, acked(1, 50, 100), failed(2, 200), acked(3, 500, 600)},
			readSeq: 2, t: 1000, want: stale(3, 1, 400, 400, false),
		},
		{
			name:    "failed write returned before next ack is fresh",
			history: []ev{loaded, acked(1, 50, 100), failed(2, 200), acked(3, 500, 600)},
			readSeq: 2, t: 550, want: fresh(1, 450),
		},
		{
			name:    "failed write never counts as acked",
			history: []ev{loaded, acked(1, 50, 100), failed(2, 200)},
			readSeq: 1, t: 1000, want: fresh(1, 900),
		},
		{
			// Ring of 4 holds 5..8, floor 4. True behind: 1000 − ack(2) = 800.
			name: "ring overflow gives lower bound", ring: 4, history: acksEvery(8),
			readSeq: 1, t: 1000, want: stale(8, 7, 600, 200, true),
		},
		{
			name: "ring overflow, oldest ring entry exact", ring: 4, history: acksEvery(8),
			readSeq: 4, t: 1000, want: stale(8, 4, 500, 200, false),
		},
		{
			name: "ring overflow, floor is seq+1 so exact", ring: 4, history: acksEvery(8),
			readSeq: 3, t: 1000, want: stale(8, 5, 600, 200, false),
		},
		{
			// Long read invoked at 450: every ring entry (acks 500..800) came
			// later, the floor (seq 4, ack 400) is c. True behind: 450 − 300.
			name: "c is the evicted floor", ring: 4, history: acksEvery(8),
			readSeq: 2, t: 450, want: stale(4, 2, 50, 50, true),
		},
		{
			name: "c forgotten: not checked", ring: 4, history: acksEvery(8),
			readSeq: 2, t: 350, want: untracked,
		},
		{name: "key beyond capacity", key: 99, history: acksEvery(2), readSeq: 0, t: 1000, want: untracked},
		{name: "key never loaded or written", history: nil, readSeq: 0, t: 1000, want: untracked},
		{
			name:    "insert not yet acked at invocation",
			history: []ev{acked(1, 100, 200)},
			readSeq: 0, t: 150, want: Staleness{Tracked: true, SinceAckNs: -1},
		},
		{
			name:    "insert acked, read finds nothing",
			history: []ev{acked(1, 100, 200)},
			readSeq: 0, t: 300, want: stale(1, 1, 100, 100, false),
		},
		{
			name:    "load after writes ignored",
			history: []ev{loaded, acked(1, 50, 100), loaded, loaded},
			readSeq: 0, t: 300, want: stale(1, 1, 200, 200, false),
		},
		{name: "loaded twice", history: []ev{loaded, loaded}, readSeq: 0, t: 300, want: fresh(0, 300)},
		{
			name:    "out-of-order ack ignored",
			history: []ev{loaded, acked(2, 150, 200), acked(1, 50, 100)},
			readSeq: 1, t: 300, want: stale(2, 1, 100, 100, false),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOracle(8, tc.ring)
			for _, e := range tc.history {
				switch {
				case e.load:
					o.Loaded(key)
				case e.failed:
					o.Failed(key, e.seq, e.invoke)
				default:
					o.Acked(key, e.seq, e.invoke, e.ack)
				}
			}
			k := uint64(key)
			if tc.key != 0 {
				k = tc.key
			}
			if got := o.Check(k, tc.readSeq, tc.t); got != tc.want {
				t.Errorf("Check(seq=%d, t=%d)\n got %+v\nwant %+v", tc.readSeq, tc.t, got, tc.want)
			}
		})
	}
}

func TestOracleNextSeq(t *testing.T) {
	t.Parallel()
	o := newOracle(4, 0)
	steps := []struct {
		name string
		do   func() uint64
		want uint64
	}{
		{"first write of a loaded key", func() uint64 { o.Loaded(0); return o.NextSeq(0) }, 1},
		{"each call reserves", func() uint64 { return o.NextSeq(0) }, 2},
		{"failed advances", func() uint64 { o.Failed(0, 5, 0); return o.NextSeq(0) }, 6},
		{"acked advances", func() uint64 { o.Acked(0, 9, 0, 1); return o.NextSeq(0) }, 10},
		{"never-written key", func() uint64 { return o.NextSeq(1) }, 1},
		{"untracked key", func() uint64 { return o.NextSeq(4) }, 0},
	}
	for _, s := range steps { // sequential: steps share the oracle
		if got := s.do(); got != s.want {
			t.Errorf("%s: NextSeq = %d, want %d", s.name, got, s.want)
		}
	}
	if got := o.RingSize(); got != DefaultRingSize {
		t.Errorf("RingSize = %d, want %d", got, DefaultRingSize)
	}
	if got := newOracle(1, 10).RingSize(); got != 16 {
		t.Errorf("RingSize(10) = %d, want 16 (next power of two)", got)
	}
}

// TestOracleLockExcludes checks that Lock serializes writers of one key,
// tracked or not, by counting overlapping critical sections.
func TestOracleLockExcludes(t *testing.T) {
	t.Parallel()
	o := newOracle(2, 0)
	for _, key := range []uint64{1, 1000} {
		inside, overlaps := 0, 0
		done := make(chan struct{})
		for range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range 500 {
					o.Lock(key)
					inside++ // unsynchronized on purpose: -race flags a broken lock
					if inside != 1 {
						overlaps++
					}
					inside--
					o.Unlock(key)
				}
			}()
		}
		for range 4 {
			<-done
		}
		if overlaps != 0 {
			t.Errorf("key %d: %d overlapping writers", key, overlaps)
		}
	}
}

// TestOracleConcurrentCheck runs one writer and several checkers on one key
// under -race: no torn verdict may ever claim a read of the newest acked
// value is stale.
func TestOracleConcurrentCheck(t *testing.T) {
	t.Parallel()
	o := newOracle(1, 4)
	o.Loaded(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := int64(1); i <= 20000; i++ {
			o.Lock(0)
			seq := o.NextSeq(0)
			o.Acked(0, seq, 10*i, 10*i+5)
			o.Unlock(0)
		}
	}()
	errs := make(chan Staleness, 1)
	checkers := make(chan struct{})
	for range 2 {
		go func() {
			defer func() { checkers <- struct{}{} }()
			for i := 0; i < 20000; i++ {
				// A read at the end of time that returns a seq above
				// anything written can never be stale.
				st := o.Check(0, 1<<40, 1<<60)
				if st.Stale || !st.Tracked {
					select {
					case errs <- st:
					default:
					}
					return
				}
			}
		}()
	}
	<-done
	<-checkers
	<-checkers
	select {
	case st := <-errs:
		t.Fatalf("torn verdict: %+v", st)
	default:
	}
	if st := o.Check(0, 0, 1<<60); !st.Stale || st.Versions != 20000 || st.Current != 20000 {
		t.Errorf("final verdict for seq 0 = %+v, want stale by 20000", st)
	}
}

// TestOracleLoadedKeysShareRing: keys with only their initial load cost no
// ring of their own; the first write gives the key one.
func TestOracleLoadedKeysShareRing(t *testing.T) {
	t.Parallel()
	o := newOracle(3, 0)
	o.Loaded(0)
	o.Loaded(1)
	if o.keys[0].ring.Load() != o.loaded || o.keys[1].ring.Load() != o.loaded {
		t.Fatal("loaded keys do not share the load ring")
	}
	o.Acked(1, 1, 10, 20)
	if r := o.keys[1].ring.Load(); r == o.loaded || r == nil {
		t.Fatal("written key still on the shared ring")
	}
	if o.loaded.n.Load() != 1 {
		t.Errorf("shared ring was written: n=%d", o.loaded.n.Load())
	}
	if st := o.Check(0, 0, 30); st.Stale || !st.Tracked {
		t.Errorf("loaded-only key: %+v", st)
	}
	if o.keys[2].ring.Load() != nil {
		t.Error("untouched key has a ring")
	}
}

// overlapStep is one read of TestOracleOverlapSettle and its verdict.
type overlapStep struct {
	name           string
	seq            uint64
	invoke         int64
	tracked, stale bool
}

// TestOracleOverlapSettle: after split-brain writes overlapped (seq 5
// acked before seq 4), a read that returns 4 is not judged (4 may follow
// 5 in real time); once a write that overlapped none (seq 6) is acked,
// reads invoked after its ack are judged again, reads invoked before it
// still are not.
func TestOracleOverlapSettle(t *testing.T) {
	t.Parallel()
	o := newOracle(1, 0)
	o.Loaded(0)
	check := func(steps ...overlapStep) {
		t.Helper()
		for _, s := range steps {
			if st := o.Check(0, s.seq, s.invoke); st.Tracked != s.tracked || st.Stale != s.stale {
				t.Errorf("%s: tracked %v stale %v, want %v %v", s.name, st.Tracked, st.Stale, s.tracked, s.stale)
			}
		}
	}
	o.Overlap(0)
	o.Acked(0, 5, 100, 150)
	o.Acked(0, 4, 90, 200) // out of seq order: ignored by the ring
	check(overlapStep{"overlapping value read", 4, 300, false, false},
		overlapStep{"newest value read", 5, 300, false, false})
	o.Acked(0, 6, 400, 450)
	o.Settle(0, 450)
	check(overlapStep{"read invoked before the settling ack", 4, 440, false, false},
		overlapStep{"older value after the settling ack", 4, 500, true, true},
		overlapStep{"settling value after its ack", 6, 500, true, false})
}
