package metrics_test

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/pacbench/pacbench/internal/checkers"
	. "github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// defaultChecks returns the run's built-in checks (staleness, session
// guarantees, linearizability sampling off, t-visibility).
func defaultChecks(tb testing.TB) *Checks {
	tb.Helper()
	cs, err := checkers.Registry(checkers.Config{Sessions: 16})
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

const benchKeys = 1024

// benchRecorder returns a recorder whose oracle has every key loaded and
// written a few times, so rings are warm.
func benchRecorder(b *testing.B) *Recorder {
	b.Helper()
	r := NewRecorder(Options{Scenarios: []string{"s"}, Phases: []string{"p"}, Keys: benchKeys, Checks: defaultChecks(b)})
	o := r.Oracle()
	for k := uint64(0); k < benchKeys; k++ {
		o.Loaded(k)
		for i := int64(1); i <= 20; i++ {
			o.Lock(k)
			seq := o.NextSeq(k)
			o.Acked(k, seq, i*1000, i*1000+500)
			o.Unlock(k)
		}
	}
	return r
}

// BenchmarkRecord measures the record path of one op through the separate
// calls: Record (latency into its series, reading the clock itself) +
// CheckRead (oracle verdict, then the default checks: staleness, session
// guarantees, t-visibility) + Write (the session's own acked write).
func BenchmarkRecord(b *testing.B) {
	r := benchRecorder(b)
	w := r.NewWorker(0, 0)
	h := workloads.Header{Seq: 19}
	warm(r, w)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := uint64(i) & (benchKeys - 1)
		h.Key = key
		w.Record(0, op.Read, op.OK, 1_500_000, 1_200_000)
		w.CheckRead(0, key, true, h, 1_000_000)
		w.Write(&Write{Key: key, Seq: 18, InvokeNs: 900_000, ReturnNs: 950_000})
	}
}

// BenchmarkRecordAt measures the same op on the runner's path: the
// completion time supplied by the caller (no clock read inside the
// recorder), the read op and its checks recorded under one lock
// (RecordRead into the worker's own event), then the session's own write
// (Write). Target ≤ 100 ns/op, 0 allocs/op.
func BenchmarkRecordAt(b *testing.B) {
	r := benchRecorder(b)
	w := r.NewWorker(0, 0)
	warm(r, w)
	s := OpSample{Phase: 0, Kind: op.Read, Class: op.OK, EndNs: 2_000_000, ResponseNs: 1_500_000, ServiceNs: 1_200_000, WaitNs: -1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		key := uint64(i) & (benchKeys - 1)
		ev := w.ReadEvent()
		*ev = Read{Key: key, InvokeNs: 1_000_000, ReturnNs: 1_000_000, Found: true, Seq: 19}
		w.RecordRead(s, ev)
		wev := w.WriteEvent()
		*wev = Write{Key: key, Seq: 18, InvokeNs: 900_000, ReturnNs: 950_000}
		w.Write(wev)
	}
}

// BenchmarkRecordParallel runs the record path on every core with one
// Worker per goroutine and a shared oracle; one op in 8 is a write that
// goes through the oracle's writer protocol (Lock, NextSeq, Acked, Unlock).
func BenchmarkRecordParallel(b *testing.B) {
	r := benchRecorder(b)
	clock := r.Clock()
	// Pre-warmed workers, one per RunParallel goroutine, so their lazy
	// allocations stay out of the measurement.
	n := runtime.GOMAXPROCS(0)
	workers := make(chan *Worker, n)
	for i := range n {
		w := r.NewWorker(0, i)
		warm(r, w)
		workers <- w
	}
	var ids atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := <-workers
		defer func() { workers <- w }()
		o := r.Oracle()
		var h workloads.Header
		for i := ids.Add(1) * 7919; pb.Next(); i++ {
			key := (i * 0x9E3779B97F4A7C15 >> 54) & (benchKeys - 1)
			if i&7 == 0 {
				o.Lock(key)
				seq := o.NextSeq(key)
				t := clock.Now()
				o.Acked(key, seq, t, t+1)
				o.Unlock(key)
				w.Record(0, op.Write, op.OK, 900_000, 900_000)
				w.Write(&Write{Key: key, Seq: seq, InvokeNs: t, ReturnNs: t + 1})
				continue
			}
			h.Key, h.Seq = key, 19
			w.Record(0, op.Read, op.OK, 1_500_000, 1_200_000)
			w.CheckRead(0, key, true, h, clock.Now())
		}
	})
}

// warm records a few ops so the open interval's histograms exist.
func warm(r *Recorder, w *Worker) {
	for range 2 {
		w.Record(0, op.Read, op.OK, 1, 1)
		w.Record(0, op.Write, op.OK, 1, 1)
		w.CheckRead(0, 0, false, workloads.Header{}, 1<<40)
		r.Collect(r.Clock().Now())
	}
	for i := range 300 { // more than a sample buffer: flushed into the interval
		w.Record(0, op.Read, op.OK, 1, 1)
		w.Record(0, op.Write, op.OK, 1, 1)
		w.CheckRead(0, uint64(i)&(benchKeys-1), true, workloads.Header{Key: uint64(i) & (benchKeys - 1), Seq: 1}, 1_000_000)
	}
}

// BenchmarkClockNow measures one read of the run clock (what Record adds
// over RecordAt).
func BenchmarkClockNow(b *testing.B) {
	c := NewClock()
	var sink int64
	for b.Loop() {
		sink += c.Now()
	}
	_ = sink
}

// BenchmarkOracleCheck measures one staleness verdict on a warm ring.
func BenchmarkOracleCheck(b *testing.B) {
	r := benchRecorder(b)
	o := r.Oracle()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.Check(uint64(i)&(benchKeys-1), 19, 1_000_000)
	}
}
