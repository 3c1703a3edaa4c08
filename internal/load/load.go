// Package load is pacbench's load-model seam: how the workers of one
// scenario pace their ops. A Model (one per file, like k6's executors) is
// registered by name in a Registry value; for each scenario it builds a
// Schedule, which gives every worker its own Pacer (shaped like vegeta's
// Pacer: the next op's start on the schedule's clock).
//
// Built in: closed (closed.go: workers and think time) and open (open.go:
// a target rate with uniform or Poisson arrivals, constant.go and
// poisson.go). A new model is one new file plus one line in Builtin.
//
// Times are on the schedule's clock: nanoseconds since the scenario's
// first phase started, not counting the transitions between phases (the
// runner stops the clock while it drains one phase and applies the next
// one's impairments), so a schedule never has to know about phases.
package load

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrUnknownModel: a load.model name that is not registered.
var ErrUnknownModel = errors.New("unknown load model")

// Keys of the load section that a model may read (besides model and
// workers, which every model reads).
const (
	KeyThinkTime = "think_time"
	KeyRate      = "rate"
	KeyArrivals  = "arrivals"
	KeyOptions   = "options"
)

// Spec is a validated load section (profile.LoadModel with durations
// resolved). Plain data.
type Spec struct {
	// Model is the registered name (load.model).
	Model string
	// Workers is the number of worker sessions of the scenario (≥ 1); in
	// open loop, the maximum concurrency.
	Workers int
	// ThinkTime is the pause between one worker's ops.
	ThinkTime time.Duration
	// Rate is a target in ops/s for the whole scenario.
	Rate float64
	// Arrivals names an arrival process ("uniform", "poisson").
	Arrivals string
	// Options are the model's own settings (load.options), in the model's
	// words; Info.Options declares them.
	Options map[string]string
}

// Option documents one entry of load.options.
type Option struct {
	Key, Default, Doc string
}

// Info describes a model for validation and `pacbench drivers`-style
// listings.
type Info struct {
	// Name selects the model in a profile (load.model).
	Name string
	// Description is one line for people.
	Description string
	// Keys are the load keys it reads besides model and workers
	// (KeyThinkTime, KeyRate, KeyArrivals, KeyOptions); a key it does not
	// read is a validation error when written.
	Keys []string
	// Options are the load.options keys it accepts (KeyOptions in Keys).
	Options []Option
}

// FieldError is one problem with a load key. Field is the path below the
// profile's `load` key ("rate", "options.steps") so that the profile can
// place it at its line.
type FieldError struct {
	Field string
	Msg   string
}

// Model is one load model. Implementations are stateless and safe for
// concurrent use.
type Model interface {
	// Info describes the model; Info().Name is its registry key.
	Info() Info
	// Check validates what only the model knows about spec (ranges that
	// every model shares, such as finite rates, are checked by the
	// profile). It returns every problem found.
	Check(spec Spec) []FieldError
	// Schedule returns the schedule of one scenario. spec has passed Check.
	Schedule(spec Spec) Schedule
}

// Schedule paces one scenario's workers. It is shared by them read-only:
// safe for concurrent use.
type Schedule interface {
	// Workers is the number of workers (sessions) to start.
	Workers() int
	// Open reports whether the schedule's times are arrivals: an op's
	// intended start, from which its response time is measured (so a
	// stalled database shows in the tail: no coordinated omission). When
	// false (closed loop) they are only earliest starts and response time
	// equals service time.
	Open() bool
	// Pacer returns the pacer of worker i (0 ≤ i < Workers()), seeded so
	// that runs are reproducible.
	Pacer(i int, seed uint64) Pacer
	// Rate returns the mean target rate over the first d of the schedule,
	// in ops/s (0 when the schedule has no target rate, as in closed loop).
	Rate(d time.Duration) float64
}

// Pacer paces one worker. It belongs to that worker's goroutine: not safe
// for concurrent use.
type Pacer interface {
	// Next returns when the worker's op number n (0-based, asked in
	// increasing order) is due, on the schedule's clock; now is the
	// schedule time at which op n-1 completed (0 for n = 0). An open
	// schedule's answer is the op's intended start whatever now is.
	Next(n uint64, now time.Duration) time.Duration
}

// Skipper is an optional Pacer capability, found by type assertion: jump
// over the ops due before t at once. The runner skips the open-loop
// arrivals of a phase that is over (all workers were busy); a pacer
// without it is asked op by op, which costs one call per skipped op.
type Skipper interface {
	// Skip returns the number of the first op due at or after t, op n
	// being the next one not yet asked for or issued; ops n up to it are
	// skipped. Calls are in increasing order of n, like Next's.
	Skip(n uint64, t time.Duration) uint64
}

// Never is a Next answer meaning "no more ops" (the worker idles until the
// run stops).
const Never = time.Duration(1<<63 - 1)

// Registry maps model names to models. The zero value is not usable; use
// NewRegistry. Safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	models map[string]Model
}

// NewRegistry returns a registry holding ms.
func NewRegistry(ms ...Model) *Registry {
	r := &Registry{models: map[string]Model{}}
	for _, m := range ms {
		r.Register(m)
	}
	return r
}

// Builtin returns a new registry of the built-in models.
func Builtin() *Registry {
	return NewRegistry(Closed{}, Open{}, Stages{}, Ramp{})
}

// Register adds m under its name; it panics on a duplicate or empty name
// (a programming error, as in drivers.Registry).
func (r *Registry) Register(m Model) {
	r.mu.Lock()
	defer r.mu.Unlock()
	name := m.Info().Name
	if name == "" {
		panic("load: Register with empty name")
	}
	if _, dup := r.models[name]; dup {
		panic("load: Register called twice for " + name)
	}
	r.models[name] = m
}

// Lookup returns the model registered as name; the error wraps
// ErrUnknownModel and lists the known names.
func (r *Registry) Lookup(name string) (Model, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m, ok := r.models[name]; ok {
		return m, nil
	}
	return nil, fmt.Errorf("%w %q (want %s)", ErrUnknownModel, name, strings.Join(r.namesLocked(), ", "))
}

// Names returns the registered names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.models))
	for n := range r.models {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Using returns the names of the models that read key, sorted.
func (r *Registry) Using(key string) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for n, m := range r.models {
		if slices.Contains(m.Info().Keys, key) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
