package impair

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sidecarAnswer is what the fake sidecar answers to one command.
type sidecarAnswer struct {
	out string
	err error
}

// fakeSidecars answers the preflight's commands the way the compose
// stack's netshoot sidecars do on a host with netem, ifb and iptables
// (outputs copied from real iproute2/iptables formats), except for the
// commands whose shell line contains a key of override: those get the
// override's answer. Every container's eth0 carries the address of the
// member testTopo gives it.
func fakeSidecars(override map[string]sidecarAnswer) func([]string) ([]byte, error) {
	addr := map[string]string{}
	for _, m := range testTopo().Members {
		addr[m.Container] = m.Address
	}
	return func(argv []string) ([]byte, error) {
		line := ShellJoin(argv)
		for k, a := range override {
			if strings.Contains(line, k) {
				return []byte(a.out), a.err
			}
		}
		cmd := strings.Join(argv[3:], " ") // after "docker exec <container>"
		switch {
		case cmd == "ip -4 -o addr show dev eth0":
			return []byte(fmt.Sprintf("2: eth0    inet %s/24 brd 172.28.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n", addr[argv[2]])), nil
		case cmd == "cat /proc/self/status":
			return []byte("Name:\tcat\nUmask:\t0022\nState:\tR (running)\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80435fb\nCapEff:\t00000000a80435fb\nCapBnd:\t00000000a80435fb\n"), nil
		case cmd == "tc qdisc show dev eth0":
			return []byte("qdisc noqueue 0: root refcnt 2\n"), nil
		case cmd == "iptables -w -S":
			return []byte("-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n"), nil
		}
		return nil, nil
	}
}

// errExit stands for a command's non-zero exit.
var errExit = errors.New("exit status 1")

