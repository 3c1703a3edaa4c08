package profile

import "github.com/pacbench/pacbench/internal/impair"

// Links returns the impairment topology of an existing deployment: its
// system.nodes with the links impairments act on (empty for a local
// cluster, whose members pacbench names at start).
func (s System) Links() impair.Topology {
	var t impair.Topology
	for _, n := range s.Nodes {
		t.Members = append(t.Members, impair.MemberLinks{Name: n.Name, ClientProxy: n.ClientProxy, PeerProxy: n.PeerProxy,
			Container: n.Container, Address: n.Address, Endpoint: n.Endpoint, Options: n.Options})
	}
	return t
}
