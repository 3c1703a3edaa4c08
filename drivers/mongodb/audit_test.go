package mongodb

import (
	"bytes"
	"testing"

	"github.com/pacbench/pacbench/drivers"
)

// TestFerretAuditLevels: the lost-write audit's sessions work against a
// real MongoDB-wire server: what a session at the scenario's weakest write
// concern acknowledged, a session at the audit levels (majority read
// concern from the primary) and one at the replica levels (local, nearest,
// pinned to the member) read back.
func TestFerretAuditLevels(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	c := openTest(t, []string{uri})
	d := New()
	w := newSession(t, c, drivers.SessionConfig{Levels: drivers.Levels{KeyW: "1"}})
	ctx := opCtx(t)
	want := value(3, 1, 64)
	if err := w.Write(ctx, "user3", want); err != nil {
		t.Fatalf("write at w:1: %v", err)
	}
	for _, lv := range []drivers.Levels{d.AuditLevels(drivers.Levels{KeyW: "1"}, false), d.ReplicaLevels(nil)} {
		s := newSession(t, c, drivers.SessionConfig{Levels: lv, ReadEndpoints: []string{addr}})
		v, err := s.Read(ctx, "user3")
		if err != nil || !v.Found || !bytes.Equal(v.Data, want) {
			t.Errorf("read at %v: found %v, %d bytes, %v; want the acknowledged value", lv, v.Found, len(v.Data), err)
		}
	}
}
