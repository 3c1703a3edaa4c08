package drivertest

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Fault timings. The deadline is short against the delay, and the bounds
// on how long an op may take are loose: the machine may be loaded, and
// what is asserted is that the deadline is honoured, not how fast.
const (
	shortDeadline = 300 * time.Millisecond
	linkDelay     = 5 * time.Second
	// healWithin bounds how long a session takes to work again after its
	// link is healed (drivers reconnect on their own schedule).
	healWithin = 90 * time.Second
)

// expiredDeadline: an op whose deadline has passed fails as timeout.
func (k *kit) expiredDeadline(t *testing.T) {
	s := k.session(t, k.open(t, k.h.Config), drivers.SessionConfig{})
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, err := s.Read(ctx, k.key("expired"))
	if c := op.ClassOf(err); err == nil || c != op.Timeout {
		t.Fatalf("read with an expired deadline: %v (class %s), want class timeout", err, c)
	}
	err = s.Write(ctx, k.key("expired"), value(1, 1, 64))
	if c := op.ClassOf(err); err == nil || c != op.Timeout {
		t.Fatalf("write with an expired deadline: %v (class %s), want class timeout", err, c)
	}
}

// link returns the harness's link, healed now and when the test ends.
func (k *kit) link(t *testing.T) Link {
	t.Helper()
	if k.h.Link == nil {
		t.Fatal("Harness.Link is required")
	}
	l := k.h.Link(t)
	if err := l.Heal(opCtx(t, 30*time.Second)); err != nil {
		t.Fatalf("heal before the test: %v", err)
	}
	healOnExit(t, l)
	return l
}

// pinned opens a client through l and a session whose reads and writes
// are pinned to l's member, and checks that it works.
func (k *kit) pinned(t *testing.T, l Link) drivers.Session {
	t.Helper()
	pin := []string{l.Endpoint}
	s := k.session(t, k.open(t, l.Config), drivers.SessionConfig{ReadEndpoints: pin, WriteEndpoints: pin})
	if err := s.Write(opCtx(t, opTimeout), k.key("link"), value(2, 1, 64)); err != nil {
		t.Fatalf("write through the healthy link: %v", err)
	}
	if _, err := s.Read(opCtx(t, opTimeout), k.key("link")); err != nil {
		t.Fatalf("read through the healthy link: %v", err)
	}
	return s
}

// delayTimeout: through a real Toxiproxy delaying the member's replies
// far past an op's deadline, the op returns at its deadline, as timeout.
func (k *kit) delayTimeout(t *testing.T) {
	l := k.link(t)
	s := k.pinned(t, l)
	if err := l.Delay(opCtx(t, 30*time.Second), linkDelay); err != nil {
		t.Fatalf("delay the link: %v", err)
	}
	for _, o := range []struct {
		name string
		do   func(ctx context.Context) error
	}{
		{"read", func(ctx context.Context) error { _, err := s.Read(ctx, k.key("link")); return err }},
		{"write", func(ctx context.Context) error { return s.Write(ctx, k.key("link"), value(2, 2, 64)) }},
	} {
		start := time.Now()
		err := o.do(opCtx(t, shortDeadline))
		took := time.Since(start)
		if c := op.ClassOf(err); err == nil || c != op.Timeout {
			t.Errorf("%s with a %v deadline over a link delayed by %v: %v (class %s), want class timeout", o.name, shortDeadline, linkDelay, err, c)
		}
		if took > linkDelay-time.Second {
			t.Errorf("%s took %v: the %v deadline was not honoured", o.name, took, shortDeadline)
		}
	}
}

