package runner

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/workloads"
)

// DefaultProbeDeltas returns the t-visibility sweep of issue 4 (0, 1, 2,
// 5, 10, 20, 50, 100, 200 ms), for profiles and tools that want it.
func DefaultProbeDeltas() []time.Duration {
	ms := []int{0, 1, 2, 5, 10, 20, 50, 100, 200}
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// ProbeStats is the outcome of the t-visibility probes of one scenario,
// phase and delay: N probes wrote a key through the write route, waited
// Delta after the write was acknowledged, and read it back through the read
// route at the scenario's level; Consistent of them saw that write (or a
// later one).
type ProbeStats struct {
	Scenario   int   `json:"scenario"`
	Phase      int   `json:"phase"`
	DeltaNs    int64 `json:"delta_ns"`
	N          int64 `json:"n"`
	Consistent int64 `json:"consistent"`
}

// probeCounters holds per (phase, delta) counts for one scenario.
type probeCounters struct {
	n, ok []atomic.Int64 // [phase*len(deltas)+d]
}

// probeKeyBase keeps probe header keys out of the workload's key range.
const probeKeyBase = math.MaxUint32

// startProbes launches one probe goroutine per delay for the scenario and
// returns their through counters (see gate).
func (sc *scenarioRun) startProbes(ctx context.Context, wg *sync.WaitGroup, deltas []time.Duration) ([]*atomic.Int64, error) {
	r := sc.r
	sc.probes = &probeCounters{
		n:  make([]atomic.Int64, len(r.plan.Phases)*len(deltas)),
		ok: make([]atomic.Int64, len(r.plan.Phases)*len(deltas)),
	}
	sc.deltas = deltas
	var out []*atomic.Int64
	for di, d := range deltas {
		id := r.ids.probe(sc.index, di)
		sess, err := r.client.Session(ctx, drivers.SessionConfig{
			Levels: r.plan.Scenarios[sc.index].Levels, ReadEndpoints: r.readEP, WriteEndpoints: r.writeEP, ID: id,
		})
		if err != nil {
			return out, fmt.Errorf("probe session: %w", err)
		}
		sc.probeSessions = append(sc.probeSessions, sess)
		through := new(atomic.Int64)
		through.Store(-1)
		out = append(out, through)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					r.workerPanic(p)
				}
			}()
			sc.probeLoop(ctx, sess, di, d, id, through)
		}()
	}
	return out, nil
}

// probeLoop writes, waits d, reads back, until the group stops. A probe
// starts only in an open phase and counts in that phase, and only if the
// phase was still open when its read was invoked.
func (sc *scenarioRun) probeLoop(ctx context.Context, sess drivers.Session, di int, d time.Duration, id int, through *atomic.Int64) {
	r, g := sc.r, sc.g
	key := fmt.Sprintf("pbprobe%03d%03d", sc.index, di)
	if sh := r.plan.Shard; sh.Sharded() {
		key += fmt.Sprintf("s%04d", sh.Index) // every shard probes its own keys
	}
	buf := make([]byte, max(r.plan.Workload.ValueSize, workloads.HeaderSize))
	timeout := r.opTimeout()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	// pause waits dur while phase pi runs; false if it ended first.
	pause := func(pi int, dur time.Duration) bool {
		deadline := r.clock.Now() + int64(dur)
		for {
			ch := g.changed()
			if ph, mode := g.load(); ph != pi || mode != gateOpen {
				return false
			}
			rest := time.Duration(deadline - r.clock.Now())
			if rest <= 0 {
				return true
			}
			timer.Reset(rest)
			select {
			case <-timer.C:
				return true
			case <-ch:
				timer.Stop()
			case <-ctx.Done():
				timer.Stop()
				return false
			}
		}
	}
	for seq := uint64(1); ; seq++ {
		pi, ok := g.await(through, ctx.Done())
		if !ok {
			return
		}
		workloads.Header{Key: probeKeyBase + uint64(di), Writer: uint32(id), Seq: seq, Invoke: r.clock.Now()}.Encode(buf)
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := sess.Write(wctx, key, buf)
		cancel()
		if err != nil || !pause(pi, d) {
			// Not a visibility sample; back off so a partition does not spin.
			pause(pi, 50*time.Millisecond)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		v, err := sess.Read(rctx, key)
		cancel()
		if err != nil {
			pause(pi, 50*time.Millisecond)
			continue
		}
		h, herr := workloads.DecodeHeader(v.Data)
		idx := pi*len(sc.deltas) + di
		sc.probes.n[idx].Add(1)
		if v.Found && herr == nil && h.Seq >= seq {
			sc.probes.ok[idx].Add(1)
		}
	}
}

// probeStats returns the non-empty probe cells of the scenario.
func (sc *scenarioRun) probeStats() []ProbeStats {
	if sc.probes == nil {
		return nil
	}
	var out []ProbeStats
	for pi := range sc.r.plan.Phases {
		for di, d := range sc.deltas {
			i := pi*len(sc.deltas) + di
			if n := sc.probes.n[i].Load(); n > 0 {
				out = append(out, ProbeStats{Scenario: sc.index, Phase: pi, DeltaNs: int64(d), N: n, Consistent: sc.probes.ok[i].Load()})
			}
		}
	}
	return out
}

// ConvergenceBins are the checked and stale read counts of one scenario in
// a phase that follows an impaired one, in bins of BinNs from the phase
// start: how soon staleness returns to its baseline ("how soon is
// eventual").
type ConvergenceBins struct {
	Scenario int     `json:"scenario"`
	Phase    int     `json:"phase"`
	BinNs    int64   `json:"bin_ns"`
	Checked  []int64 `json:"checked"`
	Stale    []int64 `json:"stale"`
}

func (sc *scenarioRun) convergenceStats() []ConvergenceBins {
	var out []ConvergenceBins
	for pi := range sc.r.plan.Phases {
		var cb *ConvergenceBins
		for _, w := range sc.workers {
			if pi >= len(w.conv) || w.conv[pi] == nil {
				continue
			}
			if cb == nil {
				cb = &ConvergenceBins{Scenario: sc.index, Phase: pi, BinNs: int64(ConvergenceBin),
					Checked: make([]int64, len(w.conv[pi])), Stale: make([]int64, len(w.conv[pi]))}
			}
			for i, b := range w.conv[pi] {
				cb.Checked[i] += b.checked
				cb.Stale[i] += b.stale
			}
		}
		if cb != nil {
			out = append(out, *cb)
		}
	}
	return out
}
