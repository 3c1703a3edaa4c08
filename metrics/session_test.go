package metrics

import (
	"testing"

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

func w(worker int, key, seq uint64) sop  { return sop{write: true, worker: worker, key: key, seq: seq} }
func rd(worker int, key, seq uint64) sop { return sop{worker: worker, key: key, seq: seq} }
func rdNone(worker int, key uint64) sop  { return sop{worker: worker, key: key, notFound: true} }

func TestSessionGuarantees(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name            string
		keys, sessKeys  int
		ops             []sop
		wantRYW, wantMR int64
		wantEvictions   bool
	}{
		{name: "read own write", ops: []sop{w(0, 1, 3), rd(0, 1, 3)}},
		{name: "read newer than own write", ops: []sop{w(0, 1, 3), rd(0, 1, 7)}},
		{name: "read older than own write", ops: []sop{w(0, 1, 3), rd(0, 1, 2)}, wantRYW: 1},
		{name: "own write then not found", ops: []sop{w(0, 1, 3), rdNone(0, 1)}, wantRYW: 1},
		{name: "own writes: last one counts", ops: []sop{w(0, 1, 3), w(0, 1, 5), rd(0, 1, 4)}, wantRYW: 1},
		{name: "another session's write is not ours", ops: []sop{w(1, 1, 3), rd(0, 1, 2)}},
		{name: "other key's write irrelevant", ops: []sop{w(0, 2, 3), rd(0, 1, 2)}},
		{name: "monotonic ok", ops: []sop{rd(0, 1, 2), rd(0, 1, 2), rd(0, 1, 5)}},
		{name: "monotonic violation", ops: []sop{rd(0, 1, 5), rd(0, 1, 3)}, wantMR: 1},
		{name: "monotonic: not found after a value", ops: []sop{rd(0, 1, 5), rdNone(0, 1)}, wantMR: 1},
		{name: "monotonic: highest is remembered", ops: []sop{rd(0, 1, 5), rd(0, 1, 3), rd(0, 1, 4)}, wantMR: 2},
		{name: "monotonic is per session", ops: []sop{rd(1, 1, 5), rd(0, 1, 3)}},
		{name: "monotonic is per key", ops: []sop{rd(0, 2, 5), rd(0, 1, 3)}},
		{name: "both at once", ops: []sop{w(0, 1, 6), rd(0, 1, 6), rd(0, 1, 4)}, wantRYW: 1, wantMR: 1},
		{name: "untracked key not checked", ops: []sop{w(0, 50, 6), rd(0, 50, 9), rd(0, 50, 1)}},
		{
			// 2 slots for 16 keys: evictions lose memory, never invent
			// violations (monotone reads stay violation-free).
			name: "bounded table never invents", keys: 16, sessKeys: 2,
			ops: []sop{
				rd(0, 0, 1), rd(0, 1, 1), rd(0, 2, 1), rd(0, 3, 1), w(0, 4, 2),
				rd(0, 0, 2), rd(0, 1, 2), rd(0, 2, 2), rd(0, 3, 2), rd(0, 4, 2),
			},
			wantEvictions: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys := tc.keys
			if keys == 0 {
				keys = 10
			}
			rec := NewRecorder(Options{Phases: []string{"p"}, Keys: keys, SessionKeys: tc.sessKeys})
			workers := []*Worker{rec.NewWorker(0, 0), rec.NewWorker(0, 1)}
			for _, s := range tc.ops {
				if s.write {
					workers[s.worker].Wrote(s.key, s.seq)
					continue
				}
				workers[s.worker].CheckRead(0, s.key, !s.notFound, workloads.Header{Key: s.key, Seq: s.seq}, 100)
			}
			rec.Collect(1000)
			c := rec.Results().Cell(0, 0)
			if c == nil {
				t.Fatal("no cell")
			}
			if c.RYWViolations != tc.wantRYW || c.MonotonicViolations != tc.wantMR {
				t.Errorf("violations ryw=%d monotonic=%d, want %d/%d",
					c.RYWViolations, c.MonotonicViolations, tc.wantRYW, tc.wantMR)
			}
			if got := c.SessionEvictions > 0; got != tc.wantEvictions {
				t.Errorf("session evictions %d, want some: %v", c.SessionEvictions, tc.wantEvictions)
			}
		})
	}
}

func TestSessionTableSizing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		keys, capacity int
		size           int
		direct         bool
	}{
		{keys: 10, capacity: 0, size: 16, direct: true},
		{keys: 1 << 20, capacity: 0, size: DefaultSessionKeys, direct: false},
		{keys: 100, capacity: 100, size: 128, direct: true},
		{keys: 0, capacity: 0, size: 1, direct: true},
		{keys: 1000, capacity: 3, size: 4, direct: false},
	}
	for _, tc := range cases {
		st := newSessionTable(tc.keys, tc.capacity)
		if st.size != tc.size || st.direct != tc.direct {
			t.Errorf("newSessionTable(%d, %d): size %d direct %v, want %d %v",
				tc.keys, tc.capacity, st.size, st.direct, tc.size, tc.direct)
		}
	}
}
