package impair

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// NetemChain is the iptables chain (filter table) the netem backend owns in
// each node's network namespace, jumped to from INPUT and OUTPUT on the
// device.
const NetemChain = "PACBENCH"

// NetemOptions configures a Netem backend. The zero value gives the
// defaults documented on each field.
type NetemOptions struct {
	// Docker is the command prefix that runs docker (default ["docker"];
	// e.g. ["docker", "--context", "lab"] or ["podman"]).
	Docker []string
	// Device is the node's network interface inside its namespace
	// (default "eth0").
	Device string
	// ResetPulse is how long a reset keeps resetting TCP connections
	// (default 1s): Apply adds the REJECT rules, waits this long, removes
	// them, and returns. Connections may re-establish afterwards.
	ResetPulse time.Duration
	// Limit is netem's queue limit in packets (0: tc's default of 1000).
	// Raise it for high packet rates × delays, or netem drops packets.
	Limit int
	// IFB is the ifb device created in a member's namespace for upstream
	// shaping (default "pbifb0").
	IFB string
}

// Netem applies impairments to a docker compose deployment with tc netem and
// iptables, through `docker exec <sidecar> …` where each member's sidecar
// (MemberLinks.Container) has NET_ADMIN and shares the member's network
// namespace (compose `network_mode: service:<node>`), and carries tc and
// iptables.
//
// What the kinds become (Device eth0, IPv4 addresses). A member's peer link
// is its traffic with the other members' addresses, its client link all
// its other traffic on Device; so the members must reach each other
// directly (not through a proxy) for peer and client links to differ.
//   - latency, bandwidth: netem qdiscs (delay D J distribution normal,
//     loss P%, rate R kbit with R = 8 × rate_kbps). Downstream is Device's
//     egress; upstream is its ingress, redirected to an ifb device (IFB,
//     which needs the ifb module loaded on the docker host) and shaped on
//     that device's egress. When both links of a direction get the same
//     shaping it is one root netem qdisc; otherwise a prio qdisc whose band
//     1:1 (peer addresses, u32 filters on dst downstream, src upstream) and
//     band 1:2 (the rest) carry their own netem.
//   - partition: DROP to (downstream) and from (upstream) each address in
//     Others, in NetemChain; client traffic passes.
//   - down: every TCP packet on the device rejected with a TCP reset (new
//     connections are refused, open ones reset) and everything else dropped,
//     both ways, for as long as it is active. iptables rather than
//     `docker pause`: a paused node hangs clients (timeouts, not refusals),
//     its clocks and leases jump on unpause, and the topology names only the
//     sidecar, not the node's container.
//   - reset: a pulse of ResetPulse during which TCP on the link is rejected
//     with TCP resets, then removed.
//
// Clear removes exactly what this value applied; Heal cleans every
// container of the topology whatever its state (missing qdiscs, rules and
// chains are not errors). Commands run one at a time; a Netem is safe for
// concurrent use.
type Netem struct {
	topo Topology
	x    Executor
	opt  NetemOptions

	mu    sync.Mutex
	nodes map[string]*netemNode
}

var _ Backend = (*Netem)(nil)

// netemNode is what is applied on one member.
type netemNode struct {
	shaping []Action   // active latency/bandwidth actions
	egress  string     // root qdisc form on Device: "", qdiscRoot or qdiscPrio
	ifb     bool       // IFB exists (with Device's ingress redirected to it)
	ingress string     // root qdisc form on IFB
	chain   bool       // NetemChain exists (and may be hooked)
	rules   [][]string // active rule specs in NetemChain
}

// planned is one command and what it changes in a member's state when it
// succeeds.
type planned struct {
	cmd    []string
	effect func(*netemNode)
}

// Root qdisc forms.
const (
	qdiscRoot = "root"
	qdiscPrio = "prio"
)

// NewNetem returns a netem backend with default options over topo, running
// commands through x (ExecRunner, DryRun or a Recorder).
func NewNetem(topo Topology, x Executor) *Netem {
	return NewNetemWithOptions(topo, x, NetemOptions{})
}

