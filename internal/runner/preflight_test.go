package runner_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
)

const netemProfile = `
system:
  driver: fake
  endpoints: [fake://1]
  impairer: {kind: netem}
  nodes:
    - {name: f1, endpoint: "fake://1", container: pb-f1, address: 10.0.0.1}
    - {name: f2, endpoint: "fake://2", container: pb-f2, address: 10.0.0.2}
    - {name: f3, endpoint: "fake://3", container: pb-f3, address: 10.0.0.3}
workload: {records: 10, value_size: 64, mix: {read: 0.9, write: 0.1}, distribution: uniform}
load: {model: closed, workers: 2}
routes: {read: follower, write: leader}
levels: [{name: only, read: fresh}]
phases:
  - {name: baseline, duration: 200ms}
  - name: latency
    duration: 200ms
    impairments: [{kind: latency, target: leader, links: peer, delay: 40ms}]
`

// TestPreflightBeforeFirstPhase: a backend with a preflight is asked about
// every phase's impairments (roles resolved) before anything is loaded; a
// failed preflight refuses the run as a setup error and applies nothing.
func TestPreflightBeforeFirstPhase(t *testing.T) {
	t.Parallel()
	links := impair.Topology{Members: []impair.MemberLinks{
		{Name: "f1", Container: "pb-f1", Address: "10.0.0.1"},
		{Name: "f2", Container: "pb-f2", Address: "10.0.0.2"},
		{Name: "f3", Container: "pb-f3", Address: "10.0.0.3"}}}
	for _, fail := range []bool{false, true} {
		t.Run(map[bool]string{false: "passes", true: "fails"}[fail], func(t *testing.T) {
			t.Parallel()
			d := fakedriver.New(fakedriver.Options{})
			pl, reg := plan(t, d, netemProfile)
			rec := &impair.Recorder{Respond: func(argv []string) ([]byte, error) {
				cmd := strings.Join(argv[3:], " ")
				switch {
				case fail && argv[2] == "pb-f1":
					return []byte("Error response from daemon: No such container: pb-f1"), errors.New("exit status 1")
				case cmd == "ip -4 -o addr show dev eth0":
					return []byte("2: eth0    inet " + map[string]string{"pb-f1": "10.0.0.1", "pb-f2": "10.0.0.2", "pb-f3": "10.0.0.3"}[argv[2]] + "/24 scope global eth0"), nil
				case cmd == "cat /proc/self/status":
					return []byte("CapEff:\t00000000a80435fb"), nil
				}
				return nil, nil
			}}
			res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Links: links, Impairer: impair.NewNetem(links, rec)})
			cmds := rec.Commands()
			firstApply := slices.IndexFunc(cmds, func(c string) bool { return strings.Contains(c, "tc qdisc replace") })
			probe := slices.IndexFunc(cmds, func(c string) bool { return strings.Contains(c, "pb-f1 tc qdisc add dev pbprobe0 root netem") })
			if fail {
				if !errors.Is(err, runner.ErrSetup) || !errors.Is(err, impair.ErrPreflight) || !strings.Contains(err.Error(), "no such container") {
					t.Fatalf("err = %v, want ErrSetup wrapping ErrPreflight naming the container", err)
				}
				if firstApply >= 0 {
					t.Errorf("a refused run applied impairments:\n%s", strings.Join(cmds, "\n"))
				}
				if res.Recorder != nil || res.Results != nil {
					t.Error("a refused run loaded or measured")
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			// The leader (f1, from the driver's topology) was probed, before
			// the latency phase applied its qdiscs on f1.
			if probe < 0 || firstApply < probe || !strings.Contains(cmds[firstApply], "pb-f1") {
				t.Errorf("preflight of the leader at %d, first apply at %d:\n%s", probe, firstApply, strings.Join(cmds, "\n"))
			}
		})
	}
}
