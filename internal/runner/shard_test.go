package runner_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	runplan "github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// keyLog wraps a driver and records every key its sessions read or wrote.
type keyLog struct {
	drivers.Driver
	mu           sync.Mutex
	read, writes map[string]bool
}

func (k *keyLog) Open(ctx context.Context, cfg drivers.Config) (drivers.Client, error) {
	c, err := k.Driver.Open(ctx, cfg)
	return loggedClient{c, k}, err
}

type loggedClient struct {
	drivers.Client
	k *keyLog
}

func (c loggedClient) Session(ctx context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	s, err := c.Client.Session(ctx, cfg)
	return loggedSession{s, c.k}, err
}

type loggedSession struct {
	drivers.Session
	k *keyLog
}

func (s loggedSession) note(m map[string]bool, key string) {
	s.k.mu.Lock()
	m[key] = true
	s.k.mu.Unlock()
}

func (s loggedSession) Read(ctx context.Context, key string) (drivers.Value, error) {
	s.note(s.k.read, key)
	return s.Session.Read(ctx, key)
}

func (s loggedSession) Write(ctx context.Context, key string, v []byte) error {
	s.note(s.k.writes, key)
	return s.Session.Write(ctx, key, v)
}

// TestShardsWithStartBarrier runs three shards of one profile at once with
// a common start barrier: their keys are disjoint and together the whole
// key space, their workers and rates add up to the profile's, every phase
// starts at its planned instant or later (recorded), and the measurement
// intervals of every shard end on the same grid from the barrier.
func TestShardsWithStartBarrier(t *testing.T) {
	t.Parallel()
	const yml = `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 300, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform}
load: {model: open, workers: 7, rate: 600}
levels: [{name: only, read: fresh}]
phases: [{name: a, duration: 600ms}, {name: b, duration: 400ms}]
`
	const interval, gap = 100 * time.Millisecond, 250 * time.Millisecond
	start := time.Now().Add(800 * time.Millisecond)
	type out struct {
		res   *runner.Result
		plan  *runplan.Plan
		log   *keyLog
		ticks []time.Duration
		err   error
	}
	outs := make([]out, 3)
	var wg sync.WaitGroup
	for i := range outs {
		log := &keyLog{Driver: fakedriver.New(fakedriver.Options{}), read: map[string]bool{}, writes: map[string]bool{}}
		reg := drivers.NewRegistry(log)
		p, err := profile.Parse("test.yaml", []byte(yml), profile.Options{Registry: reg})
		if err != nil {
			t.Fatal(err)
		}
		pp, err := p.Plan(profile.Overrides{Shard: fmt.Sprintf("%d/3", i)})
		if err != nil {
			t.Fatal(err)
		}
		pl, err := runplan.New(pp, nil)
		if err != nil {
			t.Fatal(err)
		}
		outs[i].plan, outs[i].log = pl, log
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := &outs[i]
			o.res, o.err = runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: interval,
				StartAt: start, PhaseGap: gap, OnTick: func(tk runner.Tick) {
					if !tk.Final {
						o.ticks = append(o.ticks, tk.Elapsed)
					}
				}})
		}()
	}
	wg.Wait()
	owner := map[string]int{}
	var workers int
	var rate float64
	for i, o := range outs {
		if o.err != nil {
			t.Fatalf("shard %d: %v", i, o.err)
		}
		workers += o.res.Load[0].Workers
		rate += o.res.Load[0].TargetRate
		for key := range o.log.writes {
			g, ok := workloads.ParseKey(key)
			if !ok || g%3 != uint64(i) {
				t.Errorf("shard %d wrote key %s, not one of its own", i, key)
			}
			if prev, dup := owner[key]; dup && prev != i {
				t.Errorf("key %s written by shards %d and %d", key, prev, i)
			}
			owner[key] = i
		}
		for key := range o.log.read {
			if g, ok := workloads.ParseKey(key); !ok || g%3 != uint64(i) {
				t.Errorf("shard %d read key %s, not one of its own", i, key)
			}
		}
		base := o.res.Clock.Base()
		barrier := int64(start.Sub(base))
		planned := []int64{barrier, barrier + int64(600*time.Millisecond+gap)}
		for k, w := range o.res.Phases {
			if w.PlannedNs != planned[k] || w.StartNs < w.PlannedNs {
				t.Errorf("shard %d phase %s: planned %d start %d, want planned %d and start after it", i, w.Name, w.PlannedNs, w.StartNs, planned[k])
			}
			// Generous: a timer on a machine at load 30 fires late by tens
			// of ms, never by seconds.
			if skew := time.Duration(w.StartNs - w.PlannedNs); skew > 2*time.Second {
				t.Errorf("shard %d phase %s started %v late", i, w.Name, skew)
			}
		}
		// Each collection is at its point of the grid or after it (a timer
		// fires late on a loaded machine), never two for one point.
		last := int64(-1 << 62)
		for _, e := range o.ticks {
			n := floorDiv(int64(e)-barrier, int64(interval))
			if n <= last {
				t.Errorf("shard %d: interval ends at %v from the barrier, again in grid step %d", i, time.Duration(int64(e)-barrier), n)
			}
			last = n
		}
	}
	if len(owner) != 300 {
		t.Errorf("the shards wrote %d distinct keys (loading included), want the 300 records", len(owner))
	}
	if workers != 7 || rate < 600-1e-6 || rate > 600+1e-6 {
		t.Errorf("shards ran %d workers at %v ops/s in all, want 7 at 600", workers, rate)
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
