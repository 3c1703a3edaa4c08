// Package drivertest is the conformance kit of pacbench drivers: one suite
// that every driver's tests run, so that a driver is held to the same
// contract as the others and a new driver's tests are mostly this kit.
//
//   - Static(t, d) needs no server: Info, level validation round trip,
//     option declarations, endpoint checks (credentials refused, nothing
//     secret in errors), Open of an unreachable endpoint.
//   - Run(t, h) runs against a real server described by a Harness: not
//     found, value round trip (binary values with the pacbench header and
//     padding, several sizes), the CAS table (absent→set, matching and
//     stale versions, a version on an absent key, concurrent CAS with
//     exactly one winner), scan limits and order against the database's
//     own count, the timeout class (an expired deadline; a deadline shorter
//     than a delay a real Toxiproxy adds), the class of ops on a member
//     whose link is down and recovery after heal, Topology naming every
//     member, and idempotent Close of sessions and clients.
//
// Run's subtests run one after another (they impair the server) and heal
// on every exit path. The kit only reads what its tests wrote, under keys
// it makes unique per run.
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Harness says how the kit reaches a real server and what the driver
// promises where drivers legitimately differ. Fields are read-only once
// Run starts.
type Harness struct {
	// Driver under test.
	Driver drivers.Driver
	// Config opens a client on the real server: endpoints, options (a
	// private keyspace or database), credentials. The kit opens several.
	Config drivers.Config
	// Levels is a level set at which a session reads its own writes (e.g.
	// etcd linearizable, Cassandra QUORUM/QUORUM): the level of every
	// session the kit opens.
	Levels drivers.Levels
	// Members are the member endpoints Topology must report, as the driver
	// names them (nil: the client must not implement drivers.Topologist).
	Members []string
	// CountFrom returns how many keys the database holds at or after start
	// (a key the kit wrote) in the driver's scan order, by a query
	// independent of Scan: the reference for Scan's results. Required when
	// sessions implement drivers.Scanner.
	CountFrom func(ctx context.Context, start string) (int, error)
	// Link returns a real impairable client link to one member (see
	// ProxyLink for one through an embedded Toxiproxy). Required.
	Link func(t *testing.T) Link
	// DownClass is the documented class of an op on a session pinned to a
	// member whose link is down (the zero value means op.Unavailable).
	DownClass op.Class
	// CASNotAtomic, when set, says why the server under test does not make
	// a conditional write atomic (a documented server limitation, such as
	// FerretDB 1.x's); the concurrent CAS case then only reports what it
	// sees and is skipped with this reason. Empty: exactly one winner is
	// required.
	CASNotAtomic string
}

// Link is a real client link to one member that the kit can impair.
type Link struct {
	// Config opens a client that reaches Endpoint through the link.
	Config drivers.Config
	// Endpoint names the member behind the link as SessionConfig pins do.
	Endpoint string
	// Down refuses new connections through the link and cuts the open ones.
	Down func(ctx context.Context) error
	// Delay delays by d everything the member sends back through the link.
	Delay func(ctx context.Context, d time.Duration) error
	// Heal removes every impairment of Down and Delay.
	Heal func(ctx context.Context) error
}

// opTimeout bounds every op the kit issues on a healthy server.
const opTimeout = 10 * time.Second

// Run runs the conformance suite against the server h describes. Call it
// from one integration test per driver; it fails the test for every broken
// promise.
func Run(t *testing.T, h Harness) {
	if h.Driver == nil {
		t.Fatal("drivertest: Harness.Driver is nil")
	}
	k := &kit{h: h, prefix: fmt.Sprintf("drivertest-%d-%d/", os.Getpid(), time.Now().UnixNano())}
	t.Run("not found", k.notFound)
	t.Run("round trip", k.roundTrip)
	t.Run("cas", k.casTable)
	t.Run("concurrent cas", k.concurrentCAS)
	t.Run("scan", k.scan)
	t.Run("topology", k.topology)
	t.Run("bad level", k.badLevel)
	t.Run("expired deadline", k.expiredDeadline)
	t.Run("delay past the deadline", k.delayTimeout)
	t.Run("link down", k.linkDown)
	t.Run("close", k.close)
}

// kit is one Run: the harness and the key prefix of this run.
type kit struct {
	h      Harness
	prefix string
}

// key returns a key unique to this run.
func (k *kit) key(name string) string { return k.prefix + name }

// open opens a client on cfg (prepared, when the driver can), closed at
// cleanup.
func (k *kit) open(t *testing.T, cfg drivers.Config) drivers.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := k.h.Driver.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("client close: %v", err)
		}
	})
	if p, ok := c.(drivers.Preparer); ok {
		for i := range 2 { // Prepare is idempotent
			if err := p.Prepare(ctx); err != nil {
				t.Fatalf("prepare (call %d): %v", i+1, err)
			}
		}
	}
	return c
}

// session opens a session at the harness's levels, closed at cleanup.
func (k *kit) session(t *testing.T, c drivers.Client, cfg drivers.SessionConfig) drivers.Session {
	t.Helper()
	if cfg.Levels == nil {
		cfg.Levels = k.h.Levels
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Session(ctx, cfg)
	if err != nil {
		t.Fatalf("session %+v: %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("session close: %v", err)
		}
	})
	return s
}

// opCtx returns a context bounding one op by d.
func opCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// healOnExit heals l when the test ends, whatever happened.
func healOnExit(t *testing.T, l Link) {
	t.Helper()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := l.Heal(ctx); err != nil {
			t.Errorf("heal the link: %v", err)
		}
	})
}

// awaitOK retries fn (each try bounded by opTimeout) until it succeeds,
// for at most limit.
func awaitOK(t *testing.T, what string, limit time.Duration, fn func(ctx context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		err = fn(ctx)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %v: %v (class %s)", what, limit, err, op.ClassOf(err))
}

// errNotImplemented marks a capability the harness says exists but the
// session lacks.
var errNotImplemented = errors.New("capability not implemented")
