//go:build !race

package metrics

import (
	"testing"

	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// TestRecordPathAllocs: after warm-up the record path does not allocate,
// including across interval swaps. (Not under -race, which instruments
// allocations.)
func TestRecordPathAllocs(t *testing.T) {
	rec := NewRecorder(Options{Phases: []string{"p"}, Keys: 16})
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
		wk.Wrote(key, 1)
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
