package impair

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ErrUnknownBackend: no backend is registered under the kind asked for.
var ErrUnknownBackend = errors.New("unknown impairment backend")

// OptionAPI is the option most backends that talk to a server take: the
// server's URL. BackendSpec.API is its legacy spelling.
const OptionAPI = "api"

// BackendSpec chooses the impairment backend and sets its options, as a
// profile writes it (system.impairer; package profile reuses it as
// profile.Impairer). Plain data: safe to share read-only.
type BackendSpec struct {
	// Kind is a registered backend kind: "toxiproxy" (default; embedded for
	// local clusters) or "netem".
	Kind string `yaml:"kind" json:"kind,omitempty"`
	// API is the legacy spelling of Options["api"] (a remote Toxiproxy API
	// URL, e.g. http://127.0.0.1:8474).
	API string `yaml:"api" json:"api,omitempty"`
	// Options are backend-specific settings; each backend declares its own
	// (`pacbench drivers` lists them, Registry.Check validates them).
	Options map[string]string `yaml:"options" json:"options,omitempty"`
}

// Merged returns the options with API folded in as "api" (a copy; never
// nil).
func (b BackendSpec) Merged() map[string]string {
	out := maps.Clone(b.Options)
	if out == nil {
		out = map[string]string{}
	}
	if b.API != "" {
		out[OptionAPI] = b.API
	}
	return out
}

// With returns a copy of b whose option key is v (e.g. the API of an
// embedded Toxiproxy).
func (b BackendSpec) With(key, v string) BackendSpec {
	o := b.Merged()
	o[key] = v
	b.Options, b.API = o, ""
	return b
}

// Option documents one backend option and checks its values.
type Option struct {
	// Key as written under system.impairer.options.
	Key string `json:"key"`
	// Default is the value used when the option is absent ("" = none).
	Default string `json:"default,omitempty"`
	// Doc says what it does, with its unit.
	Doc string `json:"doc"`
	// Check, if set, validates a written value; its error message must not
	// repeat the value (it may hold a secret).
	Check func(v string) error `json:"-"`
}

// BackendInfo describes a backend for `pacbench drivers` and docs.
type BackendInfo struct {
	Kind        string   `json:"kind"`
	Description string   `json:"description"`
	Options     []Option `json:"options,omitempty"`
}

// Setup is what a backend vets at validate time besides its options.
type Setup struct {
	// Options are the backend's options with the legacy api folded in.
	Options map[string]string
	// Local is true when pacbench starts the cluster itself (an embedded
	// Toxiproxy carries its links).
	Local bool
	// Impaired is true when some phase has impairments of a kind the
	// backend handles (Registry.Check narrows it by Kinds).
	Impaired bool
	// Kinds are the fault kinds the phases use (nil: not known; Impaired
	// is then taken as it is).
	Kinds []string
	// Topology lists the members of an existing deployment and their links
	// (system.nodes; empty for a local cluster).
	Topology Topology
}

// SetupError is one problem with a backend's setup. Field is a key path
// under the profile's system section ("impairer.options.api",
// "nodes[1].container", "nodes").
type SetupError struct {
	Field string
	Err   error
}

// Error renders "field: problem".
func (e SetupError) Error() string { return e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e SetupError) Unwrap() error { return e.Err }

// Config is what a backend is built from.
type Config struct {
	// Topology maps member names to their links.
	Topology Topology
	// Options are the backend's validated options (legacy api folded in).
	Options map[string]string
	// Getenv reads the environment variables named by *_env options
	// (default: none are set).
	Getenv func(string) string
	// DryRun, when non-nil, makes the backend change nothing: Apply, Clear
	// and Heal print what they would do to it, one line per change (reading
	// the current state is allowed).
	DryRun io.Writer
	// Executor runs commands for command-line backends (default ExecRunner,
	// or DryRun's printer when DryRun is set).
	Executor Executor
	// RunID is the run's id, for backends that label what they create
	// (chaosmesh); empty outside a run (heal, dry run).
	RunID string
	// Processes controls the members' processes for the process backend
	// (the local cluster's); nil: the members' process settings in
	// Topology (MemberLinks.Process).
	Processes Processes
	// ClientClocks are the write routes' clocks the client-clock backend
	// skews (the runner's); nil: a set of its own (dry runs).
	ClientClocks *ClientClocks
}

// getenv returns c.Getenv(name), or "" when Getenv or name is unset.
func (c Config) getenv(name string) string {
	if c.Getenv == nil || name == "" {
		return ""
	}
	return c.Getenv(name)
}

// Factory describes and builds one kind of backend. Adding a backend is
// one file implementing Factory and Backend plus one line in Builtin.
// Implementations are stateless: safe for concurrent use.
type Factory interface {
	// Info names the kind and documents its options.
	Info() BackendInfo
	// CheckSetup vets the options together and against the deployment
	// (options' own values are checked by Option.Check first).
	CheckSetup(s Setup) []SetupError
	// SpecChecker vets each impairment against what the backend can do.
	SpecChecker
	// New builds a backend from validated options.
	New(c Config) (Backend, error)
}

