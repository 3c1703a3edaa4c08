package cassandra

import (
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
)

// TestClusterAuditLevels: the lost-write audit's sessions work on the real
// cluster. What a write at ONE acknowledged, a session at the audit levels
// reads back — at ALL (every replica answers, newest timestamp wins) and,
// for scenarios that used lightweight transactions, at SERIAL (a Paxos
// read) — and a session at the replica levels pinned to each node reads
// the key without error.
func TestClusterAuditLevels(t *testing.T) {
	t.Parallel()
	cl := openCluster(t)
	d := New()
	w := cl.session(t, "ONE", "ONE", 0, 1)
	key := uniqueKey("audit", 0)
	ctx := opCtx(t, 30*time.Second)
	if err := w.Write(ctx, key, val(1, 1)); err != nil {
		t.Fatalf("write at ONE: %v", err)
	}
	scenario := drivers.Levels{KeyRead: "ONE", KeyWrite: "ONE"}
	for _, cas := range []bool{false, true} {
		lv := d.AuditLevels(scenario, cas)
		s, err := cl.c.Session(ctx, drivers.SessionConfig{Levels: lv})
		if err != nil {
			t.Fatalf("session at %v: %v", lv, err)
		}
		v, err := s.Read(ctx, key)
		_ = s.Close()
		if err != nil {
			t.Fatalf("read at %v: %v", lv, err)
		}
		if got := seqOf(t, v); got != 1 {
			t.Errorf("read at %v: seq %d, want the acknowledged 1", lv, got)
		}
	}
	for n := 1; n <= 3; n++ {
		lv := d.ReplicaLevels(scenario)
		s, err := cl.c.Session(ctx, drivers.SessionConfig{Levels: lv, ReadEndpoints: []string{cl.node(t, n)}})
		if err != nil {
			t.Fatalf("session at %v on cassandra%d: %v", lv, n, err)
		}
		_, err = s.Read(ctx, key)
		_ = s.Close()
		if err != nil {
			t.Errorf("read at %v on cassandra%d: %v", lv, n, err)
		}
	}
}
