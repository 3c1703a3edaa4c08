// Package metrics is pacbench's measurement core (DESIGN.md, "Measurement
// method"): the run clock, per-worker HdrHistograms merged at interval
// boundaries, error counting by class, the staleness oracle, session
// guarantee counters and t-visibility buckets.
//
// # Data flow
//
// A Recorder is created once per run. Each worker goroutine gets its own
// Worker (NewWorker) and records every op into it (Record, CheckRead,
// Wrote); the hot path touches only that worker's state, the shared Oracle
// (lock-free for readers) and one uncontended per-worker mutex. One collector
// goroutine calls Collect at every interval boundary: it swaps each worker's
// double-buffered interval state, merges it into the interval snapshot it
// returns and into the cumulative per-(scenario, phase) results that Results
// copies out.
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
// Memory is O(series + keys), never O(ops): per worker, only series that
// occur get histograms (two buffers each; a buffer idle for a whole interval
// is returned to a pool), per key the oracle keeps a small ring of recent
// writes, per worker a bounded session table.
package metrics
