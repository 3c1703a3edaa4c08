// Package profile parses pacbench profiles (YAML) into a validated Profile
// and expands it into a Plan of scenarios. Every problem is reported with
// file:line; unknown keys are errors.
//
// Types here are plain data: safe to share read-only between goroutines.
package profile

import (
	"time"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/workloads"
)

// Duration is a time.Duration that unmarshals from Go duration strings
// ("250ms", "10s") in YAML and marshals back to them in JSON.
type Duration time.Duration

// Profile is one profile file as written by the user (after defaults).
type Profile struct {
	// Name of the profile (defaults to the file's base name).
	Name string `yaml:"name" json:"name"`
	// Description is free text shown by `pacbench validate`.
	Description string `yaml:"description" json:"description,omitempty"`
	// Seed makes key choice, op mix and arrivals deterministic (0 = 1).
	Seed int64 `yaml:"seed" json:"seed"`
	// System is the database under test.
	System System `yaml:"system" json:"system"`
	// Workload is the op mix and key distribution.
	Workload Workload `yaml:"workload" json:"workload"`
	// Load is the load model (closed or open loop).
	Load LoadModel `yaml:"load" json:"load"`
	// Routes say which member reads and writes go through.
	Routes Routes `yaml:"routes" json:"routes"`
	// Levels is the level matrix: one scenario per entry.
	Levels []LevelSet `yaml:"levels" json:"levels"`
	// Mode is "side_by_side" (default: all levels run together inside the
	// same phases, sharing the database) or "sequential" (each level runs the
	// whole phase list alone, one after another).
	Mode string `yaml:"mode" json:"mode"`
	// Phases are the time windows, each with its impairment set.
	Phases []Phase `yaml:"phases" json:"phases"`
	// Checks configures consistency checking.
	Checks Checks `yaml:"checks" json:"checks"`
	// Thresholds are pass/fail conditions on the summary, evaluated after
	// the run (a failure exits 3).
	Thresholds []Threshold `yaml:"thresholds" json:"thresholds,omitempty"`
	// Shard makes this process one part of a run split over several
	// ("I/N", 0 ≤ I < N): its own slice of the key space and 1/N of the
	// load (workloads.Shard, load.Part; --shard overrides it). Empty: the
	// whole run.
	Shard string `yaml:"shard" json:"shard,omitempty"`
	// Sweep runs the profile once per value of one field, as one run (a
	// latency–throughput curve per level and its knee); nil: one run.
	Sweep *Sweep `yaml:"sweep" json:"sweep,omitempty"`

	// Overrides are the -p settings Parse applied (PATH=VALUE, in order),
	// for the manifest; not read from YAML.
	Overrides []string `yaml:"-" json:"-"`
	// Env names the environment variables that ${…} references expanded,
	// each with where its value came from (EnvFromEnvironment or
	// EnvFromDefault; values are not kept), for the manifest; not read
	// from YAML.
	Env map[string]string `yaml:"-" json:"-"`

	// checkedWith are the registries Parse validated the profile against
	// (drivers, impairment backends, load models, checks; not the
	// overrides, already applied): Plan validates the planned copy
	// against the same, so that a profile Parse accepts plans (a kill
	// the chosen backend carries out needs no process settings either
	// time).
	checkedWith Options
}

// System names the driver and how to reach (or start) the database.
type System struct {
	// Driver is a registered driver name: etcd, cassandra, mongodb.
	Driver string `yaml:"driver" json:"driver"`
	// Cluster is "local" to have pacbench start an embedded local cluster
	// (etcd), or empty to use Endpoints.
	Cluster string `yaml:"cluster" json:"cluster,omitempty"`
	// Members is the number of members of a local cluster (default 3).
	Members int `yaml:"members" json:"members,omitempty"`
	// Endpoints are client addresses of an existing deployment.
	Endpoints []string `yaml:"endpoints" json:"endpoints,omitempty"`
	// Nodes names the members of an existing deployment and the links
	// impairments act on (proxy names, netem containers).
	Nodes []Node `yaml:"nodes" json:"nodes,omitempty"`
	// Options are driver-specific (keyspace, replication_factor, pool_size…).
	Options map[string]string `yaml:"options" json:"options,omitempty"`
	// Credentials are read from environment variables, never from the file.
	Credentials CredentialsFrom `yaml:"credentials" json:"credentials,omitempty"`
	// Impairer chooses the impairment backend.
	Impairer Impairer `yaml:"impairer" json:"impairer,omitempty"`
	// OpTimeout bounds each op (default 2s).
	OpTimeout Duration `yaml:"op_timeout" json:"op_timeout"`
}