// NewNetemWithOptions is NewNetem with options.
func NewNetemWithOptions(topo Topology, x Executor, opt NetemOptions) *Netem {
	if len(opt.Docker) == 0 {
		opt.Docker = []string{"docker"}
	}
	if opt.Device == "" {
		opt.Device = "eth0"
	}
	if opt.ResetPulse <= 0 {
		opt.ResetPulse = time.Second
	}
	if opt.IFB == "" {
		opt.IFB = "pbifb0"
	}
	opt.Docker = slices.Clone(opt.Docker)
	topo.Members = slices.Clone(topo.Members)
	return &Netem{topo: topo, x: x, opt: opt, nodes: map[string]*netemNode{}}
}

// Name returns "netem".
func (n *Netem) Name() string { return BackendNetem }

// Apply validates every action, then applies them in order: shaping
// (latency, bandwidth) per member, then partition and down rules, then one
// reset pulse for all resets (Apply returns after the pulse). An action
// the backend cannot apply wraps ErrInvalid, ErrNoLink or ErrUnknownTarget
// and nothing runs. On a command error, what was applied stays recorded
// for Clear.
func (n *Netem) Apply(ctx context.Context, actions []Action) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	shaping := map[string][]Action{}
	var rules, resets []Action
	for _, a := range actions {
		if err := n.check(a); err != nil {
			return fmt.Errorf("netem: %s: %w", Describe(a), err)
		}
		switch a.Kind {
		case KindLatency, KindBandwidth:
			shaping[a.Member] = append(shaping[a.Member], a)
		case KindReset:
			resets = append(resets, a)
		default:
			rules = append(rules, a)
		}
	}
	// Plan every shaping change before running anything.
	type qplan struct {
		m      *MemberLinks
		active []Action
		steps  []planned
	}
	var plans []qplan
	for _, m := range n.topo.Members {
		add := shaping[m.Name]
		if len(add) == 0 {
			continue
		}
		st := n.node(m.Name)
		active := append(slices.Clone(st.shaping), add...)
		steps, err := n.planShaping(&m, st, active)
		if err != nil {
			return fmt.Errorf("netem: %s: %w", m.Name, err)
		}
		plans = append(plans, qplan{&m, active, steps})
	}
	for _, p := range plans {
		st := n.node(p.m.Name)
		for _, s := range p.steps {
			if err := n.run(ctx, p.m, s.cmd); err != nil {
				return err
			}
			if s.effect != nil {
				s.effect(st)
			}
		}
		st.shaping = p.active
	}
	for _, a := range rules {
		m := n.topo.member(a.Member)
		specs, err := n.ruleSpecs(m, a)
		if err != nil {
			return fmt.Errorf("netem: %s: %w", Describe(a), err)
		}
		if err := n.addRules(ctx, m, specs); err != nil {
			return err
		}
	}
	return n.resetPulse(ctx, resets)
}

// check validates one action against the topology and the backend.
func (n *Netem) check(a Action) error {
	m := n.topo.member(a.Member)
	switch {
	case m == nil:
		return fmt.Errorf("%w: member %q", ErrUnknownTarget, a.Member)
	case m.Container == "":
		return fmt.Errorf("%w: member %q has no netem container", ErrNoLink, a.Member)
	case a.Link != LinkClient && a.Link != LinkPeer:
		return fmt.Errorf("%w: link %q", ErrInvalid, a.Link)
	}
	switch a.Direction {
	case "", Downstream, Upstream:
	default:
		return fmt.Errorf("%w: direction %q", ErrInvalid, a.Direction)
	}
	switch a.Kind {
	case KindLatency:
		if a.Delay < 0 || a.Jitter < 0 || a.Loss < 0 || a.Loss > 100 {
			return fmt.Errorf("%w: negative delay or jitter, or loss outside 0–100%%", ErrInvalid)
		}
	case KindBandwidth:
		if a.RateKBps <= 0 {
			return fmt.Errorf("%w: rate %d KB/s", ErrInvalid, a.RateKBps)
		}
	case KindDown:
	case KindPartition:
		if len(a.Others) == 0 {
			return fmt.Errorf("%w: partition needs the other members' addresses", ErrNoLink)
		}
		for _, o := range a.Others {
			if _, err := ipv4(o); err != nil {
				return err
			}
		}
	case KindReset:
		if _, err := n.peerAddrs(m); err != nil {
			return err
		}
		if a.Link == LinkClient {
			if _, err := ipv4(m.Address); err != nil {
				return fmt.Errorf("member %q: %w", m.Name, err)
			}
		}
	default:
		return fmt.Errorf("%w: kind %q", ErrInvalid, a.Kind)
	}
	return nil
}

