package mongodb

// Integration tests against a real MongoDB-wire server: FerretDB v1 (SQLite
// backend) on loopback, started by scripts/ferretdb.sh. Each test works in
// its own database, so they run in parallel.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

const ferretHowto = `run: eval "$(scripts/ferretdb.sh start)"`

// ferretURI returns the server URI and its host:port.
func ferretURI(t *testing.T) (uri, addr string) {
	t.Helper()
	uri = testenv.Require(t, "PACBENCH_MONGODB_URI", ferretHowto)
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatalf("PACBENCH_MONGODB_URI=%q: %v", uri, err)
	}
	return uri, u.Host
}

// testDB returns a fresh database name for one test.
func testDB(t *testing.T) string {
	t.Helper()
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "pbt_" + hex.EncodeToString(b[:])
}

// openClient opens a client on endpoints with options opts (plus a short
// server selection timeout) and closes it at cleanup.
func openClient(t *testing.T, endpoints []string, opts map[string]string) *Client {
	t.Helper()
	o := map[string]string{OptServerSelectionTimeout: "3s"}
	for k, v := range opts {
		o[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := New().Open(ctx, drivers.Config{Endpoints: endpoints, Options: o, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("open %v: %v", endpoints, err)
	}
	c := dc.(*Client)
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// openTest opens a client on endpoints in a fresh database (dropped at
// cleanup) and prepares the collection.
func openTest(t *testing.T, endpoints []string) *Client {
	t.Helper()
	c := openClient(t, endpoints, map[string]string{OptDatabase: testDB(t)})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.control.Database(c.opts.Database).Drop(ctx); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Prepare(ctx); err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if err := c.Prepare(ctx); err != nil {
		t.Fatalf("prepare is not idempotent: %v", err)
	}
	return c
}

func newSession(t *testing.T, c *Client, cfg drivers.SessionConfig) *session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := c.Session(ctx, cfg)
	if err != nil {
		t.Fatalf("session %v: %v", cfg.Levels, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	return s.(*session)
}

func opCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func value(key uint64, seq uint64, size int) []byte {
	return workloads.NewValue(workloads.Header{Key: key, Writer: 7, Seq: seq, Invoke: int64(1000 + seq)}, size)
}

// TestFerretInsert: Insert creates a key, and an existing key is a
// conflict (duplicate key), which CAS reports as a lost comparison.
func TestFerretInsert(t *testing.T) {
	t.Parallel()
	uri, _ := ferretURI(t)
	c := openTest(t, []string{uri})
	s := newSession(t, c, drivers.SessionConfig{Levels: drivers.Levels{}})
	ctx := opCtx(t)
	if err := s.Insert(ctx, "user2", value(2, 0, 64)); err != nil {
		t.Fatalf("insert new key: %v", err)
	}
	err := s.Insert(ctx, "user2", value(2, 1, 64))
	if c := op.ClassOf(err); c != op.Conflict {
		t.Fatalf("insert existing key: class %v (%v), want conflict", c, err)
	}
	if ok, err := s.CAS(ctx, "user2", drivers.Version{}, value(2, 2, 64)); ok || err != nil {
		t.Fatalf("CAS of an existing key expecting it absent: %v, %v; want false, nil", ok, err)
	}
}

// TestFerretStoredDocument: a key is stored as {_id, v} with the value's
// bytes as they are; the driver does not interpret pacbench's header.
func TestFerretStoredDocument(t *testing.T) {
	t.Parallel()
	uri, _ := ferretURI(t)
	c := openTest(t, []string{uri})
	s := newSession(t, c, drivers.SessionConfig{Levels: drivers.Levels{KeyW: "majority", KeyReadConcern: "majority"}})
	ctx := opCtx(t)
	v := workloads.NewValue(workloads.Header{Key: 3, Writer: 4242, Seq: 9, Invoke: 77}, 200)
	for _, val := range [][]byte{v, []byte("plain bytes")} {
		if err := s.Write(ctx, "k", val); err != nil {
			t.Fatal(err)
		}
		var doc bson.D
		coll := c.control.Database(c.opts.Database).Collection(c.opts.Collection)
		if err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "k"}}).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if len(doc) != 2 || doc[0].Key != "_id" || doc[1].Key != "v" {
			t.Fatalf("stored document %v, want {_id, v}", doc)
		}
		if b, ok := doc[1].Value.(bson.Binary); !ok || string(b.Data) != string(val) {
			t.Fatalf("stored v = %v, want the %d bytes written", doc[1].Value, len(val))
		}
	}
}

// TestFerretTopology: a standalone is its own primary.
func TestFerretTopology(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	c := openTest(t, []string{uri})
	ms, err := c.Topology(opCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := drivers.Member{Name: addr, Endpoint: addr, Role: "primary"}
	if len(ms) != 1 || ms[0] != want {
		t.Fatalf("topology = %+v, want [%+v]", ms, want)
	}
}

// TestFerretPinnedRoutes pins reads and writes to the member by address:
// the session then talks to it over a direct connection.
func TestFerretPinnedRoutes(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	c := openTest(t, []string{uri})
	s := newSession(t, c, drivers.SessionConfig{
		Levels:         drivers.Levels{KeyCausal: "true", KeyReadConcern: "majority", KeyW: "majority"},
		ReadEndpoints:  []string{addr},
		WriteEndpoints: []string{addr},
	})
	ctx := opCtx(t)
	if err := s.Write(ctx, "p", value(1, 1, 40)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Read(ctx, "p")
	if err != nil || !got.Found || got.Server != addr {
		t.Fatalf("pinned read = %+v, %v; want found on %s", got, err, addr)
	}
	if len(s.routes) != 1 {
		t.Errorf("reads and writes pinned to one member use %d routes, want 1", len(s.routes))
	}
	_, err = c.Session(ctx, drivers.SessionConfig{ReadEndpoints: []string{addr, addr}})
	if !errors.Is(err, drivers.ErrUnsupported) {
		t.Errorf("two pinned read members: %v, want ErrUnsupported", err)
	}
}

// commandsNamed returns the recorded commands named name.
func commandsNamed(tr *Trace, name string) []Command {
	var out []Command
	for _, c := range tr.Commands() {
		if c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

// TestFerretWire checks through the command monitor that every configured
// read concern and write concern is on the wire, as configured.
func TestFerretWire(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	c := openTest(t, []string{uri})
	writes := []struct {
		name   string
		levels drivers.Levels
		wc     bson.D
	}{
		{"w1", drivers.Levels{KeyW: "1"}, bson.D{{Key: "w", Value: int32(1)}}},
		{"majority", drivers.Levels{KeyW: "majority"}, bson.D{{Key: "w", Value: "majority"}}},
		{"majority-j", drivers.Levels{KeyW: "majority", KeyJ: "true"}, bson.D{{Key: "w", Value: "majority"}, {Key: "j", Value: true}}},
		{"w1-nj", drivers.Levels{KeyW: "1", KeyJ: "false"}, bson.D{{Key: "w", Value: int32(1)}, {Key: "j", Value: false}}},
		{"w2-wtimeout", drivers.Levels{KeyW: "2", KeyWTimeout: "750ms"}, bson.D{{Key: "w", Value: int32(2)}, {Key: "wtimeout", Value: int64(750)}}},
	}
	for _, rc := range readConcerns {
		for _, w := range writes {
			levels := drivers.Levels{KeyReadConcern: rc}
			for k, v := range w.levels {
				levels[k] = v
			}
			if _, err := ParseLevels(levels); err != nil {
				continue // e.g. snapshot needs w=majority
			}
			t.Run(rc+"/"+w.name, func(t *testing.T) {
				s := newSession(t, c, drivers.SessionConfig{Levels: levels})
				tr := &Trace{}
				everyOp(t, s, WithTrace(opCtx(t), tr), rc+"-"+w.name)
				checkWriteConcerns(t, tr, w.wc, addr)
				checkFinds(t, tr, rc)
			})
		}
	}
}

// everyOp issues a write, an insert, a read, a CAS, a read and a scan.
func everyOp(t *testing.T, s *session, ctx context.Context, key string) {
	t.Helper()
	if err := s.Write(ctx, key, value(1, 1, 40)); err != nil {
		t.Fatalf("write: %v", err)
	}
	if err := s.Insert(ctx, key+"-i", value(2, 0, 40)); err != nil {
		t.Fatalf("insert: %v", err)
	}
	cur, err := s.Read(ctx, key)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if ok, err := s.CAS(ctx, key, cur.Version, value(1, 2, 40)); !ok || err != nil {
		t.Fatalf("cas: %v %v", ok, err)
	}
	if got, err := s.Read(ctx, key); err != nil || !got.Found {
		t.Fatalf("read: %+v %v", got, err)
	}
	if _, err := s.Scan(ctx, key, 2); err != nil {
		t.Fatalf("scan: %v", err)
	}
}

// checkWriteConcerns: every update and insert on the wire carries wc and
// was answered ok by addr.
func checkWriteConcerns(t *testing.T, tr *Trace, wc bson.D, addr string) {
	t.Helper()
	for _, name := range []string{"update", "insert"} {
		cmds := commandsNamed(tr, name)
		if len(cmds) == 0 {
			t.Fatalf("no %s command on the wire", name)
		}
		for _, cmd := range cmds {
			gotWC, ok := cmd.Body.Lookup("writeConcern").DocumentOK()
			if !ok {
				t.Fatalf("%s without writeConcern: %v", name, cmd.Body)
			}
			if err := sameDoc(gotWC, wc); err != nil {
				t.Errorf("%s writeConcern: %v", name, err)
			}
			if !cmd.OK || cmd.Server != addr {
				t.Errorf("%s: ok=%v server=%q; want ok from %s", name, cmd.OK, cmd.Server, addr)
			}
		}
	}
}

// checkFinds: the two reads and the scan carry read concern rc and no
// $readPreference (a standalone, per the server-selection spec); the first
// read (FindOne) carries maxTimeMS from the op's deadline — the scan (a
// Find cursor) never does in mongo-driver v2 (DRIVERS-2722), only the
// client deadline bounds it.
func checkFinds(t *testing.T, tr *Trace, rc string) {
	t.Helper()
	finds := commandsNamed(tr, "find")
	if len(finds) != 3 {
		t.Fatalf("%d find commands, want 3 (read, read, scan)", len(finds))
	}
	if _, ok := finds[0].Body.Lookup("maxTimeMS").AsInt64OK(); !ok {
		t.Errorf("read without maxTimeMS although the op had a deadline: %v", finds[0].Body)
	}
	for _, f := range finds {
		level, _ := f.Body.Lookup("readConcern", "level").StringValueOK()
		if level != rc {
			t.Errorf("find readConcern.level = %q, want %q (command %v)", level, rc, f.Body)
		}
		if _, err := f.Body.LookupErr("$readPreference"); err == nil {
			t.Errorf("$readPreference sent to a standalone: %v", f.Body)
		}
	}
}

// sameDoc compares a wire document with the expected one, field by field,
// in order.
func sameDoc(got bson.Raw, want bson.D) error {
	elems, err := got.Elements()
	if err != nil {
		return err
	}
	var g bson.D
	for _, e := range elems {
		var v any
		switch e.Value().Type {
		case bson.TypeInt32:
			v = e.Value().Int32()
		case bson.TypeInt64:
			v = e.Value().Int64()
		case bson.TypeString:
			v = e.Value().StringValue()
		case bson.TypeBoolean:
			v = e.Value().Boolean()
		default:
			v = e.Value().String()
		}
		g = append(g, bson.E{Key: e.Key(), Value: v})
	}
	if len(g) != len(want) {
		return errors.New("got " + docString(g) + ", want " + docString(want))
	}
	for i := range g {
		if g[i] != want[i] {
			return errors.New("got " + docString(g) + ", want " + docString(want))
		}
	}
	return nil
}

func docString(d bson.D) string {
	b, err := bson.MarshalExtJSON(d, false, false)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// TestFerretReadPreference: against a standalone, read preference is a
// server-selection matter only (mongo-driver sends no $readPreference to a
// standalone, and v2 exposes no accessor or log of the selector). Check the
// preference each session hands to server selection, that selection picked
// the one member (Value.Server), and that the find went there. Real
// selection among members is checked by the replica-set test.
func TestFerretReadPreference(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	c := openTest(t, []string{uri})
	tests := []struct {
		levels drivers.Levels
		want   string // readpref.ReadPref.String()
	}{
		{drivers.Levels{}, "primary"},
		{drivers.Levels{KeyReadPreference: "primaryPreferred"}, "primaryPreferred"},
		{drivers.Levels{KeyReadPreference: "secondary", KeyMaxStaleness: "90"}, "secondary(maxStaleness=1m30s)"},
		{drivers.Levels{KeyReadPreference: "secondaryPreferred", KeyTags: "dc:east,rack:1"}, "secondaryPreferred(tagSet=dc=east,rack=1)"},
		{drivers.Levels{KeyReadPreference: "nearest", KeyMaxStaleness: "2m", KeyTags: "dc:east;dc:west"}, "nearest(maxStaleness=2m0s tagSet=dc=east tagSet=dc=west)"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			s := newSession(t, c, drivers.SessionConfig{Levels: tc.levels})
			if got := s.rp.String(); got != tc.want {
				t.Errorf("read preference used for server selection = %s, want %s", got, tc.want)
			}
			ctx := opCtx(t)
			if err := s.Write(ctx, "rp", value(1, 1, 40)); err != nil {
				t.Fatal(err)
			}
			tr := &Trace{}
			got, err := s.Read(WithTrace(ctx, tr), "rp")
			if err != nil || !got.Found || got.Server != addr {
				t.Fatalf("read = %+v, %v; want found on %s", got, err, addr)
			}
			finds := commandsNamed(tr, "find")
			if len(finds) != 1 || finds[0].Server != addr {
				t.Fatalf("find commands %+v, want one to %s", finds, addr)
			}
		})
	}
}

// TestFerretCausal: a causal session reuses one logical session (lsid) for
// every op, and gossips cluster time when the server provides it.
func TestFerretCausal(t *testing.T) {
	t.Parallel()
	uri, _ := ferretURI(t)
	c := openTest(t, []string{uri})
	for _, causal := range []bool{false, true} {
		name := "causal=false"
		if causal {
			name = "causal=true"
		}
		t.Run(name, func(t *testing.T) {
			levels := drivers.Levels{KeyW: "majority", KeyReadConcern: "majority"}
			if causal {
				levels[KeyCausal] = "true"
			}
			s := newSession(t, c, drivers.SessionConfig{Levels: levels})
			tr := &Trace{}
			ctx := WithTrace(opCtx(t), tr)
			for i := 0; i < 3; i++ {
				if err := s.Write(ctx, "c", value(1, uint64(i+1), 40)); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Read(ctx, "c"); err != nil {
					t.Fatal(err)
				}
			}
			lsids := map[string]bool{}
			for _, cmd := range tr.Commands() {
				id, err := cmd.Body.LookupErr("lsid")
				if err != nil {
					t.Fatalf("%s without lsid", cmd.Name)
				}
				lsids[id.String()] = true
			}
			if causal && len(lsids) != 1 {
				t.Errorf("causal session used %d logical sessions, want 1", len(lsids))
			}
			if s.read.ms == nil == causal {
				t.Errorf("causal=%v but mongo session present=%v", causal, s.read.ms != nil)
			}
			var after int
			for _, f := range commandsNamed(tr, "find") {
				if _, err := f.Body.LookupErr("readConcern", "afterClusterTime"); err == nil {
					after++
				}
			}
			t.Logf("%s: %d of 3 reads carried readConcern.afterClusterTime (sent only when the server returns operationTime)", name, after)
			if !causal && after > 0 {
				t.Errorf("non-causal reads carried afterClusterTime")
			}
		})
	}
}

// TestFerretLinearizableDefaultDeadline: a linearizable read whose context
// has no deadline still carries maxTimeMS.
func TestFerretLinearizableDefaultDeadline(t *testing.T) {
	t.Parallel()
	uri, _ := ferretURI(t)
	c := openTest(t, []string{uri})
	s := newSession(t, c, drivers.SessionConfig{Levels: drivers.Levels{KeyReadConcern: "linearizable", KeyW: "majority"}})
	tr := &Trace{}
	if _, err := s.Read(WithTrace(context.Background(), tr), "x"); err != nil {
		t.Fatal(err)
	}
	finds := commandsNamed(tr, "find")
	if len(finds) != 1 {
		t.Fatalf("%d finds", len(finds))
	}
	ms, ok := finds[0].Body.Lookup("maxTimeMS").AsInt64OK()
	if !ok || ms <= 0 || ms > LinearizableMaxTime.Milliseconds() {
		t.Fatalf("linearizable read without a deadline: maxTimeMS %d (present %v), want 0 < maxTimeMS ≤ %d", ms, ok, LinearizableMaxTime.Milliseconds())
	}
	if !strings.Contains(finds[0].Body.String(), "linearizable") {
		t.Fatalf("no linearizable read concern: %v", finds[0].Body)
	}
}
