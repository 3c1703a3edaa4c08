package impair

import (
	"reflect"
	"slices"
	"testing"
)

// pairTopo is a 3-member topology laid out like the local cluster: pair
// proxies "<m>-peer-from-<d>" plus "<m>-peer" for unattributed connections.
func pairTopo() Topology {
	t := Topology{Aliases: map[string]string{"leader": "m1", "follower": "m2"}}
	names := []string{"m1", "m2", "m3"}
	for _, n := range names {
		from := map[string]string{}
		for _, d := range names {
			if d != n {
				from[d] = n + "-peer-from-" + d
			}
		}
		t.Members = append(t.Members, MemberLinks{Name: n, ClientProxy: n + "-client", PeerProxy: n + "-peer", PeerFrom: from})
	}
	return t
}

// TestResolvePairs: on pair proxies, partition blackholes every proxy
// between the isolated set and the rest in both directions (and no proxy
// inside the set), and the link kinds keep their member-relative
// directions on the proxies the member dialed.
func TestResolvePairs(t *testing.T) {
	t.Parallel()
	both := func(ps ...string) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p+" "+Downstream, p+" "+Upstream)
		}
		return out
	}
	tests := []struct {
		name string
		imp  Spec
		want []string // "proxy direction" (direction "" for down)
	}{
		{
			name: "partition follower",
			imp:  Spec{Kind: KindPartition, Target: "follower"},
			want: both("m2-peer", "m2-peer-from-m1", "m2-peer-from-m3", "m1-peer-from-m2", "m3-peer-from-m2"),
		},
		{
			name: "partition two members",
			imp:  Spec{Kind: KindPartition, Target: "m1", Members: []string{"m2"}},
			want: both("m1-peer", "m1-peer-from-m3", "m3-peer-from-m1", "m2-peer", "m2-peer-from-m3", "m3-peer-from-m2"),
		},
		{
			name: "latency peer_out: what the member sends, on every connection",
			imp:  Spec{Kind: KindLatency, Target: "leader", Links: LinksPeerOut, Delay: ms(40)},
			want: []string{"m1-peer downstream", "m1-peer-from-m2 downstream", "m1-peer-from-m3 downstream", "m2-peer-from-m1 upstream", "m3-peer-from-m1 upstream"},
		},
		{
			name: "bandwidth peer upstream: what the member receives",
			imp:  Spec{Kind: KindBandwidth, Target: "m3", Links: LinksPeer, Direction: Upstream, RateKBps: 100},
			want: []string{"m3-peer upstream", "m3-peer-from-m1 upstream", "m3-peer-from-m2 upstream", "m1-peer-from-m3 downstream", "m2-peer-from-m3 downstream"},
		},
		{
			name: "down: client proxy and every peer proxy of the member",
			imp:  Spec{Kind: KindDown, Target: "m2"},
			want: []string{"m2-client ", "m2-peer ", "m2-peer-from-m1 ", "m2-peer-from-m3 ", "m1-peer-from-m2 ", "m3-peer-from-m2 "},
		},
		{
			name: "client link untouched by pairs",
			imp:  Spec{Kind: KindLatency, Target: "m1", Links: LinksClient, Delay: ms(5)},
			want: []string{"m1-client downstream"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			topo := pairTopo()
			acts, err := Resolve([]Spec{tt.imp}, topo)
			if err != nil {
				t.Fatal(err)
			}
			tp := NewToxiproxy("", topo)
			var got []string
			for _, a := range acts {
				p, err := tp.proxyFor(a)
				if err != nil {
					t.Fatalf("%s: %v", Describe(a), err)
				}
				got = append(got, p+" "+a.Direction)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tt.want))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("proxies\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestResolvePairsWithoutPairs: a topology with one peer proxy per member
// (remote deployments) resolves as before: the isolated member's proxy only.
func TestResolvePairsWithoutPairs(t *testing.T) {
	t.Parallel()
	acts, err := Resolve([]Spec{{Kind: KindPartition, Target: "follower"}}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		if a.Member != "m2" || a.From != "" || a.Link != LinkPeer {
			t.Errorf("unexpected action %s", Describe(a))
		}
	}
	if len(acts) != 2 {
		t.Errorf("%d actions, want 2 (m2 peer both directions)", len(acts))
	}
}

// TestDescribePair names the dialer of a pair proxy's connections.
func TestDescribePair(t *testing.T) {
	t.Parallel()
	got := Describe(Action{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Upstream, From: "m1", Delay: 40e6})
	if want := "latency 40ms on m2 peer (dialed by m1) upstream"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}
