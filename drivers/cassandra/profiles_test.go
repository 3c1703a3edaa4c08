package cassandra

import (
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/profile"
)

// TestShippedProfiles parses the Cassandra profiles with this driver's
// level and option rules and resolves their impairments to concrete links.
func TestShippedProfiles(t *testing.T) {
	t.Parallel()
	wantScenarios := []string{"one-one", "one-quorum", "quorum-quorum", "all-one", "all-all", "lwt-serial"}
	wantLevels := map[string]drivers.Levels{
		"one-one":       {"read": "ONE", "write": "ONE", "serial": "SERIAL"},
		"quorum-quorum": {"read": "QUORUM", "write": "QUORUM", "serial": "SERIAL"},
		"all-all":       {"read": "ALL", "write": "ALL", "serial": "SERIAL"},
		"lwt-serial":    {"read": "SERIAL", "write": "QUORUM", "serial": "SERIAL"},
	}
	tests := []struct {
		file string
		// latency is the action the replica-latency phase must become.
		latency impair.Action
		// partition is how many actions the partition phase resolves to.
		partition int
	}{
		{"cassandra-local.yaml", impair.Action{Kind: impair.KindLatency, Member: "cassandra3", Link: impair.LinkPeer, Direction: impair.Upstream, Delay: 40 * time.Millisecond}, 2},
		{"cassandra-compose.yaml", impair.Action{Kind: impair.KindLatency, Member: "cassandra3", Link: impair.LinkPeer, Direction: impair.Upstream, Delay: 40 * time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Load(filepath.Join("..", "..", "profiles", tt.file), profile.Options{Registry: drivers.NewRegistry(New())})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ParseOptions(p.System.Options); err != nil {
				t.Fatalf("options: %v", err)
			}
			pl, err := p.Plan(profile.Overrides{})
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, sc := range pl.Scenarios {
				names = append(names, sc.Name)
				if want, ok := wantLevels[sc.Name]; ok && !reflect.DeepEqual(sc.Levels, want) {
					t.Errorf("scenario %s levels %v, want %v", sc.Name, sc.Levels, want)
				}
				if _, err := ParseLevels(sc.Levels); err != nil {
					t.Errorf("scenario %s: %v", sc.Name, err)
				}
			}
			if !reflect.DeepEqual(names, wantScenarios) {
				t.Fatalf("scenarios %v, want %v", names, wantScenarios)
			}
			topo := impair.Topology{}
			for _, n := range p.System.Nodes {
				topo.Members = append(topo.Members, impair.MemberLinks{Name: n.Name, Role: "node",
					ClientProxy: n.ClientProxy, PeerProxy: n.PeerProxy, Container: n.Container, Address: n.Address})
			}
			byName := map[string][]impair.Action{}
			var phases []string
			for _, ph := range pl.Phases {
				phases = append(phases, ph.Name)
				acts, err := impair.Resolve(ph.Impairments, topo)
				if err != nil {
					t.Fatalf("phase %s: %v", ph.Name, err)
				}
				byName[ph.Name] = acts
			}
			if !reflect.DeepEqual(phases, []string{"baseline", "latency", "partition", "healed"}) {
				t.Fatalf("phases %v", phases)
			}
			if got := byName["latency"]; len(got) != 1 || !reflect.DeepEqual(got[0], tt.latency) {
				t.Errorf("latency phase resolves to %+v, want [%+v]", got, tt.latency)
			}
			part := byName["partition"]
			if len(part) != tt.partition {
				t.Fatalf("partition phase resolves to %+v", part)
			}
			for _, a := range part {
				if a.Kind != impair.KindPartition || a.Member != "cassandra3" || a.Link != impair.LinkPeer {
					t.Errorf("partition action %+v, want cassandra3's peer link", a)
				}
			}
			if len(byName["baseline"]) != 0 || len(byName["healed"]) != 0 {
				t.Errorf("baseline/healed carry impairments: %v %v", byName["baseline"], byName["healed"])
			}
		})
	}
}