// Node is one member of an existing deployment.
type Node struct {
	// Name of the member, used by impairment targets and routes.
	Name string `yaml:"name" json:"name"`
	// Endpoint is its client address (as pacbench dials it).
	Endpoint string `yaml:"endpoint" json:"endpoint"`
	// ClientProxy is the Toxiproxy proxy carrying client→member traffic.
	ClientProxy string `yaml:"client_proxy" json:"client_proxy,omitempty"`
	// PeerProxy is the Toxiproxy proxy carrying the member's peer traffic.
	PeerProxy string `yaml:"peer_proxy" json:"peer_proxy,omitempty"`
	// PeerProxyFrom maps another node's name to the Toxiproxy proxy
	// carrying the peer connections that node dials to this one (pair
	// proxies, e.g. the layout `pacbench cluster etcd` prints; PeerProxy then
	// carries the connections naming no dialer). With pair proxies a
	// partition also cuts the connections the isolated member dialed;
	// with PeerProxy alone it cannot. Optional.
	PeerProxyFrom map[string]string `yaml:"peer_proxy_from" json:"peer_proxy_from,omitempty"`
	// Container is the netem sidecar container sharing the member's netns.
	Container string `yaml:"container" json:"container,omitempty"`
	// Address is the member's IP inside the compose network (for iptables).
	Address string `yaml:"address" json:"address,omitempty"`
	// Options are impairment-backend settings of this member (chaosmesh:
	// pod, selector, namespace); the backend validates them.
	Options map[string]string `yaml:"options" json:"options,omitempty"`
	// Process says how pacbench reaches the member's process for the
	// process faults (pause, kill): its container, or pid and start
	// commands (nil: it cannot).
	Process *Process `yaml:"process" json:"process,omitempty"`
}

// Process is how pacbench reaches one member's process
// (system.nodes[].process). It is an alias of impair.ProcessSpec: the
// impair package owns the process faults.
type Process = impair.ProcessSpec

// CredentialsFrom names environment variables holding credentials.
type CredentialsFrom struct {
	UsernameEnv string `yaml:"username_env" json:"username_env,omitempty"`
	PasswordEnv string `yaml:"password_env" json:"password_env,omitempty"`
}

// Impairer chooses the impairment backend and its options
// (system.impairer: {kind: toxiproxy|netem, options: {…}}; the legacy api
// key is options.api). It is an alias of impair.BackendSpec: the impair
// package owns the backends and validates their options.
type Impairer = impair.BackendSpec

// Workload is the op mix and key distribution. It is an alias of
// workloads.Config (defined there so that package workloads need not import
// package profile, which imports workloads to build a Plan).
type Workload = workloads.Config

// LoadModel is the load model of each scenario (the profile's load section).
type LoadModel struct {
	// Model is a registered load model: "closed" (default) or "open" built
	// in.
	Model string `yaml:"model" json:"model"`
	// Workers is the number of concurrent workers (sessions) per scenario;
	// in open loop, the maximum concurrency (default 8).
	Workers int `yaml:"workers" json:"workers"`
	// MaxWorkers (open loop only) lets the pool grow past Workers, the
	// pre-allocated sessions, up to this many when an arrival is due and
	// no worker is free (as k6's maxVUs); at the maximum the arrival waits
	// for the first free worker and is counted as no_worker. 0 (default):
	// Workers, no growth. Rule of thumb (Little's law): rate × the op's
	// latency, with system.op_timeout as the latency under faults.
	MaxWorkers int `yaml:"max_workers" json:"max_workers,omitempty"`
	// ThinkTime is the pause between ops of one closed-loop worker.
	ThinkTime Duration `yaml:"think_time" json:"think_time,omitempty"`
	// Rate is the open-loop target in ops/s per scenario.
	Rate float64 `yaml:"rate" json:"rate,omitempty"`
	// Arrivals is "uniform" (default) or "poisson" for open loop.
	Arrivals string `yaml:"arrivals" json:"arrivals,omitempty"`
	// Options are the load model's own settings, for models that declare
	// them (see docs/architecture.md, "A load model"); the built-in closed
	// and open models take none.
	Options map[string]string `yaml:"options" json:"options,omitempty"`
}

