package impair

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// clockProcs is a fakeProcs whose members' clocks can be skewed.
type clockProcs struct {
	fakeProcs
	offsets map[string]time.Duration
}

func (c *clockProcs) SetClockOffset(_ context.Context, m string, d time.Duration) error {
	if err := c.do("clock "+FormatClockOffset(d), m); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offsets[m] = d
	return nil
}

// TestProcessBackendClock: node_clock_skew sets each target's offset and
// then waits ClockSettle once; Clear sets them back to 0 (and waits too); a reset that fails stays
// pending (reported, retried); Processes without clock control refuse.
func TestProcessBackendClock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &clockProcs{fakeProcs: fakeProcs{fail: map[string]bool{"clock +0 m2": true}}, offsets: map[string]time.Duration{}}
	b := NewProcessBackend(c)
	start := time.Now()
	acts := []Action{{Kind: KindNodeClockSkew, Member: "m1", Offset: -500 * time.Millisecond}, {Kind: KindNodeClockSkew, Member: "m2", Offset: 3 * time.Second}}
	if err := b.Apply(ctx, acts); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < ClockSettle {
		t.Errorf("Apply took %s, want ≥ %s (ClockSettle)", took, ClockSettle)
	}
	if got, want := c.take(), []string{"clock -0.5 m1", "clock +3 m2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls %q, want %q", got, want)
	}
	start = time.Now()
	err := b.Clear(ctx)
	if took := time.Since(start); took < ClockSettle {
		t.Errorf("Clear took %s, want ≥ %s (ClockSettle after the reset of m1)", took, ClockSettle)
	}
	if err == nil || !strings.Contains(err.Error(), "reset the clock of m2") {
		t.Errorf("Clear: %v, want the failed reset of m2", err)
	}
	if c.offsets["m1"] != 0 || c.offsets["m2"] != 3*time.Second {
		t.Errorf("offsets after Clear %v", c.offsets)
	}
	if p := b.Pending(); len(p) != 1 || p[0] != "node_clock_skew on m2's clock (clock not reset)" {
		t.Errorf("pending %q", p)
	}
	c.fail = nil
	if rep, err := b.Heal(ctx); err != nil || len(rep.Left) != 0 || len(rep.Removed) != 1 || c.offsets["m2"] != 0 {
		t.Errorf("heal: %+v %v, offsets %v", rep, err, c.offsets)
	}
	if err := NewProcessBackend(&fakeProcs{}).Apply(ctx, acts[:1]); err == nil || !strings.Contains(err.Error(), "clocks cannot be skewed") {
		t.Errorf("Apply without clock control: %v", err)
	}
}

// clockScript stands in for `scripts/cassandra.sh clock N`: it prints
// the offset its file holds, or sets it.
const clockScript = `#!/bin/sh
f=$(dirname "$0")/offset
[ -f "$f" ] || echo "+0" >"$f"
if [ $# -eq 0 ]; then cat "$f"; else echo "$1" >"$f"; fi
`

// TestNodeProcessesClock: the clock command receives the offset as signed
// seconds, prints it back, and a heal (a fresh value, as after a crashed
// run) resets a clock left skewed, and leaves a correct one alone; a dry
// run prints the command and changes nothing.
func TestNodeProcessesClock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "clock.sh")
	if err := os.WriteFile(script, []byte(clockScript), 0o755); err != nil {
		t.Fatal(err)
	}
	topo := Topology{Members: []MemberLinks{{Name: "n1", Process: &ProcessSpec{Clock: []string{script}}}, {Name: "n2"}}}
	ctx := context.Background()
	procs := NewNodeProcesses(topo, nil, nil).(*nodeProcesses)
	for _, d := range []time.Duration{-500 * time.Millisecond, 2*time.Second + 250*time.Microsecond, 0} {
		if err := procs.SetClockOffset(ctx, "n1", d); err != nil {
			t.Fatal(err)
		}
		if got, err := procs.ClockOffset(ctx, "n1"); err != nil || got != d {
			t.Errorf("offset %v %v, want %v", got, err, d)
		}
	}
	if err := procs.SetClockOffset(ctx, "n2", time.Second); err == nil || !strings.Contains(err.Error(), "n2 has no process settings") {
		t.Errorf("a member without a clock command: %v", err)
	}
	if rep, err := NewProcessBackend(NewNodeProcesses(topo, nil, nil)).Heal(ctx); err != nil || len(rep.Removed)+len(rep.Left) != 0 {
		t.Errorf("heal with the clock correct: %+v %v", rep, err)
	}
	if err := procs.SetClockOffset(ctx, "n1", -1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var dry bytes.Buffer
	dryProcs := NewNodeProcesses(topo, DryRun{W: &dry}, &dry)
	if rep, err := NewProcessBackend(dryProcs).Heal(ctx); err != nil || len(rep.Removed) != 1 || !strings.Contains(dry.String(), script+" +0") {
		t.Errorf("dry-run heal: %+v %v, printed %q", rep, err, dry.String())
	}
	if got, _ := procs.ClockOffset(ctx, "n1"); got != -1500*time.Millisecond {
		t.Errorf("a dry run changed the clock: %v", got)
	}
	rep, err := NewProcessBackend(NewNodeProcesses(topo, nil, nil)).Heal(ctx)
	if err != nil || !reflect.DeepEqual(rep.Removed, []string{"n1 clock was -1.5 s: reset to +0"}) {
		t.Errorf("heal of a skewed clock: %+v %v", rep, err)
	}
	if got, _ := procs.ClockOffset(ctx, "n1"); got != 0 {
		t.Errorf("after heal: offset %v", got)
	}
}

