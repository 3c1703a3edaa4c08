package bench

import (
	"fmt"
	"io"
	"slices"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/profile"
)

// ImpairerOptions say how OpenImpairer builds a backend. The zero value
// opens the built-in backends for real.
type ImpairerOptions struct {
	// Registry of backends (default impair.Builtin()).
	Registry *impair.Registry
	// LocalAPI is the API URL of a local cluster's embedded Toxiproxy; it
	// replaces the spec's api option.
	LocalAPI string
	// Getenv reads the environment variables *_env options name (default:
	// none are set).
	Getenv func(string) string
	// DryRun, when non-nil, opens the backend in dry-run mode: it changes
	// nothing and prints what it would do there.
	DryRun io.Writer
}

// OpenImpairer is the one place where `run`, `run --dry-run` and `heal`
// choose and build the impairment backend: the kind spec names, from the
// registry, with the spec's options (the embedded Toxiproxy's API for a
// local cluster), over topo.
func OpenImpairer(spec impair.BackendSpec, topo impair.Topology, o ImpairerOptions) (impair.Backend, error) {
	reg := o.Registry
	if reg == nil {
		reg = impair.Builtin()
	}
	if spec.Kind == "" {
		spec.Kind = profile.DefaultImpairer
	}
	if o.LocalAPI != "" {
		spec = spec.With(impair.OptionAPI, o.LocalAPI)
	}
	b, err := reg.Open(spec, impair.Config{Topology: topo, Getenv: o.Getenv, DryRun: o.DryRun})
	if err != nil {
		return nil, fmt.Errorf("bench: impairment backend: %w", err)
	}
	return b, nil
}

// Impaired reports whether any phase of the plan injects impairments.
func Impaired(phases []profile.Phase) bool {
	return slices.ContainsFunc(phases, func(ph profile.Phase) bool { return len(ph.Impairments) > 0 })
}

// LinksFromNodes builds the impairment topology of an existing deployment
// from a profile's system.nodes.
func LinksFromNodes(nodes []profile.Node) impair.Topology {
	return profile.System{Nodes: nodes}.Links()
}
