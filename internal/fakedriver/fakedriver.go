// Package fakedriver is an in-memory driver for unit-testing the engine and
// the staleness arithmetic: a "database" whose readers see each key as it
// was Lag ago (a replica with a known replication lag), optionally stalling
// every op inside a time window, or panicking. It never stands in for a real
// database in integration tests or demos.
package fakedriver

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Options configure the fake database. Safe to share; read-only after New.
type Options struct {
	// Name registers the driver (default "fake").
	Name string
	// Lag is the replication lag of reads at level read=stale: a read sees
	// the newest value written at least Lag before it. Reads at any other
	// level see the newest value (linearizable).
	Lag time.Duration
	// OpDelay is added to every op (service time).
	OpDelay time.Duration
	// StallFrom/StallFor: every op invoked in [StallFrom, StallFrom+StallFor)
	// after the first op blocks until the stall ends.
	StallFrom, StallFor time.Duration
	// PanicFrom makes the first read invoked at least PanicFrom after the
	// first op panic (0: never): a panic at a time, not after a count of
	// reads that a slow machine may not reach.
	PanicFrom time.Duration
	// Unreachable makes Open fail with drivers.ErrUnreachable.
	Unreachable bool
	// DropWrite makes the DropWrite-th write of the client (counted from 1
	// over all sessions, CAS included; 0: none) acknowledged but never
	// stored: an acknowledged write the database loses.
	DropWrite int64
	// FailWrite makes the FailWrite-th write (0: none) fail with a timeout
	// after it was stored: its outcome is indeterminate to the client.
	FailWrite int64
	// StallKeys are keys whose reads never return: they block until their
	// context ends and fail as timeouts.
	StallKeys []string
	// LWW orders each key's versions by their write timestamps, as
	// last-write-wins does (Cassandra): a write stamped with a clock behind
	// the one before it is kept under that older write, and reads never
	// see it. A session's timestamps come from the clock StampWrites gave
	// it, else from the time the write arrives.
	LWW bool
	// Writes, if set, counts the writes of each write route.
	Writes *WriteLog
}

// WriteLog counts writes by the write endpoints of the session that
// issued them ("" for the driver's own routing). Safe for concurrent use.
type WriteLog struct {
	mu sync.Mutex
	n  map[string]int64
}

func (l *WriteLog) add(route string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == nil {
		l.n = map[string]int64{}
	}
	l.n[route]++
}

// Counts returns the writes counted so far, by route.
func (l *WriteLog) Counts() map[string]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int64, len(l.n))
	for k, v := range l.n {
		out[k] = v
	}
	return out
}

// Driver is the fake driver.
type Driver struct {
	o Options
}

var (
	_ drivers.Driver            = (*Driver)(nil)
	_ drivers.ClientTimestamps  = (*Driver)(nil)
	_ drivers.Client            = (*client)(nil)
	_ drivers.Session           = (*session)(nil)
	_ drivers.CASer             = (*session)(nil)
	_ drivers.Scanner           = (*session)(nil)
	_ drivers.ClientTimestamper = (*session)(nil)
	_ drivers.Auditor           = (*Driver)(nil)
)

// New returns a fake driver.
func New(o Options) *Driver {
	if o.Name == "" {
		o.Name = "fake"
	}
	return &Driver{o: o}
}

// Name implements drivers.Driver.
func (d *Driver) Name() string { return d.o.Name }

// Info implements drivers.Driver.
func (d *Driver) Info() drivers.Info {
	return drivers.Info{Name: d.o.Name, Description: "in-memory fake with a known replication lag (tests only)",
		Levels: []drivers.LevelDim{{Key: "read", Values: []string{"fresh", "stale"}, Default: "fresh"}},
		Ops:    []string{"read", "write", "insert", "scan", "rmw", "cas"}}
}

// ClientTimestamps implements drivers.ClientTimestamps: sessions take a
// write clock whatever the options.
func (d *Driver) ClientTimestamps(map[string]string) error { return nil }

// ValidateLevels implements drivers.Driver.
func (d *Driver) ValidateLevels(l drivers.Levels) error {
	for k, v := range l {
		switch {
		case k == "read" && (v == "" || v == "fresh" || v == "stale"):
		case k == "write" && v == "":
		default:
			return fmt.Errorf("%w: %s=%q", drivers.ErrInvalidLevel, k, v)
		}
	}
	return nil
}

// AuditLevels implements drivers.Auditor: fresh reads.
func (d *Driver) AuditLevels(drivers.Levels, bool) drivers.Levels {
	return drivers.Levels{"read": "fresh", "write": ""}
}

// ReplicaLevels implements drivers.Auditor: stale reads (Options.Lag).
func (d *Driver) ReplicaLevels(drivers.Levels) drivers.Levels {
	return drivers.Levels{"read": "stale", "write": ""}
}

// Open implements drivers.Driver.
func (d *Driver) Open(context.Context, drivers.Config) (drivers.Client, error) {
	if d.o.Unreachable {
		return nil, fmt.Errorf("fake: %w", drivers.ErrUnreachable)
	}
	return &client{o: d.o, data: map[string][]version{}}, nil
}

type version struct {
	at  time.Time
	val []byte
}

