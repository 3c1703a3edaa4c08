package drivertest

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
)

// proxyName names the kit's proxy in its embedded Toxiproxy.
const proxyName = "drivertest-client"

// ProxyLink puts a real Toxiproxy, embedded in the test process on
// loopback, in front of upstream (one member's client host:port) and
// returns a Link through it: via builds the client Config that reaches the
// member at the proxy's address addr, and the endpoint sessions pin to
// reach it. Down disables the proxy, Delay adds a latency toxic to what the
// member sends, Heal removes both (impair's Toxiproxy backend does the
// work, as in a run). The proxy and server stop when the test ends.
func ProxyLink(t *testing.T, upstream string, via func(addr string) (cfg drivers.Config, endpoint string)) Link {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := impair.StartToxiproxy(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatalf("start toxiproxy: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("stop toxiproxy: %v", err)
		}
	})
	// A port outside the ephemeral range, so that re-enabling the proxy
	// listens again where clients dial (impair.ListenStable).
	tc := toxiclient.NewClient(srv.API())
	addr, err := impair.ListenStable("127.0.0.1", func(addr string) error {
		_, err := tc.CreateProxy(proxyName, addr, upstream)
		return err
	})
	if err != nil {
		t.Fatalf("create proxy → %s: %v", upstream, err)
	}
	tp := impair.NewToxiproxy(srv.API(), impair.Topology{Members: []impair.MemberLinks{
		{Name: "member", Role: "node", ClientProxy: proxyName},
	}})
	cfg, endpoint := via(addr)
	return BackendLink(tp, "member", cfg, endpoint)
}

// Impairer is the part of an impairment backend (internal/impair) a Link
// needs.
type Impairer interface {
	Apply(ctx context.Context, actions []impair.Action) error
	Clear(ctx context.Context) error
}

// BackendLink returns the Link to member's client link as impairment
// backend b knows it: Down takes the link down, Delay adds latency to what
// the member sends, Heal clears everything b applied. cfg and endpoint are
// the Link's Config and Endpoint.
func BackendLink(b Impairer, member string, cfg drivers.Config, endpoint string) Link {
	return Link{
		Config:   cfg,
		Endpoint: endpoint,
		Down: func(ctx context.Context) error {
			return b.Apply(ctx, []impair.Action{{Kind: impair.KindDown, Member: member, Link: impair.LinkClient}})
		},
		Delay: func(ctx context.Context, d time.Duration) error {
			return b.Apply(ctx, []impair.Action{{Kind: impair.KindLatency, Member: member, Link: impair.LinkClient,
				Direction: impair.Downstream, Delay: d}})
		},
		Heal: b.Clear,
	}
}

// HostPort returns the host:port of a member address given as host:port
// or as a URL (scheme://host:port/…), for ProxyLink's upstream.
func HostPort(t *testing.T, addr string) string {
	t.Helper()
	rest := addr
	if _, after, ok := strings.Cut(addr, "://"); ok {
		rest = after
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		rest = rest[:i]
	}
	if _, _, err := net.SplitHostPort(rest); err != nil {
		t.Fatalf("member address %q: want host:port or scheme://host:port: %v", addr, err)
	}
	return rest
}
