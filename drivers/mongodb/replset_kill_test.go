package mongodb

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/workloads"
)

// Sizes of the w:1 primary-kill test.
const (
	killKeys    = 64 // keys written, each by one writer (seq is its version order)
	killWriters = 4
)

// TestReplicaSetPrimaryKillW1: w:1 writes in flight to the primary
// (mongo1) when it is SIGKILLed. mongo2 is elected; the lost-write audit
// (internal/checkers, the run's own audit check) reads every key at the
// audit levels (majority read concern from the new primary, after a
// w:majority barrier write there) and counts the acknowledged writes the
// set lost: w:1 acknowledges before any secondary has the write, so losses
// are allowed and expected, and logged. Skips without Docker
// (requireDocker); CI does not count it.
func TestReplicaSetPrimaryKillW1(t *testing.T) {
	requireDocker(t)
	rs := startReplicaSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cs, err := checkers.Registry(checkers.Config{Audit: checkers.AuditConfig{Scenarios: 1, Phases: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rec := metrics.NewRecorder(metrics.Options{Scenarios: []string{"w1"}, Phases: []string{"kill"}, Keys: killKeys, Checks: cs})
	acked, failed := writeUntilKilled(ctx, t, rs, rec)
	waitHello(ctx, t, rs.secondary, "isWritablePrimary")
	d := New()
	dc, err := d.Open(ctx, drivers.Config{Endpoints: []string{rs.secondary}, Options: map[string]string{OptDirect: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	s, err := dc.Session(ctx, drivers.SessionConfig{Levels: d.AuditLevels(drivers.Levels{KeyW: "1"}, false),
		ReadEndpoints: []string{rs.secondary}, WriteEndpoints: []string{rs.secondary}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	barrier(ctx, t, dc, rs.secondary)
	res := checkers.AuditOf(cs).Judge(checkers.AuditInput{Group: []int{0}, Reads: finalReads(ctx, s), HealPhase: -1})
	t.Logf("w:1 primary kill: %d writes acknowledged, %d failed (indeterminate); audit of %d keys on the new primary: "+
		"%d acknowledged writes lost, %d unknown, %d indeterminate found applied",
		acked, failed, res.Keys, res.Lost, res.Unknown, res.IndeterminateFound)
	if acked == 0 {
		t.Fatalf("no w:1 write was acknowledged before the kill")
	}
	if res.Keys != killKeys || res.Unknown != 0 {
		t.Errorf("audit judged %d keys with %d unknown; want all %d read back", res.Keys, res.Unknown, killKeys)
	}
	if res.Lost > acked {
		t.Errorf("audit counts %d lost of %d acknowledged", res.Lost, acked)
	}
	if err := rec.Add(res.Values); err != nil {
		t.Fatal(err)
	}
}

// writeUntilKilled runs killWriters writers of w:1 writes to the primary
// (writer i owns the keys ≡ i mod killWriters), logging every outcome in
// rec's audit; after 2 s it SIGKILLs mongo1 and returns once every writer
// has seen a write fail. It returns the acknowledged and failed counts.
func writeUntilKilled(ctx context.Context, t *testing.T, rs replicaSet, rec *metrics.Recorder) (acked, failed int64) {
	t.Helper()
	dc, err := New().Open(ctx, drivers.Config{Endpoints: []string{rs.primary}, Options: map[string]string{OptDirect: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	var ok, bad atomic.Int64
	var wg sync.WaitGroup
	for i := range killWriters {
		s, err := dc.Session(ctx, drivers.SessionConfig{Levels: drivers.Levels{KeyW: "1"}, WriteEndpoints: []string{rs.primary}, ReadEndpoints: []string{rs.primary}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		w := rec.NewWorkerFor(metrics.WorkerInfo{Scenario: 0, Session: i + 1})
		wg.Add(1)
		go func() {
			defer wg.Done()
			seqs := map[uint64]uint64{}
			for n := uint64(0); ctx.Err() == nil; n++ {
				key := (n*killWriters + uint64(i)) % killKeys
				seqs[key]++
				opCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
				err := s.Write(opCtx, fmt.Sprintf("kill%d", key), workloads.NewValue(workloads.Header{Key: key, Writer: uint32(i + 1), Seq: seqs[key]}, 64))
				cancel()
				ev := w.WriteEvent()
				*ev = metrics.Write{Key: key, Seq: seqs[key], Outcome: metrics.Acked}
				if err != nil {
					ev.Outcome = metrics.Indeterminate // it may have happened
				}
				w.Write(ev)
				if err != nil {
					bad.Add(1)
					return
				}
				ok.Add(1)
			}
		}()
	}
	time.Sleep(2 * time.Second)
	killContainer(ctx, t, rs.containers[0].GetContainerID())
	wg.Wait()
	return ok.Load(), bad.Load()
}

// killContainer sends SIGKILL to a container (docker kill): no clean
// shutdown, so what mongo1 acknowledged and had not replicated is lost.
func killContainer(ctx context.Context, t *testing.T, id string) {
	t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if err := cli.ContainerKill(ctx, id, "KILL"); err != nil {
		t.Fatalf("kill mongo1: %v", err)
	}
}

// barrier writes once with w:majority through the new primary ep: once
// acknowledged, a majority (the delayed mongo3 too, 2 s behind) has every
// entry before it, so the majority reads after it see all the new primary
// kept — the audit's convergence wait.
func barrier(ctx context.Context, t *testing.T, dc drivers.Client, ep string) {
	t.Helper()
	s, err := dc.Session(ctx, drivers.SessionConfig{Levels: drivers.Levels{KeyW: "majority"}, ReadEndpoints: []string{ep}, WriteEndpoints: []string{ep}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	opCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.Write(opCtx, "kill-barrier", workloads.NewValue(workloads.Header{Seq: 1}, 64)); err != nil {
		t.Fatalf("w:majority barrier write on the new primary: %v", err)
	}
}

// finalReads reads every key through s (the audit levels) as the audit's
// final reads.
func finalReads(ctx context.Context, s drivers.Session) []checkers.FinalRead {
	reads := make([]checkers.FinalRead, killKeys)
	for k := range uint64(killKeys) {
		r := checkers.FinalRead{Key: k}
		opCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := s.Read(opCtx, fmt.Sprintf("kill%d", k))
		cancel()
		switch {
		case err != nil:
			r.Err = err
		case v.Found:
			r.Found = true
			h, err := workloads.DecodeHeader(v.Data)
			r.Foreign, r.Seq = err != nil || h.Key != k, h.Seq
		}
		reads[k] = r
	}
	return reads
}
