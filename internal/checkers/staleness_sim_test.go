package checkers_test

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	. "github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// simWrite is one write of the simulated history of a key.
type simWrite struct {
	seq         uint64
	invoke, ack int64
}

// replica decides which write of a key a read sees: given the key's writes
// (in seq order), the read's invocation time t and a random source, it
// returns the index of the write returned, or -1 for the initial load.
type replica func(writes []simWrite, t int64, rng *rand.Rand) int

// lagReplica sees the newest write acked at least lag ago (a replica that
// applies writes lag after they were acked).
func lagReplica(lag int64) replica {
	return func(ws []simWrite, t int64, _ *rand.Rand) int {
		i := sort.Search(len(ws), func(i int) bool { return ws[i].ack > t-lag })
		return i - 1
	}
}

// linearizableReplica takes effect at a random point x in [t, t+readNs]
// and returns the newest write acked by x, or (half the time) a write
// still in flight at x — what a linearizable store may return.
func linearizableReplica(readNs int64) replica {
	return func(ws []simWrite, t int64, rng *rand.Rand) int {
		x := t + rng.Int64N(readNs+1)
		i := sort.Search(len(ws), func(i int) bool { return ws[i].invoke > x }) - 1
		if i >= 0 && ws[i].ack > x && rng.IntN(2) == 0 {
			i-- // in flight at x: not yet visible
		}
		return i
	}
}

type simConfig struct {
	keys, workers, reads int
	durationNs           int64
	periodNs             [2]int64 // write period range per key
	writeNs              [2]int64 // write latency range
	readNs               int64    // read latency (check happens at t+readNs)
	ringSize             int      // Options.RingSize
	replica              replica
}

// simulate drives a Recorder through a simulated run: each key is
// rewritten by one writer every period; reads at random times see what
// cfg.replica returns; acks reach the oracle at their ack time and reads
// are checked at completion, in time order, as the runner would.
func simulate(t *testing.T, cfg simConfig) cellView {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	between := func(r [2]int64) int64 { return r[0] + rng.Int64N(r[1]-r[0]+1) }
	rec := NewRecorder(Options{Scenarios: []string{"sim"}, Phases: []string{"p"}, Keys: cfg.keys, RingSize: cfg.ringSize,
		Checks: registry(t)})
	o := rec.Oracle()

	type event struct {
		at    int64
		key   int
		write int   // index into writes[key], or -1 for a read
		t     int64 // read invocation
	}
	var events []event
	writes := make([][]simWrite, cfg.keys)
	for k := range cfg.keys {
		o.Loaded(uint64(k))
		at := between(cfg.periodNs)
		for seq := uint64(1); at < cfg.durationNs; seq++ {
			w := simWrite{seq: seq, invoke: at, ack: at + between(cfg.writeNs)}
			writes[k] = append(writes[k], w)
			events = append(events, event{at: w.ack, key: k, write: len(writes[k]) - 1})
			at = w.ack + between(cfg.periodNs)
		}
	}
	for range cfg.reads {
		ti := cfg.durationNs/10 + rng.Int64N(cfg.durationNs*8/10)
		events = append(events, event{at: ti + cfg.readNs, key: rng.IntN(cfg.keys), write: -1, t: ti})
	}
	sort.SliceStable(events, func(i, j int) bool { return events[i].at < events[j].at })

	workers := make([]*Worker, cfg.workers)
	for i := range workers {
		workers[i] = rec.NewWorker(0, i)
	}
	nRead := 0
	for _, e := range events {
		key := uint64(e.key)
		if e.write >= 0 {
			w := writes[e.key][e.write]
			o.Acked(key, w.seq, w.invoke, w.ack)
			continue
		}
		i := cfg.replica(writes[e.key], e.t, rng)
		var h workloads.Header
		if i >= 0 {
			h = workloads.Header{Key: key, Seq: writes[e.key][i].seq}
		}
		wk := workers[nRead%len(workers)]
		nRead++
		wk.RecordAt(0, op.Read, op.OK, e.at, cfg.readNs, cfg.readNs)
		wk.CheckRead(0, key, true, h, e.t)
	}
	rec.Collect(cfg.durationNs)
	res := rec.Results()
	c := res.Cell(0, 0)
	if c == nil {
		t.Fatal("no results cell")
	}
	if got := c.Ops[op.Read].Count; got != int64(cfg.reads) {
		t.Fatalf("read count = %d, want %d", got, cfg.reads)
	}
	return view(res, c)
}

