// Package drivers defines the small interface every database driver
// implements, the optional capabilities the runner discovers by type
// assertion, and a Registry that maps driver names to drivers (like
// database/sql, but an explicit value instead of package-level state).
//
// A driver is stateless and safe for concurrent use; a Client is safe for
// concurrent use; a Session belongs to one worker goroutine at a time.
package drivers

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrUnknownDriver: no driver registered under that name.
	ErrUnknownDriver = errors.New("unknown driver")
	// ErrInvalidLevel: a level name or combination the driver does not accept.
	ErrInvalidLevel = errors.New("invalid level")
	// ErrUnreachable: the database could not be reached when opening a client.
	ErrUnreachable = errors.New("database unreachable")
	// ErrNotFound: a read of a key that has no value.
	ErrNotFound = errors.New("key not found")
	// ErrUnsupported: the driver lacks an optional capability the plan needs.
	ErrUnsupported = errors.New("unsupported by driver")
)

// Driver opens clients to one kind of database.
type Driver interface {
	// Name is the registry name ("etcd", "cassandra", "mongodb").
	Name() string
	// Info describes the driver's level dimensions and options.
	Info() Info
	// ValidateLevels reports the first problem with a level set, wrapping
	// ErrInvalidLevel and naming the offending key and value.
	ValidateLevels(l Levels) error
	// Open connects to the database described by cfg. A failure to reach it
	// wraps ErrUnreachable.
	Open(ctx context.Context, cfg Config) (Client, error)
}

// Info describes a driver for `pacbench drivers` and for validation.
type Info struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Levels      []LevelDim `json:"levels"`
	Options     []Option   `json:"options,omitempty"`
	// Ops lists the operation kinds the driver supports.
	Ops []string `json:"ops"`
}

// LevelDim is one consistency dimension (e.g. etcd "read", Cassandra
// "write", MongoDB "read_concern").
type LevelDim struct {
	Key     string   `json:"key"`
	Values  []string `json:"values"`
	Default string   `json:"default"`
	Doc     string   `json:"doc"`
}

// Levels is a level set in the database's own words, keyed by dimension:
// always "read" and "write" (possibly empty for dimensions a system lacks),
// plus driver-specific keys. Treated as immutable once built.
type Levels map[string]string

// String renders the level set as "k=v,k=v" in key order.
func (l Levels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ",")
}

// Credentials for databases that need them. They never appear in logs,
// errors or results: String and MarshalJSON redact them.
type Credentials struct {
	Username string
	Password string
}

// String redacts the credentials.
func (c Credentials) String() string {
	if c.Username == "" && c.Password == "" {
		return "none"
	}
	return "<redacted>"
}

// MarshalJSON redacts the credentials.
func (c Credentials) MarshalJSON() ([]byte, error) { return []byte(`"` + c.String() + `"`), nil }

// Config says how to reach a database.
type Config struct {
	// Endpoints are client addresses (host:port or URLs) of the members, as
	// the client should dial them (possibly through proxies).
	Endpoints []string
	// Options are driver-specific settings from the profile (keyspace,
	// replication factor, pool size…). Unknown keys are the driver's to reject.
	Options map[string]string
	// Credentials, if the database needs them.
	Credentials Credentials
	// DialTimeout bounds connection set-up (0 = driver default).
	DialTimeout time.Duration
}

// Client is a connection to one database deployment; safe for concurrent use.
type Client interface {
	// Session returns a session that routes ops as cfg says, at cfg.Levels.
	Session(ctx context.Context, cfg SessionConfig) (Session, error)
	// Close releases every connection the client and its sessions hold.
	Close() error
}

// SessionConfig configures one client session (one worker's view of the
// database). Empty endpoint lists mean "driver default" (spread, token-aware,
// primary…).
type SessionConfig struct {
	// Levels to use for every op of the session.
	Levels Levels
	// ReadEndpoints pin reads to these members (coordinator, follower…).
	ReadEndpoints []string
	// WriteEndpoints pin writes to these members (leader, coordinator…).
	WriteEndpoints []string
	// ID names the session (worker) for drivers that keep per-session state
	// such as causal-consistency tokens.
	ID int
}

// Value is the result of a read.
type Value struct {
	// Data is the stored bytes (the staleness header plus padding); nil if
	// the key was not found. Drivers store and return them as they are and
	// never interpret them.
	Data []byte
	// Found is false when the key has no value.
	Found bool
	// Version names the version read, for CAS (the zero Version when the
	// key was not found).
	Version Version
	// Server names the member that served the read, when the driver knows.
	Server string
}

// Version identifies the version of a key that a Read returned, as the
// driver that read it sees it: a revision the database keeps (etcd's mod
// revision) or the stored bytes themselves (Cassandra, MongoDB: every
// value pacbench writes is unique). It is opaque to callers, who hand it
// back to CAS unchanged; only the driver that produced it interprets it.
// The zero Version means "no value". Immutable; safe to share.
type Version struct {
	kind versionKind
	rev  int64
	data []byte
}

type versionKind uint8

const (
	versionAbsent versionKind = iota
	versionRevision
	versionBytes
)

// RevisionVersion returns the Version of a key at revision rev, for
// drivers whose database versions keys.
func RevisionVersion(rev int64) Version { return Version{kind: versionRevision, rev: rev} }

// BytesVersion returns the Version of a key that holds exactly b, for
// drivers that compare stored values. b is not copied: it must not change.
func BytesVersion(b []byte) Version { return Version{kind: versionBytes, data: b} }

// Absent reports whether v is the zero Version: the key had no value.
func (v Version) Absent() bool { return v.kind == versionAbsent }