// Routes say which members reads and writes go through. Values: "any"
// (default: driver's own routing), "leader", "follower", "primary",
// "secondary", or a member name.
type Routes struct {
	Read  string `yaml:"read" json:"read"`
	Write string `yaml:"write" json:"write"`
	// Writers, instead of Write, names several write routes (roles or
	// member names): a scenario's workers are split among them, worker i
	// writing through Writers[i mod n]. Writes to one key still never
	// overlap (one writer at a time per key), but successive writes to it
	// may come through different members: writers on both sides of a
	// partition, a skewed client clock on one route (client_clock_skew).
	Writers []string `yaml:"writers" json:"writers,omitempty"`
	// SplitBrain (with Writers) lets the writers of different routes
	// write the same key at the same time during the phases that
	// partition the cluster: each route keeps one writer at a time per
	// key, so the sides of a partition write concurrently and conflict.
	// Outside those phases a key's writers stay disjoint in time (the
	// staleness oracle stays exact there); reads issued during them, and
	// reads of a key after them until its next write, are not judged for
	// staleness or session guarantees. The lost-write audit judges every
	// acknowledged write by real-time order.
	SplitBrain bool `yaml:"split_brain" json:"split_brain,omitempty"`
}

// LevelSet is one entry of the level matrix: a scenario.
type LevelSet struct {
	// Name of the scenario (defaults to the levels joined).
	Name string `yaml:"name" json:"name"`
	// Levels by dimension, in the database's words ("read", "write",
	// "serial", "read_concern", "read_preference", "w", …).
	Levels map[string]string `yaml:",inline" json:"levels"`
	// Line is the source line of the entry (for messages), not from YAML.
	Line int `yaml:"-" json:"-"`
}

// Phase is a time window with one impairment set.
type Phase struct {
	// Name, e.g. baseline, latency, partition, healed.
	Name string `yaml:"name" json:"name"`
	// Duration of the phase (overridden by --duration, except for a
	// warm-up phase and a phase with a fault schedule).
	Duration Duration `yaml:"duration" json:"duration"`
	// Warmup marks a warm-up phase: its ops run and are recorded as the
	// phase's own results, but it is left out of the PACELC verdict, of a
	// sweep's curve and knee, and of --duration (it keeps its duration).
	// A sweep's warm-up (sweep.warmup) is such a phase, named "warmup",
	// before each value's phases.
	Warmup bool `yaml:"warmup" json:"warmup,omitempty"`
	// Impairments active during the phase (empty: healthy network).
	Impairments []Impairment `yaml:"impairments" json:"impairments,omitempty"`
	// Faults are randomised faults (instead of Impairments): drawn from a
	// set with the run's seed, each applied and healed at its drawn time
	// within the phase (see Faults).
	Faults *Faults `yaml:"faults" json:"faults,omitempty"`
	// Drawn are the faults Faults drew for this run (seed, phase name and
	// duration), in time order; Plan fills them, for the runner and the
	// manifest. Not read from YAML.
	Drawn []impair.Drawn `yaml:"-" json:"drawn,omitempty"`
	// Line is the source line of the phase, not from YAML.
	Line int `yaml:"-" json:"-"`
}

// Impairment is one fault, aimed at a link set named by topology. It is an
// alias of impair.Spec: the impair package owns the impairment vocabulary
// (kinds, link sets, directions, roles) and its validation.
type Impairment = impair.Spec

// Faults is a phase's randomised fault schedule (phases[].faults: draw,
// every, from). It is an alias of impair.Schedule: the impair package owns
// the schedule, its draws and its validation.
type Faults = impair.Schedule

// Checks configures consistency checking.
type Checks struct {
	// Linearizability: number of keys whose full history is checked per
	// scenario and phase with porcupine (0 = off).
	LinearizableKeys int `yaml:"linearizable_keys" json:"linearizable_keys"`
	// MaxHistory bounds the ops kept per checked key and phase.
	MaxHistory int `yaml:"max_history" json:"max_history,omitempty"`
	// CheckTimeout bounds porcupine per phase (result null on timeout).
	CheckTimeout Duration `yaml:"check_timeout" json:"check_timeout,omitempty"`
	// Probes enables t-visibility probes at these delays (empty: off).
	Probes []Duration `yaml:"probes" json:"probes,omitempty"`
	// RingSize is how many recent acked writes the staleness oracle keeps
	// per key (default 16); a read more versions behind than this gets a
	// lower-bound time staleness.
	RingSize int `yaml:"ring_size" json:"ring_size,omitempty"`
	// SessionMoves lets sessions move between read members every N ops
	// (0: sessions stay on their route).
	SessionMoves int `yaml:"session_moves" json:"session_moves,omitempty"`
}
