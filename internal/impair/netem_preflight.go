package impair

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// Preflighter is an optional capability of a Backend, found by type
// assertion: a check, made once before a run's first phase, that every
// action the run will apply can be applied, so that a run refuses to start
// instead of failing in the middle.
type Preflighter interface {
	// Preflight checks that actions (every phase's, already resolved) can
	// be applied. It leaves nothing behind. The error wraps ErrPreflight and
	// names each problem with its fix. Safe for concurrent use when the
	// backend is.
	Preflight(ctx context.Context, actions []Action) error
}

// ErrPreflight: a preflight found an impairment the backend cannot apply
// (or leftovers of an earlier run that would distort this one).
var ErrPreflight = errors.New("impairment preflight failed")

var _ Preflighter = (*Netem)(nil)

// Names used by the netem preflight's probes. The probes act on devices
// and a chain nothing routes through; each is removed right after.
const (
	// netemProbeDev and netemProbePeer are the two ends of an unconnected
	// veth pair that carries a netem qdisc for a moment (veth always exists
	// on a Docker host: every container interface is one).
	netemProbeDev  = "pbprobe0"
	netemProbePeer = "pbprobe1"
	// netemProbeChain is a filter-table chain no rule jumps to.
	netemProbeChain = NetemChain + "-PROBE"
	// capNetAdmin is CAP_NET_ADMIN's bit in /proc/<pid>/status CapEff.
	capNetAdmin = 12
)

// netemNeeds is what one member's actions require of its sidecar.
type netemNeeds struct {
	touched bool // some action acts on the member
	shaping bool // latency or bandwidth: tc and the netem qdisc
	ingress bool // upstream shaping: the ifb device
	rules   bool // partition, down or reset: iptables
	reject  bool // down or reset: the REJECT target with tcp-reset
}

// Preflight checks that the sidecars can apply actions. It first validates
// every action as Apply does (nothing runs if one is invalid). Then, in
// topology order, for every member with a container:
//   - with an address: `ip -4 -o addr show dev DEVICE` must list it (peer
//     traffic and partitions are told apart by these addresses);
//   - touched by an action: `cat /proc/self/status` must show CAP_NET_ADMIN;
//   - latency or bandwidth: `tc qdisc show dev DEVICE` (tc is there, no
//     netem or prio qdisc and no ingress redirect left by an earlier run),
//     and a netem qdisc added to an unconnected veth pair (pbprobe0,
//     pbprobe1) that is then deleted (the host kernel has sch_netem);
//   - upstream shaping: the IFB device created and deleted (the host
//     kernel has ifb; no IFB left over);
//   - partition, down, reset: `iptables -w -S` (iptables works, no
//     NetemChain left over), then a probe chain (PACBENCH-PROBE, jumped to
//     by nothing) given the DROP rule, and for down/reset the REJECT
//     --reject-with tcp-reset rule, flushed and deleted.
//
// A member's checks stop at its first problem; problems of every member
// are returned together, each with its fix. A failure that is not the
// sidecar's (no docker CLI, the engine unreachable) ends the preflight at
// once. With the DryRun executor the commands are printed and their output
// is not checked.
func (n *Netem) Preflight(ctx context.Context, actions []Action) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	needs := map[string]*netemNeeds{}
	for _, a := range actions {
		if err := n.check(a); err != nil {
			return fmt.Errorf("%w: netem: %s: %w", ErrPreflight, Describe(a), err)
		}
		nd := needs[a.Member]
		if nd == nil {
			nd = &netemNeeds{}
			needs[a.Member] = nd
		}
		nd.touched = true
		switch a.Kind {
		case KindLatency, KindBandwidth:
			nd.shaping = true
			nd.ingress = nd.ingress || a.Direction == Upstream
		case KindDown, KindReset:
			nd.rules, nd.reject = true, true
		default:
			nd.rules = true
		}
	}
	var errs []error
	for _, m := range n.topo.Members {
		if m.Container == "" {
			continue
		}
		nd := needs[m.Name]
		if nd == nil {
			nd = &netemNeeds{}
		}
		err := n.preflightMember(ctx, &m, *nd)
		if err == nil {
			continue
		}
		var host *hostProblem
		if errors.As(err, &host) {
			return fmt.Errorf("%w: netem: %w", ErrPreflight, err)
		}
		errs = append(errs, fmt.Errorf("netem: %s (container %s): %w", m.Name, m.Container, err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrPreflight, errors.Join(errs...))
	}
	return nil
}

