package impair

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/owner"
)

// fakeProcs records the calls made to it; fail makes "op member" fail.
type fakeProcs struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]bool
}

func (f *fakeProcs) do(op, m string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+m)
	if f.fail[op+" "+m] {
		return fmt.Errorf("%s %s: refused", op, m)
	}
	return nil
}

func (f *fakeProcs) Pause(_ context.Context, m string) error   { return f.do("pause", m) }
func (f *fakeProcs) Resume(_ context.Context, m string) error  { return f.do("resume", m) }
func (f *fakeProcs) Kill(_ context.Context, m string) error    { return f.do("kill", m) }
func (f *fakeProcs) Restart(_ context.Context, m string) error { return f.do("restart", m) }

func (f *fakeProcs) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.calls
	f.calls = nil
	return out
}

// TestProcessBackend: pauses and kills are undone by Clear (resumes first,
// then restarts); what fails to heal stays pending and is retried by the
// next Clear; a failed pause is still resumed.
func TestProcessBackend(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &fakeProcs{fail: map[string]bool{"restart m3": true, "pause m4": true}}
	b := NewProcessBackend(f)
	acts := []Action{{Kind: KindPause, Member: "m1"}, {Kind: KindKill, Member: "m2"}, {Kind: KindKill, Member: "m3"}, {Kind: KindPause, Member: "m1"}}
	if err := b.Apply(ctx, acts); err != nil {
		t.Fatal(err)
	}
	if got, want := f.take(), []string{"pause m1", "kill m2", "kill m3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("apply calls %q, want %q (a member paused twice is paused once)", got, want)
	}
	if err := b.Apply(ctx, []Action{{Kind: KindPause, Member: "m4"}}); err == nil || !strings.Contains(err.Error(), "pause m4") {
		t.Errorf("failed pause: %v", err)
	}
	f.take()
	want := []string{"pause m1 (not resumed)", "pause m4 (not resumed)", "kill m2 (not restarted)", "kill m3 (not restarted)"}
	if got := b.Pending(); !reflect.DeepEqual(got, want) {
		t.Errorf("pending %q, want %q", got, want)
	}
	err := b.Clear(ctx)
	if err == nil || !strings.Contains(err.Error(), "restart m3") {
		t.Errorf("clear with a failing restart: %v", err)
	}
	if got, want := f.take(), []string{"resume m1", "resume m4", "restart m2", "restart m3"}; !reflect.DeepEqual(got, want) {
		t.Errorf("clear calls %q, want %q", got, want)
	}
	if got, want := b.Pending(), []string{"kill m3 (not restarted)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending after clear %q, want %q", got, want)
	}
	delete(f.fail, "restart m3")
	rep, err := b.Heal(ctx)
	if err != nil || !reflect.DeepEqual(rep.Removed, []string{"kill m3 (not restarted)"}) || len(rep.Left) != 0 {
		t.Errorf("heal = %+v, %v", rep, err)
	}
	if err := b.Apply(ctx, []Action{{Kind: KindLatency, Member: "m1", Link: LinkPeer}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("network action: %v, want ErrInvalid", err)
	}
}

// slowProcs never finishes a restart before its context ends; its
// restart timeout is short.
type slowProcs struct{ fakeProcs }

func (f *slowProcs) Restart(ctx context.Context, m string) error {
	_ = f.do("restart", m)
	<-ctx.Done()
	return ctx.Err()
}

func (f *slowProcs) RestartTimeout(string) time.Duration { return 50 * time.Millisecond }

