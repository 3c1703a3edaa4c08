// Package registry builds the registry of every built-in driver. It is the
// one place that imports all drivers, so cmd/pacbench and tests share it.
package registry

import (
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/cassandra"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/drivers/mongodb"
)

// Default returns a new registry holding the etcd, cassandra and mongodb
// drivers.
func Default() *drivers.Registry {
	return drivers.NewRegistry(etcd.New(), cassandra.New(), mongodb.New())
}