type client struct {
	o      Options
	mu     sync.Mutex
	data   map[string][]version
	first  time.Time
	reads  int64
	writes int64
	// panicked: the PanicFrom panic happened (it happens once).
	panicked bool
}

func (c *client) Session(_ context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	s := &session{c: c, stale: cfg.Levels["read"] == "stale"}
	if len(cfg.WriteEndpoints) > 0 {
		s.route = cfg.WriteEndpoints[0]
	}
	return s, nil
}

func (c *client) Close() error { return nil }

// Topology implements drivers.Topologist: one leader, two followers.
func (c *client) Topology(context.Context) ([]drivers.Member, error) {
	return []drivers.Member{{Name: "f1", Endpoint: "fake://1", Role: "leader"},
		{Name: "f2", Endpoint: "fake://2", Role: "follower"}, {Name: "f3", Endpoint: "fake://3", Role: "follower"}}, nil
}

type session struct {
	c     *client
	stale bool
	route string           // first write endpoint ("" = any)
	now   func() time.Time // write clock (StampWrites); nil: arrival time
}

// StampWrites implements drivers.ClientTimestamper.
func (s *session) StampWrites(now func() time.Time) { s.now = now }

// enter applies the stall window and the op delay.
func (s *session) enter(ctx context.Context) error {
	c := s.c
	c.mu.Lock()
	now := time.Now()
	if c.first.IsZero() {
		c.first = now
	}
	first := c.first
	c.mu.Unlock()
	wait := c.o.OpDelay
	if c.o.StallFor > 0 {
		since := now.Sub(first)
		if since >= c.o.StallFrom && since < c.o.StallFrom+c.o.StallFor {
			wait += c.o.StallFrom + c.o.StallFor - since
		}
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return op.Classify(op.Timeout, ctx.Err())
	}
}

func (s *session) Read(ctx context.Context, key string) (drivers.Value, error) {
	if err := s.enter(ctx); err != nil {
		return drivers.Value{}, err
	}
	c := s.c
	if slices.Contains(c.o.StallKeys, key) {
		<-ctx.Done()
		return drivers.Value{}, op.Classify(op.Timeout, ctx.Err())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	if c.o.PanicFrom > 0 && !c.panicked && time.Since(c.first) >= c.o.PanicFrom {
		c.panicked = true
		panic("fakedriver: injected panic")
	}
	vs := c.data[key]
	if !s.stale && len(vs) > 0 { // the newest version (by timestamp with LWW)
		v := vs[len(vs)-1]
		return drivers.Value{Data: v.val, Found: true, Version: drivers.BytesVersion(v.val), Server: "fake"}, nil
	}
	cutoff := time.Now().Add(-c.o.Lag)
	for i := len(vs) - 1; i >= 0; i-- {
		if !vs[i].at.After(cutoff) {
			return drivers.Value{Data: vs[i].val, Found: true, Version: drivers.BytesVersion(vs[i].val), Server: "fake"}, nil
		}
	}
	return drivers.Value{}, nil
}

func (s *session) Write(ctx context.Context, key string, value []byte) error {
	if err := s.enter(ctx); err != nil {
		return err
	}
	if c := s.c; c.o.Writes != nil {
		c.o.Writes.add(s.route)
	}
	at := time.Now()
	if s.now != nil {
		at = s.now()
	}
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writes++
	if c.writes == c.o.DropWrite {
		return nil // acknowledged, never stored
	}
	vs := append(c.data[key], version{at: at, val: append([]byte(nil), value...)})
	if c.o.LWW { // keep timestamp order: the newest timestamp wins
		for i := len(vs) - 1; i > 0 && vs[i].at.Before(vs[i-1].at); i-- {
			vs[i], vs[i-1] = vs[i-1], vs[i]
		}
	}
	// Keep what a lagging reader can still see, and a little more.
	for len(vs) > 2 && time.Since(vs[1].at) > c.o.Lag+time.Second {
		vs = vs[1:]
	}
	c.data[key] = vs
	if c.writes == c.o.FailWrite {
		return op.Classify(op.Timeout, fmt.Errorf("fake: write %q: %w (stored)", key, context.DeadlineExceeded))
	}
	return nil
}

// CAS swaps in next if the newest value is the one expect names (the
// stored bytes), or if the key is absent and expect is the zero Version.
func (s *session) CAS(ctx context.Context, key string, expect drivers.Version, next []byte) (bool, error) {
	if err := s.enter(ctx); err != nil {
		return false, err
	}
	c := s.c
	c.mu.Lock()
	vs := c.data[key]
	var cur []byte
	if len(vs) > 0 {
		cur = vs[len(vs)-1].val
	}
	c.mu.Unlock()
	prev, ok := expect.Bytes()
	if !ok && !expect.Absent() {
		return false, fmt.Errorf("fake: cas: %w: not a version this driver returned", drivers.ErrUnsupported)
	}
	if string(cur) != string(prev) || (cur == nil) != expect.Absent() {
		return false, nil
	}
	return true, s.Write(context.WithoutCancel(ctx), key, next)
}

func (s *session) Scan(ctx context.Context, _ string, n int) (int, error) {
	if err := s.enter(ctx); err != nil {
		return 0, err
	}
	return n, nil
}

func (s *session) Close() error { return nil }
