// Package sink is pacbench's output seam. A sink is one output of a run —
// the interval log, the Prometheus endpoint, the progress line, the files
// of the results directory — started with the run's Info, fed every merged
// interval, and finished with the summary. Optional capabilities are small
// interfaces found by type assertion (Cumulative, ImpairmentWatcher,
// FileWriter, Releaser, Stopper). A Registry (a value, like
// drivers.Registry) lists the sinks of a run in order; Formats lists the
// stdout formats (table, json).
//
// Adding an output is one new file (a type implementing Sink and a Factory)
// plus one Register line (in Default, or on a copy of it passed to
// bench.Options.Sinks).
package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/metrics"
)

// Sink is one output of a run. The run calls Start once, AddInterval once
// per merged interval (the last one with Tick.Final set, so every op is
// seen), then Finish once with the results; all calls come from one
// goroutine at a time, in that order. An error from Start or AddInterval
// stops the run early (exit 1: an output that cannot keep up loses data
// either way); an error from Finish is reported as a note.
type Sink interface {
	// Start is called before the first op, with what the run is.
	Start(info Info) error
	// AddInterval is called with every merged interval.
	AddInterval(t Tick) error
	// Finish is called after the last interval, before any FileWriter
	// writes its files: close streams, release resources.
	Finish(end *End) error
}

// Cumulative is implemented by sinks that want the cumulative results as
// of each interval (computed once per interval for all of them, after
// AddInterval). Used by the Prometheus sink.
type Cumulative interface {
	Cumulative(t Tick, res *metrics.Results) error
}

// ImpairmentWatcher is implemented by sinks that show the active
// impairments: called whenever the active set changes (nil: healed). Must
// not block.
type ImpairmentWatcher interface {
	Impairments(active []impair.Action)
}

// FileWriter is implemented by sinks that write files into the run
// directory once the run is over. The run calls WriteFiles of every
// FileWriter in registry order (the small, important files first), after
// every Finish, and keeps going after a failure so that what can be kept
// is kept.
type FileWriter interface {
	WriteFiles(dir *Dir, end *End) error
}

// Releaser is implemented by sinks that can give back disk space they used
// (e.g. a partial interval log) so that a more important file can still be
// written when the disk is full. Release returns a note saying what was
// dropped.
type Releaser interface {
	Release(dir *Dir) (note string, err error)
}

// Stopper is implemented by sinks that need a deadline to stop (e.g. the
// metrics endpoint, kept up for --linger): Stop is called last, after the
// results are committed, and must return by ctx's deadline.
type Stopper interface {
	Stop(ctx context.Context) error
}

// Info is what a sink is started with. Read-only.
type Info struct {
	RunID, Profile, Version, System, Mode string
	// Shard is the part of a sharded run this process runs, "I/N" ("":
	// the whole run).
	Shard string
	// Scenarios and Phases are the plan's names by index; Levels the level
	// label of each scenario.
	Scenarios, Phases, Levels []string
	// Names are the file-safe stems of scenarios and phases, for every
	// file name and tag derived from them.
	Names report.Names
	// ClockBase is the wall time of the run clock's zero.
	ClockBase time.Time
	// Interval between ticks.
	Interval time.Duration
	// Dir is the run directory being written (staged until the run ends);
	// a streaming sink creates its file there at Start.
	Dir *Dir
}

// Tick is one merged interval.
type Tick struct {
	// Interval holds the interval's merged histograms per series. Sinks
	// must not retain or modify it.
	Interval *metrics.Interval
	// Phase running at the end of the interval; Elapsed is the run clock.
	Phase   string
	Elapsed time.Duration
	// Ops and Errors completed during the interval (all scenarios); P99 of
	// the ok response times (all series merged).
	Ops, Errors int64
	P99         time.Duration
	// Final marks the last interval: it ends when the last op ended.
	Final bool
	// Checks is the run's check registry: Interval.Checks values are
	// indexed like Checks.Measures() (nil: no checks).
	Checks *metrics.Checks
}

// End is what sinks are finished with.
type End struct {
	// Summary and Manifest as they will be written (sinks may append to
	// Notes of both through AddNote before the files are written).
	Summary  *report.Summary
	Manifest *report.Manifest
	// Results are the cumulative measurements.
	Results *metrics.Results
	// Linearizability verdicts, with porcupine's visualizations.
	Linearizability []checkers.Verdict
	// Measurements are the cumulative measurements exactly, for
	// measurements.json (nil: not written).
	Measurements *report.Measurements
	// Err is the run's error (nil: it ran to the end).
	Err error
}

