package impair_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/pacbench/pacbench/internal/impair"
)

// echoServer accepts on a loopback port and echoes every line back.
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return l.Addr().String()
}

// fixture is an embedded Toxiproxy with two members' client proxies in front
// of one echo server.
type fixture struct {
	srv    *impair.ToxiServer
	api    *toxiclient.Client
	listen map[string]string // proxy name → listen address
	topo   impair.Topology
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	srv, err := impair.StartToxiproxy(t.Context(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	if !strings.HasPrefix(srv.API(), "http://127.0.0.1:") {
		t.Fatalf("API() = %q", srv.API())
	}
	f := &fixture{srv: srv, api: toxiclient.NewClient(srv.API()), listen: map[string]string{}}
	up := echoServer(t)
	for _, m := range []string{"a", "b"} {
		// Stable ports: the tests take proxies down and re-enable them.
		name := m + "-client"
		addr, err := impair.ListenStable("127.0.0.1", func(addr string) error {
			_, err := f.api.CreateProxy(name, addr, up)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		f.listen[name] = addr
		f.topo.Members = append(f.topo.Members, impair.MemberLinks{Name: m, ClientProxy: name})
	}
	return f
}

// roundTrip sends one line through the proxy and returns how long the echo
// took, or the error (deadline: the link is blackholed).
func (f *fixture) roundTrip(proxy string, timeout time.Duration) (time.Duration, error) {
	c, err := net.DialTimeout("tcp", f.listen[proxy], timeout)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(timeout))
	start := time.Now()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return 0, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return 0, err
	}
	if line != "ping\n" {
		return 0, errors.New("bad echo " + line)
	}
	return time.Since(start), nil
}

// toxics returns the names of the toxics on proxy, sorted.
func (f *fixture) toxics(t *testing.T, proxy string) []string {
	t.Helper()
	p, err := f.api.Proxy(proxy)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range p.ActiveToxics {
		names = append(names, x.Name)
	}
	slices.Sort(names)
	return names
}

func (f *fixture) enabled(t *testing.T, proxy string) bool {
	t.Helper()
	p, err := f.api.Proxy(proxy)
	if err != nil {
		t.Fatal(err)
	}
	return p.Enabled
}

func TestToxiproxyApplyAndClear(t *testing.T) {
	t.Parallel()
	const slow = 300 * time.Millisecond
	tests := []struct {
		name   string
		action impair.Action
		// check is run against a's client proxy while the action is active.
		check func(t *testing.T, f *fixture)
		types []string // toxic types expected on a-client
	}{
		{
			name:   "latency downstream",
			action: impair.Action{Kind: impair.KindLatency, Member: "a", Link: impair.LinkClient, Direction: impair.Downstream, Delay: slow},
			types:  []string{"latency"},
			check: func(t *testing.T, f *fixture) {
				d, err := f.roundTrip("a-client", 5*time.Second)
				if err != nil || d < slow {
					t.Errorf("round trip through delayed link = %v, %v; want ≥ %v", d, err, slow)
				}
				d, err = f.roundTrip("b-client", 5*time.Second)
				if err != nil || d >= slow {
					t.Errorf("round trip through the other member = %v, %v; want < %v", d, err, slow)
				}
			},
		},
		{
			name:   "partition both directions",
			action: impair.Action{Kind: impair.KindPartition, Member: "a", Link: impair.LinkClient},
			types:  []string{"timeout", "timeout"},
			check: func(t *testing.T, f *fixture) {
				if _, err := f.roundTrip("a-client", 500*time.Millisecond); !isTimeout(err) {
					t.Errorf("round trip through blackholed link: err = %v, want a timeout", err)
				}
			},
		},
		{
			name:   "bandwidth",
			action: impair.Action{Kind: impair.KindBandwidth, Member: "a", Link: impair.LinkClient, Direction: impair.Upstream, RateKBps: 100},
			types:  []string{"bandwidth"},
			check: func(t *testing.T, f *fixture) {
				if _, err := f.roundTrip("a-client", 5*time.Second); err != nil {
					t.Errorf("round trip through throttled link: %v", err)
				}
			},
		},
		{
			name:   "reset",
			action: impair.Action{Kind: impair.KindReset, Member: "a", Link: impair.LinkClient, Direction: impair.Upstream},
			types:  []string{"reset_peer"},
			check: func(t *testing.T, f *fixture) {
				if _, err := f.roundTrip("a-client", 2*time.Second); err == nil {
					t.Error("round trip through a resetting link succeeded")
				}
			},
		},
		{
			name:   "down",
			action: impair.Action{Kind: impair.KindDown, Member: "a", Link: impair.LinkClient},
			check: func(t *testing.T, f *fixture) {
				if f.enabled(t, "a-client") {
					t.Error("proxy still enabled")
				}
				_, err := f.roundTrip("a-client", time.Second)
				if err == nil || !strings.Contains(err.Error(), "refused") {
					t.Errorf("dial of a downed member: err = %v, want connection refused", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			b := impair.NewToxiproxy(f.srv.API(), f.topo)
			ctx := t.Context()
			if err := b.Apply(ctx, []impair.Action{tc.action}); err != nil {
				t.Fatal(err)
			}
			p, err := f.api.Proxy("a-client")
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, x := range p.ActiveToxics {
				types = append(types, x.Type)
				if !strings.HasPrefix(x.Name, impair.ToxicPrefix) {
					t.Errorf("toxic %q lacks prefix %q", x.Name, impair.ToxicPrefix)
				}
				if x.Toxicity != 1 {
					t.Errorf("toxic %s toxicity %v, want 1", x.Name, x.Toxicity)
				}
			}
			if !slices.Equal(types, tc.types) {
				t.Errorf("toxic types = %v, want %v", types, tc.types)
			}
			tc.check(t, f)
			for range 2 { // Clear is idempotent
				if err := b.Clear(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for _, proxy := range []string{"a-client", "b-client"} {
				if left := f.toxics(t, proxy); len(left) != 0 {
					t.Errorf("toxics left on %s after Clear: %v", proxy, left)
				}
				if !f.enabled(t, proxy) {
					t.Errorf("%s disabled after Clear", proxy)
				}
			}
			if _, err := f.roundTrip("a-client", 2*time.Second); err != nil {
				t.Errorf("round trip after Clear: %v", err)
			}
		})
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestToxiproxyLatencyAttributes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	b := impair.NewToxiproxy(strings.TrimPrefix(f.srv.API(), "http://"), f.topo) // host:port form
	err := b.Apply(t.Context(), []impair.Action{{
		Kind: impair.KindLatency, Member: "b", Link: impair.LinkClient, Direction: impair.Upstream,
		Delay: 40 * time.Millisecond, Jitter: 5*time.Millisecond + 400*time.Microsecond,
	}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.api.Proxy("b-client")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.ActiveToxics) != 1 {
		t.Fatalf("toxics = %+v", p.ActiveToxics)
	}
	x := p.ActiveToxics[0]
	if x.Stream != "upstream" || x.Attributes["latency"] != float64(40) || x.Attributes["jitter"] != float64(5) {
		t.Errorf("toxic = %+v, want upstream latency 40 jitter 5", x)
	}
	if err := b.Clear(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestToxiproxyErrors(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	topo := f.topo
	topo.Members = append(slices.Clone(topo.Members), impair.MemberLinks{Name: "c"}) // no proxies
	b := impair.NewToxiproxy(f.srv.API(), topo)
	tests := []struct {
		name   string
		action impair.Action
		want   error
	}{
		{"unknown member", impair.Action{Kind: impair.KindLatency, Member: "zz", Link: impair.LinkClient, Delay: time.Millisecond}, impair.ErrUnknownTarget},
		{"member without proxy", impair.Action{Kind: impair.KindLatency, Member: "c", Link: impair.LinkPeer, Delay: time.Millisecond}, impair.ErrNoLink},
		{"peer link not proxied", impair.Action{Kind: impair.KindPartition, Member: "a", Link: impair.LinkPeer}, impair.ErrNoLink},
		{"unknown kind", impair.Action{Kind: "meteor", Member: "a", Link: impair.LinkClient}, impair.ErrInvalid},
		{"unknown link", impair.Action{Kind: impair.KindReset, Member: "a", Link: "carrier-pigeon"}, impair.ErrInvalid},
		{"bad direction", impair.Action{Kind: impair.KindReset, Member: "a", Link: impair.LinkClient, Direction: "sideways"}, impair.ErrInvalid},
		{"negative delay", impair.Action{Kind: impair.KindLatency, Member: "a", Link: impair.LinkClient, Delay: -time.Millisecond}, impair.ErrInvalid},
		{"zero bandwidth", impair.Action{Kind: impair.KindBandwidth, Member: "a", Link: impair.LinkClient}, impair.ErrInvalid},
		{"loss", impair.Action{Kind: impair.KindLatency, Member: "a", Link: impair.LinkClient, Loss: 5}, impair.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := b.Apply(t.Context(), []impair.Action{tc.action}); !errors.Is(err, tc.want) {
				t.Errorf("Apply = %v, want %v", err, tc.want)
			}
		})
	}
	// A failing Apply keeps what it applied before the failure for Clear.
	err := b.Apply(t.Context(), []impair.Action{
		{Kind: impair.KindLatency, Member: "a", Link: impair.LinkClient, Direction: impair.Downstream, Delay: time.Millisecond},
		{Kind: impair.KindDown, Member: "b", Link: impair.LinkClient},
		{Kind: impair.KindLatency, Member: "zz", Link: impair.LinkClient},
	})
	if !errors.Is(err, impair.ErrUnknownTarget) {
		t.Fatalf("Apply = %v", err)
	}
	if len(f.toxics(t, "a-client")) != 1 || f.enabled(t, "b-client") {
		t.Fatalf("partial apply not in effect: toxics %v, b enabled %v", f.toxics(t, "a-client"), f.enabled(t, "b-client"))
	}
	if err := b.Clear(t.Context()); err != nil {
		t.Fatal(err)
	}
	if left := f.toxics(t, "a-client"); len(left) != 0 || !f.enabled(t, "b-client") {
		t.Errorf("after Clear: toxics %v, b enabled %v", left, f.enabled(t, "b-client"))
	}

	// An unreachable API is ErrToxiproxyAPI.
	dead := impair.NewToxiproxy("http://127.0.0.1:1", f.topo)
	if rep, err := dead.Heal(t.Context()); !errors.Is(err, impair.ErrToxiproxyAPI) || len(rep.Left) != 1 || len(rep.Removed) != 0 {
		t.Errorf("Heal against a dead API = %+v, %v; want ErrToxiproxyAPI and an unknown left", rep, err)
	}
}

// TestToxiproxyHeal: Heal removes pacbench toxics left by another backend
// (a crashed run) and re-enables disabled proxies, but leaves foreign toxics
// alone; with an empty topology it covers every proxy.
func TestToxiproxyHeal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		topo      func(f *fixture) impair.Topology
		wantLeftB []string // toxics expected on b-client after Heal
	}{
		{"topology scope", func(f *fixture) impair.Topology {
			return impair.Topology{Members: f.topo.Members[:1]} // only a
		}, []string{"pacbench_stale_b", "theirs"}},
		{"empty topology covers every proxy", func(*fixture) impair.Topology { return impair.Topology{} }, []string{"theirs"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			ctx := t.Context()
			crashed := impair.NewToxiproxy(f.srv.API(), f.topo)
			if err := crashed.Apply(ctx, []impair.Action{
				{Kind: impair.KindLatency, Member: "a", Link: impair.LinkClient, Delay: 10 * time.Millisecond},
				{Kind: impair.KindDown, Member: "a", Link: impair.LinkClient},
			}); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"theirs", "pacbench_stale_b"} {
				if _, err := f.api.AddToxic(&toxiclient.ToxicOptions{ProxyName: "b-client", ToxicName: name, ToxicType: "latency", Stream: "downstream", Toxicity: 1, Attributes: toxiclient.Attributes{"latency": 1}}); err != nil {
					t.Fatal(err)
				}
			}
			healer := impair.NewToxiproxy(f.srv.API(), tc.topo(f))
			for i := range 2 { // idempotent
				rep, err := healer.Heal(ctx)
				if err != nil {
					t.Fatal(err)
				}
				wantRemoved := 3 + 2 - len(tc.wantLeftB) // a's 2 toxics + proxy a disabled (+ b's stale toxic)
				if i == 1 {
					wantRemoved = 0
				}
				if len(rep.Removed) != wantRemoved || len(rep.Left) != 0 {
					t.Errorf("Heal #%d report = %+v, want %d removed", i+1, rep, wantRemoved)
				}
			}
			if left := f.toxics(t, "a-client"); len(left) != 0 || !f.enabled(t, "a-client") {
				t.Errorf("a-client after Heal: toxics %v, enabled %v", left, f.enabled(t, "a-client"))
			}
			if left := f.toxics(t, "b-client"); !slices.Equal(left, tc.wantLeftB) {
				t.Errorf("b-client toxics after Heal = %v, want %v", left, tc.wantLeftB)
			}
			// The crashed backend's own Clear still succeeds (already gone).
			if err := crashed.Clear(ctx); err != nil {
				t.Errorf("Clear after Heal: %v", err)
			}
		})
	}
}

func TestToxiServerClose(t *testing.T) {
	t.Parallel()
	srv, err := impair.StartToxiproxy(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := toxiclient.NewClient(srv.API())
	p, err := api.CreateProxy("x", "127.0.0.1:0", echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := api.Proxies(); err == nil {
		t.Error("API still answers after Close")
	}
	if c, err := net.DialTimeout("tcp", p.Listen, time.Second); err == nil {
		c.Close()
		t.Error("proxy still accepts after Close")
	}
	if _, err := impair.StartToxiproxy(context.Background(), "256.0.0.1:0"); err == nil {
		t.Error("StartToxiproxy on a bad address succeeded")
	}
}