// preflightMember runs m's checks, stopping at the first problem.
func (n *Netem) preflightMember(ctx context.Context, m *MemberLinks, nd netemNeeds) error {
	if m.Address != "" {
		if err := n.checkAddress(ctx, m); err != nil {
			return err
		}
	}
	if !nd.touched {
		return nil
	}
	checks := []func(context.Context, *MemberLinks) error{n.checkNetAdmin}
	if nd.shaping {
		checks = append(checks, n.checkQdiscs, n.checkNetemQdisc)
	}
	if nd.ingress {
		checks = append(checks, n.checkIFB)
	}
	if nd.rules {
		checks = append(checks, n.checkIptablesState, func(ctx context.Context, m *MemberLinks) error {
			return n.checkIptablesRules(ctx, m, nd.reject)
		})
	}
	for _, c := range checks {
		if err := c(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// dry reports whether commands are only printed (their output is empty).
func (n *Netem) dry() bool {
	_, ok := n.x.(DryRun)
	return ok
}

// probe runs cmd in m's sidecar and returns its output. A failure is
// explained: a hostProblem when docker itself cannot run it, the sidecar's
// state when docker says so, a missing program, or else the command and its
// output.
func (n *Netem) probe(ctx context.Context, m *MemberLinks, cmd []string) (string, error) {
	argv := slices.Concat(n.opt.Docker, []string{"exec", m.Container}, cmd)
	out, err := n.x.Run(ctx, argv)
	text := strings.TrimSpace(string(out))
	if err == nil {
		return text, nil
	}
	low := strings.ToLower(text + "\n" + err.Error())
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return "", &hostProblem{fmt.Sprintf("cannot run %q: %v; the netem backend runs `docker exec` into the sidecars, "+
			"so run pacbench where the docker CLI reaches the engine (on the Docker host, not inside the pacbench container; docs/compose.md)", n.opt.Docker[0], err)}
	case strings.Contains(low, "cannot connect to the docker daemon") || strings.Contains(low, "error during connect"):
		return "", &hostProblem{fmt.Sprintf("the Docker engine is not reachable (%s): start it, or point DOCKER_HOST or the docker context at it", text)}
	case strings.Contains(low, "permission denied while trying to connect to the docker"):
		return "", &hostProblem{"no permission to use the Docker engine: add your user to the docker group (or run with sudo)"}
	case strings.Contains(low, "no such container"):
		return "", fmt.Errorf("no such container: start the stack (`docker compose up -d`), or set the member's container to its netem sidecar (compose names it <project>-<service>-1, e.g. pacbench-netem-%s-1)", m.Name)
	case strings.Contains(low, "is not running") || strings.Contains(low, "is restarting") || strings.Contains(low, "is paused"):
		return "", fmt.Errorf("the sidecar is not running (%s): `docker compose up -d`", text)
	case strings.Contains(low, "executable file not found"):
		return "", fmt.Errorf("the sidecar has no %s: give it an image with iproute2 (ip, tc) and iptables, such as the stack's nicolaka/netshoot", cmd[0])
	}
	return text, fmt.Errorf("%s: %w%s", ShellJoin(argv), err, outputNote(text))
}

// hostProblem is a preflight failure of the host, not of one sidecar.
type hostProblem struct{ msg string }

func (h *hostProblem) Error() string { return h.msg }

// outputNote renders a command's output for an error message.
func outputNote(text string) string {
	if text == "" {
		return ""
	}
	return " (output: " + text + ")"
}

// checkAddress checks that Device carries m.Address.
func (n *Netem) checkAddress(ctx context.Context, m *MemberLinks) error {
	out, err := n.probe(ctx, m, n.ip("-4", "-o", "addr", "show", "dev", n.opt.Device))
	if err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "does not exist") {
			return fmt.Errorf("no device %s in the member's network namespace (is the sidecar's network_mode service:<node>?)", n.opt.Device)
		}
		return err
	}
	if n.dry() {
		return nil
	}
	var have []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		for i := 0; i+1 < len(f); i++ {
			if f[i] == "inet" {
				addr, _, _ := strings.Cut(f[i+1], "/")
				have = append(have, addr)
			}
		}
	}
	if !slices.Contains(have, m.Address) {
		return fmt.Errorf("the profile gives address %s, but %s has %s: set the member's address (system.nodes[].address) to the node's address on the compose network",
			m.Address, n.opt.Device, cmp.Or(strings.Join(have, ", "), "no IPv4 address"))
	}
	return nil
}

