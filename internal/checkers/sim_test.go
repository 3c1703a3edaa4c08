package checkers

import (
	"context"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

// simulate returns a realistic history of scenario 0, phase 0: per key one
// writer and `readers` readers, each issuing sequential ops of 0.5–1.5 ms with
// 0–0.2 ms think time, about opsPerKey ops per key. Every op takes effect at a
// random instant inside its interval, so the history is linearizable when
// lagNs is 0; with lagNs > 0 reads return the value as of lagNs earlier (a
// follower lagging behind), which is not linearizable.
func simulate(seed uint64, keys []uint64, readers, opsPerKey int, lagNs int64) []Event {
	rng := rand.New(rand.NewPCG(seed, 42))
	dur := func() int64 { return 500_000 + rng.Int64N(1_000_000) }
	think := func() int64 { return rng.Int64N(200_000) }
	var evs []Event
	for ki, key := range keys {
		client := ki * (readers + 1)
		// The writer.
		var lin []int64 // effect instant of seq i+1
		t := rng.Int64N(1_000_000)
		for seq := uint64(1); len(lin) < opsPerKey/(readers+1); seq++ {
			d := dur()
			lin = append(lin, t+rng.Int64N(d+1))
			evs = append(evs, Event{Client: client, Key: key, Write: true, Seq: seq, CallNs: t, ReturnNs: t + d})
			t += d + think()
		}
		horizon := t
		// The readers.
		for rd := range readers {
			t := rng.Int64N(1_000_000)
			for t < horizon {
				d := dur()
				at := t + rng.Int64N(d+1) - lagNs
				seq := uint64(sort.Search(len(lin), func(i int) bool { return lin[i] > at }))
				evs = append(evs, Event{Client: client + 1 + rd, Worker: rd, Key: key, Seq: seq, CallNs: t, ReturnNs: t + d})
				t += d + think()
			}
		}
	}
	return evs
}

var sampledKeys = []uint64{3, 17, 42, 99, 123, 256, 511, 777, 1000, 1024, 2048, 4095, 5000, 8191, 9000, 9999}

func checkSimulated(tb testing.TB, lagNs int64) (Verdict, int) {
	h := NewHistory(Options{Keys: sampledKeys, Scenarios: []string{"s"}, Phases: []string{"baseline"}, MaxOps: 100_000})
	evs := simulate(7, sampledKeys, 3, 700, lagNs)
	record(h, evs)
	return h.Check(context.Background(), time.Minute, []Window{{Name: "leader +40ms", StartNs: 100e6, EndNs: 200e6}})[0], len(evs)
}

// TestCheckLargeHistory checks 10,000+ ops on 16 keys (one writer and 3
// readers per key, ~1 ms ops) and logs how long it takes; see also
// BenchmarkCheck.
func TestCheckLargeHistory(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lagNs int64
		want  string
	}{{"linearizable", 0, "true"}, {"follower 5ms behind", 5_000_000, "false"}} {
		t.Run(tc.name, func(t *testing.T) {
			v, n := checkSimulated(t, tc.lagNs)
			if n < 10_000 || v.Ops != n {
				t.Fatalf("checked %d of %d ops, want all of 10,000+", v.Ops, n)
			}
			if got := verdictString(v); got != tc.want {
				t.Fatalf("verdict %s, want %s", got, tc.want)
			}
			t.Logf("%d ops on %d keys: %s in %v (illegal keys %d, visualization %d bytes)",
				v.Ops, v.Keys, verdictString(v), v.Duration, len(v.IllegalKeys), len(v.Visualization))
		})
	}
}

func BenchmarkCheck(b *testing.B) {
	for _, bc := range []struct {
		name  string
		lagNs int64
	}{{"linearizable", 0}, {"stale", 5_000_000}} {
		b.Run(bc.name, func(b *testing.B) {
			h := NewHistory(Options{Keys: sampledKeys, Scenarios: []string{"s"}, Phases: []string{"baseline"}, MaxOps: 100_000})
			evs := simulate(7, sampledKeys, 3, 700, bc.lagNs)
			record(h, evs)
			b.ReportMetric(float64(len(evs)), "ops/check")
			for b.Loop() {
				if v := h.Check(context.Background(), time.Minute, nil)[0]; v.Linearizable == nil {
					b.Fatalf("verdict unknown: %s", v.Reason)
				}
			}
		})
	}
}

func BenchmarkSampled(b *testing.B) {
	h := NewHistory(Options{Keys: sampledKeys, Scenarios: []string{"s"}, Phases: []string{"p"}})
	b.ReportAllocs()
	var k uint64
	for b.Loop() {
		h.Sampled(k & 16383)
		k++
	}
}

func BenchmarkRecord(b *testing.B) {
	h := NewHistory(Options{Keys: sampledKeys, Scenarios: []string{"s"}, Phases: []string{"p"}, MaxOps: 1 << 30})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var i int64
		for pb.Next() {
			h.Record(Event{Key: sampledKeys[i&15], Seq: uint64(i), CallNs: i, ReturnNs: i + 1})
			i++
		}
	})
}