// linkDown: with the member's link down, every op of a session pinned to
// it fails with the driver's documented class (none succeeds, none is
// other); after heal the same session works again.
func (k *kit) linkDown(t *testing.T) {
	want := k.h.DownClass
	if want == op.OK {
		want = op.Unavailable
	}
	l := k.link(t)
	s := k.pinned(t, l)
	if err := l.Down(opCtx(t, 30*time.Second)); err != nil {
		t.Fatalf("take the link down: %v", err)
	}
	var counts [op.NumClasses]int
	const n = 6
	for i := range n {
		var err error
		if i%2 == 0 {
			_, err = s.Read(opCtx(t, 3*time.Second), k.key("link"))
		} else {
			err = s.Write(opCtx(t, 3*time.Second), k.key("link"), value(2, uint64(3+i), 64))
		}
		c := op.ClassOf(err)
		if c != want && counts[c] == 0 {
			t.Logf("op %d with the link down: %v (class %s)", i, err, c)
		}
		counts[c]++
	}
	if counts[want] != n {
		t.Errorf("with the link down, %d of %d ops failed as %s; classes %v", counts[want], n, want, classCounts(counts))
	}
	if err := l.Heal(opCtx(t, 30*time.Second)); err != nil {
		t.Fatalf("heal: %v", err)
	}
	healed := time.Now()
	awaitOK(t, "read after heal", healWithin, func(ctx context.Context) error {
		_, err := s.Read(ctx, k.key("link"))
		return err
	})
	t.Logf("ops with the link down: %s; the session worked again %v after heal", classCounts(counts), time.Since(healed).Round(10*time.Millisecond))
}

func classCounts(c [op.NumClasses]int) string {
	var parts []string
	for i, n := range c {
		if n > 0 {
			parts = append(parts, op.Class(i).String()+"="+strconv.Itoa(n))
		}
	}
	return strings.Join(parts, " ")
}

// topology: a Topologist names every member the harness lists, each once,
// with a name and a role.
func (k *kit) topology(t *testing.T) {
	c := k.open(t, k.h.Config)
	tp, ok := c.(drivers.Topologist)
	if !ok {
		if k.h.Members != nil {
			t.Fatalf("Harness.Members is set but client %T is not a drivers.Topologist", c)
		}
		t.Skip("no topology capability")
	}
	ms, err := tp.Topology(opCtx(t, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var eps, names []string
	for _, m := range ms {
		if m.Name == "" || m.Role == "" || m.Endpoint == "" {
			t.Errorf("member %+v lacks a name, role or endpoint", m)
		}
		eps, names = append(eps, m.Endpoint), append(names, m.Name)
	}
	slices.Sort(eps)
	slices.Sort(names)
	want := slices.Sorted(slices.Values(k.h.Members))
	if !slices.Equal(eps, want) {
		t.Errorf("topology endpoints %v, want %v", eps, want)
	}
	if len(slices.Compact(names)) != len(ms) {
		t.Errorf("member names not unique: %+v", ms)
	}
}

// badLevel: a session at a level the driver rejects fails with
// ErrInvalidLevel.
func (k *kit) badLevel(t *testing.T) {
	c := k.open(t, k.h.Config)
	_, err := c.Session(opCtx(t, opTimeout), drivers.SessionConfig{Levels: drivers.Levels{"no_such_dimension": "x"}})
	if !errors.Is(err, drivers.ErrInvalidLevel) {
		t.Fatalf("session at an unknown level: %v, want ErrInvalidLevel", err)
	}
}

// close: Close is idempotent for sessions and clients, and an op after the
// client closed fails (no panic, no hang).
func (k *kit) close(t *testing.T) {
	c, err := k.h.Driver.Open(opCtx(t, time.Minute), k.h.Config)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Session(opCtx(t, opTimeout), drivers.SessionConfig{Levels: k.h.Levels})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Read(opCtx(t, opTimeout), k.key("close")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("session Close #%d: %v", i+1, err)
		}
	}
	s2, err := c.Session(opCtx(t, opTimeout), drivers.SessionConfig{Levels: k.h.Levels})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := c.Close(); err != nil {
			t.Errorf("client Close #%d: %v", i+1, err)
		}
	}
	if _, err := s2.Read(opCtx(t, opTimeout), k.key("close")); err == nil {
		t.Error("read on a session of a closed client succeeded")
	}
	if err := s2.Close(); err != nil {
		t.Errorf("Close of a session after its client closed: %v", err)
	}
}