func TestNetemPreflightGolden(t *testing.T) {
	t.Parallel()
	lat := func(member string, link LinkKind, dir string) Action {
		return Action{Kind: KindLatency, Member: member, Link: link, Direction: dir, Delay: 40 * time.Millisecond}
	}
	partition := func(member string, dir string, others ...string) Action {
		return Action{Kind: KindPartition, Member: member, Link: LinkPeer, Direction: dir, Others: others}
	}
	tests := []struct {
		name     string
		actions  []Action
		override map[string]sidecarAnswer
		want     []string // in the error; none: Preflight succeeds
	}{
		{name: "latency_downstream", actions: []Action{lat("m1", LinkPeer, Downstream)}},
		{name: "latency_upstream", actions: []Action{lat("m2", LinkClient, Upstream), {Kind: KindBandwidth, Member: "m2", Link: LinkPeer, Direction: Upstream, RateKBps: 100}}},
		{name: "partition", actions: []Action{partition("m3", Downstream, "172.28.0.31", "172.28.0.32"), partition("m3", Upstream, "172.28.0.31", "172.28.0.32")}},
		{name: "down_and_reset", actions: []Action{{Kind: KindDown, Member: "m3", Link: LinkClient}, {Kind: KindReset, Member: "m1", Link: LinkClient, Direction: Downstream}}},
		{name: "no_actions"},
		{name: "no_docker", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"docker": {err: fmt.Errorf("exec docker: %w", &exec.Error{Name: "docker", Err: exec.ErrNotFound})}},
			want:     []string{"docker exec", "on the Docker host, not inside the pacbench container"}},
		{name: "engine_down", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"docker": {out: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?", err: errExit}},
			want:     []string{"Docker engine is not reachable", "DOCKER_HOST"}},
		{name: "no_such_container", actions: []Action{lat("m2", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"pb-netem-m2": {out: "Error response from daemon: No such container: pb-netem-m2", err: errExit}},
			want:     []string{"m2 (container pb-netem-m2)", "docker compose up -d", "pacbench-netem-m2-1"}},
		{name: "address_mismatch", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"pb-netem-m3 ip -4": {out: "2: eth0    inet 10.9.0.13/24 brd 10.9.0.255 scope global eth0"}},
			want:     []string{"m3 (container pb-netem-m3)", "address 172.28.0.33", "eth0 has 10.9.0.13", "system.nodes[].address"}},
		{name: "no_net_admin", actions: []Action{partition("m2", Downstream, "172.28.0.31")},
			override: map[string]sidecarAnswer{"pb-netem-m2 cat": {out: "Name:\tcat\nCapEff:\t00000000a80425fb\n"}},
			want:     []string{"lacks CAP_NET_ADMIN", "cap_add: [NET_ADMIN]"}},
		{name: "no_tc", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"pb-netem-m1 tc": {out: `OCI runtime exec failed: exec failed: unable to start container process: exec: "tc": executable file not found in $PATH: unknown`, err: errors.New("exit status 127")}},
			want:     []string{"has no tc", "iproute2"}},
		{name: "leftover_qdisc", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"tc qdisc show": {out: "qdisc netem 8001: root refcnt 2 limit 1000 delay 40ms"}},
			want:     []string{"earlier run left", "qdisc netem 8001: root", "pacbench heal"}},
		{name: "no_netem_module", actions: []Action{lat("m1", LinkPeer, Downstream)},
			override: map[string]sidecarAnswer{"netem delay 1ms": {out: "Error: Specified qdisc kind is unknown.", err: errors.New("exit status 2")}},
			want:     []string{"no netem qdisc", "modprobe sch_netem"}},
		{name: "no_ifb_module", actions: []Action{lat("m2", LinkClient, Upstream)},
			override: map[string]sidecarAnswer{"type ifb": {out: "Error: Unknown device type.", err: errors.New("exit status 2")}},
			want:     []string{"ifb kernel module", "modprobe ifb"}},
		{name: "leftover_ifb", actions: []Action{lat("m2", LinkClient, Upstream)},
			override: map[string]sidecarAnswer{"type ifb": {out: "RTNETLINK answers: File exists", err: errors.New("exit status 2")}},
			want:     []string{"pbifb0 is left over", "pacbench heal"}},
		{name: "iptables_denied", actions: []Action{partition("m2", Downstream, "172.28.0.31")},
			override: map[string]sidecarAnswer{"iptables -w -S": {out: "iptables v1.8.10 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)", err: errors.New("exit status 4")}},
			want:     []string{"iptables is not permitted", "NET_ADMIN"}},
		{name: "leftover_chain", actions: []Action{partition("m2", Downstream, "172.28.0.31")},
			override: map[string]sidecarAnswer{"iptables -w -S": {out: "-P INPUT ACCEPT\n-N PACBENCH\n-A INPUT -i eth0 -j PACBENCH"}},
			want:     []string{"chain PACBENCH is left over", "pacbench heal"}},
		{name: "no_reject_target", actions: []Action{{Kind: KindDown, Member: "m3", Link: LinkPeer}},
			override: map[string]sidecarAnswer{"REJECT": {out: "iptables: No chain/target/match by that name.", err: errors.New("exit status 1")}},
			want:     []string{"lacks that target", "REJECT"}},
		{name: "two_members_fail", actions: []Action{lat("m1", LinkPeer, Downstream), partition("m2", Downstream, "172.28.0.31")},
			override: map[string]sidecarAnswer{"cat /proc/self/status": {out: "CapEff:\t0000000000000000"}},
			want:     []string{"m1 (container pb-netem-m1): the sidecar lacks CAP_NET_ADMIN", "m2 (container pb-netem-m2): the sidecar lacks CAP_NET_ADMIN"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &Recorder{Respond: fakeSidecars(tc.override)}
			err := NewNetem(testTopo(), rec).Preflight(context.Background(), tc.actions)
			var got bytes.Buffer
			fmt.Fprintln(&got, "# preflight")
			for _, a := range tc.actions {
				fmt.Fprintln(&got, "#   "+Describe(a))
			}
			for _, c := range rec.Commands() {
				fmt.Fprintln(&got, c)
			}
			if err != nil {
				fmt.Fprintf(&got, "# error:\n%s\n", err)
			}
			checkGolden(t, filepath.Join("testdata", "netem_preflight", tc.name+".golden"), got.Bytes())
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Preflight = %v", err)
				}
				return
			}
			if !errors.Is(err, ErrPreflight) {
				t.Fatalf("Preflight = %v, want ErrPreflight", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestNetemPreflightLeavesNothing checks that every probe that creates
// something deletes it, also when a later step of the probe fails.
func TestNetemPreflightLeavesNothing(t *testing.T) {
	t.Parallel()
	all := []Action{
		{Kind: KindLatency, Member: "m1", Link: LinkClient, Direction: Upstream, Delay: time.Millisecond},
		{Kind: KindDown, Member: "m1", Link: LinkPeer},
	}
	for _, fail := range []string{"", "netem delay 1ms", "-j DROP", "REJECT"} {
		t.Run("fail "+fail, func(t *testing.T) {
			t.Parallel()
			override := map[string]sidecarAnswer{}
			if fail != "" {
				override[fail] = sidecarAnswer{out: "boom", err: errExit}
			}
			rec := &Recorder{Respond: fakeSidecars(override)}
			err := NewNetem(testTopo(), rec).Preflight(context.Background(), all)
			if (err != nil) != (fail != "") {
				t.Fatalf("Preflight = %v", err)
			}
			cmds := rec.Commands()
			for _, pair := range [][2]string{
				{"ip link add pbprobe0", "ip link del pbprobe0"},
				{"ip link add pbifb0", "ip link del pbifb0"},
				{"iptables -w -N PACBENCH-PROBE", "iptables -w -X PACBENCH-PROBE"},
			} {
				created := slices.IndexFunc(cmds, func(c string) bool { return strings.HasSuffix(c, pair[0]) || strings.Contains(c, pair[0]+" ") })
				removed := slices.IndexFunc(cmds, func(c string) bool { return strings.HasSuffix(c, pair[1]) })
				if created >= 0 && removed < created {
					t.Errorf("%q ran without a later %q:\n%s", pair[0], pair[1], strings.Join(cmds, "\n"))
				}
			}
		})
	}
}

func TestNetemPreflightRejectsInvalidBeforeRunning(t *testing.T) {
	t.Parallel()
	rec := &Recorder{Respond: fakeSidecars(nil)}
	err := NewNetem(testTopo(), rec).Preflight(context.Background(), []Action{{Kind: KindDown, Member: "m9", Link: LinkClient}})
	if !errors.Is(err, ErrPreflight) || !errors.Is(err, ErrUnknownTarget) {
		t.Fatalf("Preflight = %v, want ErrPreflight and ErrUnknownTarget", err)
	}
	if got := rec.Commands(); len(got) != 0 {
		t.Errorf("ran %q before rejecting", got)
	}
}

// TestNetemPreflightDryRun: the dry run prints exactly what a real
// preflight runs, and does not judge the (empty) outputs.
func TestNetemPreflightDryRun(t *testing.T) {
	t.Parallel()
	acts := []Action{
		{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Upstream, Delay: time.Millisecond},
		{Kind: KindReset, Member: "m2", Link: LinkClient, Direction: Downstream},
	}
	var out bytes.Buffer
	if err := NewNetem(testTopo(), DryRun{W: &out}).Preflight(context.Background(), acts); err != nil {
		t.Fatalf("dry-run Preflight = %v", err)
	}
	rec := &Recorder{Respond: fakeSidecars(nil)}
	if err := NewNetem(testTopo(), rec).Preflight(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(rec.Commands(), "\n") + "\n"; out.String() != want {
		t.Errorf("dry run printed\n%s\nthe preflight ran\n%s", out.String(), want)
	}
}

func TestNetemIsPreflighter(t *testing.T) {
	t.Parallel()
	var b Backend = NewNetem(testTopo(), &Recorder{})
	if _, ok := b.(Preflighter); !ok {
		t.Fatal("*Netem does not implement Preflighter")
	}
	if _, ok := Backend(NewToxiproxy("http://127.0.0.1:1", testTopo())).(Preflighter); ok {
		t.Error("the Toxiproxy backend claims a preflight it does not have")
	}
}