// Registry maps backend kinds to factories, in registration order. Build
// one with NewRegistry (Builtin has every built-in backend). Safe for
// concurrent use.
type Registry struct {
	mu sync.RWMutex
	fs []Factory
}

// NewRegistry returns a registry holding fs.
func NewRegistry(fs ...Factory) *Registry {
	r := &Registry{}
	for _, f := range fs {
		r.Register(f)
	}
	return r
}

// Builtin returns a new registry of the built-in backends. Register a new
// backend here (one line).
func Builtin() *Registry {
	return NewRegistry(
		ToxiproxyFactory{},
		NetemFactory{},
		ChaosMeshFactory{},
		ProcessFactory{},
		ClientClockFactory{},
	)
}

// Register adds f under its kind; it panics on an empty or duplicate kind
// (a programming error).
func (r *Registry) Register(f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := f.Info().Kind
	if k == "" {
		panic("impair: Register with empty kind")
	}
	if slices.ContainsFunc(r.fs, func(g Factory) bool { return g.Info().Kind == k }) {
		panic("impair: Register called twice for " + k)
	}
	r.fs = append(r.fs, f)
}

// Kinds returns the registered kinds in registration order.
func (r *Registry) Kinds() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, len(r.fs))
	for i, f := range r.fs {
		out[i] = f.Info().Kind
	}
	return out
}

// Lookup returns the factory of kind, or an error wrapping
// ErrUnknownBackend naming the known kinds.
func (r *Registry) Lookup(kind string) (Factory, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, f := range r.fs {
		if f.Info().Kind == kind {
			return f, nil
		}
	}
	known := make([]string, len(r.fs))
	for i, f := range r.fs {
		known[i] = f.Info().Kind
	}
	return nil, fmt.Errorf("%w %q (want %s)", ErrUnknownBackend, kind, strings.Join(known, ", "))
}

// Check validates a backend spec and its setup: the kind, unknown options,
// each option's value, then the backend's own CheckSetup. Field paths are
// under the profile's system section. Messages never repeat option values.
func (r *Registry) Check(b BackendSpec, s Setup) []SetupError {
	f, err := r.Lookup(b.Kind)
	if err != nil {
		return []SetupError{{Field: "impairer.kind", Err: fmt.Errorf("unknown value %q (want %s)", b.Kind, strings.Join(r.Kinds(), ", "))}}
	}
	info := f.Info()
	var out []SetupError
	if b.API != "" && b.Options[OptionAPI] != "" {
		out = append(out, SetupError{"impairer.api", errors.New("set either api or options.api, not both")})
	}
	s.Options = b.Merged()
	if s.Kinds != nil {
		s.Impaired = s.Impaired && slices.ContainsFunc(s.Kinds, func(k string) bool { return Handles(f, k) })
	}
	for _, k := range sortedKeys(s.Options) {
		field := optionField(b, k)
		i := slices.IndexFunc(info.Options, func(o Option) bool { return o.Key == k })
		if i < 0 {
			out = append(out, SetupError{field, fmt.Errorf("does not apply to kind %s (its options: %s)", info.Kind, optionKeys(info))})
			continue
		}
		if c := info.Options[i].Check; c != nil {
			if err := c(s.Options[k]); err != nil {
				out = append(out, SetupError{field, err})
			}
		}
	}
	return append(out, f.CheckSetup(s)...)
}

// CheckerFor returns the spec checker of kind (nil if unknown).
func (r *Registry) CheckerFor(kind string) SpecChecker {
	f, err := r.Lookup(kind)
	if err != nil {
		return nil
	}
	return f
}

// Open builds the backend b chooses with c (c.Options is set from b).
func (r *Registry) Open(b BackendSpec, c Config) (Backend, error) {
	f, err := r.Lookup(b.Kind)
	if err != nil {
		return nil, err
	}
	c.Options = b.Merged()
	if c.Executor == nil {
		c.Executor = ExecRunner{}
		if c.DryRun != nil {
			c.Executor = DryRun{W: c.DryRun}
		}
	}
	be, err := f.New(c)
	if err != nil {
		return nil, fmt.Errorf("impair: %s: %w", b.Kind, err)
	}
	return be, nil
}

// Infos describes every registered backend, in registration order.
func (r *Registry) Infos() []BackendInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]BackendInfo, len(r.fs))
	for i, f := range r.fs {
		out[i] = f.Info()
	}
	return out
}

// optionField is where option k of b was written.
func optionField(b BackendSpec, k string) string {
	if k == OptionAPI && b.API != "" {
		return "impairer.api"
	}
	return "impairer.options." + k
}

func optionKeys(info BackendInfo) string {
	if len(info.Options) == 0 {
		return "none"
	}
	keys := make([]string, len(info.Options))
	for i, o := range info.Options {
		keys[i] = o.Key
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
