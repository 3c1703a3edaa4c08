package mongodb

// Replica-set tests: three real mongod containers (testcontainers-go)
// (staleness here, the w:1 primary kill in replset_kill_test.go). They
// need a Docker engine; without one they skip, also in CI — they are the
// MongoDB tests allowed to, because no machine here has Docker (FerretDB
// covers everything a single server can show).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"
	tcmongo "github.com/testcontainers/testcontainers-go/modules/mongodb"
	"github.com/testcontainers/testcontainers-go/network"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/workloads"
)

// mongoImage is the server image, the exact release docker-compose.yml pins.
const mongoImage = "mongo:8.0.17"

// secondaryDelay is mongo3's replication delay (secondaryDelaySecs).
const secondaryDelay = 2 * time.Second

// requireDocker skips the test when no Docker engine answers.
func requireDocker(t *testing.T) {
	t.Helper()
	if err := dockerHealth(); err != nil {
		t.Skipf("skipping: no Docker engine (%v). This replica-set test starts 3 mongod containers with testcontainers-go; "+
			"the replica-set tests are the MongoDB tests allowed to skip, also in CI, because no machine here has Docker. "+
			"The FerretDB tests cover CRUD, errors and the wire; run this one on a machine with Docker.", err)
	}
}

// dockerHealth asks the Docker engine for its info. testcontainers-go
// panics when it finds no Docker host at all; that is an answer too.
func dockerHealth() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return err
	}
	return p.Health(ctx)
}

// replicaSet is a started 3-member set: host-side endpoints of mongo1
// (primary, priority 2), mongo2 and mongo3 (priority 0, delayed).
type replicaSet struct {
	primary, secondary, delayed string
	// containers are mongo1, mongo2, mongo3.
	containers []*tcmongo.MongoDBContainer
}

func startReplicaSet(t *testing.T) replicaSet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	nw, err := network.New(ctx)
	if err != nil {
		t.Fatalf("docker network: %v", err)
	}
	t.Cleanup(func() { _ = nw.Remove(context.Background()) })
	eps := make([]string, 3)
	ctrs := make([]*tcmongo.MongoDBContainer, 3)
	for i := range eps {
		name := fmt.Sprintf("mongo%d", i+1)
		ctr, err := tcmongo.Run(ctx, mongoImage,
			network.WithNetwork([]string{name}, nw),
			testcontainers.WithCmd("mongod", "--replSet", "rs0", "--bind_ip_all", "--port", "27017"))
		testcontainers.CleanupContainer(t, ctr)
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		ctrs[i] = ctr
		if eps[i], err = ctr.PortEndpoint(ctx, "27017/tcp", ""); err != nil {
			t.Fatalf("%s endpoint: %v", name, err)
		}
	}
	admin, err := mongo.Connect(options.Client().SetHosts([]string{eps[0]}).SetDirect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Disconnect(context.Background())
	// Members are named by their network aliases; the test reaches each
	// one directly through its published port.
	cfg := bson.D{{Key: "_id", Value: "rs0"}, {Key: "members", Value: bson.A{
		bson.D{{Key: "_id", Value: 0}, {Key: "host", Value: "mongo1:27017"}, {Key: "priority", Value: 2}},
		bson.D{{Key: "_id", Value: 1}, {Key: "host", Value: "mongo2:27017"}, {Key: "priority", Value: 1}},
		bson.D{{Key: "_id", Value: 2}, {Key: "host", Value: "mongo3:27017"}, {Key: "priority", Value: 0},
			{Key: "secondaryDelaySecs", Value: int(secondaryDelay / time.Second)}},
	}}}
	if err := admin.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetInitiate", Value: cfg}}).Err(); err != nil {
		t.Fatalf("replSetInitiate: %v", err)
	}
	want := map[string]string{eps[0]: "isWritablePrimary", eps[1]: "secondary", eps[2]: "secondary"}
	for ep, field := range want {
		waitHello(ctx, t, ep, field)
	}
	return replicaSet{primary: eps[0], secondary: eps[1], delayed: eps[2], containers: ctrs}
}

// waitHello polls hello on ep until field is true.
func waitHello(ctx context.Context, t *testing.T, ep, field string) {
	t.Helper()
	c, err := mongo.Connect(options.Client().SetHosts([]string{ep}).SetDirect(true))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	for {
		raw, err := c.Database("admin").RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Raw()
		if err == nil {
			if ok, _ := raw.Lookup(field).BooleanOK(); ok {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never reported %s: %v", ep, field, err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TestReplicaSetStaleness: with mongo3 replicating 2 s behind, reads with
// secondary + local pinned to it go stale, while primary + majority and
// primary + linearizable reads never return less than the last
// majority-acknowledged write.
func TestReplicaSetStaleness(t *testing.T) {
	requireDocker(t)
	rs := startReplicaSet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc, err := New().Open(ctx, drivers.Config{Endpoints: []string{rs.primary}, Options: map[string]string{OptDirect: "true"}})
	if err != nil {
		t.Fatal(err)
	}
	c := dc.(*Client)
	defer c.Close()
	if err := c.Prepare(ctx); err != nil {
		t.Fatal(err)
	}
	session := func(levels drivers.Levels, read string) drivers.Session {
		s, err := c.Session(ctx, drivers.SessionConfig{Levels: levels, ReadEndpoints: []string{read}, WriteEndpoints: []string{rs.primary}})
		if err != nil {
			t.Fatalf("session %v: %v", levels, err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	writer := session(drivers.Levels{KeyW: "majority"}, rs.primary)
	readers := []struct {
		name      string
		s         drivers.Session
		server    string
		wantStale bool
	}{
		{"secondary+local on the delayed member", session(drivers.Levels{KeyReadPreference: "secondary", KeyReadConcern: "local"}, rs.delayed), rs.delayed, true},
		{"primary+majority", session(drivers.Levels{KeyReadConcern: "majority", KeyW: "majority"}, rs.primary), rs.primary, false},
		{"primary+linearizable", session(drivers.Levels{KeyReadConcern: "linearizable", KeyW: "majority"}, rs.primary), rs.primary, false},
	}
	stale := make([]int, len(readers))
	const writes = 30
	for seq := uint64(1); seq <= writes; seq++ {
		opCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := writer.Write(opCtx, "k", workloads.NewValue(workloads.Header{Seq: seq}, 64)); err != nil {
			cancel()
			t.Fatalf("write %d: %v", seq, err)
		}
		for i, r := range readers {
			v, err := r.s.Read(opCtx, "k")
			if err != nil {
				cancel()
				t.Fatalf("%s: read after write %d: %v", r.name, seq, err)
			}
			if v.Server != r.server {
				t.Errorf("%s: served by %q, want %q", r.name, v.Server, r.server)
			}
			got := uint64(0)
			if v.Found {
				h, err := workloads.DecodeHeader(v.Data)
				if err != nil {
					t.Fatalf("%s: %v", r.name, err)
				}
				got = h.Seq
			}
			if got < seq {
				stale[i]++
			}
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	for i, r := range readers {
		t.Logf("%s: %d of %d reads stale", r.name, stale[i], writes)
		switch {
		case r.wantStale && stale[i] == 0:
			t.Errorf("%s: no stale read although mongo3 replicates %v behind", r.name, secondaryDelay)
		case !r.wantStale && stale[i] > 0:
			t.Errorf("%s: %d stale reads after w:majority acks", r.name, stale[i])
		}
	}
}