// ipv4 checks that s is an IPv4 address.
func ipv4(s string) (netip.Addr, error) {
	ip, err := netip.ParseAddr(s)
	if err != nil || !ip.Is4() {
		return netip.Addr{}, fmt.Errorf("%w: address %q is not IPv4", ErrNoLink, s)
	}
	return ip, nil
}

// peerAddrs returns the other members' addresses; every one must be known.
func (n *Netem) peerAddrs(m *MemberLinks) ([]string, error) {
	var out []string
	for _, o := range n.topo.Members {
		if o.Name == m.Name {
			continue
		}
		if _, err := ipv4(o.Address); err != nil {
			return nil, fmt.Errorf("telling %s's peer traffic apart: member %q: %w", m.Name, o.Name, err)
		}
		out = append(out, o.Address)
	}
	return out, nil
}

// netemParams is one netem qdisc's settings.
type netemParams struct {
	latency           bool
	delay, jitter     time.Duration
	loss              float64
	bandwidth         bool
	rateKbit          int
	latencyBy, rateBy string // descriptions, for conflict messages
}

// merge adds a shaping action, refusing a second one of the same kind.
func (p *netemParams) merge(a Action) error {
	switch a.Kind {
	case KindLatency:
		if p.latency {
			return fmt.Errorf("%w: %q conflicts with %q", ErrInvalid, Describe(a), p.latencyBy)
		}
		p.latency, p.delay, p.jitter, p.loss, p.latencyBy = true, a.Delay, a.Jitter, a.Loss, Describe(a)
	case KindBandwidth:
		if p.bandwidth {
			return fmt.Errorf("%w: %q conflicts with %q", ErrInvalid, Describe(a), p.rateBy)
		}
		p.bandwidth, p.rateKbit, p.rateBy = true, a.RateKBps*8, Describe(a)
	}
	return nil
}

// args renders the netem qdisc options.
func (p netemParams) args(limit int) []string {
	out := []string{"netem"}
	if limit > 0 {
		out = append(out, "limit", strconv.Itoa(limit))
	}
	if p.delay > 0 || p.jitter > 0 {
		out = append(out, "delay", tcTime(p.delay))
		if p.jitter > 0 {
			out = append(out, tcTime(p.jitter), "distribution", "normal")
		}
	}
	if p.loss > 0 {
		out = append(out, "loss", strconv.FormatFloat(p.loss, 'f', -1, 64)+"%")
	}
	if p.bandwidth {
		out = append(out, "rate", strconv.Itoa(p.rateKbit)+"kbit")
	}
	return out
}

// same reports whether p and q shape identically.
func (p netemParams) same(q netemParams) bool {
	return p.latency == q.latency && p.delay == q.delay && p.jitter == q.jitter &&
		p.loss == q.loss && p.bandwidth == q.bandwidth && p.rateKbit == q.rateKbit
}

// empty reports whether p shapes nothing.
func (p netemParams) empty() bool { return !p.latency && !p.bandwidth }