// Revision returns the revision of a RevisionVersion (ok false otherwise).
func (v Version) Revision() (rev int64, ok bool) { return v.rev, v.kind == versionRevision }

// Bytes returns the bytes of a BytesVersion (ok false otherwise).
func (v Version) Bytes() (b []byte, ok bool) { return v.data, v.kind == versionBytes }

// Session issues ops. Not safe for concurrent use: one worker owns it.
// Errors should carry an op.Class (see op.Classify).
type Session interface {
	// Read reads one key.
	Read(ctx context.Context, key string) (Value, error)
	// Write overwrites (or creates) one key.
	Write(ctx context.Context, key string, value []byte) error
	// Close releases the session's resources.
	Close() error
}

// Scanner is an optional Session capability: read up to n keys in key order
// starting at start; returns how many were read.
type Scanner interface {
	Scan(ctx context.Context, start string, n int) (int, error)
}

// Inserter is an optional Session capability for a distinct insert path
// (drivers without it get Write for inserts).
type Inserter interface {
	Insert(ctx context.Context, key string, value []byte) error
}

// CASer is an optional Session capability: set key to next only if the
// key is still at version expect, the Value.Version a Read of the same
// driver returned (the zero Version: only if the key is absent).
// swapped=false with a nil error means the comparison failed (the runner
// counts it as conflict). A Version the driver did not produce is an
// error wrapping ErrUnsupported.
type CASer interface {
	CAS(ctx context.Context, key string, expect Version, next []byte) (swapped bool, err error)
}

// Member is one node of a deployment as the topology capability sees it.
type Member struct {
	// Name is the member's stable name (etcd member name, Cassandra host,
	// MongoDB member host).
	Name string `json:"name"`
	// Endpoint is the client address to dial it (as given in Config).
	Endpoint string `json:"endpoint"`
	// Role is "leader", "follower", "primary", "secondary" or "node".
	Role string `json:"role"`
}

// Topologist is an optional Client capability: discover members and roles
// so a profile can say "reads via a follower, writes via the leader".
type Topologist interface {
	Topology(ctx context.Context) ([]Member, error)
}

// LevelDescriber is an optional Driver capability: say in the database's
// own words what a level set sends for reads and for writes (e.g. MongoDB
// "readConcern majority, readPreference secondary"), for the summary.
type LevelDescriber interface {
	DescribeLevels(l Levels) (read, write string)
}

// Preparer is an optional Client capability: create schema (keyspace,
// table, collection) before loading. Idempotent.
type Preparer interface {
	Prepare(ctx context.Context) error
}

// Auditor is an optional Driver capability for the lost-write audit
// (DESIGN.md, "lost acknowledged write"): the level sets at which pacbench
// reads a system's final state after the last heal. Both methods are pure
// functions of their arguments (safe for concurrent use) and return level
// sets the driver's ValidateLevels accepts.
type Auditor interface {
	// AuditLevels returns the strongest read level the database offers
	// for data written at levels (a scenario's level set): etcd
	// linearizable, Cassandra ALL (its serial level, SERIAL, when cas is
	// true: what lightweight transactions wrote is read through Paxos),
	// MongoDB majority read concern from the primary.
	AuditLevels(levels Levels, cas bool) Levels
	// ReplicaLevels returns the weakest read level, for sessions pinned to
	// one member (SessionConfig.ReadEndpoints): what that member serves on
	// its own, to see replicas converge after a heal.
	ReplicaLevels(levels Levels) Levels
}

// ClientTimestamper is an optional Session capability: the session stamps
// each plain write with a client-side write timestamp read from the clock
// now (Cassandra: the request's timestamp, as USING TIMESTAMP would), so a
// client whose clock is off can be simulated (the client_clock_skew
// impairment). The runner calls StampWrites once, before the session's
// first op, from the goroutine that owns the session; now must be safe for
// concurrent use. Writes whose order the database decides itself (CAS:
// Paxos ballots) are not stamped.
type ClientTimestamper interface {
	StampWrites(now func() time.Time)
}

// ClientTimestamps is an optional Driver capability: its sessions are
// ClientTimestampers when opened with opts. ClientTimestamps returns nil
// then, or why not (e.g. an option turns client timestamps off), so that
// validation refuses a client_clock_skew the driver cannot apply before
// anything connects.
type ClientTimestamps interface {
	ClientTimestamps(opts map[string]string) error
}

// Registry maps driver names to drivers. The zero value is not usable; use
// NewRegistry. Safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	drivers map[string]Driver
}

// NewRegistry returns a registry holding ds.
func NewRegistry(ds ...Driver) *Registry {
	r := &Registry{drivers: map[string]Driver{}}
	for _, d := range ds {
		r.Register(d)
	}
	return r
}

// Register adds d under d.Name(); it panics on a duplicate or empty name,
// as database/sql does (a programming error, not an input error).
func (r *Registry) Register(d Driver) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := d.Name()
	if name == "" {
		panic("drivers: Register with empty name")
	}
	if _, dup := r.drivers[name]; dup {
		panic("drivers: Register called twice for " + name)
	}
	r.drivers[name] = d
}

// Lookup returns the driver registered as name, or an error wrapping
// ErrUnknownDriver that lists the known names.
func (r *Registry) Lookup(name string) (Driver, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if d, ok := r.drivers[name]; ok {
		return d, nil
	}
	return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownDriver, name, strings.Join(r.namesLocked(), ", "))
}

// Names returns the registered names in sorted order.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.drivers))
	for n := range r.drivers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
