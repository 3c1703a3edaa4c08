package profile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pacbench/pacbench/drivers"
)

// fakeDriver accepts level sets by a table of allowed values per key (nil:
// any value; "" is always accepted as "driver default"). It validates only:
// Open is never called by the profile package.
type fakeDriver struct {
	name  string
	dims  map[string][]string
	ops   []string
	extra func(drivers.Levels) error // combination rules
}

var _ drivers.Driver = (*fakeDriver)(nil)

func (d *fakeDriver) Name() string { return d.name }

func (d *fakeDriver) Info() drivers.Info {
	info := drivers.Info{Name: d.name, Ops: d.ops}
	for k, vs := range d.dims {
		info.Levels = append(info.Levels, drivers.LevelDim{Key: k, Values: vs})
	}
	sort.Slice(info.Levels, func(i, j int) bool { return info.Levels[i].Key < info.Levels[j].Key })
	return info
}

func (d *fakeDriver) ValidateLevels(l drivers.Levels) error {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := l[k]
		allowed, ok := d.dims[k]
		switch {
		case !ok:
			return fmt.Errorf("%w: unknown level key %q", drivers.ErrInvalidLevel, k)
		case v == "" || allowed == nil:
		case !slices.Contains(allowed, v):
			return fmt.Errorf("%w: %s %q (want %s)", drivers.ErrInvalidLevel, k, v, strings.Join(allowed, ", "))
		}
	}
	if d.extra != nil {
		return d.extra(l)
	}
	return nil
}

func (d *fakeDriver) Open(context.Context, drivers.Config) (drivers.Client, error) {
	return nil, drivers.ErrUnsupported
}

// stampingDriver takes client write timestamps unless options.timestamps
// is "server" (as the real cassandra driver).
type stampingDriver struct{ *fakeDriver }

func (stampingDriver) ClientTimestamps(opts map[string]string) error {
	if opts["timestamps"] == "server" {
		return errors.New("option timestamps is server: the coordinators stamp the writes")
	}
	return nil
}

var allOps = []string{"read", "write", "insert", "scan", "rmw", "cas"}

// fakeRegistry holds fakes that accept the level names of the real etcd,
// cassandra and mongodb drivers, plus "kv", a driver with only read/write.
func fakeRegistry() *drivers.Registry {
	cl := []string{"ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM"}
	return drivers.NewRegistry(
		&fakeDriver{name: "etcd", ops: allOps, dims: map[string][]string{
			"read":  {"linearizable", "serializable"},
			"write": {"default"},
		}},
		stampingDriver{&fakeDriver{name: "cassandra", ops: allOps, dims: map[string][]string{
			"read":   append(slices.Clone(cl), "SERIAL", "LOCAL_SERIAL"),
			"write":  append(slices.Clone(cl), "ANY"),
			"serial": {"SERIAL", "LOCAL_SERIAL"},
		}}},
		&fakeDriver{name: "mongodb", ops: allOps, dims: map[string][]string{
			"read":            {},
			"write":           {},
			"w":               {"1", "2", "majority"},
			"j":               {"true", "false"},
			"wtimeout":        nil,
			"read_concern":    {"local", "available", "majority", "linearizable", "snapshot"},
			"read_preference": {"primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"},
			"max_staleness":   nil,
			"tags":            nil,
			"causal":          {"true", "false"},
		}, extra: func(l drivers.Levels) error {
			if l["read_concern"] == "linearizable" && l["read_preference"] != "" && l["read_preference"] != "primary" {
				return fmt.Errorf("%w: read_concern linearizable needs read_preference primary", drivers.ErrInvalidLevel)
			}
			return nil
		}},
		&fakeDriver{name: "kv", ops: []string{"read", "write"}, dims: map[string][]string{
			"read": {"strong"}, "write": {"strong"},
		}},
	)
}
