package cassandra

import (
	"context"
	"testing"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/drivertest"
	"github.com/pacbench/pacbench/op"
)

// TestStatic holds the driver to the kit's promises that need no server.
func TestStatic(t *testing.T) {
	t.Parallel()
	drivertest.Static(t, New())
}

// TestClusterConformance runs the driver conformance kit against the real
// 3-node cluster of scripts/cassandra.sh, at QUORUM/QUORUM (a session reads
// its own writes). The impaired link is cassandra3's client proxy in the
// cluster's own Toxiproxy; a session pinned to cassandra3 with it down
// fails as unavailable (no connection to send to).
func TestClusterConformance(t *testing.T) {
	cl := openCluster(t)
	cfg := drivers.Config{Endpoints: cl.hosts, Options: map[string]string{OptKeyspace: testKS, OptReplicationFactor: "3"}}
	drivertest.Run(t, drivertest.Harness{
		Driver:    New(),
		Config:    cfg,
		Levels:    drivers.Levels{KeyRead: "QUORUM", KeyWrite: "QUORUM"},
		Members:   cl.hosts,
		CountFrom: cl.countFrom,
		Link: func(t *testing.T) drivertest.Link {
			return drivertest.BackendLink(faults(t), "cassandra3", cfg, cl.node(t, 3))
		},
		DownClass: op.Unavailable,
	})
}

// countFrom counts the keys of the test table whose token is at or after
// the token of start, a stored key (Scan's order under Murmur3), from the
// tokens Cassandra itself computes.
func (cl *cluster) countFrom(ctx context.Context, start string) (int, error) {
	var from int64
	if err := cl.c.s.Query("SELECT token(k) FROM "+testKS+"."+Table+" WHERE k = ?", start).
		Consistency(gocql.Quorum).ScanContext(ctx, &from); err != nil {
		return 0, err
	}
	iter := cl.c.s.Query("SELECT token(k) FROM " + testKS + "." + Table).Consistency(gocql.Quorum).IterContext(ctx)
	n := 0
	var tok int64
	for iter.Scan(&tok) {
		if tok >= from {
			n++
		}
	}
	return n, iter.Close()
}
