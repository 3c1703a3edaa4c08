package impair

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Resolve turns the impairments of one phase into actions on concrete links
// of topo. Targets are role aliases (topo.Aliases: leader, follower,
// primary, secondary) or member names; anything else wraps
// ErrUnknownTarget. A malformed spec wraps ErrInvalid, and a partition whose
// members lack some (but not all) addresses wraps ErrNoLink. Errors name the
// impairment's profile line when it is known.
//
// Per kind:
//   - latency, bandwidth, reset: on the link set Links (default "all"):
//     client → the client link, downstream unless Direction says otherwise;
//     peer_out → the peer link downstream (what the member sends to its
//     peers); peer → the peer link, both directions unless Direction says
//     otherwise; all → client and peer. Direction downstream, upstream or
//     both (two actions per link) applies to every link of the set.
//   - partition: every named member (Target and Members) is isolated from
//     the rest: its peer link is blackholed in both directions, its client
//     link stays up (clients on the minority side are still served what it
//     has). Others lists the addresses of the members outside the isolated
//     set, for backends that drop by address. Partitioning every member is
//     invalid.
//   - down: every link of the member, whole link (no direction).
//   - pause, kill: one action per named member, on its process (no link).
//   - client_clock_skew: one action on the member the skewed write route
//     goes to (no link), with the offset.
//
// Pair proxies (MemberLinks.PeerFrom, the local cluster's layout): a peer
// link is every proxy carrying the member's peer traffic, the connections
// others dialed to it and those it dialed to them (see expandPairs), with
// directions relative to the member: peer_out (downstream) is everything
// the member sends, including the requests it sends on connections it
// dialed (rafthttp pipeline messages, snapshots), upstream everything it
// receives. A partition of the set S blackholes, in both directions, every
// proxy between a member of S and one outside it, plus the PeerProxy of the
// members of S (connections to them naming no dialer); proxies between two
// members of S stay up. Connections a member of S dials to an outside
// member without naming itself (version probes, lease forwarding) go
// through that member's PeerProxy and are not cut. With one PeerProxy per
// member and no PeerFrom (remote deployments), a partition blackholes the
// isolated members' PeerProxy only: connections they dialed to the others
// (through the others' proxies) are not cut, so rafthttp streams those
// members dialed keep delivering the others' messages to them.
//
// Resolve is a pure function: safe for concurrent use.
func Resolve(imps []Spec, topo Topology) ([]Action, error) {
	var out []Action
	for i, imp := range imps {
		acts, err := resolveOne(imp, topo)
		if err != nil {
			where := fmt.Sprintf("impairment %d", i+1)
			if imp.Line > 0 {
				where += fmt.Sprintf(" (line %d)", imp.Line)
			}
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		out = append(out, acts...)
	}
	return out, nil
}

// resolveOne resolves one impairment.
func resolveOne(imp Spec, topo Topology) ([]Action, error) {
	if err := checkParams(imp); err != nil {
		return nil, err
	}
	members, err := resolveTargets(imp, topo)
	if err != nil {
		return nil, err
	}
	switch imp.Kind {
	case KindPartition:
		acts, err := partitionActions(members, topo)
		return expandPairs(acts, topo, members), err
	case KindDown:
		var out []Action
		for _, m := range members {
			for _, l := range []LinkKind{LinkClient, LinkPeer} {
				out = append(out, Action{Kind: KindDown, Member: m, Link: l})
			}
		}
		return expandPairs(out, topo, nil), nil
	case KindPause, KindKill:
		out := make([]Action, len(members))
		for i, m := range members {
			out[i] = Action{Kind: imp.Kind, Member: m}
		}
		return out, nil
	case KindNodeClockSkew:
		out := make([]Action, len(members))
		for i, m := range members {
			out[i] = Action{Kind: imp.Kind, Member: m, Offset: imp.Offset.D()}
		}
		return out, nil
	case KindClientClockSkew:
		return []Action{{Kind: imp.Kind, Member: members[0], Offset: imp.Offset.D()}}, nil
	}
	links, err := linkDirections(imp.Links, imp.Direction)
	if err != nil {
		return nil, err
	}
	var out []Action
	for _, m := range members {
		for _, ld := range links {
			a := Action{Kind: imp.Kind, Member: m, Link: ld.link, Direction: ld.dir}
			switch imp.Kind {
			case KindLatency:
				a.Delay, a.Jitter, a.Loss = imp.Delay.D(), imp.Jitter.D(), imp.Loss
			case KindBandwidth:
				a.RateKBps = imp.RateKBps
			}
			out = append(out, a)
		}
	}
	return expandPairs(out, topo, nil), nil
}

// checkParams validates the spec alone (Validate without surroundings).
func checkParams(imp Spec) error {
	if errs := Validate([]Spec{imp}, CheckEnv{}); len(errs) > 0 {
		var b strings.Builder
		for i, fe := range errs {
			if i > 0 {
				b.WriteString("; ")
			}
			if fe.Field != "" {
				b.WriteString(fe.Field + ": ")
			}
			b.WriteString(fe.Err.Error())
		}
		return fmt.Errorf("%w: %s", ErrInvalid, b.String())
	}
	return nil
}

// resolveTargets returns the member names designated by Target and Members,
// deduplicated, in order of appearance.
func resolveTargets(imp Spec, topo Topology) ([]string, error) {
	var names []string
	if imp.Target != "" {
		names = append(names, imp.Target)
	}
	names = append(names, imp.Members...)
	if len(names) == 0 {
		return nil, fmt.Errorf("%w: %s: no target", ErrInvalid, imp.Kind)
	}
	var out []string
	for _, n := range names {
		m, err := topo.resolveMember(n)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}

// resolveMember maps a role alias or a member name to a member name.
func (t Topology) resolveMember(target string) (string, error) {
	name := target
	if alias, ok := t.Aliases[target]; ok {
		name = alias
	}
	if t.member(name) == nil {
		if name != target {
			return "", fmt.Errorf("%w: %q designates %q, which is not a member", ErrUnknownTarget, target, name)
		}
		return "", fmt.Errorf("%w: %q is neither a member nor a known role (members: %s)", ErrUnknownTarget, target, strings.Join(t.memberNames(), ", "))
	}
	return name, nil
}

// member returns the member named name, or nil.
func (t Topology) member(name string) *MemberLinks {
	for i := range t.Members {
		if t.Members[i].Name == name {
			return &t.Members[i]
		}
	}
	return nil
}

// memberNames lists the members' names in topology order.
func (t Topology) memberNames() []string {
	out := make([]string, len(t.Members))
	for i, m := range t.Members {
		out[i] = m.Name
	}
	return out
}

// partitionActions isolates members from the rest of topo.
func partitionActions(members []string, topo Topology) ([]Action, error) {
	var others, peers []string
	var missing []string
	for _, m := range topo.Members {
		if slices.Contains(members, m.Name) {
			continue
		}
		peers = append(peers, m.Name)
		if m.Address == "" {
			missing = append(missing, m.Name)
			continue
		}
		others = append(others, m.Address)
	}
	rest := len(others) + len(missing)
	if rest == 0 {
		return nil, fmt.Errorf("%w: partition of every member (%s) isolates nothing", ErrInvalid, strings.Join(members, ", "))
	}
	if len(others) > 0 && len(missing) > 0 {
		return nil, fmt.Errorf("%w: partition: members %s have no address", ErrNoLink, strings.Join(missing, ", "))
	}
	var out []Action
	for _, m := range members {
		for _, dir := range []string{Downstream, Upstream} {
			out = append(out, Action{Kind: KindPartition, Member: m, Link: LinkPeer, Direction: dir, Others: slices.Clone(others), Peers: slices.Clone(peers)})
		}
	}
	return out, nil
}

// linkDir is one direction of one link.
type linkDir struct {
	link LinkKind
	dir  string
}

// linkDirections expands a link set and a direction into link directions.
// Without a direction, client and peer_out mean downstream and peer both
// directions.
func linkDirections(set, direction string) ([]linkDir, error) {
	down, up := []string{Downstream}, []string{Upstream}
	both := []string{Downstream, Upstream}
	var dirs []string // nil: each link's default
	switch direction {
	case "":
	case Downstream:
		dirs = down
	case Upstream:
		dirs = up
	case DirectionBoth:
		dirs = both
	default:
		return nil, fmt.Errorf("%w: unknown direction %q (want downstream, upstream or both)", ErrInvalid, direction)
	}
	type linkDefault struct {
		link LinkKind
		dirs []string
	}
	var links []linkDefault
	switch set {
	case LinksClient:
		links = []linkDefault{{LinkClient, down}}
	case LinksPeer:
		links = []linkDefault{{LinkPeer, both}}
	case "", LinksAll:
		links = []linkDefault{{LinkClient, down}, {LinkPeer, both}}
	case LinksPeerOut:
		if direction != "" && direction != Downstream {
			return nil, fmt.Errorf("%w: links peer_out is downstream only, got direction %q (use links: peer)", ErrInvalid, direction)
		}
		links = []linkDefault{{LinkPeer, down}}
	default:
		return nil, fmt.Errorf("%w: unknown link set %q (want client, peer_out, peer or all)", ErrInvalid, set)
	}
	var out []linkDir
	for _, l := range links {
		ds := l.dirs
		if dirs != nil {
			ds = dirs
		}
		for _, d := range ds {
			out = append(out, linkDir{l.link, d})
		}
	}
	return out, nil
}

// Describe renders one action as a human line for logs and the manifest,
// e.g. "latency 40ms±5ms on m1 peer downstream". Safe for concurrent use.
func Describe(a Action) string {
	switch ClassOf(a.Kind) {
	case ClassProcess:
		if a.Kind == KindNodeClockSkew {
			if a.Offset == 0 {
				return fmt.Sprintf("%s on %s's clock", a.Kind, a.Member)
			}
			return fmt.Sprintf("%s %s on %s's clock", a.Kind, signed(a.Offset), a.Member)
		}
		return a.Kind + " " + a.Member
	case ClassClient:
		return fmt.Sprintf("%s %s on the writers via %s", a.Kind, signed(a.Offset), a.Member)
	}
	var b strings.Builder
	b.WriteString(a.Kind)
	switch a.Kind {
	case KindLatency:
		if a.Delay > 0 || a.Jitter > 0 {
			b.WriteString(" " + a.Delay.String())
			if a.Jitter > 0 {
				b.WriteString("±" + a.Jitter.String())
			}
		}
		if a.Loss > 0 {
			b.WriteString(" loss " + strconv.FormatFloat(a.Loss, 'f', -1, 64) + "%")
		}
	case KindBandwidth:
		fmt.Fprintf(&b, " %d KB/s", a.RateKBps)
	}
	fmt.Fprintf(&b, " on %s %s", a.Member, a.Link)
	if a.From != "" {
		b.WriteString(" (dialed by " + a.From + ")")
	}
	if a.Direction != "" {
		b.WriteString(" " + a.Direction)
	}
	if a.Kind == KindPartition && len(a.Others) > 0 {
		b.WriteString(" from " + strings.Join(a.Others, ", "))
	}
	return b.String()
}
