package etcd_test

import (
	"context"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/drivertest"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/op"
)

// TestStatic holds the driver to the kit's promises that need no server.
func TestStatic(t *testing.T) {
	t.Parallel()
	drivertest.Static(t, etcd.New())
}

// TestConformance runs the driver conformance kit against the shared real
// 3-member cluster. With a member's client link down, ops of a session
// pinned to it fail as timeout (the package doc: the etcd client retries
// the refused member until the op's deadline).
func TestConformance(t *testing.T) {
	e := etcdCluster(t)
	eps := e.Endpoints()
	raw, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	drivertest.Run(t, drivertest.Harness{
		Driver:  etcd.New(),
		Config:  drivers.Config{Endpoints: eps},
		Levels:  drivers.Levels{"read": etcd.Linearizable},
		Members: eps,
		// etcd scans keys in byte order; the reference counts them with a
		// count-only range read of its own.
		CountFrom: func(ctx context.Context, start string) (int, error) {
			resp, err := raw.Get(ctx, start, clientv3.WithFromKey(), clientv3.WithCountOnly())
			if err != nil {
				return 0, err
			}
			return int(resp.Count), nil
		},
		Link: func(t *testing.T) drivertest.Link {
			return drivertest.ProxyLink(t, drivertest.HostPort(t, eps[0]), func(addr string) (drivers.Config, string) {
				return drivers.Config{Endpoints: []string{"http://" + addr}, DialTimeout: 5 * time.Second}, "http://" + addr
			})
		},
		DownClass: op.Timeout,
	})
}
