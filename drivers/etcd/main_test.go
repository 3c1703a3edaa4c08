package etcd_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/testenv"
)

// shared is the one real 3-member cluster the package's integration tests
// use (started on first use, stopped by TestMain). Tests that impair it run
// sequentially and heal before returning.
var shared struct {
	once sync.Once
	e    *cluster.Etcd
	err  error
}

func TestMain(m *testing.M) {
	cluster.MaybeRunMember()
	// Toxiproxy's bandwidth toxic logs through zerolog's global logger.
	zerolog.SetGlobalLevel(zerolog.WarnLevel)
	code := m.Run()
	if shared.e != nil {
		if err := shared.e.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop shared cluster:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// etcdCluster returns the shared cluster, starting it on first use.
func etcdCluster(t *testing.T) *cluster.Etcd {
	t.Helper()
	testenv.Short(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		shared.e, shared.err = cluster.StartEtcd(ctx, cluster.EtcdOptions{})
	})
	if shared.err != nil {
		t.Fatalf("start etcd cluster: %v", shared.err)
	}
	return shared.e
}