// TestRestartBounded: each restart is bounded by the member's restart
// timeout (a restart that hangs is a failed heal, the member left
// pending), and the clear budget covers the restarts of the killed
// members, through a Guard and a Mux too.
func TestRestartBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &slowProcs{}
	b := NewProcessBackend(f)
	if d := b.ClearBudget(); d != 10*time.Second {
		t.Errorf("budget with nothing killed = %s, want 10s", d)
	}
	if err := b.Apply(ctx, []Action{{Kind: KindKill, Member: "m1"}, {Kind: KindKill, Member: "m2"}}); err != nil {
		t.Fatal(err)
	}
	if d := b.ClearBudget(); d != 10*time.Second+100*time.Millisecond {
		t.Errorf("budget with two killed = %s, want 10.1s", d)
	}
	mux := NewMux(MuxPart{Backend: &fakeBackend{name: "net"}}, MuxPart{Backend: b, Kinds: []string{KindKill}})
	if d := ClearTimeout(mux, time.Second); d != b.ClearBudget() {
		t.Errorf("mux clear timeout = %s, want the process part's budget %s", d, b.ClearBudget())
	}
	if d := ClearTimeout(mux, time.Minute); d != time.Minute {
		t.Errorf("mux clear timeout = %s, want the larger default", d)
	}
	start := time.Now()
	err := b.Clear(ctx)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "restart m2") {
		t.Errorf("clear with hanging restarts: %v", err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("clear took %s: restarts not bounded", took)
	}
	if got, want := b.Pending(), []string{"kill m1 (not restarted)", "kill m2 (not restarted)"}; !reflect.DeepEqual(got, want) {
		t.Errorf("pending %q, want %q", got, want)
	}
}

