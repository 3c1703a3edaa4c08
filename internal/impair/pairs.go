package impair

import (
	"maps"
	"slices"
)

// Pair proxies (MemberLinks.PeerFrom): when every peer connection to a
// member goes through a proxy chosen by who dialed it, a peer-link action on
// member m is one action per proxy carrying m's peer traffic:
//
//   - m's PeerProxy (connections to m that name no dialer), as resolved;
//   - m's PeerFrom[x] for every dialer x (connections x dialed to m), same
//     direction: downstream is what m sends, upstream what m receives;
//   - x's PeerFrom[m] for every other member x (connections m dialed to x),
//     direction flipped: there upstream is what m sends.
//
// So Direction keeps its member-relative meaning (downstream = what the
// member sends) whichever side dialed the connection.

// expandPairs rewrites the peer-link actions of acts for the pair proxies of
// topo. isolated, for a partition, is the isolated set: proxies between two
// isolated members are left alone (they stay connected to each other).
// Members without pair proxies keep their actions as they are.
func expandPairs(acts []Action, topo Topology, isolated []string) []Action {
	var out []Action
	for _, a := range acts {
		m := topo.member(a.Member)
		if a.Link != LinkPeer || a.From != "" || m == nil || len(m.PeerFrom) == 0 {
			out = append(out, a)
			continue
		}
		out = append(out, a)
		for _, x := range slices.Sorted(maps.Keys(m.PeerFrom)) {
			if !slices.Contains(isolated, x) {
				b := a
				b.From = x
				out = append(out, b)
			}
		}
		for _, x := range topo.Members {
			if x.Name == m.Name || x.PeerFrom[m.Name] == "" || slices.Contains(isolated, x.Name) {
				continue
			}
			b := a
			b.Member, b.From, b.Direction = x.Name, m.Name, flipDirection(a.Direction)
			out = append(out, b)
		}
	}
	return out
}

// flipDirection swaps Downstream and Upstream; "" (whole link) stays "".
func flipDirection(d string) string {
	switch d {
	case Downstream:
		return Upstream
	case Upstream:
		return Downstream
	}
	return d
}