// AddNote records a non-fatal problem in the summary and the manifest
// (once: a note already there is not repeated).
func (e *End) AddNote(note string) {
	if e.Summary != nil && !slices.Contains(e.Summary.Notes, note) {
		e.Summary.Notes = append(e.Summary.Notes, note)
	}
	if e.Manifest != nil && !slices.Contains(e.Manifest.Notes, note) {
		e.Manifest.Notes = append(e.Manifest.Notes, note)
	}
}

// Config is what factories build sinks from. Zero values are documented
// defaults.
type Config struct {
	// MetricsAddr serves /metrics there ("" = no Prometheus sink).
	MetricsAddr string
	// RemoteWrite pushes the metrics to this Prometheus remote-write URL
	// every interval and at the end ("" = no push).
	RemoteWrite string
	// Linger keeps /metrics up this long after the run (0: none).
	Linger time.Duration
	// Progress receives the status line (nil: no progress sink).
	Progress io.Writer
	// ProgressTTY rewrites one status line in place.
	ProgressTTY bool
	// ProgressEvery is the least time between two status lines (default
	// DefaultProgressEvery).
	ProgressEvery time.Duration
	// Log receives events (e.g. the metrics address); nil discards.
	Log io.Writer
}

// DefaultProgressEvery bounds the progress rate: one line a second at most,
// however short the interval.
const DefaultProgressEvery = time.Second

// Factory builds a sink for one run. It returns (nil, nil) when cfg does
// not enable it. ctx lives as long as the run. An error wrapping
// ErrUsage is a usage error (bad address, port in use).
type Factory func(ctx context.Context, cfg Config) (Sink, error)

// ErrUsage marks a usage error of the outputs (bad run id, run directory
// exists, bad metrics address, port in use): found before anything
// started; the CLI exits 2. Test with errors.Is; Usage marks an error.
var ErrUsage = errors.New("bad usage")

// Usage marks err as a usage error (errors.Is(err, ErrUsage)) without
// changing its message.
func Usage(err error) error { return usageError{err} }

type usageError struct{ error }

// Is makes errors.Is(err, ErrUsage) true.
func (u usageError) Is(target error) bool { return target == ErrUsage }

// Unwrap exposes the marked error (and its own sentinels).
func (u usageError) Unwrap() error { return u.error }

// Registry is an ordered list of named sink factories. Not safe for
// concurrent Register; Open may be called concurrently.
type Registry struct {
	entries []entry
}

type entry struct {
	name string
	f    Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Register appends a factory; names are unique.
func (r *Registry) Register(name string, f Factory) error {
	for _, e := range r.entries {
		if e.name == name {
			return fmt.Errorf("sink: %q registered twice", name)
		}
	}
	r.entries = append(r.entries, entry{name: name, f: f})
	return nil
}

// Names lists the registered sinks in order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.entries))
	for i, e := range r.entries {
		out[i] = e.name
	}
	return out
}

// Replace swaps the factory registered as name for f, in place (same
// position in the file order).
func (r *Registry) Replace(name string, f Factory) error {
	for i, e := range r.entries {
		if e.name == name {
			r.entries[i].f = f
			return nil
		}
	}
	return fmt.Errorf("sink: no %q to replace", name)
}

// Clone returns a copy that can be extended without changing r.
func (r *Registry) Clone() *Registry {
	return &Registry{entries: append([]entry(nil), r.entries...)}
}

// Default returns the built-in sinks, in the order their files are
// written: summary.json first (small, the one to keep on a full disk),
// then manifest.json, summary.csv, measurements.json, the .hgrm files, the linearizability
// visualizations, the interval logs (intervals.hlog, checks.hlog),
// report.html (built from the files before it), the Prometheus endpoint
// and the progress line.
func Default() *Registry {
	r := NewRegistry()
	for _, e := range []entry{
		{"summary", NewSummary},
		{"manifest", NewManifest},
		{"csv", NewCSV},
		{"measurements", NewMeasurements},
		{"hgrm", NewHgrm},
		{"linearizability", NewLinearizability},
		{"hlog", NewHlog},
		{"checks", NewChecksLog},
		{"report", NewReport},
		{"prometheus", NewPrometheus},
		{"progress", NewProgress},
	} {
		_ = r.Register(e.name, e.f)
	}
	return r
}
