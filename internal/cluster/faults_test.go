package cluster_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/owner"
	"github.com/pacbench/pacbench/internal/testenv"
)

// faultCluster starts a cluster and returns it with a follower's name and
// endpoint, a client of that follower alone and one of the others.
func faultCluster(t *testing.T) (e *cluster.Etcd, name, ep string, victim, rest *clientv3.Client) {
	t.Helper()
	testenv.Short(t)
	e, err := cluster.StartEtcd(t.Context(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	name, ep, others := follower(t, e)
	return e, name, ep, newClient(t, ep), newClient(t, others...)
}

// follower returns a member that is not the leader, and the endpoints of
// the others.
func follower(t *testing.T, e *cluster.Etcd) (name, ep string, others []string) {
	t.Helper()
	leader, err := e.Leader(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range e.Topology().Members {
		if m.Name != leader && name == "" {
			name, ep = m.Name, e.Endpoints()[i]
			continue
		}
		others = append(others, e.Endpoints()[i])
	}
	return name, ep, others
}

// get reads key through one endpoint (linearizable) within d.
func get(t *testing.T, c *clientv3.Client, key string, d time.Duration) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	r, err := c.Get(ctx, key)
	if err != nil {
		return "", err
	}
	if len(r.Kvs) == 0 {
		return "", nil
	}
	return string(r.Kvs[0].Value), nil
}

// put10 writes 0…9 to key k through c, each within 5 s.
func put10(t *testing.T, c *clientv3.Client, while string) {
	t.Helper()
	for i := range 10 {
		pctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		_, err := c.Put(pctx, "k", strconv.Itoa(i))
		cancel()
		if err != nil {
			t.Fatalf("write %d with %s: %v", i, while, err)
		}
	}
}

// TestPauseResume: a paused follower is stopped in the kernel's eyes,
// reads through it time out while the others keep serving reads and
// writes, and once resumed it serves the writes it missed.
func TestPauseResume(t *testing.T) {
	e, name, _, victim, rest := faultCluster(t)
	pid := e.PIDs()[name]
	if _, err := get(t, victim, "k", 5*time.Second); err != nil {
		t.Fatalf("read through %s before the pause: %v", name, err)
	}

	if err := e.Pause(name); err != nil {
		t.Fatal(err)
	}
	if !owner.Stopped(pid) {
		t.Fatalf("%s (pid %d) in state %q after Pause, want T", name, pid, owner.State(pid))
	}
	if _, err := get(t, victim, "k", time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("read through paused %s: %v, want a timeout", name, err)
	}
	put10(t, rest, name+" paused")
	if v, err := get(t, rest, "k", 5*time.Second); err != nil || v != "9" {
		t.Fatalf("read through the others with %s paused = %q, %v", name, v, err)
	}
	if d := e.Died(); len(d) != 0 {
		t.Errorf("a paused member counts as dead: %+v", d)
	}

	if err := e.Resume(name); err != nil {
		t.Fatal(err)
	}
	if owner.Stopped(pid) {
		t.Fatalf("%s still stopped after Resume", name)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := get(t, victim, "k", 2*time.Second)
		if err == nil && v == "9" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("resumed %s does not serve the writes it missed: %q, %v", name, v, err)
		}
	}
	if err := e.Resume(name); err != nil {
		t.Errorf("Resume of a running member: %v", err)
	}
	if err := e.Pause("m9"); !errors.Is(err, cluster.ErrUnknownMember) {
		t.Errorf("Pause(m9) = %v, want ErrUnknownMember", err)
	}
}

// TestKillRestart: a killed follower restarted by Restart rejoins as
// itself (same member id, same data directory), serves the writes it
// missed, the cluster is healthy again, and neither the kill nor the
// restart counts as a death. A paused member does not hold up Stop.
func TestKillRestart(t *testing.T) {
	e, name, ep, victim, rest := faultCluster(t)
	st, err := victim.Status(t.Context(), ep)
	if err != nil {
		t.Fatal(err)
	}
	id, oldPID := st.Header.MemberId, e.PIDs()[name]

	if err := e.Kill(name); err != nil {
		t.Fatal(err)
	}
	put10(t, rest, name+" down")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	t0 := time.Now()
	if err := e.Restart(ctx, name); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s restarted and serving in %v", name, time.Since(t0).Round(time.Millisecond))
	newPID := e.PIDs()[name]
	if newPID == 0 || newPID == oldPID || owner.Of(newPID).Gone() {
		t.Fatalf("pid after restart %d (before %d)", newPID, oldPID)
	}
	// Restart returns once the member served a linearizable read: it
	// reached the leader and applied what it missed.
	if v, err := get(t, victim, "k", 5*time.Second); err != nil || v != "9" {
		t.Errorf("restarted %s reads %q, %v; want the write it missed", name, v, err)
	}
	st, err = victim.Status(t.Context(), ep)
	if err != nil {
		t.Fatal(err)
	}
	if st.Header.MemberId != id || st.Leader == 0 {
		t.Errorf("restarted %s: member id %x (was %x), leader %x", name, st.Header.MemberId, id, st.Leader)
	}
	ml, err := rest.MemberList(t.Context())
	if err != nil || len(ml.Members) != 3 {
		t.Fatalf("member list after restart: %v, %v", ml, err)
	}
	if leader, err := e.Leader(t.Context()); err != nil || leader == "" {
		t.Errorf("no majority leader after restart: %v", err)
	}
	if err := e.Restart(ctx, name); err != nil {
		t.Errorf("Restart of a running member: %v", err)
	}
	if d := e.Died(); len(d) != 0 {
		t.Errorf("kill and restart count as deaths: %+v", d)
	}

	// A paused member is continued by Stop, so it stops at once instead of
	// waiting out StopGrace for a SIGTERM it cannot handle.
	if err := e.Pause(name); err != nil {
		t.Fatal(err)
	}
	t0 = time.Now()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(t0); took >= cluster.StopGrace {
		t.Errorf("Stop with %s paused took %v (the grace period: it was never continued)", name, took)
	}
	if err := e.Restart(ctx, name); err == nil {
		t.Error("Restart after Stop succeeded")
	}
}
