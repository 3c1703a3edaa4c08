package impair

import (
	"math"
	"strings"
	"testing"
)

func nan() float64 { return math.NaN() }

// TestRegistryCheck: kinds, declared options and their values, and each
// backend's setup rules, with messages that never repeat a value.
func TestRegistryCheck(t *testing.T) {
	t.Parallel()
	nodes := Topology{Members: []MemberLinks{{Name: "a", Container: "ca"}, {Name: "b"}}}
	tests := []struct {
		name  string
		spec  BackendSpec
		setup Setup
		want  []string // "field: message fragment", in order; nil: valid
	}{
		{"toxiproxy remote", BackendSpec{Kind: BackendToxiproxy, API: "http://127.0.0.1:8474"}, Setup{Impaired: true}, nil},
		{"toxiproxy local", BackendSpec{Kind: BackendToxiproxy}, Setup{Local: true, Impaired: true}, nil},
		{"unknown kind", BackendSpec{Kind: "tc"}, Setup{}, []string{`impairer.kind: unknown value "tc" (want toxiproxy, netem, chaosmesh, process, client_clock)`}},
		{"api and options.api", BackendSpec{Kind: BackendToxiproxy, API: "http://h:1", Options: map[string]string{OptionAPI: "http://h:2"}}, Setup{},
			[]string{"impairer.api: set either api or options.api"}},
		{"unknown option", BackendSpec{Kind: BackendToxiproxy, Options: map[string]string{"colour": "x"}}, Setup{},
			[]string{"impairer.options.colour: does not apply to kind toxiproxy (its options: api, password_env, request_timeout, username_env)"}},
		{"bad values", BackendSpec{Kind: BackendToxiproxy, Options: map[string]string{OptionAPI: "ftp://h", "password_env": "s3cr et!", "request_timeout": "1h"}}, Setup{},
			[]string{"impairer.options.api: want a Toxiproxy API URL", "impairer.options.password_env: must name an environment variable", "impairer.options.request_timeout: want a duration in (0, 10m]"}},
		{"api port", BackendSpec{Kind: BackendToxiproxy, API: "http://h:99999"}, Setup{}, []string{"impairer.api: port out of range"}},
		{"api with credentials", BackendSpec{Kind: BackendToxiproxy, API: "http://u:s3cret@h:1"}, Setup{}, []string{"impairer.api: holds credentials"}},
		{"api with local", BackendSpec{Kind: BackendToxiproxy, API: "http://h:1"}, Setup{Local: true}, []string{"impairer.api: not used with cluster: local"}},
		{"no api, impaired", BackendSpec{Kind: BackendToxiproxy}, Setup{Impaired: true}, []string{"impairer.api: impairments on an existing deployment need a Toxiproxy API URL"}},
		{"netem", BackendSpec{Kind: BackendNetem, Options: map[string]string{"device": "eth1", "limit": "5000", "reset_pulse": "2s", "docker": "docker --context lab"}},
			Setup{Impaired: true, Topology: Topology{Members: nodes.Members[:1]}}, nil},
		{"netem local", BackendSpec{Kind: BackendNetem}, Setup{Local: true}, []string{"impairer.kind: netem acts on the compose stack"}},
		{"netem sidecars", BackendSpec{Kind: BackendNetem}, Setup{Impaired: true, Topology: nodes}, []string{"nodes[1].container: required with impairer netem"}},
		{"netem bad options", BackendSpec{Kind: BackendNetem, API: "http://h:1", Options: map[string]string{"device": "eth0; rm -rf", "limit": "0", "reset_pulse": "-1s", "docker": " "}}, Setup{},
			[]string{"impairer.api: does not apply to kind netem", "impairer.options.device: want an interface name", "impairer.options.docker: want a command",
				"impairer.options.limit: want a packet count", "impairer.options.reset_pulse: want a duration in (0, 1m]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := Builtin().Check(tc.spec, tc.setup)
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
				if strings.Contains(e.Error(), "s3cret") {
					t.Errorf("message repeats a secret: %s", e)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) && !strings.Contains(got[i], w) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

// TestValidate: the impairment vocabulary and its checks, field by field.
func TestValidate(t *testing.T) {
	t.Parallel()
	members := []string{"m1", "m2", "m3"}
	tests := []struct {
		name  string
		specs []Spec
		env   CheckEnv
		want  []string // "index field: message fragment"
	}{
		{"valid", []Spec{{Kind: KindLatency, Target: RoleLeader, Links: LinksPeerOut, Delay: Duration(40e6)}, {Kind: KindPartition, Target: "m2"}}, CheckEnv{Members: members}, nil},
		{"delay bound", []Spec{{Kind: KindLatency, Target: "m1", Delay: Duration(MaxDelay + 1)}}, CheckEnv{}, []string{"0 delay: at most 1h0m0s"}},
		{"NaN loss", []Spec{{Kind: KindLatency, Target: "m1", Delay: 1, Loss: nan()}}, CheckEnv{}, []string{"0 loss: want a percentage in (0, 100]"}},
		{"peer_out upstream", []Spec{{Kind: KindReset, Target: "m1", Links: LinksPeerOut, Direction: Upstream}}, CheckEnv{}, []string{"0 direction: links peer_out is downstream only"}},
		{"unknown member", []Spec{{Kind: KindDown, Target: "m9"}}, CheckEnv{Members: members}, []string{`0 target: unknown member "m9"`}},
		{"every member", []Spec{{Kind: KindPartition, Members: []string{"m1", "m2"}}, {Kind: KindDown, Target: "m3"}}, CheckEnv{Members: members}, []string{"1 : down would isolate every member"}},
		{"backend refuses", []Spec{{Kind: KindLatency, Target: "m1", Delay: 1, Loss: 5}}, CheckEnv{Backend: ToxiproxyFactory{}}, []string{"0 loss: packet loss needs impairer kind: netem"}},
		{"written keys", []Spec{{Kind: KindDown, Target: "m1"}}, CheckEnv{Written: func(_ int, k string) bool { return k == KeyDelay }}, []string{"0 delay: does not apply to kind down"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, fe := range Validate(tc.specs, tc.env) {
				got = append(got, strings.Join([]string{string(rune('0' + fe.Index)), fe.Field + ": " + fe.Err.Error()}, " "))
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], w)
				}
			}
		})
	}
}
