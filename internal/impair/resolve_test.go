package impair

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testTopo is a 3-member topology with roles, proxies, sidecars and
// addresses.
func testTopo() Topology {
	return Topology{
		Members: []MemberLinks{
			{Name: "m1", Role: "leader", ClientProxy: "m1-client", PeerProxy: "m1-peer", Container: "pb-netem-m1", Address: "172.28.0.31"},
			{Name: "m2", Role: "follower", ClientProxy: "m2-client", PeerProxy: "m2-peer", Container: "pb-netem-m2", Address: "172.28.0.32"},
			{Name: "m3", Role: "follower", ClientProxy: "m3-client", PeerProxy: "m3-peer", Container: "pb-netem-m3", Address: "172.28.0.33"},
		},
		Aliases: map[string]string{"leader": "m1", "follower": "m2"},
	}
}

func ms(n int) Duration { return Duration(time.Duration(n) * time.Millisecond) }

func TestResolve(t *testing.T) {
	t.Parallel()
	const d40, d5 = 40 * time.Millisecond, 5 * time.Millisecond
	rest1 := []string{"172.28.0.32", "172.28.0.33"}
	tests := []struct {
		name string
		imps []Spec
		want []Action
	}{
		{
			name: "latency peer_out on leader alias, default direction",
			imps: []Spec{{Kind: KindLatency, Target: "leader", Links: "peer_out", Delay: ms(40), Jitter: ms(5)}},
			want: []Action{{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Downstream, Delay: d40, Jitter: d5}},
		},
		{
			name: "latency client both directions by member name, with loss",
			imps: []Spec{{Kind: KindLatency, Target: "m3", Links: "client", Direction: "both", Delay: ms(40), Loss: 1.5}},
			want: []Action{
				{Kind: KindLatency, Member: "m3", Link: LinkClient, Direction: Downstream, Delay: d40, Loss: 1.5},
				{Kind: KindLatency, Member: "m3", Link: LinkClient, Direction: Upstream, Delay: d40, Loss: 1.5},
			},
		},
		{
			name: "latency peer upstream",
			imps: []Spec{{Kind: KindLatency, Target: "follower", Links: "peer", Direction: "upstream", Delay: ms(40)}},
			want: []Action{{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Upstream, Delay: d40}},
		},
		{
			name: "latency peer, default both directions",
			imps: []Spec{{Kind: KindLatency, Target: "m2", Links: "peer", Delay: ms(40)}},
			want: []Action{
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Upstream, Delay: d40},
			},
		},
		{
			name: "latency links all by default: client downstream, peer both",
			imps: []Spec{{Kind: KindLatency, Target: "m2", Delay: ms(40)}},
			want: []Action{
				{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Upstream, Delay: d40},
			},
		},
		{
			name: "latency all downstream",
			imps: []Spec{{Kind: KindLatency, Target: "m2", Links: "all", Direction: "downstream", Delay: ms(40)}},
			want: []Action{
				{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Downstream, Delay: d40},
			},
		},
		{
			name: "latency links all both",
			imps: []Spec{{Kind: KindLatency, Target: "m2", Links: "all", Direction: "both", Delay: ms(40)}},
			want: []Action{
				{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Upstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Downstream, Delay: d40},
				{Kind: KindLatency, Member: "m2", Link: LinkPeer, Direction: Upstream, Delay: d40},
			},
		},
		{
			name: "loss only",
			imps: []Spec{{Kind: KindLatency, Target: "m2", Links: "client", Loss: 2}},
			want: []Action{{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Loss: 2}},
		},
		{
			name: "bandwidth peer_out",
			imps: []Spec{{Kind: KindBandwidth, Target: "leader", Links: "peer_out", RateKBps: 125}},
			want: []Action{{Kind: KindBandwidth, Member: "m1", Link: LinkPeer, Direction: Downstream, RateKBps: 125}},
		},
		{
			name: "partition one member: peer link both ways, others listed",
			imps: []Spec{{Kind: KindPartition, Target: "leader"}},
			want: []Action{
				{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Downstream, Others: rest1, Peers: []string{"m2", "m3"}},
				{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Upstream, Others: rest1, Peers: []string{"m2", "m3"}},
			},
		},
		{
			name: "partition two members via members, duplicates merged",
			imps: []Spec{{Kind: KindPartition, Target: "follower", Members: []string{"m2", "m3"}}},
			want: []Action{
				{Kind: KindPartition, Member: "m2", Link: LinkPeer, Direction: Downstream, Others: []string{"172.28.0.31"}, Peers: []string{"m1"}},
				{Kind: KindPartition, Member: "m2", Link: LinkPeer, Direction: Upstream, Others: []string{"172.28.0.31"}, Peers: []string{"m1"}},
				{Kind: KindPartition, Member: "m3", Link: LinkPeer, Direction: Downstream, Others: []string{"172.28.0.31"}, Peers: []string{"m1"}},
				{Kind: KindPartition, Member: "m3", Link: LinkPeer, Direction: Upstream, Others: []string{"172.28.0.31"}, Peers: []string{"m1"}},
			},
		},
		{
			name: "down: every link, whole",
			imps: []Spec{{Kind: KindDown, Target: "m3"}},
			want: []Action{
				{Kind: KindDown, Member: "m3", Link: LinkClient},
				{Kind: KindDown, Member: "m3", Link: LinkPeer},
			},
		},
		{
			name: "reset client",
			imps: []Spec{{Kind: KindReset, Target: "m2", Links: "client"}},
			want: []Action{{Kind: KindReset, Member: "m2", Link: LinkClient, Direction: Downstream}},
		},
		{
			name: "several impairments concatenate in order",
			imps: []Spec{
				{Kind: KindReset, Target: "m2", Links: "peer_out"},
				{Kind: KindBandwidth, Target: "m1", Links: "client", RateKBps: 10},
			},
			want: []Action{
				{Kind: KindReset, Member: "m2", Link: LinkPeer, Direction: Downstream},
				{Kind: KindBandwidth, Member: "m1", Link: LinkClient, Direction: Downstream, RateKBps: 10},
			},
		},
		{name: "no impairments", imps: nil, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Resolve(tc.imps, testTopo())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	t.Parallel()
	noAddr := testTopo()
	noAddr.Members[2].Address = ""
	tests := []struct {
		name    string
		imp     Spec
		topo    *Topology
		want    error
		message string
	}{
		{"unknown member", Spec{Kind: KindLatency, Target: "m9", Delay: ms(1), Line: 12}, nil, ErrUnknownTarget, "line 12"},
		{"role without alias", Spec{Kind: KindLatency, Target: "primary", Delay: ms(1)}, nil, ErrUnknownTarget, `"primary"`},
		{"alias to missing member", Spec{Kind: KindDown, Target: "ghost"}, &Topology{Members: testTopo().Members, Aliases: map[string]string{"ghost": "m7"}}, ErrUnknownTarget, `"m7"`},
		{"unknown member in members", Spec{Kind: KindPartition, Members: []string{"m1", "mx"}}, nil, ErrUnknownTarget, `"mx"`},
		{"no target", Spec{Kind: KindReset}, nil, ErrInvalid, "target required"},
		{"missing kind", Spec{Target: "m1"}, nil, ErrInvalid, "kind required"},
		{"unknown kind", Spec{Kind: "jitter", Target: "m1"}, nil, ErrInvalid, `"jitter"`},
		{"unknown link set", Spec{Kind: KindLatency, Target: "m1", Links: "peers", Delay: ms(1)}, nil, ErrInvalid, `"peers"`},
		{"unknown direction", Spec{Kind: KindLatency, Target: "m1", Direction: "sideways", Delay: ms(1)}, nil, ErrInvalid, `"sideways"`},
		{"peer_out upstream", Spec{Kind: KindLatency, Target: "m1", Links: "peer_out", Direction: "upstream", Delay: ms(1)}, nil, ErrInvalid, "downstream only"},
		{"peer_out both", Spec{Kind: KindReset, Target: "m1", Links: "peer_out", Direction: "both"}, nil, ErrInvalid, "downstream only"},
		{"negative delay", Spec{Kind: KindLatency, Target: "m1", Delay: ms(-1)}, nil, ErrInvalid, "negative"},
		{"negative jitter", Spec{Kind: KindLatency, Target: "m1", Delay: ms(1), Jitter: ms(-1)}, nil, ErrInvalid, "negative"},
		{"zero latency", Spec{Kind: KindLatency, Target: "m1"}, nil, ErrInvalid, "needs a delay"},
		{"loss over 100", Spec{Kind: KindLatency, Target: "m1", Loss: 101}, nil, ErrInvalid, "loss"},
		{"zero rate", Spec{Kind: KindBandwidth, Target: "m1"}, nil, ErrInvalid, "rate_kbps"},
		{"delay on bandwidth", Spec{Kind: KindBandwidth, Target: "m1", RateKBps: 1, Delay: ms(1)}, nil, ErrInvalid, "delay: does not apply to kind bandwidth"},
		{"rate on partition", Spec{Kind: KindPartition, Target: "m1", RateKBps: 1}, nil, ErrInvalid, "rate_kbps: does not apply to kind partition"},
		{"links on partition", Spec{Kind: KindPartition, Target: "m1", Links: LinksClient}, nil, ErrInvalid, "links: does not apply to kind partition"},
		{"loss on down", Spec{Kind: KindDown, Target: "m1", Loss: 1}, nil, ErrInvalid, "loss: does not apply to kind down"},
		{"partition of every member", Spec{Kind: KindPartition, Members: []string{"leader", "m2", "m3"}}, nil, ErrInvalid, "every member"},
		{"partition, a rest member without address", Spec{Kind: KindPartition, Target: "m1"}, &noAddr, ErrNoLink, "m3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			topo := testTopo()
			if tc.topo != nil {
				topo = *tc.topo
			}
			got, err := Resolve([]Spec{{Kind: KindDown, Target: "m1"}, tc.imp}, topo)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Resolve = %v, %v; want error %v", got, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "impairment 2") {
				t.Errorf("error %q lacks %q or the impairment's position", err, tc.message)
			}
		})
	}
}

