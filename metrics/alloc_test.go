//go:build !race

package metrics_test

import (
	"testing"

	. "github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// TestRecordPathAllocs: after warm-up the record path with the default
// checks does not allocate, including across intervals and phase changes.
// (Not under -race, which instruments allocations.)
func TestRecordPathAllocs(t *testing.T) {
	rec := NewRecorder(Options{Phases: []string{"p", "q"}, Keys: 16, Checks: defaultChecks(t)})
	o := rec.Oracle()
	for k := uint64(0); k < 16; k++ {
		o.Loaded(k)
		o.Acked(k, 1, 10, 20)
	}
	wk := rec.NewWorker(0, 0)
	step := func(i int) {
		key := uint64(i % 16)
		wk.Record(0, op.Read, op.OK, 1_500, 1_000)
		wk.Record(0, op.Write, op.OK, 1_500, 1_000)
		wk.CheckRead(0, key, true, workloads.Header{Key: key, Seq: 0}, 100) // stale
		wk.CheckRead(0, key, true, workloads.Header{Key: key, Seq: 1}, 100) // fresh
		wk.Write(&Write{Phase: i % 2, Key: key, Seq: 1, InvokeNs: 10, ReturnNs: 20})
	}
	for i := range 2 { // fill both buffers
		step(i)
		rec.Collect(int64(i))
	}
	step(0)
	i := 0
	if n := testing.AllocsPerRun(1000, func() { step(i); i++ }); n != 0 {
		t.Errorf("record path: %v allocs/op, want 0", n)
	}
}