// tcTime renders a duration for tc: whole milliseconds as "40ms", else
// microseconds.
func tcTime(d time.Duration) string {
	if d%time.Millisecond == 0 {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	return strconv.FormatInt(d.Round(time.Microsecond).Microseconds(), 10) + "us"
}

// shaping returns the netem settings of the peer and client links in
// direction dir.
func shaping(active []Action, dir string) (peer, client netemParams, err error) {
	for _, a := range active {
		if d := cmp.Or(a.Direction, Downstream); d != dir {
			continue
		}
		p := &client
		if a.Link == LinkPeer {
			p = &peer
		}
		if err := p.merge(a); err != nil {
			return peer, client, err
		}
	}
	return peer, client, nil
}

// planShaping returns the commands that move m from the shaping it has
// (st) to active. Only the directions whose settings change are rebuilt.
func (n *Netem) planShaping(m *MemberLinks, st *netemNode, active []Action) ([]planned, error) {
	var steps []planned
	for _, d := range []struct {
		dir, dev, match string
		form            *string
	}{
		{Downstream, n.opt.Device, "dst", &st.egress},
		{Upstream, n.opt.IFB, "src", &st.ingress},
	} {
		oldPeer, oldClient, err := shaping(st.shaping, d.dir)
		if err != nil {
			return nil, err
		}
		peer, client, err := shaping(active, d.dir)
		if err != nil {
			return nil, err
		}
		if peer.same(oldPeer) && client.same(oldClient) {
			continue
		}
		if d.dir == Upstream && !st.ifb {
			steps = append(steps, n.ifbSetup()...)
		}
		form := d.form
		set := func(v string) func(*netemNode) { return func(*netemNode) { *form = v } }
		if *d.form == qdiscPrio {
			// A prio tree's filters survive a replace of the same
			// qdisc: start from scratch.
			steps = append(steps, planned{n.tc("qdisc", "del", "dev", d.dev, "root"), set("")})
		}
		if peer.same(client) {
			steps = append(steps, planned{n.tc(append([]string{"qdisc", "replace", "dev", d.dev, "root"}, peer.args(n.opt.Limit)...)...), set(qdiscRoot)})
			continue
		}
		peers, err := n.peerAddrs(m)
		if err != nil {
			return nil, err
		}
		priomap := slices.Repeat([]string{"1"}, 16) // every priority to band 1:2
		steps = append(steps, planned{n.tc(append([]string{"qdisc", "replace", "dev", d.dev, "root", "handle", "1:", "prio", "bands", "2", "priomap"}, priomap...)...), set(qdiscPrio)})
		for _, p := range peers {
			steps = append(steps, planned{cmd: n.tc("filter", "add", "dev", d.dev, "parent", "1:", "protocol", "ip", "prio", "1", "u32", "match", "ip", d.match, p+"/32", "flowid", "1:1")})
		}
		for _, b := range []struct {
			p              netemParams
			parent, handle string
		}{{peer, "1:1", "10:"}, {client, "1:2", "20:"}} {
			if !b.p.empty() {
				steps = append(steps, planned{cmd: n.tc(append([]string{"qdisc", "replace", "dev", d.dev, "parent", b.parent, "handle", b.handle}, b.p.args(n.opt.Limit)...)...)})
			}
		}
	}
	return steps, nil
}

// ifbSetup creates IFB and redirects Device's ingress to it.
func (n *Netem) ifbSetup() []planned {
	return []planned{
		{n.ip("link", "add", n.opt.IFB, "type", "ifb"), func(st *netemNode) { st.ifb = true }},
		{cmd: n.ip("link", "set", "dev", n.opt.IFB, "up")},
		{cmd: n.tc("qdisc", "add", "dev", n.opt.Device, "handle", "ffff:", "ingress")},
		{cmd: n.tc("filter", "add", "dev", n.opt.Device, "parent", "ffff:", "protocol", "ip", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", n.opt.IFB)},
	}
}

// ifbRemove undoes ifbSetup (deleting IFB removes its qdiscs).
func (n *Netem) ifbRemove() [][]string {
	return [][]string{
		n.tc("qdisc", "del", "dev", n.opt.Device, "ingress"),
		n.ip("link", "del", n.opt.IFB),
	}
}

// ruleSpecs returns the NetemChain rules (without "-A NetemChain") for a partition,
// down or reset action.
func (n *Netem) ruleSpecs(m *MemberLinks, a Action) ([][]string, error) {
	// match selects packets to (downstream) or from (upstream) addr.
	match := func(addr string) []string {
		if a.Direction == Upstream {
			return []string{"-s", addr}
		}
		return []string{"-d", addr}
	}
	reject := []string{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"}
	var out [][]string
	switch a.Kind {
	case KindPartition:
		for _, o := range a.Others {
			out = append(out, append(match(o), "-j", "DROP"))
		}
	case KindDown:
		out = append(out, reject, []string{"-j", "DROP"})
	case KindReset:
		peers, err := n.peerAddrs(m)
		if err != nil {
			return nil, err
		}
		if a.Link == LinkPeer {
			for _, p := range peers {
				out = append(out, append(match(p), reject...))
			}
			break
		}
		// Client traffic: the member's own packets (downstream) or
		// packets to it (upstream) that are not peer traffic. Peer
		// traffic leaves the chain first; these rules come last.
		for _, p := range peers {
			out = append(out, append(match(p), "-j", "RETURN"))
		}
		self := []string{"-s", m.Address}
		if a.Direction == Upstream {
			self = []string{"-d", m.Address}
		}
		out = append(out, append(self, reject...))
	}
	return out, nil
}

// addRules appends the specs not already active to NetemChain on m, creating and
// hooking the chain first if needed.
func (n *Netem) addRules(ctx context.Context, m *MemberLinks, specs [][]string) error {
	st := n.node(m.Name)
	if !st.chain {
		if err := n.run(ctx, m, n.ipt("-N", NetemChain)); err != nil {
			if strings.Contains(strings.ToLower(err.Error()), "exists") {
				return fmt.Errorf("%w; a leftover of an earlier run? `pacbench heal` removes it", err)
			}
			return err
		}
		st.chain = true
		for _, h := range n.hooks() {
			if err := n.run(ctx, m, n.ipt(append([]string{"-I", h[0], "1"}, h[1:]...)...)); err != nil {
				return err
			}
		}
	}
	for _, s := range specs {
		if slices.ContainsFunc(st.rules, func(r []string) bool { return slices.Equal(r, s) }) {
			continue
		}
		if err := n.run(ctx, m, n.ipt(append([]string{"-A", NetemChain}, s...)...)); err != nil {
			return err
		}
		st.rules = append(st.rules, s)
	}
	return nil
}

// hooks are the jumps into NetemChain: chain name followed by the match.
func (n *Netem) hooks() [][]string {
	return [][]string{
		{"INPUT", "-i", n.opt.Device, "-j", NetemChain},
		{"OUTPUT", "-o", n.opt.Device, "-j", NetemChain},
	}
}

// resetPulse adds the reset rules of actions, waits ResetPulse, and removes
// them. If ctx ends during the pulse the rules stay recorded for Clear.
func (n *Netem) resetPulse(ctx context.Context, actions []Action) error {
	if len(actions) == 0 {
		return nil
	}
	added := map[string][][]string{}
	for _, a := range actions {
		m := n.topo.member(a.Member)
		specs, err := n.ruleSpecs(m, a)
		if err != nil {
			return fmt.Errorf("netem: %s: %w", Describe(a), err)
		}
		before := len(n.node(m.Name).rules)
		if err := n.addRules(ctx, m, specs); err != nil {
			return err
		}
		added[m.Name] = append(added[m.Name], slices.Clone(n.node(m.Name).rules[before:])...)
	}
	t := time.NewTimer(n.opt.ResetPulse)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("netem: reset pulse: %w", ctx.Err())
	case <-t.C:
	}
	for _, m := range n.topo.Members {
		st := n.node(m.Name)
		for _, s := range added[m.Name] {
			if err := n.run(ctx, &m, n.ipt(append([]string{"-D", NetemChain}, s...)...)); err != nil {
				return err
			}
			st.rules = slices.DeleteFunc(st.rules, func(r []string) bool { return slices.Equal(r, s) })
		}
	}
	return nil
}

// Clear removes what this backend applied: each member's root qdisc, IFB
// (and the ingress redirect to it) and NetemChain (unhooked, flushed, deleted). Things already gone are not errors;
// it keeps going past failures, returns them joined, and keeps the failed
// parts recorded so a later Clear retries them.
func (n *Netem) Clear(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	var errs []error
	for _, m := range n.topo.Members {
		st, ok := n.nodes[m.Name]
		if !ok {
			continue
		}
		if st.egress != "" {
			if err := n.runTolerant(ctx, &m, n.tc("qdisc", "del", "dev", n.opt.Device, "root")); err != nil {
				errs = append(errs, err)
			} else {
				st.egress = ""
			}
		}
		if st.ifb {
			if err := n.runAllTolerant(ctx, &m, n.ifbRemove()); err != nil {
				errs = append(errs, err)
			} else {
				st.ifb, st.ingress = false, ""
			}
		}
		if st.egress == "" && !st.ifb {
			st.shaping = nil
		}
		if st.chain {
			if err := n.removeChain(ctx, &m); err != nil {
				errs = append(errs, err)
			} else {
				st.chain, st.rules = false, nil
			}
		}
		if st.egress == "" && !st.ifb && !st.chain {
			delete(n.nodes, m.Name)
		}
	}
	return errors.Join(errs...)
}

// removeChain unhooks, flushes and deletes NetemChain on m, tolerating absence.
func (n *Netem) removeChain(ctx context.Context, m *MemberLinks) error {
	var errs []error
	for _, h := range n.hooks() {
		errs = append(errs, n.runTolerant(ctx, m, n.ipt(append([]string{"-D"}, h...)...)))
	}
	if err := n.runTolerant(ctx, m, n.ipt("-F", NetemChain)); err != nil {
		return errors.Join(append(errs, err)...)
	}
	errs = append(errs, n.runTolerant(ctx, m, n.ipt("-X", NetemChain)))
	return errors.Join(errs...)
}

// Heal removes every impairment pacbench may have left on any container of
// the topology, whatever this value applied: the root qdisc on Device, the
// ingress qdisc and IFB, and NetemChain. Missing qdiscs, rules and chains
// are not errors; other failures (docker unreachable, container stopped, no
// NET_ADMIN) are returned joined after trying every container. The report
// has one line per container: cleaned (or, in a dry run, the commands
// printed), or left. Idempotent.
func (n *Netem) Heal(ctx context.Context) (HealReport, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var rep HealReport
	var errs []error
	for _, m := range n.topo.Members {
		if m.Container == "" {
			continue
		}
		what := fmt.Sprintf("qdiscs on %s and %s, chain %s on %s (container %s)", n.opt.Device, n.opt.IFB, NetemChain, m.Name, m.Container)
		err := errors.Join(
			n.runTolerant(ctx, &m, n.tc("qdisc", "del", "dev", n.opt.Device, "root")),
			n.runAllTolerant(ctx, &m, n.ifbRemove()),
			n.removeChain(ctx, &m),
		)
		if err != nil {
			errs = append(errs, err)
			rep.Left = append(rep.Left, what)
			continue
		}
		rep.Removed = append(rep.Removed, what)
		delete(n.nodes, m.Name)
	}
	return rep, errors.Join(errs...)
}

// Pending lists, per member, what this backend applied and has not
// removed: the root qdisc, the IFB device and the chain with its rules.
func (n *Netem) Pending() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, m := range n.topo.Members {
		st, ok := n.nodes[m.Name]
		if !ok {
			continue
		}
		where := fmt.Sprintf(" on %s (container %s)", m.Name, m.Container)
		if st.egress != "" {
			out = append(out, fmt.Sprintf("%s qdisc on %s%s", st.egress, n.opt.Device, where))
		}
		if st.ifb {
			out = append(out, fmt.Sprintf("ifb device %s with its ingress redirect%s", n.opt.IFB, where))
		}
		if st.chain {
			out = append(out, fmt.Sprintf("iptables chain %s (%d rules)%s", NetemChain, len(st.rules), where))
		}
	}
	return out
}

// runAllTolerant runs every command tolerantly and joins the failures.
func (n *Netem) runAllTolerant(ctx context.Context, m *MemberLinks, cmds [][]string) error {
	var errs []error
	for _, c := range cmds {
		errs = append(errs, n.runTolerant(ctx, m, c))
	}
	return errors.Join(errs...)
}

// node returns the state of member name, creating it.
func (n *Netem) node(name string) *netemNode {
	st, ok := n.nodes[name]
	if !ok {
		st = &netemNode{}
		n.nodes[name] = st
	}
	return st
}

// tc returns a tc command line.
func (n *Netem) tc(args ...string) []string { return append([]string{"tc"}, args...) }

// ip returns an ip(8) command line.
func (n *Netem) ip(args ...string) []string { return append([]string{"ip"}, args...) }

// ipt returns an iptables command line (waiting for the xtables lock).
func (n *Netem) ipt(args ...string) []string { return append([]string{"iptables", "-w"}, args...) }

// run executes cmd in m's sidecar, wrapping a failure with the member,
// container, command and output.
func (n *Netem) run(ctx context.Context, m *MemberLinks, cmd []string) error {
	return n.exec(ctx, m, cmd, false)
}

// runTolerant is run, treating "already gone" failures as success.
func (n *Netem) runTolerant(ctx context.Context, m *MemberLinks, cmd []string) error {
	return n.exec(ctx, m, cmd, true)
}

// exec runs cmd in m's sidecar; tolerant ignores "already gone" failures.
func (n *Netem) exec(ctx context.Context, m *MemberLinks, cmd []string, tolerant bool) error {
	argv := slices.Concat(n.opt.Docker, []string{"exec", m.Container}, cmd)
	out, err := n.x.Run(ctx, argv)
	if err == nil {
		return nil
	}
	msg := strings.TrimSpace(string(out))
	if tolerant && isAbsent(msg+"\n"+err.Error()) {
		return nil
	}
	if msg != "" {
		msg = " (output: " + msg + ")"
	}
	return fmt.Errorf("netem: %s (container %s): %s: %w%s", m.Name, m.Container, ShellJoin(argv), err, msg)
}

// isAbsent reports whether a command's output and error say the qdisc,
// rule or chain to remove is not there (tc, iptables legacy and nf_tables
// wordings).
func isAbsent(text string) bool {
	s := strings.ToLower(text)
	for _, m := range []string{
		"cannot delete qdisc with handle of zero",
		"rtnetlink answers: no such file or directory",
		"no chain/target/match by that name",
		"does a matching rule exist",
		"does not exist",
		"couldn't load target",
		"cannot find device",
		"cannot find specified qdisc",
	} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// BackendNetem is the netem backend's kind.
const BackendNetem = "netem"

// Netem backend options (system.impairer.options), one per NetemOptions
// field.
const (
	netemOptDocker     = "docker"
	netemOptDevice     = "device"
	netemOptResetPulse = "reset_pulse"
	netemOptLimit      = "limit"
	netemOptIFB        = "ifb"
)

// NetemFactory builds netem backends (kind "netem"). Stateless.
type NetemFactory struct{}

var _ Factory = NetemFactory{}

// Info documents the kind and its options.
func (NetemFactory) Info() BackendInfo {
	return BackendInfo{
		Kind:        BackendNetem,
		Description: "tc netem and iptables run through docker exec in each member's NET_ADMIN sidecar (system.nodes[].container)",
		Options: []Option{
			{Key: netemOptDocker, Default: "docker", Doc: "command prefix that runs docker, words separated by spaces (e.g. \"docker --context lab\", \"podman\")", Check: checkWords},
			{Key: netemOptDevice, Default: "eth0", Doc: "the member's network interface inside its namespace", Check: checkIfName},
			{Key: netemOptResetPulse, Default: "1s", Doc: "how long a reset keeps resetting TCP connections (a duration, at most 1m)", Check: checkPulse},
			{Key: netemOptLimit, Default: "1000", Doc: "netem queue limit in packets (raise it for high packet rates × delays)", Check: checkLimit},
			{Key: netemOptIFB, Default: "pbifb0", Doc: "ifb device created for upstream shaping", Check: checkIfName},
		},
	}
}

// CheckSetup refuses a local cluster and requires a sidecar per node when
// phases are impaired.
func (NetemFactory) CheckSetup(s Setup) []SetupError {
	if s.Local {
		return []SetupError{{"impairer.kind", errors.New("netem acts on the compose stack's containers; a local cluster uses the embedded Toxiproxy")}}
	}
	if !s.Impaired {
		return nil
	}
	var out []SetupError
	for i, m := range s.Topology.Members {
		if m.Container == "" {
			out = append(out, SetupError{fmt.Sprintf("nodes[%d].container", i), errors.New("required with impairer netem (the member's NET_ADMIN sidecar)")})
		}
	}
	return out
}

// CheckSpec accepts every kind (netem can do all of them).
func (NetemFactory) CheckSpec(Spec) []FieldError { return nil }

// New builds the backend from options (their values already checked).
func (NetemFactory) New(c Config) (Backend, error) {
	o, err := netemOptions(c.Options)
	if err != nil {
		return nil, err
	}
	return NewNetemWithOptions(c.Topology, c.Executor, o), nil
}

// netemOptions turns string options into NetemOptions.
func netemOptions(m map[string]string) (NetemOptions, error) {
	var o NetemOptions
	o.Docker = strings.Fields(m[netemOptDocker])
	o.Device, o.IFB = m[netemOptDevice], m[netemOptIFB]
	if v := m[netemOptResetPulse]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return o, fmt.Errorf("option %s: %w", netemOptResetPulse, err)
		}
		o.ResetPulse = d
	}
	if v := m[netemOptLimit]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return o, fmt.Errorf("option %s: %w", netemOptLimit, err)
		}
		o.Limit = n
	}
	return o, nil
}

func checkWords(v string) error {
	if len(strings.Fields(v)) == 0 {
		return errors.New("want a command, e.g. docker")
	}
	return nil
}

var ifName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,15}$`)

func checkIfName(v string) error {
	if !ifName.MatchString(v) {
		return errors.New("want an interface name (1-15 letters, digits, _ . -)")
	}
	return nil
}

func checkPulse(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > time.Minute {
		return errors.New("want a duration in (0, 1m], e.g. 1s")
	}
	return nil
}

func checkLimit(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1<<24 {
		return errors.New("want a packet count from 1 to 16777216")
	}
	return nil
}