func TestResolvePartitionWithoutAddresses(t *testing.T) {
	t.Parallel()
	// A Toxiproxy-only topology has no addresses: partition still resolves,
	// with no Others.
	topo := testTopo()
	for i := range topo.Members {
		topo.Members[i].Address = ""
	}
	got, err := Resolve([]Spec{{Kind: KindPartition, Target: "m1"}}, topo)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Others != nil || got[1].Others != nil {
		t.Errorf("got %+v, want two actions without Others", got)
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		a    Action
		want string
	}{
		{Action{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Downstream, Delay: 40 * time.Millisecond, Jitter: 5 * time.Millisecond}, "latency 40ms±5ms on m1 peer downstream"},
		{Action{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Upstream, Delay: 1500 * time.Microsecond, Loss: 0.5}, "latency 1.5ms loss 0.5% on m2 client upstream"},
		{Action{Kind: KindLatency, Member: "m2", Link: LinkClient, Direction: Downstream, Loss: 3}, "latency loss 3% on m2 client downstream"},
		{Action{Kind: KindBandwidth, Member: "m3", Link: LinkPeer, Direction: Downstream, RateKBps: 125}, "bandwidth 125 KB/s on m3 peer downstream"},
		{Action{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Upstream, Others: []string{"10.0.0.2", "10.0.0.3"}}, "partition on m1 peer upstream from 10.0.0.2, 10.0.0.3"},
		{Action{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Downstream}, "partition on m1 peer downstream"},
		{Action{Kind: KindDown, Member: "m3", Link: LinkClient}, "down on m3 client"},
		{Action{Kind: KindReset, Member: "m2", Link: LinkClient, Direction: Downstream}, "reset on m2 client downstream"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			t.Parallel()
			if got := Describe(tc.a); got != tc.want {
				t.Errorf("Describe = %q, want %q", got, tc.want)
			}
		})
	}
}
