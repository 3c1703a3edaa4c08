package profile

import "github.com/pacbench/pacbench/internal/impair"

// Links returns the impairment topology of an existing deployment: its
// system.nodes with the links impairments act on (empty for a local
// cluster, whose members pacbench names at start).
func (s System) Links() impair.Topology {
	var t impair.Topology
	for _, n := range s.Nodes {
		t.Members = append(t.Members, impair.MemberLinks{Name: n.Name, ClientProxy: n.ClientProxy, PeerProxy: n.PeerProxy, PeerFrom: n.PeerProxyFrom,
			Container: n.Container, Address: n.Address, Endpoint: n.Endpoint, Options: n.Options, Process: n.Process})
	}
	return t
}

// processReach says whose processes the process backend can reach: every
// member of a local cluster, else the nodes with process settings.
func (s System) processReach() *impair.ProcessReach {
	if s.Cluster == ClusterLocal {
		return &impair.ProcessReach{All: true, ClockHint: "the local etcd cluster's members run on this host's clock and cannot be skewed " +
			"(etcd orders writes by raft, not by clocks; client_clock_skew needs client write timestamps, which etcd has not either)"}
	}
	r := &impair.ProcessReach{Hint: "give it system.nodes[].process (its container, or pid and start commands)"}
	for _, n := range s.Nodes {
		if n.Process == nil {
			continue
		}
		if n.Process.Container != "" || len(n.Process.PID) > 0 {
			r.Members = append(r.Members, n.Name)
		}
		if len(n.Process.Clock) > 0 {
			r.Clocks = append(r.Clocks, n.Name)
		}
	}
	return r
}