// checkNetAdmin checks that the sidecar's processes have CAP_NET_ADMIN.
func (n *Netem) checkNetAdmin(ctx context.Context, m *MemberLinks) error {
	out, err := n.probe(ctx, m, []string{"cat", "/proc/self/status"})
	if err != nil || n.dry() {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		v, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		caps, perr := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if perr != nil {
			break
		}
		if caps&(1<<capNetAdmin) == 0 {
			return errors.New("the sidecar lacks CAP_NET_ADMIN: add `cap_add: [NET_ADMIN]` to its compose service (and run it as root)")
		}
		return nil
	}
	return fmt.Errorf("cannot read the sidecar's capabilities (no CapEff line in /proc/self/status: %q)", out)
}

// checkQdiscs checks that tc runs and that no impairment of an earlier run
// is still installed on Device.
func (n *Netem) checkQdiscs(ctx context.Context, m *MemberLinks) error {
	out, err := n.probe(ctx, m, n.tc("qdisc", "show", "dev", n.opt.Device))
	if err != nil || n.dry() {
		return err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "qdisc" && (f[1] == "netem" || f[1] == "prio" && f[2] == "1:" || f[1] == "ingress" && f[2] == "ffff:") {
			return fmt.Errorf("an earlier run left %q on %s, which would impair this run from its first phase: `pacbench heal --profile FILE` removes it", line, n.opt.Device)
		}
	}
	return nil
}

// checkNetemQdisc checks that the host kernel provides the netem qdisc, on
// an unconnected veth pair that is deleted afterwards.
func (n *Netem) checkNetemQdisc(ctx context.Context, m *MemberLinks) error {
	if _, err := n.probe(ctx, m, n.ip("link", "add", netemProbeDev, "type", "veth", "peer", "name", netemProbePeer)); err != nil {
		if strings.Contains(strings.ToLower(err.Error()), "file exists") {
			return fmt.Errorf("a probe device of an earlier preflight is left over: `docker exec %s ip link del %s`", m.Container, netemProbeDev)
		}
		return permissionHint(err)
	}
	_, qerr := n.probe(ctx, m, n.tc("qdisc", "add", "dev", netemProbeDev, "root", "netem", "delay", "1ms"))
	_, derr := n.probe(ctx, m, n.ip("link", "del", netemProbeDev))
	if qerr != nil {
		low := strings.ToLower(qerr.Error())
		if strings.Contains(low, "unknown") || strings.Contains(low, "no such file") || strings.Contains(low, "not supported") {
			qerr = fmt.Errorf("the Docker host's kernel has no netem qdisc: load it on the host (`sudo modprobe sch_netem`; Debian/Ubuntu ship it in linux-modules-extra-$(uname -r), RHEL in kernel-modules-extra): %w", qerr)
		}
		return errors.Join(permissionHint(qerr), derr)
	}
	return derr
}

