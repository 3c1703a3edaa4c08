package exporter

import (
	"io"
	"net/http/httptest"
	"testing"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// benchRun returns a recorder state like a 2-scenario × 4-phase run with
// reads and writes in every phase, and the last interval.
func benchRun(b *testing.B) (*metrics.Recorder, *metrics.Worker) {
	b.Helper()
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"lin", "ser"},
		Phases: []string{"baseline", "latency", "partition", "healed"}, Keys: 100})
	w := rec.NewWorker(0, 0)
	for ph := 0; ph < 4; ph++ {
		for i := int64(0); i < 5000; i++ {
			v := 100_000 + i*997%50_000_000
			w.Record(ph, op.Read, op.OK, v, v)
			w.Record(ph, op.Write, op.OK, 2*v, v)
		}
		w.Record(ph, op.Read, op.Timeout, 1e9, 1e9)
		rec.Collect(rec.Clock().Now())
	}
	return rec, w
}

// BenchmarkUpdate measures one Update as the runner calls it every
// interval: one active phase with fresh data, three idle ones (cached).
func BenchmarkUpdate(b *testing.B) {
	rec, w := benchRun(b)
	e := newTest(b, Options{})
	b.ReportAllocs()
	for b.Loop() {
		for i := int64(0); i < 1000; i++ {
			w.Record(3, op.Read, op.OK, 1e6+i*1000, 1e6)
		}
		b.StopTimer()
		iv := rec.Collect(rec.Clock().Now())
		res := rec.Results()
		b.StartTimer()
		e.Update("etcd", []string{"read=linearizable", "read=serializable"}, res, iv)
	}
}

// BenchmarkScrape measures one text scrape of the state above.
func BenchmarkScrape(b *testing.B) {
	rec, _ := benchRun(b)
	e := newTest(b, Options{})
	e.Update("etcd", []string{"a", "b"}, rec.Results(), rec.Collect(rec.Clock().Now()))
	h := e.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest("GET", "/metrics", nil))
		_, _ = io.Copy(io.Discard, rr.Body)
	}
}
