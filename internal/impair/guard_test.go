package impair

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// stuckExecutor blocks every command until its context ends (a docker
// daemon that stopped answering).
type stuckExecutor struct{}

func (stuckExecutor) Run(ctx context.Context, _ []string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// switchExecutor succeeds until broken, then runs through next.
type switchExecutor struct {
	mu     sync.Mutex
	broken Executor
}

func (s *switchExecutor) Run(ctx context.Context, argv []string) ([]byte, error) {
	s.mu.Lock()
	b := s.broken
	s.mu.Unlock()
	if b != nil {
		return b.Run(ctx, argv)
	}
	return nil, nil
}

func (s *switchExecutor) breakWith(x Executor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = x
}

// toxiAPI is a Toxiproxy-API stand-in whose behaviour can be switched to
// freeze (hold every request until the client gives up) or fail (500).
type toxiAPI struct {
	mu    sync.Mutex
	state string // "ok", "frozen", "fail"
}

func (a *toxiAPI) set(s string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.state = s
}

func (a *toxiAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	st := a.state
	a.mu.Unlock()
	switch st {
	case "frozen":
		<-r.Context().Done()
	case "fail":
		http.Error(w, `{"error":"boom"}`, http.StatusInternalServerError)
	default:
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{}`))
	}
}

// TestGuardStuckHeal: for each backend and state of its server, a Clear
// through a Guard reports exactly what was removed and what is left, gives
// up at the timeout, and returns at once when abandoned.
func TestGuardStuckHeal(t *testing.T) {
	t.Parallel()
	topo := testTopo()
	latency := []Action{
		{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Downstream, Delay: 40 * time.Millisecond},
		{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Delay: 5 * time.Millisecond},
	}
	type setup struct {
		backend Backend
		breakIt func() // makes the server misbehave after Apply
	}
	toxi := func(state string) func(t *testing.T) setup {
		return func(t *testing.T) setup {
			api := &toxiAPI{state: "ok"}
			srv := httptest.NewServer(api)
			t.Cleanup(srv.Close)
			return setup{NewToxiproxy(srv.URL, topo), func() { api.set(state) }}
		}
	}
	toxiDead := func(t *testing.T) setup {
		api := &toxiAPI{state: "ok"}
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		return setup{NewToxiproxy(srv.URL, topo), srv.Close}
	}
	netem := func(x Executor) func(t *testing.T) setup {
		return func(t *testing.T) setup {
			sw := &switchExecutor{}
			return setup{NewNetem(topo, sw), func() { sw.breakWith(x) }}
		}
	}
	denied := &Recorder{Respond: func([]string) ([]byte, error) {
		return []byte("Error response from daemon: container is paused"), errors.New("exit status 1")
	}}
	tests := []struct {
		name    string
		setup   func(t *testing.T) setup
		abandon bool // abandon while Clear waits (else: the timeout ends it)
		fails   bool // Clear fails without waiting
		left    int  // lines left in place
	}{
		{"toxiproxy healthy", toxi("ok"), false, false, 0},
		{"toxiproxy frozen, timeout", toxi("frozen"), false, false, 2},
		{"toxiproxy frozen, abandoned", toxi("frozen"), true, false, 2},
		{"toxiproxy answers 500", toxi("fail"), false, true, 2},
		{"toxiproxy gone", toxiDead, false, true, 2},
		{"netem healthy", netem(nil), false, false, 0},
		{"netem docker stuck, timeout", netem(stuckExecutor{}), false, false, 2},
		{"netem docker stuck, abandoned", netem(stuckExecutor{}), true, false, 2},
		{"netem container paused", netem(denied), false, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := tc.setup(t)
			abandon := make(chan struct{})
			const timeout = 300 * time.Millisecond
			g := NewGuard(s.backend, GuardOptions{Abandon: abandon, ClearTimeout: timeout})
			if err := g.Apply(context.Background(), latency); err != nil {
				t.Fatal(err)
			}
			if s.breakIt != nil {
				s.breakIt()
			}
			before := g.Pending()
			if len(before) != 2 {
				t.Fatalf("Pending after Apply = %q, want 2 lines", before)
			}
			if tc.abandon {
				time.AfterFunc(50*time.Millisecond, func() { close(abandon) })
			}
			start := time.Now()
			err := g.Clear(context.Background())
			took := time.Since(start)
			st := g.Status()
			if got := len(st.Left); got != tc.left {
				t.Errorf("Left = %q, want %d lines", st.Left, tc.left)
			}
			if len(st.Left)+len(st.Removed) != 2 || !st.Applied {
				t.Errorf("status %+v does not account for the 2 applied actions", st)
			}
			if st.Healed() != (tc.left == 0 && !tc.abandon) {
				t.Errorf("Healed() = %v for %+v", st.Healed(), st)
			}
			switch {
			case tc.left == 0:
				if err != nil {
					t.Errorf("Clear = %v", err)
				}
			case tc.abandon:
				if !errors.Is(err, ErrAbandoned) || !st.Abandoned || took > timeout {
					t.Errorf("abandoned Clear = %v after %s, status %+v", err, took, st)
				}
			case tc.fails:
				if err == nil || took > timeout {
					t.Errorf("failing Clear = %v after %s", err, took)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), "gave up after") || took < timeout {
					t.Errorf("stuck Clear = %v after %s, want a timeout after %s", err, took, timeout)
				}
			}
			for _, l := range st.Left {
				if !slices.Contains(before, l) {
					t.Errorf("left line %q is not one that was applied (%q)", l, before)
				}
			}
		})
	}
}

// TestGuardAbandonedRefusesLaterCalls: once abandoned, nothing reaches the
// backend again and the account keeps what may be left.
func TestGuardAbandonedRefusesLaterCalls(t *testing.T) {
	t.Parallel()
	rec := &Recorder{}
	abandon := make(chan struct{})
	g := NewGuard(NewNetem(testTopo(), rec), GuardOptions{Abandon: abandon})
	if err := g.Apply(context.Background(), []Action{{Kind: KindDown, Member: "m3", Link: LinkClient}}); err != nil {
		t.Fatal(err)
	}
	close(abandon)
	rec.Reset()
	if err := g.Clear(context.Background()); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("Clear after abandon = %v", err)
	}
	if _, err := g.Heal(context.Background()); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("Heal after abandon = %v", err)
	}
	if cmds := rec.Commands(); len(cmds) != 0 {
		t.Errorf("backend called after abandon: %q", cmds)
	}
	if st := g.Status(); st.Healed() || len(st.Left) != 1 || !strings.Contains(st.Left[0], "chain PACBENCH") {
		t.Errorf("status %+v, want the chain applied on m3 left", st)
	}
}

// TestGuardNothingApplied: a Clear with nothing applied is healed and
// removed nothing.
func TestGuardNothingApplied(t *testing.T) {
	t.Parallel()
	g := NewGuard(NewNetem(testTopo(), &Recorder{}), GuardOptions{})
	if err := g.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := g.Status(); !st.Healed() || st.Applied || len(st.Removed) != 0 {
		t.Errorf("status %+v", st)
	}
}

// TestToxiproxyBasicAuthFromEnvironment: the *_env options reach the API as
// basic authentication, and a refused request's error does not carry the
// password.
func TestToxiproxyBasicAuthFromEnvironment(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		mu.Lock()
		got = append(got, fmt.Sprintf("%v %s:%s", ok, u, p))
		mu.Unlock()
		if p != "s3cret" {
			http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	act := []Action{{Kind: KindLatency, Member: "m1", Link: LinkClient, Direction: Downstream, Delay: time.Millisecond}}
	for _, pw := range []string{"s3cret", "wr0ngpass"} {
		env := map[string]string{"TP_USER": "admin", "TP_PASS": pw}
		b, err := Builtin().Open(BackendSpec{Kind: BackendToxiproxy, Options: map[string]string{
			OptionAPI: srv.URL, "username_env": "TP_USER", "password_env": "TP_PASS"}},
			Config{Topology: testTopo(), Getenv: func(k string) string { return env[k] }})
		if err != nil {
			t.Fatal(err)
		}
		err = b.Apply(context.Background(), act)
		if (err == nil) != (pw == "s3cret") {
			t.Errorf("password %s: Apply = %v", pw, err)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("error carries the password: %v", err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 || got[0] != "true admin:s3cret" {
		t.Errorf("server saw %q", got)
	}
}
