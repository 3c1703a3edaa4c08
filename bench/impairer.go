package bench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

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
	// RunID is the run's id, passed to backends that label what they
	// create (empty for heal and dry runs).
	RunID string
	// Processes controls the members' processes (the local cluster's) for
	// the process kinds; nil: the members' process settings in the
	// topology (system.nodes[].process).
	Processes impair.Processes
	// ClientClocks are the run's write clocks (runner.Config.WriteClocks)
	// that client_clock_skew offsets; nil outside a run.
	ClientClocks *impair.ClientClocks
	// Kinds are the fault kinds the run uses: a backend none of them needs
	// is not opened. Nil opens every backend the deployment has (heal).
	Kinds []string
}

// OpenImpairer is the one place where `run`, `run --dry-run` and `heal`
// choose and build the impairment backend: the kind spec names, from the
// registry, with the spec's options (the embedded Toxiproxy's API for a
// local cluster), over topo; and, for the fault kinds that one does not
// handle (pause, kill), the first registered backend that does (the
// process backend), the two composed into one (impair.Mux). A backend
// whose kinds the run does not use (o.Kinds) is left out.
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
	cfg := impair.Config{Topology: topo, Getenv: o.Getenv, DryRun: o.DryRun, Processes: o.Processes, ClientClocks: o.ClientClocks, RunID: o.RunID}
	chosen, err := reg.Lookup(spec.Kind)
	if err != nil {
		return nil, fmt.Errorf("bench: impairment backend: %w", err)
	}
	var parts []impair.MuxPart
	taken := map[string]bool{}
	add := func(b impair.BackendSpec, kinds []string) error {
		var mine []string
		for _, k := range kinds {
			if !taken[k] {
				mine = append(mine, k)
			}
		}
		if len(mine) == 0 || (o.Kinds != nil && !slices.ContainsFunc(mine, func(k string) bool { return slices.Contains(o.Kinds, k) })) {
			return nil
		}
		be, err := reg.Open(b, cfg)
		if err != nil {
			return fmt.Errorf("bench: impairment backend: %w", err)
		}
		for _, k := range mine {
			taken[k] = true
		}
		parts = append(parts, impair.MuxPart{Backend: be, Kinds: mine})
		return nil
	}
	if err := add(spec, impair.HandledKinds(chosen)); err != nil {
		return nil, err
	}
	for _, kind := range reg.Kinds() {
		f, _ := reg.Lookup(kind)
		if kind == spec.Kind || !serves(f, topo, o) {
			continue
		}
		if err := add(impair.BackendSpec{Kind: kind}, impair.HandledKinds(f)); err != nil {
			return nil, err
		}
	}
	switch len(parts) {
	case 0: // nothing the run uses: the chosen backend alone
		b, err := reg.Open(spec, cfg)
		if err != nil {
			return nil, fmt.Errorf("bench: impairment backend: %w", err)
		}
		return b, nil
	case 1:
		return parts[0].Backend, nil
	}
	return impair.NewMux(parts...), nil
}

// serves reports whether factory f, a helper for kinds the chosen backend
// lacks, has something to act on here: the process backend when pacbench
// reaches some member's process (the local cluster's Processes, or
// system.nodes[].process); the client-clock backend in a run (its clocks)
// or a run's dry run, never in heal.
func serves(f impair.Factory, topo impair.Topology, o ImpairerOptions) bool {
	has := func(class string) bool {
		return slices.ContainsFunc(impair.HandledKinds(f), func(k string) bool { return impair.ClassOf(k) == class })
	}
	switch {
	case has(impair.ClassNetwork):
		// A network backend acts only when chosen (system.impairer), even
		// for the process kinds it also carries out (chaosmesh: kill).
		return false
	case has(impair.ClassProcess):
		return o.Processes != nil || slices.ContainsFunc(topo.Members, func(m impair.MemberLinks) bool { return m.Process != nil && !m.Process.IsZero() })
	case has(impair.ClassClient):
		// A run's clocks, or a run's dry run; never heal (Kinds nil): a
		// client clock lives in its run's process only.
		return o.ClientClocks != nil || (o.DryRun != nil && o.Kinds != nil)
	}
	return false
}

// Impaired reports whether any phase of the plan injects impairments or
// has a fault schedule.
func Impaired(phases []profile.Phase) bool {
	return slices.ContainsFunc(phases, profile.Phase.Impaired)
}

// LinksFromNodes builds the impairment topology of an existing deployment
// from a profile's system.nodes.
func LinksFromNodes(nodes []profile.Node) impair.Topology {
	return profile.System{Nodes: nodes}.Links()
}

// ErrNotHealed: impairments the run applied may still be in place after it
// (a heal failed, timed out or was abandoned); the error says what was and
// was not removed and how to finish.
var ErrNotHealed = errors.New("impairments not healed")

// settleHeal reads the account of the run's backend (an impair.Guard) once
// the run is over into out, and returns the manifest notes and, when
// anything may be left in place, an error wrapping ErrNotHealed. b nil:
// nothing was impaired.
func settleHeal(b impair.Backend, out *Outcome, sys profile.System, profileFile string) ([]string, error) {
	guard, ok := b.(*impair.Guard)
	if !ok {
		return nil, nil
	}
	st := guard.Status()
	out.Heal = &st
	if st.Healed() {
		return nil, nil
	}
	local := sys.Cluster == profile.ClusterLocal
	var msg strings.Builder
	if st.Abandoned {
		msg.WriteString("heal abandoned; ")
	}
	fmt.Fprintf(&msg, "left in place (or not confirmed removed): %s", strings.Join(st.Left, "; "))
	if len(st.Removed) > 0 {
		fmt.Fprintf(&msg, "; removed: %s", strings.Join(st.Removed, "; "))
	}
	if st.Error != "" {
		fmt.Fprintf(&msg, "; last error: %s", st.Error)
	}
	notes := []string{"impairments not healed: " + msg.String()}
	if local {
		msg.WriteString(" (the local cluster's embedded Toxiproxy stopped with it: nothing remains once pacbench exits)")
		notes = append(notes, "the local cluster's embedded Toxiproxy stopped with the run: nothing remains in place")
		return notes, fmt.Errorf("%w: %s", ErrNotHealed, msg.String())
	}
	out.HealCommand = HealCommand(profileFile, sys.Impairer)
	notes = append(notes, "to remove what is left: "+out.HealCommand)
	return notes, fmt.Errorf("%w: %s\nto finish, run: %s", ErrNotHealed, msg.String(), out.HealCommand)
}

// HealCommand is the `pacbench heal` command line that removes what a run
// with this backend may have left: by profile when its file is known,
// else by Toxiproxy URL.
func HealCommand(profileFile string, spec impair.BackendSpec) string {
	if profileFile != "" {
		return impair.ShellJoin([]string{"pacbench", "heal", "--profile", profileFile})
	}
	if api := spec.Merged()[impair.OptionAPI]; api != "" && (spec.Kind == "" || spec.Kind == impair.BackendToxiproxy) {
		return impair.ShellJoin([]string{"pacbench", "heal", "--toxiproxy", api})
	}
	return "pacbench heal --profile <the profile file>"
}
