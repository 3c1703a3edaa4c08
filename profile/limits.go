package profile

import (
	"time"

	"github.com/pacbench/pacbench/internal/load"
)

// Bounds that validation enforces, so that a profile that validates can
// run: every number is finite and small enough that the run's memory and
// time stay sane. Each bound names what it protects; workload bounds
// (records, value size, scan length) are workloads.MaxRecords and friends.
const (
	// MaxSessions bounds the worker sessions of a run: load.workers × the
	// number of scenarios (level sets). Every worker keeps its own
	// HdrHistograms, about 1.3 MiB for a read/write mix (measured with the
	// fake driver at 100 to 5,000 workers), so 4,096 sessions need about
	// 5 GiB. A scenario also opens one driver session per worker.
	MaxSessions = 4096
	// MaxValueBuffers bounds load.workers × scenarios × workload.value_size:
	// every worker owns a write buffer of value_size bytes.
	MaxValueBuffers = 1 << 30
	// MaxRate bounds load.rate (ops/s per scenario): 100× the engine's
	// measured capacity on two cores (about 1 M ops/s, docs/performance.md);
	// a schedule beyond it could only ever be late.
	MaxRate = load.MaxRate
	// MaxThinkTime bounds load.think_time.
	MaxThinkTime = time.Hour
	// MaxPhaseDuration bounds one phase's duration (and --duration). Longer
	// soaks are several phases.
	MaxPhaseDuration = 24 * time.Hour
	// MaxRunDuration bounds the planned time of all phases (× scenarios in
	// sequential mode), far below the ~292 years at which a sum of
	// nanoseconds overflows.
	MaxRunDuration = 7 * 24 * time.Hour
	// MaxOpTimeout bounds system.op_timeout: an op still pending after ten
	// minutes only delays the end of its phase.
	MaxOpTimeout = 10 * time.Minute
	// MaxCheckTimeout bounds checks.check_timeout (porcupine per phase).
	MaxCheckTimeout = time.Hour
	// MaxProbes bounds the number of checks.probes delays: each delay is one
	// probe goroutine and driver session per scenario.
	MaxProbes = 32
	// MaxProbeDelay bounds each checks.probes delay (the wait between a
	// probe's acknowledged write and its read back).
	MaxProbeDelay = time.Minute
	// MaxRingSize bounds checks.ring_size: the oracle keeps that many acked
	// writes (24 bytes each) for every key written during the run.
	MaxRingSize = 1024
	// MaxLinearizableKeys bounds checks.linearizable_keys.
	MaxLinearizableKeys = 1000
	// MaxHistory bounds checks.max_history (ops kept per sampled key and
	// phase, about 40 bytes each).
	MaxHistory = 1_000_000
)