// checkIFB checks that the IFB device can be created (the host kernel has
// ifb) and is not left over, and deletes it.
func (n *Netem) checkIFB(ctx context.Context, m *MemberLinks) error {
	if _, err := n.probe(ctx, m, n.ip("link", "add", n.opt.IFB, "type", "ifb")); err != nil {
		low := strings.ToLower(err.Error())
		switch {
		case strings.Contains(low, "file exists"):
			return fmt.Errorf("%s is left over from an earlier run: `pacbench heal --profile FILE` removes it", n.opt.IFB)
		case strings.Contains(low, "unknown device type") || strings.Contains(low, "not supported"):
			return fmt.Errorf("upstream shaping needs the ifb kernel module on the Docker host: `sudo modprobe ifb` there (Docker Desktop's kernel may lack it: shape downstream instead): %w", err)
		}
		return permissionHint(err)
	}
	_, err := n.probe(ctx, m, n.ip("link", "del", n.opt.IFB))
	return err
}

// checkIptablesState checks that iptables runs and that NetemChain is not
// left over from an earlier run.
func (n *Netem) checkIptablesState(ctx context.Context, m *MemberLinks) error {
	out, err := n.probe(ctx, m, n.ipt("-S"))
	if err != nil {
		return iptablesHint(err)
	}
	for _, line := range strings.Split(out, "\n") {
		switch strings.TrimSpace(line) {
		case "-N " + NetemChain:
			return fmt.Errorf("chain %s is left over from an earlier run (its rules may still drop traffic): `pacbench heal --profile FILE` removes it", NetemChain)
		case "-N " + netemProbeChain:
			return fmt.Errorf("chain %s is left over from an earlier preflight: `docker exec %s iptables -w -F %s && docker exec %[3]s iptables -w -X %[2]s`",
				netemProbeChain, m.Container, netemProbeChain)
		}
	}
	return nil
}

// checkIptablesRules creates the probe chain with the rules the actions
// use (DROP; REJECT with tcp-reset if reject), then flushes and deletes it.
func (n *Netem) checkIptablesRules(ctx context.Context, m *MemberLinks, reject bool) error {
	if _, err := n.probe(ctx, m, n.ipt("-N", netemProbeChain)); err != nil {
		return iptablesHint(err)
	}
	rules := [][]string{{"-j", "DROP"}}
	if reject {
		rules = append(rules, []string{"-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"})
	}
	var ruleErr error
	for _, r := range rules {
		if _, err := n.probe(ctx, m, n.ipt(append([]string{"-A", netemProbeChain}, r...)...)); err != nil {
			ruleErr = fmt.Errorf("iptables cannot add %q: the Docker host's kernel lacks that target (load it there, e.g. `sudo modprobe ipt_REJECT` or nft_reject_ipv4): %w",
				strings.Join(r, " "), err)
			break
		}
	}
	_, ferr := n.probe(ctx, m, n.ipt("-F", netemProbeChain))
	_, xerr := n.probe(ctx, m, n.ipt("-X", netemProbeChain))
	return errors.Join(ruleErr, ferr, xerr)
}

// permissionHint adds the fix to an "operation not permitted" failure.
func permissionHint(err error) error {
	if strings.Contains(strings.ToLower(err.Error()), "operation not permitted") {
		return fmt.Errorf("not permitted: the sidecar needs `cap_add: [NET_ADMIN]` and to run as root: %w", err)
	}
	return err
}

// iptablesHint explains an iptables failure.
func iptablesHint(err error) error {
	low := strings.ToLower(err.Error())
	switch {
	case strings.Contains(low, "permission denied") || strings.Contains(low, "operation not permitted"):
		return fmt.Errorf("iptables is not permitted: the sidecar needs `cap_add: [NET_ADMIN]` and to run as root: %w", err)
	case strings.Contains(low, "table does not exist") || strings.Contains(low, "can't initialize") || strings.Contains(low, "protocol not supported"):
		return fmt.Errorf("iptables does not work against the Docker host's kernel (the sidecar's iptables backend, legacy or nf_tables, needs its kernel modules on the host): %w", err)
	}
	return err
}