const ms = int64(1_000_000)

// TestSimulatedReplicaLag: a replica that lags L behind the acks must show
// stale reads and a time staleness whose median is within ±10 % of L, as
// long as L spans fewer writes of a key than the oracle's ring holds; beyond
// that the oracle must flag its figures as lower bounds and never overstate.
func TestSimulatedReplicaLag(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		lag   int64
		ring  int
		exact bool // lag/period < ring: p50 within ±10 %, no lower bounds
	}{
		{"20ms default ring", 20 * ms, 0, true},
		{"50ms ring 64", 50 * ms, 64, true},
		{"50ms default ring overflows", 50 * ms, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Writes every ≈2.35 ms per key (1.5–2.5 ms gaps after a
			// 0.2–0.5 ms write), so 20 ms ≈ 9 versions, 50 ms ≈ 21.
			lag := tc.lag
			c := simulate(t, simConfig{
				keys: 8, workers: 4, reads: 20000, durationNs: 4000 * ms, ringSize: tc.ring,
				periodNs: [2]int64{3 * ms / 2, 5 * ms / 2}, writeNs: [2]int64{ms / 5, ms / 2},
				readNs: 3 * ms / 10, replica: lagReplica(lag),
			})
			st := c
			if st.Checked != 20000 || st.Stale == 0 {
				t.Fatalf("checked %d stale %d: want 20000 checked, some stale", st.Checked, st.Stale)
			}
			p50, _ := Quantile(st.Behind, 0.5)
			v50, _ := Quantile(st.Versions, 0.5)
			t.Logf("stale %d/%d, behind p50 %s, versions p50 %d, lower bounds %d",
				st.Stale, st.Checked, nsString(p50), v50, st.LowerBound)
			// Time staleness is t − ack(seq+1) and seq+1 was acked after
			// t − lag: it never exceeds the lag (plus histogram rounding).
			if st.Behind.Max() > lag+lag/1000 {
				t.Errorf("time staleness max %s exceeds the lag %s", nsString(st.Behind.Max()), nsString(lag))
			}
			if v50 < 5 {
				t.Errorf("version staleness p50 = %d, want ≈ lag/period ≥ 5", v50)
			}
			if c.Monotonic != 0 || c.RYW != 0 {
				t.Errorf("session violations %d/%d from a monotone replica", c.RYW, c.Monotonic)
			}
			if !tc.exact {
				if st.LowerBound == 0 {
					t.Errorf("ring overflow not flagged: 0 lower bounds")
				}
				return
			}
			if st.LowerBound != 0 {
				t.Errorf("%d lower bounds with lag/period < ring size", st.LowerBound)
			}
			if lo, hi := lag*9/10, lag*11/10; p50 < lo || p50 > hi {
				t.Errorf("time staleness p50 = %s, want within ±10%% of %s", nsString(p50), nsString(lag))
			}
		})
	}
}

// TestSimulatedLinearizable: a store that always returns the newest value
// acked by its linearization point (possibly a write in flight) shows zero
// stale reads; the same harness with a lag shows them (so it can fail).
func TestSimulatedLinearizable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		replica   replica
		wantStale bool
	}{
		{"linearizable", linearizableReplica(ms), false},
		{"lag 1ms", lagReplica(ms), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := simulate(t, simConfig{
				keys: 4, workers: 3, reads: 20000, durationNs: 2000 * ms,
				periodNs: [2]int64{ms / 10, 2 * ms}, writeNs: [2]int64{ms / 10, ms},
				readNs: ms, replica: tc.replica,
			})
			if got := c.Stale > 0; got != tc.wantStale {
				t.Errorf("stale reads %d of %d, want stale: %v", c.Stale, c.Checked, tc.wantStale)
			}
			var total, fresh int64
			for _, b := range c.Visibility {
				total += b.Total
				fresh += b.Hits
			}
			if total != c.Checked || total-fresh != c.Stale {
				t.Errorf("visibility total %d fresh %d, checked %d stale %d", total, fresh, c.Checked, c.Stale)
			}
		})
	}
}

func nsString(ns int64) string { return time.Duration(ns).String() }
