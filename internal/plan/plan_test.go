package plan_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/profile"
)

func parse(t *testing.T, yml string) *profile.Plan {
	t.Helper()
	p, err := profile.Parse("p.yaml", []byte(yml), profile.Options{})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	pp, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return pp
}

// TestNew: the typed plan holds the profile's values resolved (durations,
// modes, routes, defaults) and the load model's schedule.
func TestNew(t *testing.T) {
	t.Parallel()
	pp := parse(t, `
system:
  driver: etcd
  endpoints: ["127.0.0.1:2379"]
  nodes: [{name: n1, endpoint: "127.0.0.1:2379", client_proxy: n1c, peer_proxy: n1p}]
  impairer: {kind: toxiproxy, api: "http://127.0.0.1:8474"}
  options: {pool: "2"}
  op_timeout: 750ms
workload: {preset: a, records: 500}
load: {model: open, rate: 400, workers: 4, arrivals: poisson}
routes: {read: follower}
mode: sequential
levels: [{name: lin, read: linearizable}, {name: ser, read: serializable}]
phases: [{name: a, duration: 2s}, {name: b, duration: 1500ms, impairments: [{kind: latency, target: leader, delay: 5ms}]}]
checks: {probes: [1ms, 10ms], linearizable_keys: 2}
`)
	pl, err := plan.New(pp, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Load.Schedule
	switch {
	case pl.Mode != plan.Sequential || pl.Mode.String() != "sequential":
		t.Errorf("mode %v", pl.Mode)
	case pl.System.OpTimeout != 750*time.Millisecond || pl.System.Options["pool"] != "2" || pl.System.Driver != "etcd":
		t.Errorf("system %+v", pl.System)
	case pl.Routes.Read != (plan.Route{Member: "follower"}) || !pl.Routes.Write.Any():
		t.Errorf("routes %+v", pl.Routes)
	case pl.Load.Model != "open" || s.Workers() != 4 || !s.Open() || s.Rate(time.Second) != 400:
		t.Errorf("load %s: %d workers open %v rate %v", pl.Load.Model, s.Workers(), s.Open(), s.Rate(time.Second))
	case len(pl.Phases) != 2 || pl.Phases[1].Duration != 1500*time.Millisecond || !pl.Phases[1].Impaired() || pl.Phases[0].Impaired():
		t.Errorf("phases %+v", pl.Phases)
	case pl.Duration() != 7*time.Second: // 3.5 s × 2 scenarios, sequential
		t.Errorf("duration %v", pl.Duration())
	case pl.Checks.CheckTimeout != 0 || pl.Checks.RingSize != plan.SmallKeyspaceRing ||
		len(pl.Checks.Probes) != 2 || pl.Checks.Probes[1] != 10*time.Millisecond || pl.Checks.LinearizableKeys != 2:
		t.Errorf("checks %+v", pl.Checks)
	case !pl.LoadRecords || pl.Workload.Records != 500 || pl.Seed != 1:
		t.Errorf("workload %+v, load records %v, seed %d", pl.Workload, pl.LoadRecords, pl.Seed)
	case len(pl.Scenarios) != 2 || pl.Scenarios[1].Name != "ser" || pl.Scenarios[1].Levels["read"] != "serializable":
		t.Errorf("scenarios %+v", pl.Scenarios)
	}
	// The plan owns its data: changing the profile plan does not reach it.
	pp.Phases[0].Duration = profile.Duration(time.Hour)
	pp.Profile.System.Options["pool"] = "9"
	if pl.Phases[0].Duration != 2*time.Second || pl.System.Options["pool"] != "2" {
		t.Errorf("plan aliases the profile: %v %v", pl.Phases[0].Duration, pl.System.Options)
	}
}

// TestNewDefaults: closed loop, side by side, any routes, the recorder's
// ring for large key spaces.
func TestNewDefaults(t *testing.T) {
	t.Parallel()
	pl, err := plan.New(parse(t, `
system: {driver: etcd, cluster: local}
workload: {preset: c, records: 200000}
load: {think_time: 3ms}
levels: [{read: linearizable}]
phases: [{name: a, duration: 1s}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := pl.Load.Schedule
	if pl.Mode != plan.SideBySide || !pl.Routes.Read.Any() || pl.Load.Model != "closed" || s.Open() || s.Workers() != profile.DefaultWorkers ||
		pl.Checks.RingSize != 0 || pl.System.OpTimeout != profile.DefaultOpTimeout {
		t.Errorf("defaults: %+v %+v", pl, pl.Checks)
	}
	if got := s.Pacer(0, 1).Next(1, time.Second); got != time.Second+3*time.Millisecond {
		t.Errorf("think time: next op at %v", got)
	}
}

// TestNewErrors: what did not come from a validated profile, or names a
// model the registry lacks, is refused.
func TestNewErrors(t *testing.T) {
	t.Parallel()
	pp := parse(t, `
system: {driver: etcd, cluster: local}
workload: {preset: c}
levels: [{read: linearizable}]
phases: [{name: a, duration: 1s}]
`)
	for name, tc := range map[string]struct {
		pp     *profile.Plan
		models *load.Registry
	}{
		"nil":           {nil, nil},
		"unknown model": {pp, load.NewRegistry(load.Open{})},
	} {
		if _, err := plan.New(tc.pp, tc.models); !errors.Is(err, plan.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

// TestNewShard: a shard's plan is its part of the whole run: the key slice,
// its workers (the remainder to the first shards) and their share of the
// rate, with the global numbering of its first worker.
func TestNewShard(t *testing.T) {
	t.Parallel()
	const yml = `
system: {driver: etcd, endpoints: ["127.0.0.1:2379"]}
workload: {preset: a, records: 1000}
load: {model: open, rate: 800, workers: 8}
levels: [{read: linearizable}]
phases: [{name: a, duration: 1s}]
`
	p, err := profile.Parse("p.yaml", []byte(yml), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var workers, records int
	var rate float64
	for i, want := range []struct{ first, workers, records int }{{0, 3, 334}, {3, 3, 333}, {6, 2, 333}} {
		pp, err := p.Plan(profile.Overrides{Shard: fmt.Sprintf("%d/3", i)})
		if err != nil {
			t.Fatal(err)
		}
		pl, err := plan.New(pp, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := pl.Load.Schedule
		if pl.Shard.Index != i || pl.Shard.Count != 3 || pl.Shard.FirstWorker != want.first || pl.Shard.Workers != 8 ||
			s.Workers() != want.workers || pl.Workload.Records != want.records || pl.Workload.Shard != pl.Shard.Shard {
			t.Errorf("shard %d: %+v, %d workers, %d records", i, pl.Shard, s.Workers(), pl.Workload.Records)
		}
		if pp.Profile.Shard != fmt.Sprintf("%d/3", i) || pp.Workload.Records != 1000 {
			t.Errorf("shard %d: profile as run has shard %q and %d records", i, pp.Profile.Shard, pp.Workload.Records)
		}
		workers += s.Workers()
		records += pl.Workload.Records
		rate += s.Rate(time.Second)
	}
	if workers != 8 || records != 1000 || math.Abs(rate-800) > 1e-9 {
		t.Errorf("shards add up to %d workers, %d records, %v ops/s", workers, records, rate)
	}
	if _, err := p.Plan(profile.Overrides{Shard: "0/9"}); !errors.Is(err, profile.ErrInvalid) {
		t.Errorf("9 shards of 8 workers: %v", err)
	}
}
