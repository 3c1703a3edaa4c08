package impair

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// step is one call on a Netem in a golden scenario.
type step struct {
	op   string // "apply", "clear" or "heal"
	imps []Spec
}

func apply(imps ...Spec) step { return step{op: "apply", imps: imps} }

func TestNetemGolden(t *testing.T) {
	t.Parallel()
	clearStep, healStep := step{op: "clear"}, step{op: "heal"}
	// fastPulse keeps reset pulses out of the tests' wall time.
	fastPulse := NetemOptions{ResetPulse: time.Nanosecond}
	lat := func(target, links string, delay, jitter int, loss float64) Spec {
		return Spec{Kind: KindLatency, Target: target, Links: links, Delay: ms(delay), Jitter: ms(jitter), Loss: loss}
	}
	bw := func(target, links string, kbps int) Spec {
		return Spec{Kind: KindBandwidth, Target: target, Links: links, RateKBps: kbps}
	}
	tests := []struct {
		name  string
		opt   NetemOptions
		steps []step
	}{
		{"latency_all_downstream", fastPulse, []step{apply(Spec{Kind: KindLatency, Target: "leader", Links: "all", Direction: "downstream", Delay: ms(40), Jitter: ms(5), Loss: 1}), clearStep, clearStep}},
		{"latency_all_default", fastPulse, []step{apply(lat("leader", "", 40, 5, 1)), clearStep, clearStep}},
		{"latency_peer", fastPulse, []step{apply(lat("m2", "peer", 40, 0, 0)), clearStep}},
		{"latency_client_upstream", fastPulse, []step{apply(Spec{Kind: KindLatency, Target: "m2", Links: "client", Direction: "upstream", Delay: ms(20)}), clearStep}},
		{"latency_all_both", fastPulse, []step{apply(Spec{Kind: KindLatency, Target: "m3", Links: "all", Direction: "both", Delay: ms(20)}), clearStep}},
		{"latency_no_jitter_sub_ms", fastPulse, []step{apply(Spec{Kind: KindLatency, Target: "m2", Delay: Duration(1500 * time.Microsecond)}), clearStep}},
		{"loss_only", fastPulse, []step{apply(lat("m3", "", 0, 0, 0.5)), clearStep}},
		{"latency_peer_out", fastPulse, []step{apply(lat("leader", "peer_out", 40, 5, 0)), clearStep, clearStep}},
		{"bandwidth_all_downstream", fastPulse, []step{apply(Spec{Kind: KindBandwidth, Target: "m2", Links: "all", Direction: "downstream", RateKBps: 125}), clearStep}},
		{"bandwidth_client", fastPulse, []step{apply(bw("follower", "client", 125)), clearStep}},
		{"latency_and_bandwidth_all", fastPulse, []step{apply(lat("m1", "", 40, 0, 0), bw("m1", "", 1000)), clearStep}},
		{"upstream_added_later", fastPulse, []step{
			apply(lat("m1", "peer_out", 40, 0, 0)),
			apply(Spec{Kind: KindBandwidth, Target: "m1", Links: "peer", Direction: "upstream", RateKBps: 100}),
			apply(Spec{Kind: KindLatency, Target: "m1", Links: "client", Direction: "upstream", Delay: ms(3)}),
			clearStep, clearStep,
		}},
		{"latency_all_bandwidth_peer_out", fastPulse, []step{apply(lat("m1", "all", 40, 5, 0), bw("m1", "peer_out", 1000)), clearStep}},
		{"reapply_stacks", fastPulse, []step{
			apply(lat("leader", "peer_out", 40, 0, 0)),
			apply(bw("leader", "client", 500), lat("m3", "all", 10, 0, 0)),
			apply(bw("m3", "all", 64)),
			clearStep, clearStep,
		}},
		{"partition_one", fastPulse, []step{apply(Spec{Kind: KindPartition, Target: "follower"}), clearStep, clearStep}},
		{"partition_two", fastPulse, []step{apply(Spec{Kind: KindPartition, Members: []string{"m2", "m3"}}), clearStep}},
		{"down", fastPulse, []step{apply(Spec{Kind: KindDown, Target: "m3"}), clearStep, clearStep}},
		{"reset_client", fastPulse, []step{apply(Spec{Kind: KindReset, Target: "m2", Links: "client"}), clearStep}},
		{"reset_client_both", fastPulse, []step{apply(Spec{Kind: KindReset, Target: "m2", Links: "client", Direction: "both"}), clearStep}},
		{"reset_peer_out", fastPulse, []step{apply(Spec{Kind: KindReset, Target: "leader", Links: "peer_out"}), clearStep}},
		{"phase_combined", fastPulse, []step{
			apply(
				lat("leader", "peer_out", 40, 5, 0),
				Spec{Kind: KindPartition, Target: "m3"},
				Spec{Kind: KindReset, Target: "m3", Links: "client"},
			),
			clearStep, clearStep,
		}},
		{"heal", fastPulse, []step{healStep, healStep}},
		{"heal_after_apply", fastPulse, []step{apply(lat("leader", "peer_out", 40, 5, 0), Spec{Kind: KindDown, Target: "m3"}), healStep, clearStep}},
		{"options", NetemOptions{Docker: []string{"docker", "--context", "lab"}, Device: "ens5", Limit: 100000, ResetPulse: time.Nanosecond},
			[]step{apply(lat("leader", "peer_out", 40, 5, 0), Spec{Kind: KindPartition, Target: "m2"}), clearStep, healStep}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &Recorder{}
			n := NewNetemWithOptions(testTopo(), rec, tc.opt)
			var got bytes.Buffer
			for _, s := range tc.steps {
				rec.Reset()
				var err error
				switch s.op {
				case "apply":
					acts, rerr := Resolve(s.imps, testTopo())
					if rerr != nil {
						t.Fatalf("Resolve: %v", rerr)
					}
					fmt.Fprintln(&got, "# apply")
					for _, a := range acts {
						fmt.Fprintln(&got, "#   "+Describe(a))
					}
					err = n.Apply(context.Background(), acts)
				case "clear":
					fmt.Fprintln(&got, "# clear")
					err = n.Clear(context.Background())
				case "heal":
					fmt.Fprintln(&got, "# heal")
					_, err = n.Heal(context.Background())
				}
				if err != nil {
					t.Fatalf("%s: %v", s.op, err)
				}
				for _, c := range rec.Commands() {
					fmt.Fprintln(&got, c)
				}
			}
			checkGolden(t, filepath.Join("testdata", "netem", tc.name+".golden"), got.Bytes())
		})
	}
}