// TestClockOffsetFormat: offsets round-trip through the clock command's
// signed seconds; what is not a number of seconds is refused.
func TestClockOffsetFormat(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{{0, "+0"}, {-500 * time.Millisecond, "-0.5"}, {3 * time.Second, "+3"}, {-time.Microsecond, "-0.000001"}, {90 * time.Minute, "+5400"}} {
		if got := FormatClockOffset(tt.d); got != tt.want {
			t.Errorf("FormatClockOffset(%v) = %q, want %q", tt.d, got, tt.want)
		}
		if back, err := ParseClockOffset(tt.want + "\n"); err != nil || back != tt.d {
			t.Errorf("ParseClockOffset(%q) = %v, %v", tt.want, back, err)
		}
	}
	for _, bad := range []string{"", "x", "NaN", "+1e9", "- 1"} {
		if _, err := ParseClockOffset(bad); err == nil {
			t.Errorf("ParseClockOffset(%q) accepted", bad)
		}
	}
}

// TestValidateNodeClockSkew: an offset ≠ 0 within bounds, targets whose
// clocks pacbench can set (by name, or by role when every member's can),
// and never the local etcd cluster's members.
func TestValidateNodeClockSkew(t *testing.T) {
	t.Parallel()
	members := []string{"n1", "n2", "n3"}
	some := &ProcessReach{Members: members, Clocks: []string{"n3"}}
	every := &ProcessReach{Clocks: members}
	local := &ProcessReach{All: true, ClockHint: "not the local cluster"}
	skew := func(target string, off time.Duration) Spec {
		return Spec{Kind: KindNodeClockSkew, Target: target, Offset: Duration(off)}
	}
	tests := []struct {
		name string
		spec Spec
		env  CheckEnv
		want string // "field: substring", "" for none
	}{
		{"named", skew("n3", -time.Second), CheckEnv{Members: members, Processes: some}, ""},
		{"by role, every clock", skew("leader", time.Second), CheckEnv{Members: members, Processes: every}, ""},
		{"by role, some clocks", skew("follower", time.Second), CheckEnv{Members: members, Processes: some}, "target: node_clock_skew of a role (follower) needs every member's process"},
		{"no clock command", skew("n1", time.Second), CheckEnv{Members: members, Processes: some}, `target: node_clock_skew: pacbench cannot reach the process of "n1"; give it system.nodes[].process.clock`},
		{"local cluster", skew("n1", time.Second), CheckEnv{Members: members, Processes: local}, "kind: node_clock_skew: not the local cluster"},
		{"no offset", skew("n3", 0), CheckEnv{Members: members, Processes: some}, "offset: node_clock_skew needs an offset ≠ 0"},
		{"offset too large", skew("n3", 25*time.Hour), CheckEnv{Members: members, Processes: some}, "offset: at most 24h0m0s either way"},
		{"not a link kind", Spec{Kind: KindNodeClockSkew, Target: "n3", Offset: Duration(time.Second), Links: LinksPeer}, CheckEnv{Members: members, Processes: some}, "links: does not apply to kind node_clock_skew"},
		{"several members", Spec{Kind: KindNodeClockSkew, Members: []string{"n1", "n2"}, Offset: Duration(time.Second)}, CheckEnv{Members: members, Processes: every}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := Validate([]Spec{tt.spec}, tt.env)
			var got []string
			for _, fe := range errs {
				got = append(got, fmt.Sprintf("%s: %v", fe.Field, fe.Err))
			}
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("problems %q, want none", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0], tt.want)):
				t.Errorf("problems %q, want one like %q", got, tt.want)
			}
		})
	}
	got, err := Resolve([]Spec{{Kind: KindNodeClockSkew, Members: []string{"m1", "m2"}, Offset: Duration(-2 * time.Second)}},
		Topology{Members: []MemberLinks{{Name: "m1"}, {Name: "m2"}}})
	want := []Action{{Kind: KindNodeClockSkew, Member: "m1", Offset: -2 * time.Second}, {Kind: KindNodeClockSkew, Member: "m2", Offset: -2 * time.Second}}
	if err != nil || !reflect.DeepEqual(got, want) || Describe(got[0]) != "node_clock_skew -2s on m1's clock" {
		t.Errorf("resolved %+v %v (%q)", got, err, Describe(got[0]))
	}
}
