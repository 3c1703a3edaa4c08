// Package metrics is pacbench's measurement core (DESIGN.md, "Measurement
// method"): the run clock, one HdrHistogram per series merged from the
// workers' packed samples, error counting by class, the staleness oracle,
// the check seam (Check, Measure, Layout, Tally, the Checks registry) and
// the reference percentile (Quantile).
//
// # Data flow
//
// A Recorder is created once per run with the run's Checks. Each worker
// goroutine gets its own Worker (NewWorker, NewWorkerFor) and records every
// op into it (RecordOp, or RecordRead for a read op and its checks; Read
// and Write report the reads and write outcomes of other ops to the
// checks). The hot path touches only that worker's state, the shared Oracle
// (lock-free for readers) and one uncontended per-worker mutex; a full
// sample buffer is flushed under the open interval's lock. One collector
// goroutine calls Collect at every interval boundary: it flushes every
// worker into the interval and points it at the next one (so every op is
// in exactly one interval), returns the interval and merges it into the
// cumulative per-(scenario, phase) results that Results hands out
// (histograms shared copy-on-write). Finish runs the checks that judge
// whole histories.
//
// # Units
//
// Every time is in nanoseconds on the run's Clock (time since its base,
// monotonic). Latency histograms track 1 µs–60 s with 3 significant digits;
// values below 1 µs are kept (at HdrHistogram's coarsest resolution, 512 ns),
// negative values and values above 60 s are clamped into range and counted
// in Cell.Clamped. The versions histogram tracks 1–1e9 versions.
//
// # Memory
//
// Memory is O(series + keys), never O(ops) nor O(workers × series): a
// worker holds a 64-sample buffer and the counters of its current phase,
// never a histogram; per series the open interval and the cumulative
// results hold one histogram per measure; per key the oracle keeps a small
// ring of recent writes. Checks' per-worker state obeys the same rule (it
// records through the Tally).
package metrics