// checkGolden compares got with the golden file, rewriting it under -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	testenv.Golden(t, path, got, *update)
}

func TestNetemDryRunPrintsWhatRecorderRecords(t *testing.T) {
	t.Parallel()
	acts, err := Resolve([]Spec{
		{Kind: KindLatency, Target: "leader", Links: "peer_out", Delay: ms(40), Jitter: ms(5)},
		{Kind: KindPartition, Target: "m3"},
	}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rec := &Recorder{}
	for _, x := range []Executor{DryRun{W: &out}, rec} {
		n := NewNetem(testTopo(), x)
		if err := n.Apply(context.Background(), acts); err != nil {
			t.Fatal(err)
		}
		if err := n.Clear(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	want := strings.Join(rec.Commands(), "\n") + "\n"
	if out.String() != want || len(rec.Commands()) < 10 {
		t.Errorf("dry run printed\n%s\nrecorder has\n%s", out.String(), want)
	}
}

// failOn returns a Respond func failing every command containing substr.
func failOn(substr, output string, err error) func([]string) ([]byte, error) {
	return func(argv []string) ([]byte, error) {
		if strings.Contains(ShellJoin(argv), substr) {
			return []byte(output), err
		}
		return nil, nil
	}
}

func TestNetemApplyCommandErrorIsWrappedAndCleared(t *testing.T) {
	t.Parallel()
	boom := errors.New("exit status 4")
	rec := &Recorder{Respond: failOn("-I OUTPUT", "iptables: Permission denied (you must be root).", boom)}
	n := NewNetem(testTopo(), rec)
	acts, err := Resolve([]Spec{{Kind: KindPartition, Target: "follower"}}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	err = n.Apply(context.Background(), acts)
	if !errors.Is(err, boom) {
		t.Fatalf("Apply = %v, want wrapping %v", err, boom)
	}
	for _, want := range []string{"m2", "container pb-netem-m2", "docker exec pb-netem-m2 iptables -w -I OUTPUT 1 -o eth0 -j PACBENCH", "Permission denied"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	// The chain was created before the failure: Clear removes it, and
	// only it (no qdisc was installed).
	rec.Respond = nil
	rec.Reset()
	if err := n.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker exec pb-netem-m2 iptables -w -D INPUT -i eth0 -j PACBENCH",
		"docker exec pb-netem-m2 iptables -w -D OUTPUT -o eth0 -j PACBENCH",
		"docker exec pb-netem-m2 iptables -w -F PACBENCH",
		"docker exec pb-netem-m2 iptables -w -X PACBENCH",
	}
	if got := rec.Commands(); !slices.Equal(got, want) {
		t.Errorf("Clear ran\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNetemApplyFailedQdiscLeavesNothingToClear(t *testing.T) {
	t.Parallel()
	boom := errors.New("exit status 2")
	rec := &Recorder{Respond: failOn("tc qdisc replace", "Error: Specified qdisc kind is unknown.", boom)}
	n := NewNetem(testTopo(), rec)
	acts, err := Resolve([]Spec{{Kind: KindLatency, Target: "m1", Delay: ms(40)}}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Apply(context.Background(), acts); !errors.Is(err, boom) || !strings.Contains(err.Error(), "qdisc kind is unknown") {
		t.Fatalf("Apply = %v", err)
	}
	rec.Reset()
	if err := n.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.Commands(); len(got) != 0 {
		t.Errorf("Clear ran %q, want nothing", got)
	}
}

func TestNetemApplyRejectsBeforeRunning(t *testing.T) {
	t.Parallel()
	noContainer := testTopo()
	noContainer.Members[1].Container = ""
	noAddr := testTopo()
	noAddr.Members[2].Address = ""
	v6 := testTopo()
	v6.Members[0].Address = "fd00::1"
	lat := Action{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Downstream, Delay: 40 * time.Millisecond}
	tests := []struct {
		name    string
		topo    Topology
		actions []Action
		want    error
	}{
		{"upstream peer shaping, a peer without address", noAddr, []Action{{Kind: KindBandwidth, Member: "m1", Link: LinkPeer, Direction: Upstream, RateKBps: 1}}, ErrNoLink},
		{"unknown member", testTopo(), []Action{{Kind: KindDown, Member: "m9", Link: LinkClient}}, ErrUnknownTarget},
		{"no container", noContainer, []Action{lat, {Kind: KindDown, Member: "m2", Link: LinkClient}}, ErrNoLink},
		{"unknown link", testTopo(), []Action{{Kind: KindDown, Member: "m1", Link: "admin"}}, ErrInvalid},
		{"unknown direction", testTopo(), []Action{{Kind: KindReset, Member: "m1", Link: LinkPeer, Direction: "both"}}, ErrInvalid},
		{"unknown kind", testTopo(), []Action{{Kind: "corrupt", Member: "m1", Link: LinkPeer}}, ErrInvalid},
		{"partition without others", testTopo(), []Action{{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Downstream}}, ErrNoLink},
		{"partition to a name", testTopo(), []Action{{Kind: KindPartition, Member: "m1", Link: LinkPeer, Direction: Downstream, Others: []string{"etcd2"}}}, ErrNoLink},
		{"peer shaping, a peer without address", noAddr, []Action{lat}, ErrNoLink},
		{"reset, a peer without address", noAddr, []Action{{Kind: KindReset, Member: "m1", Link: LinkPeer, Direction: Downstream}}, ErrNoLink},
		{"client reset, own address IPv6", v6, []Action{{Kind: KindReset, Member: "m1", Link: LinkClient, Direction: Downstream}}, ErrNoLink},
		{"two latencies on one link", testTopo(), []Action{lat, lat}, ErrInvalid},
		{"negative delay", testTopo(), []Action{{Kind: KindLatency, Member: "m1", Link: LinkPeer, Delay: -time.Millisecond}}, ErrInvalid},
		{"zero rate", testTopo(), []Action{{Kind: KindBandwidth, Member: "m1", Link: LinkPeer}}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := &Recorder{}
			err := NewNetem(tc.topo, rec).Apply(context.Background(), tc.actions)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Apply = %v, want %v", err, tc.want)
			}
			if got := rec.Commands(); len(got) != 0 {
				t.Errorf("ran %q before rejecting", got)
			}
		})
	}
}

func TestNetemConflictWithActiveShaping(t *testing.T) {
	t.Parallel()
	rec := &Recorder{}
	n := NewNetem(testTopo(), rec)
	lat := Action{Kind: KindLatency, Member: "m1", Link: LinkClient, Direction: Downstream, Delay: time.Millisecond}
	if err := n.Apply(context.Background(), []Action{lat}); err != nil {
		t.Fatal(err)
	}
	rec.Reset()
	if err := n.Apply(context.Background(), []Action{lat}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("second latency on the same link: %v, want ErrInvalid", err)
	}
	if got := rec.Commands(); len(got) != 0 {
		t.Errorf("ran %q", got)
	}
}

func TestNetemResetPulseInterrupted(t *testing.T) {
	t.Parallel()
	rec := &Recorder{}
	n := NewNetemWithOptions(testTopo(), rec, NetemOptions{ResetPulse: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the Recorder ignores ctx; the pulse's wait does not
	err := n.Apply(ctx, []Action{{Kind: KindReset, Member: "m2", Link: LinkPeer, Direction: Downstream}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply = %v, want context.Canceled", err)
	}
	if got := rec.Commands(); slices.ContainsFunc(got, func(c string) bool { return strings.Contains(c, " -D ") }) {
		t.Errorf("pulse removed rules despite cancellation: %q", got)
	}
	rec.Reset()
	if err := n.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rec.Commands(); len(got) != 4 || !strings.HasSuffix(got[3], "-X PACBENCH") {
		t.Errorf("Clear ran %q, want the chain removed", got)
	}
}

func TestNetemClearAndHealTolerateAbsence(t *testing.T) {
	t.Parallel()
	// Real messages of tc and iptables (legacy and nf_tables) when the
	// thing to delete is missing.
	absent := map[string]string{
		"tc qdisc del":   "Error: Cannot delete qdisc with handle of zero.",
		"-D INPUT":       "iptables v1.8.7 (legacy): Couldn't load target `PACBENCH':No such file or directory",
		"-D OUTPUT":      "iptables: Bad rule (does a matching rule exist in that chain?).",
		"-F PACBENCH":    "iptables: No chain/target/match by that name.",
		"-X PACBENCH":    "iptables v1.8.10 (nf_tables): Chain 'PACBENCH' does not exist",
		"tc qdisc del 2": "RTNETLINK answers: No such file or directory",
	}
	respond := func(argv []string) ([]byte, error) {
		line := ShellJoin(argv)
		for k, msg := range absent {
			if strings.Contains(line, strings.TrimSuffix(k, " 2")) {
				return []byte(msg), errors.New("exit status 1")
			}
		}
		return nil, nil
	}
	rec := &Recorder{Respond: respond}
	n := NewNetem(testTopo(), rec)
	rep, err := n.Heal(context.Background())
	if err != nil {
		t.Fatalf("Heal: %v", err)
	}
	if len(rep.Removed) != 3 || len(rep.Left) != 0 {
		t.Errorf("Heal report = %+v, want the 3 containers cleaned", rep)
	}
	if got := len(rec.Commands()); got != 3*7 {
		t.Errorf("Heal ran %d commands, want 21", got)
	}
	acts, err := Resolve([]Spec{{Kind: KindDown, Target: "m1"}, {Kind: KindLatency, Target: "m1", Links: LinksAll, Delay: ms(5)}}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Apply(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	if err := n.Clear(context.Background()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	rec.Reset()
	if err := n.Clear(context.Background()); err != nil || len(rec.Commands()) != 0 {
		t.Errorf("second Clear = %v, ran %q; want nothing", err, rec.Commands())
	}
}

func TestNetemHealReportsRealFailuresAndGoesOn(t *testing.T) {
	t.Parallel()
	denied := errors.New("exit status 1")
	rec := &Recorder{Respond: failOn("pb-netem-m2 tc", "Error response from daemon: container pb-netem-m2 is not running", denied)}
	rep, err := NewNetem(testTopo(), rec).Heal(context.Background())
	if !errors.Is(err, denied) || !strings.Contains(err.Error(), "pb-netem-m2") || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("Heal = %v", err)
	}
	if len(rep.Left) != 1 || !strings.Contains(rep.Left[0], "pb-netem-m2") || len(rep.Removed) != 2 {
		t.Errorf("Heal report = %+v, want m2 left and m1, m3 cleaned", rep)
	}
	if got := rec.Commands(); len(got) != 21 || !strings.Contains(got[20], "pb-netem-m3") {
		t.Errorf("Heal stopped early: %q", got)
	}
}

func TestNetemClearRetriesFailedParts(t *testing.T) {
	t.Parallel()
	boom := errors.New("exit status 1")
	rec := &Recorder{}
	n := NewNetem(testTopo(), rec)
	acts, err := Resolve([]Spec{{Kind: KindLatency, Target: "m1", Delay: ms(5)}, {Kind: KindPartition, Target: "m1"}}, testTopo())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Apply(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	rec.Respond = failOn("tc qdisc del", "Error: Operation not permitted.", boom)
	if err := n.Clear(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Clear = %v, want %v", err, boom)
	}
	rec.Respond = nil
	rec.Reset()
	if err := n.Clear(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker exec pb-netem-m1 tc qdisc del dev eth0 root",
		"docker exec pb-netem-m1 tc qdisc del dev eth0 ingress",
		"docker exec pb-netem-m1 ip link del pbifb0",
	}
	if got := rec.Commands(); !slices.Equal(got, want) {
		t.Errorf("retry ran %q, want %q", got, want)
	}
}

func TestIsAbsent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text string
		want bool
	}{
		{"Error: Cannot delete qdisc with handle of zero.", true},
		{"Error: Cannot find specified qdisc on specified device.", true},
		{`Cannot find device "pbifb0"`, true},
		{"RTNETLINK answers: No such file or directory", true},
		{"iptables: No chain/target/match by that name.", true},
		{"iptables: Bad rule (does a matching rule exist in that chain?).", true},
		{"iptables v1.8.10 (nf_tables): Chain 'PACBENCH' does not exist", true},
		{"iptables v1.8.7 (legacy): Couldn't load target `PACBENCH':No such file or directory", true},
		{"Error response from daemon: No such container: pb-netem-m1", false},
		{"Error response from daemon: container x is not running", false},
		{"RTNETLINK answers: Operation not permitted", false},
		{`OCI runtime exec failed: exec: "tc": executable file not found in $PATH`, false},
		{"iptables: Too many links.", false},
	}
	for _, tc := range tests {
		t.Run(tc.text, func(t *testing.T) {
			t.Parallel()
			if got := isAbsent(tc.text); got != tc.want {
				t.Errorf("isAbsent = %v, want %v", got, tc.want)
			}
		})
	}
}