// TestMux: actions go to the part applying their kind; Clear, Pending and
// Heal reach every part in order.
func TestMux(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &fakeProcs{}
	net := &fakeBackend{name: "net"}
	m := NewMux(MuxPart{Backend: net, Kinds: KindsOf(ClassNetwork)}, MuxPart{Backend: NewProcessBackend(f), Kinds: KindsOf(ClassProcess)})
	if m.Name() != "net+process" || !Handles(m, KindKill) || !Handles(m, KindLatency) {
		t.Errorf("name %q, kinds %v", m.Name(), m.HandledKinds())
	}
	lat := Action{Kind: KindLatency, Member: "m1", Link: LinkPeer, Direction: Downstream, Delay: time.Millisecond}
	if err := m.Apply(ctx, []Action{lat, {Kind: KindPause, Member: "m2"}}); err != nil {
		t.Fatal(err)
	}
	if len(net.applied) != 1 || !reflect.DeepEqual(net.applied[0], lat) {
		t.Errorf("network part got %+v", net.applied)
	}
	if got := f.take(); !reflect.DeepEqual(got, []string{"pause m2"}) {
		t.Errorf("process part got %q", got)
	}
	if got := m.Pending(); !reflect.DeepEqual(got, []string{Describe(lat), "pause m2 (not resumed)"}) {
		t.Errorf("pending %q", got)
	}
	if err := m.Clear(ctx); err != nil || len(m.Pending()) != 0 || net.clears != 1 {
		t.Errorf("clear: %v, pending %q, network clears %d", err, m.Pending(), net.clears)
	}
	if err := NewMux(MuxPart{Backend: net, Kinds: KindsOf(ClassNetwork)}).Apply(ctx, []Action{{Kind: KindKill, Member: "m1"}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a kind no part applies: %v, want ErrInvalid", err)
	}
	rep, err := m.Heal(ctx)
	if err != nil || !reflect.DeepEqual(rep.Removed, []string{"net: healed"}) {
		t.Errorf("heal = %+v, %v", rep, err)
	}
}

// fakeBackend is a network backend that only records.
type fakeBackend struct {
	name    string
	applied []Action
	clears  int
}

func (b *fakeBackend) Name() string { return b.name }
func (b *fakeBackend) Apply(_ context.Context, a []Action) error {
	b.applied = append(b.applied, a...)
	return nil
}
func (b *fakeBackend) Clear(context.Context) error { b.clears++; b.applied = nil; return nil }
func (b *fakeBackend) Pending() []string {
	var out []string
	for _, a := range b.applied {
		out = append(out, Describe(a))
	}
	return out
}
func (b *fakeBackend) Heal(context.Context) (HealReport, error) {
	return HealReport{Removed: []string{"healed"}}, nil
}

// TestValidateProcessKinds: the process kinds' keys and targets, a kill or
// pause of every member, whose processes are within reach, and which
// backend vets what.
func TestValidateProcessKinds(t *testing.T) {
	t.Parallel()
	members := []string{"n1", "n2", "n3"}
	reach := &ProcessReach{Members: []string{"n1", "n2"}, Hint: "give it process"}
	all := &ProcessReach{All: true}
	tests := []struct {
		name  string
		specs []Spec
		env   CheckEnv
		want  []string // "index field: substring"
	}{
		{"pause and kill", []Spec{{Kind: KindPause, Target: "leader"}, {Kind: KindKill, Members: []string{"n2"}}}, CheckEnv{Members: members, Processes: all}, nil},
		{"keys", []Spec{{Kind: KindKill, Target: "n1", Delay: Duration(time.Second), Links: "peer"}}, CheckEnv{}, []string{"1 links: does not apply to kind kill", "1 delay: does not apply to kind kill"}},
		{"no target", []Spec{{Kind: KindPause}}, CheckEnv{}, []string{"1 : target required"}},
		{"kill every member", []Spec{{Kind: KindKill, Members: []string{"n1", "n2", "n3"}}}, CheckEnv{Members: members, Processes: all},
			[]string{"1 : kill would stop or isolate every member of the 3-member cluster"}},
		{"kill and partition every member", []Spec{{Kind: KindKill, Target: "n1"}, {Kind: KindPartition, Members: []string{"n2", "n3"}}}, CheckEnv{Members: members, Processes: all},
			[]string{"2 : partition would isolate every member"}},
		{"pause every member by role", []Spec{{Kind: KindPause, Target: "leader"}, {Kind: KindPause, Target: "follower"}}, CheckEnv{Members: []string{"a", "b"}, Processes: all},
			[]string{"2 : pause would stop or isolate every member of the 2-member cluster (leader, follower)"}},
		{"unreachable name", []Spec{{Kind: KindPause, Target: "n3"}, {Kind: KindKill, Members: []string{"n1", "n3"}}}, CheckEnv{Members: members, Processes: reach},
			[]string{`1 target: pause: pacbench cannot reach the process of "n3"; give it process`, `2 members[1]: kill: pacbench cannot reach the process of "n3"`}},
		{"role needs every process", []Spec{{Kind: KindKill, Target: "leader"}}, CheckEnv{Members: members, Processes: reach},
			[]string{"1 target: kill of a role (leader) needs every member's process within reach, and pacbench cannot reach n3; give it process"}},
		{"reachable", []Spec{{Kind: KindKill, Target: "n2"}}, CheckEnv{Members: members, Processes: reach}, nil},
		{"toxiproxy does not vet process kinds", []Spec{{Kind: KindPause, Target: "n1"}}, CheckEnv{Backend: ToxiproxyFactory{}, Processes: all}, nil},
		{"the process backend alone has no links", []Spec{{Kind: KindLatency, Target: "n1", Delay: Duration(time.Millisecond)}}, CheckEnv{Backend: ProcessFactory{}},
			[]string{"1 kind: latency acts on links: choose a network backend"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, fe := range Validate(tt.specs, tt.env) {
				got = append(got, fmt.Sprintf("%d %s: %v", fe.Index+1, fe.Field, fe.Err))
			}
			if len(got) != len(tt.want) {
				t.Fatalf("problems %q, want %d like %q", got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w[:strings.Index(w, ":")+1]) || !strings.Contains(got[i], w[strings.Index(w, ":")+2:]) {
					t.Errorf("problem %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}

// TestResolveProcessKinds: one action per member, no link, described by
// kind and member.
func TestResolveProcessKinds(t *testing.T) {
	t.Parallel()
	topo := Topology{Members: []MemberLinks{{Name: "m1"}, {Name: "m2"}, {Name: "m3"}}, Aliases: map[string]string{"leader": "m1"}}
	got, err := Resolve([]Spec{{Kind: KindPause, Target: "leader"}, {Kind: KindKill, Members: []string{"m2", "m3"}}}, topo)
	if err != nil {
		t.Fatal(err)
	}
	want := []Action{{Kind: KindPause, Member: "m1"}, {Kind: KindKill, Member: "m2"}, {Kind: KindKill, Member: "m3"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("resolved %+v, want %+v", got, want)
	}
	if d := Describe(want[0]); d != "pause m1" {
		t.Errorf("describe %q", d)
	}
}

// TestCheckProcessSpec: a container, or both commands of programs that
// exist.
func TestCheckProcessSpec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    ProcessSpec
		want []string // "field: substring"
	}{
		{"container", ProcessSpec{Container: "c1"}, nil},
		{"commands", ProcessSpec{PID: []string{"true"}, Start: []string{"sh", "-c", "exit 0"}}, nil},
		{"nothing", ProcessSpec{}, []string{": give container"}},
		{"both", ProcessSpec{Container: "c", PID: []string{"true"}}, []string{"container: either container or"}},
		{"pid alone", ProcessSpec{PID: []string{"true"}}, []string{"start: required with the other command"}},
		{"missing program", ProcessSpec{PID: []string{"/nonexistent/pid"}, Start: []string{"true", ""}}, []string{`pid: program "/nonexistent/pid": not found`, "start: empty word"}},
		{"relative program", ProcessSpec{PID: []string{"./svc.sh"}, Start: []string{"true"}}, []string{`pid: program "./svc.sh" (relative to the profile's directory): not found`}},
		{"start timeout", ProcessSpec{Container: "c1", StartTimeout: Duration(5 * time.Minute)}, nil},
		{"negative start timeout", ProcessSpec{Container: "c1", StartTimeout: Duration(-time.Second)}, []string{"start_timeout: want a duration in (0, 30m0s]"}},
		{"start timeout too long", ProcessSpec{Container: "c1", StartTimeout: Duration(time.Hour)}, []string{"start_timeout: want a duration in (0, 30m0s]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			errs := CheckProcessSpec(tt.p, t.TempDir())
			if len(errs) != len(tt.want) {
				t.Fatalf("problems %v, want %q", errs, tt.want)
			}
			for i, w := range tt.want {
				field, msg, _ := strings.Cut(w, ": ")
				if errs[i].Field != field || !strings.Contains(errs[i].Err.Error(), msg) {
					t.Errorf("problem %d = %q, want %q", i, errs[i], w)
				}
			}
		})
	}
	r := ProcessSpec{PID: []string{"../s.sh", "pid"}, Start: []string{"true"}}.Resolve("/p/profiles")
	if r.PID[0] != "/p/s.sh" || r.PID[1] != "pid" || r.Start[0] != "true" || !reflect.DeepEqual(r.Resolve("/elsewhere"), r) {
		t.Errorf("resolve: %+v", r)
	}
}

// serviceScript is a stand-in for scripts/cassandra.sh: "pid" prints the
// pid of the service (a sleep) or fails when it is not running, "start"
// starts it (doing nothing if it runs).
const serviceScript = `#!/bin/sh
dir=$(dirname "$0")
alive() { # the recorded process runs (stopped counts; a zombie does not)
	[ -f "$dir/pid" ] || return 1
	case $(cut -d' ' -f3 "/proc/$(cat "$dir/pid")/stat" 2>/dev/null) in ''|Z|X) return 1 ;; esac
}
case $1 in
pid) alive && cat "$dir/pid" ;;
start) alive && exit 0; setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! >"$dir/pid" ;;
esac
`

// TestNodeProcessesOnHost pauses, resumes, kills and restarts a real
// process through pid and start commands, and heals what a "crashed run"
// left (a stopped process, then a dead one).
func TestNodeProcessesOnHost(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "svc.sh")
	if err := os.WriteFile(script, []byte(serviceScript), 0o755); err != nil {
		t.Fatal(err)
	}
	spec := &ProcessSpec{PID: []string{script, "pid"}, Start: []string{script, "start"}}
	topo := Topology{Members: []MemberLinks{{Name: "n1", Process: spec}, {Name: "n2"}}}
	ctx := context.Background()
	pidOf := func() int {
		t.Helper()
		out, err := exec.Command(script, "pid").Output()
		if err != nil {
			return 0
		}
		p, _ := strconv.Atoi(strings.TrimSpace(string(out)))
		return p
	}
	if out, err := exec.Command(script, "start").CombinedOutput(); err != nil {
		t.Fatalf("start: %v %s", err, out)
	}
	t.Cleanup(func() {
		if p := pidOf(); p > 0 {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	pid := pidOf()
	procs := NewNodeProcesses(topo, nil, nil)
	if err := procs.Pause(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if !owner.Stopped(pid) {
		t.Fatalf("pid %d state %q after Pause", pid, owner.State(pid))
	}
	if err := procs.Resume(ctx, "n1"); err != nil || owner.Stopped(pid) {
		t.Fatalf("resume: %v, state %q", err, owner.State(pid))
	}
	if err := procs.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if !owner.Of(pid).Gone() && owner.State(pid) != 'Z' {
		t.Fatalf("pid %d alive after Kill (state %q)", pid, owner.State(pid))
	}
	if err := procs.Restart(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if p := pidOf(); p == 0 || p == pid {
		t.Fatalf("after Restart: pid %d (was %d)", p, pid)
	}
	if err := procs.Pause(ctx, "n2"); !errors.Is(err, ErrNoProcess) {
		t.Errorf("pause of a member without process settings: %v, want ErrNoProcess", err)
	}

	// What a run that died mid-phase leaves: a stopped process, then a
	// dead one. A fresh value (no memory of the pause) heals both.
	pid = pidOf()
	_ = syscall.Kill(pid, syscall.SIGSTOP)
	for !owner.Stopped(pid) {
		time.Sleep(time.Millisecond)
	}
	heal := func() HealReport {
		t.Helper()
		rep, err := NewProcessBackend(NewNodeProcesses(topo, nil, nil)).Heal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	if rep := heal(); len(rep.Removed) != 1 || !strings.Contains(rep.Removed[0], "was stopped: continued") || owner.Stopped(pid) {
		t.Errorf("heal of a stopped process: %+v (state %q)", rep, owner.State(pid))
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for !owner.Of(pid).Gone() && owner.State(pid) != 'Z' {
		time.Sleep(time.Millisecond)
	}
	if rep := heal(); len(rep.Removed) != 1 || rep.Removed[0] != "n1 was not running: started" || pidOf() == 0 {
		t.Errorf("heal of a dead process: %+v", rep)
	}
	if rep := heal(); len(rep.Removed)+len(rep.Left) != 0 {
		t.Errorf("heal with nothing left: %+v", rep)
	}
}

// TestNodeProcessesDocker: a member's container is paused, unpaused,
// killed and started with docker; heal reads each container's state and
// undoes a pause or a kill; a dry run prints the same commands.
func TestNodeProcessesDocker(t *testing.T) {
	t.Parallel()
	topo := Topology{Members: []MemberLinks{{Name: "c1", Process: &ProcessSpec{Container: "pacbench-cassandra1-1"}}, {Name: "c2", Process: &ProcessSpec{Container: "pacbench-cassandra2-1"}}, {Name: "c3", Process: &ProcessSpec{Container: "pacbench-cassandra3-1"}}}}
	rec := &Recorder{Respond: func(argv []string) ([]byte, error) {
		if argv[1] == "inspect" {
			return []byte(map[string]string{"pacbench-cassandra1-1": "paused\n", "pacbench-cassandra2-1": "exited\n", "pacbench-cassandra3-1": "running\n"}[argv[len(argv)-1]]), nil
		}
		return nil, nil
	}}
	n := NewNodeProcesses(topo, rec, nil).(*nodeProcesses)
	n.read = rec
	b := NewProcessBackend(n)
	ctx := context.Background()
	if err := b.Apply(ctx, []Action{{Kind: KindPause, Member: "c1"}, {Kind: KindKill, Member: "c3"}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Heal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"docker pause pacbench-cassandra1-1", "docker kill pacbench-cassandra3-1",
		"docker unpause pacbench-cassandra1-1", "docker start pacbench-cassandra3-1",
		"docker inspect -f '{{.State.Status}}' pacbench-cassandra1-1", "docker unpause pacbench-cassandra1-1",
		"docker inspect -f '{{.State.Status}}' pacbench-cassandra2-1", "docker start pacbench-cassandra2-1",
		"docker inspect -f '{{.State.Status}}' pacbench-cassandra3-1",
	}
	if got := rec.Commands(); !slices.Equal(got, want) {
		t.Errorf("commands\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(rep.Removed, []string{"c1 was paused: unpaused", "c2 was exited: started"}) {
		t.Errorf("heal report %+v", rep)
	}
}
