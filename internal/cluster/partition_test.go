package cluster_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/testenv"
)

// TestPartitionIsolatesFollower: a partitioned follower receives nothing
// from the leader, on the connections it dialed as well as on those the
// leader dialed. Writes the leader acknowledges during the partition are
// never visible in a serializable read on the follower for the whole phase;
// once healed the follower catches up. (With one peer proxy per member, the
// follower's own rafthttp streams kept delivering the leader's appends.)
func TestPartitionIsolatesFollower(t *testing.T) {
	testenv.Short(t)
	ctx := t.Context()
	e, err := cluster.StartEtcd(ctx, cluster.EtcdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop() })
	leader, err := e.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	topo := e.Topology()
	var leaderEP, follower, followerEP string
	for _, m := range topo.Members {
		switch {
		case m.Name == leader:
			leaderEP = m.Endpoint
		case follower == "":
			follower, followerEP = m.Name, m.Endpoint
		}
	}
	topo.Aliases = map[string]string{impair.RoleLeader: leader, impair.RoleFollower: follower}
	lc, fc := newClient(t, leaderEP), newClient(t, followerEP)

	// Before: the follower serves the leader's write.
	mustPut(ctx, t, lc, "before")
	waitSerializable(ctx, t, fc, "before", 30*time.Second)

	acts, err := impair.Resolve([]impair.Spec{{Kind: impair.KindPartition, Target: impair.RoleFollower}}, topo)
	if err != nil {
		t.Fatal(err)
	}
	tp := impair.NewToxiproxy(e.ToxiproxyAPI(), topo)
	if err := tp.Apply(ctx, acts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Clear(context.Background()) })

	const phase = 3 * time.Second
	end := time.Now().Add(phase)
	acked, reads := 0, 0
	for time.Now().Before(end) {
		v := "during-" + strconv.Itoa(acked)
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := lc.Put(pctx, "k", v)
		cancel()
		if err != nil {
			continue // a slow machine; only acknowledged writes count
		}
		acked++
		gctx, cancel := context.WithTimeout(ctx, time.Second)
		gr, err := fc.Get(gctx, "k", clientv3.WithSerializable())
		cancel()
		if err != nil {
			continue
		}
		reads++
		if len(gr.Kvs) != 1 || string(gr.Kvs[0].Value) != "before" {
			t.Fatalf("partitioned follower %s served %v after the leader acknowledged %q: not isolated", follower, gr.Kvs, v)
		}
	}
	if acked < 5 || reads < 5 {
		t.Fatalf("only %d writes acknowledged and %d follower reads during the partition", acked, reads)
	}
	t.Logf("partition of %s for %v: %d writes acknowledged by %s, %d serializable reads on %s all stale", follower, phase, acked, leader, reads, follower)

	if err := tp.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	last := "during-" + strconv.Itoa(acked-1)
	waitSerializable(ctx, t, fc, last, 30*time.Second)
}

// mustPut writes k=v through c.
func mustPut(ctx context.Context, t *testing.T, c *clientv3.Client, v string) {
	t.Helper()
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.Put(pctx, "k", v); err != nil {
		t.Fatal(err)
	}
}

// waitSerializable waits until a serializable read of k through c returns
// want.
func waitSerializable(ctx context.Context, t *testing.T, c *clientv3.Client, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		gctx, cancel := context.WithTimeout(ctx, time.Second)
		gr, err := c.Get(gctx, "k", clientv3.WithSerializable())
		cancel()
		if err == nil && len(gr.Kvs) == 1 {
			if last = string(gr.Kvs[0].Value); last == want {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("follower never served %q within %v (last %q)", want, within, last)
}
