// Package calibrate measures pacbench's own overhead against a raw client
// (issue 8): on one etcd cluster it alternates a minimal raw
// go.etcd.io/etcd/client/v3 closed loop (A) and pacbench's engine running
// the same closed loop (B) — same concurrency, keys, value size, read/write
// mix, read level and pinned members — and reports, pair by pair, the
// throughput ratio pacbench/raw and the service-time p50/p99 differences,
// with the min/median/max of the pairwise figures. It never reports a
// single best run.
//
// Run is not safe to call concurrently with itself on one cluster: the two
// loads would disturb each other's figures.
package calibrate

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// ErrInvalidOptions is wrapped by Run's error when Options are out of range
// (callers map it to a usage error).
var ErrInvalidOptions = errors.New("invalid calibration options")

// Read levels and routes accepted by Options.
const (
	LevelLinearizable = "linearizable"
	LevelSerializable = "serializable"
	RouteLeader       = "leader"
	RouteFollower     = "follower"
)

// Defaults applied by Run to zero-valued Options fields.
const (
	DefaultPairs     = 4
	DefaultDuration  = 5 * time.Second
	DefaultWarmup    = time.Second
	DefaultWorkers   = 8
	DefaultRecords   = 1000
	DefaultValueSize = 128
	DefaultReadRatio = 0.95
	DefaultOpTimeout = 2 * time.Second
	DefaultLevel     = LevelSerializable
	DefaultReadVia   = RouteFollower
	DefaultWriteVia  = RouteLeader
	// RunOpen's defaults (issue 18's setting: 2,000 ops/s, 32 workers).
	DefaultRate         = 2000.0
	DefaultOpenWorkers  = 32
	DefaultOpenDuration = 10 * time.Second
)

// TargetCPURatio is issue 18's goal for RunOpen: pacbench's CPU time per
// op at most 1.1× the raw paced loop's.
const TargetCPURatio = 1.1

// Targets of issue 8: pacbench's throughput at least 95 % of the raw
// client's and its service-time p50 at most 5 % above it.
const (
	TargetThroughputRatio = 0.95
	TargetP50DiffPct      = 5.0
)

// Options configure one calibration. The zero value of every field means
// its default. Plain data; Run does not modify it.
type Options struct {
	// Endpoints are the client URLs of a running etcd cluster. Empty: Run
	// starts a local 3-member cluster (cluster.StartEtcd; the binary must
	// call cluster.MaybeRunMember first thing) and stops it at the end.
	Endpoints []string
	// Exe is the binary re-executed for local cluster members (default
	// os.Executable()).
	Exe string
	// Pairs is the number of A (raw) B (pacbench) pairs (default 4).
	Pairs int
	// Duration is the measured time of every run (default 5s); Warmup runs
	// before it and is not measured (default 1s; negative: none).
	Duration, Warmup time.Duration
	// Workers is the number of concurrent closed-loop workers, each one
	// client session, on both sides (default 8).
	Workers int
	// Records is the number of keys, drawn uniformly (default 1000).
	Records int
	// ValueSize is the bytes of every written value (default 128; at
	// least workloads.HeaderSize, pacbench's staleness header).
	ValueSize int
	// ReadRatio is the fraction of reads, in (0, 1]; the rest are writes
	// (0 means the default, 0.95).
	ReadRatio float64
	// WriteOnly makes the mix 100 % writes (ReadRatio must then be 0).
	WriteOnly bool
	// Level is the etcd read level: serializable (default) or linearizable.
	Level string
	// ReadVia and WriteVia pin reads and writes to a member by role:
	// "leader" or "follower" (defaults: reads via a follower, writes via
	// the leader, as the quickstart).
	ReadVia, WriteVia string
	// OpTimeout bounds every op on both sides (default 2s).
	OpTimeout time.Duration
	// Seed makes the key and op sequences reproducible (0 = 1).
	Seed int64
	// Rate is the open-loop target in ops/s of RunOpen (default 2000;
	// Run, the closed loop, ignores it). RunOpen's Workers default to
	// DefaultOpenWorkers and its Duration to DefaultOpenDuration.
	Rate float64
	// CompareExe, for RunOpen, is another pacbench binary (an older
	// build) measured as a third side, alternating with the other two
	// (empty: none).
	CompareExe string
	// Log receives one progress line per run (nil: discarded).
	Log io.Writer
}

// withDefaults returns o with defaults applied, or an error wrapping
// ErrInvalidOptions.
func (o Options) withDefaults() (Options, error) {
	setInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	setInt(&o.Pairs, DefaultPairs)
	setInt(&o.Workers, DefaultWorkers)
	setInt(&o.Records, DefaultRecords)
	setInt(&o.ValueSize, DefaultValueSize)
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	} else if o.Warmup < 0 {
		o.Warmup = 0
	}
	if o.OpTimeout == 0 {
		o.OpTimeout = DefaultOpTimeout
	}
	switch {
	case o.WriteOnly && o.ReadRatio != 0:
		return o, fmt.Errorf("%w: write-only with a read ratio of %g", ErrInvalidOptions, o.ReadRatio)
	case o.ReadRatio == 0 && !o.WriteOnly:
		o.ReadRatio = DefaultReadRatio
	}
	if o.Level == "" {
		o.Level = DefaultLevel
	}
	if o.ReadVia == "" {
		o.ReadVia = DefaultReadVia
	}
	if o.WriteVia == "" {
		o.WriteVia = DefaultWriteVia
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Pairs < 1 {
		bad("pairs: %d, want at least 1", o.Pairs)
	}
	if o.Duration < 0 {
		bad("duration: %s, want positive", o.Duration)
	}
	if o.OpTimeout < 0 {
		bad("op timeout: %s, want positive", o.OpTimeout)
	}
	if o.Workers < 1 {
		bad("workers: %d, want at least 1", o.Workers)
	}
	if !(o.Rate > 0) || o.Rate > profile.MaxRate {
		bad("rate: %g ops/s, want (0, %g]", o.Rate, float64(profile.MaxRate))
	}
	if o.Records < 1 || o.Records > workloads.MaxRecords {
		bad("records: %d, want 1…%d", o.Records, workloads.MaxRecords)
	}
	if o.ValueSize < workloads.HeaderSize || o.ValueSize > workloads.MaxValueSize {
		bad("value size: %d, want %d…%d bytes (pacbench's header is %d bytes)", o.ValueSize,
			workloads.HeaderSize, workloads.MaxValueSize, workloads.HeaderSize)
	}
	if o.ReadRatio < 0 || o.ReadRatio > 1 {
		bad("read ratio: %g, want 0…1", o.ReadRatio)
	}
	if o.Level != LevelSerializable && o.Level != LevelLinearizable {
		bad("level: %q, want %s or %s", o.Level, LevelSerializable, LevelLinearizable)
	}
	for _, r := range []struct{ name, v string }{{"read via", o.ReadVia}, {"write via", o.WriteVia}} {
		if r.v != RouteLeader && r.v != RouteFollower {
			bad("%s: %q, want %s or %s", r.name, r.v, RouteLeader, RouteFollower)
		}
	}
	if len(errs) > 0 {
		return o, fmt.Errorf("%w: %w", ErrInvalidOptions, errors.Join(errs...))
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return o, nil
}
