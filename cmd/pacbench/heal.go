package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/profile"
)

// healTimeout bounds one `pacbench heal`.
const healTimeout = 30 * time.Second

func newHealCmd(env *Env) *cobra.Command {
	var toxi, prof, results string
	var dry bool
	cmd := &cobra.Command{
		Use:   "heal",
		Short: "Remove impairments left behind (remote Toxiproxy, compose netem sidecars)",
		Long: `heal removes every toxic pacbench may have left on a Toxiproxy server and
re-enables disabled proxies (--toxiproxy URL), or, with --profile, heals the
links the profile names with its impairment backend (Toxiproxy or netem
sidecars). It says what it removed and what it could not (exit 1).
It also removes what a killed run left in the results directory (--out):
its hidden staging directory, and in the temp dir: the data directories of
local clusters, once their owner processes are provably gone.
--dry-run lists what it would remove and changes nothing. Idempotent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var out io.Writer
			if dry {
				out = env.Stdout
			}
			backends, err := healBackends(env, prof, toxi, out)
			if err != nil {
				return err
			}
			swept, serr := sink.Sweep(results, dry)
			for _, line := range swept {
				fmt.Fprintf(env.Stdout, "results: %s\n", line)
			}
			cleaned, cerr := cluster.CleanStale("", dry)
			for _, line := range cleaned {
				fmt.Fprintf(env.Stdout, "local clusters: %s\n", line)
			}
			serr = errors.Join(serr, cerr)
			if len(backends) == 0 {
				if prof == "" {
					if len(swept)+len(cleaned) == 0 {
						fmt.Fprintln(env.Stdout, "nothing left by dead runs here")
					}
					fmt.Fprintln(env.Stdout, "remote impairments: give --toxiproxy URL or --profile FILE (a local cluster's embedded Toxiproxy dies with its run)")
				}
				return runErrIf(serr)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), healTimeout)
			defer cancel()
			var errs []error
			for _, b := range backends {
				rep, err := b.Heal(ctx)
				printHealReport(env.Stdout, b.Name(), rep, dry)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", b.Name(), err))
				}
			}
			if serr != nil {
				errs = append(errs, serr)
			}
			if len(errs) > 0 {
				return runErr(errors.Join(errs...))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&results, "out", "results", "results `dir` whose leftovers of killed runs (hidden staging directories) are removed")
	cmd.Flags().StringVar(&toxi, "toxiproxy", "", "Toxiproxy API `url` (e.g. http://127.0.0.1:8474)")
	cmd.Flags().StringVar(&prof, "profile", "", "heal the links named by this profile `file`")
	cmd.Flags().BoolVar(&dry, "dry-run", false, "list what would be removed; change nothing")
	return cmd
}

// healBackends opens the backends heal acts on: the profile's (through
// bench.OpenImpairer, the one place backends are chosen) and a Toxiproxy
// given by URL. dry non-nil opens them in dry-run mode.
func healBackends(env *Env, prof, toxi string, dry io.Writer) ([]impair.Backend, error) {
	var out []impair.Backend
	o := bench.ImpairerOptions{Registry: env.Impairers, Getenv: env.Getenv, DryRun: dry}
	if prof != "" {
		p, err := loadProfile(env, prof, nil)
		if err != nil {
			return nil, err
		}
		if p.System.Cluster == profile.ClusterLocal {
			fmt.Fprintf(env.Stdout, "%s: a local cluster's embedded Toxiproxy stops with its run; nothing remote to heal\n", prof)
		} else {
			b, err := bench.OpenImpairer(p.System.Impairer, p.System.Links(), o)
			if err != nil {
				return nil, runErr(err)
			}
			out = append(out, b)
		}
	}
	if toxi != "" {
		spec := impair.BackendSpec{Kind: impair.BackendToxiproxy, Options: map[string]string{impair.OptionAPI: toxi}}
		if errs := env.Impairers.Check(spec, impair.Setup{Options: spec.Options}); len(errs) > 0 {
			return nil, usageErr("--toxiproxy: %v", errs[0].Err)
		}
		b, err := bench.OpenImpairer(spec, impair.Topology{}, o)
		if err != nil {
			return nil, runErr(err)
		}
		out = append(out, b)
	}
	return out, nil
}

// printHealReport says what one backend's Heal removed (would remove, in a
// dry run) and what it left.
func printHealReport(w io.Writer, name string, rep impair.HealReport, dry bool) {
	verb := "removed"
	if dry {
		verb = "would remove"
	}
	for _, r := range rep.Removed {
		fmt.Fprintf(w, "%s: %s %s\n", name, verb, r)
	}
	for _, l := range rep.Left {
		fmt.Fprintf(w, "%s: NOT removed: %s\n", name, l)
	}
	switch {
	case len(rep.Left) > 0:
		fmt.Fprintf(w, "%s: NOT healed: %d left in place\n", name, len(rep.Left))
	case dry:
		fmt.Fprintf(w, "%s: dry run, nothing changed (%d to remove)\n", name, len(rep.Removed))
	case len(rep.Removed) == 0:
		fmt.Fprintf(w, "%s: nothing to heal\n", name)
	default:
		fmt.Fprintf(w, "%s: healed (%d removed)\n", name, len(rep.Removed))
	}
}

// writeImpairers lists the impairment backends and their options
// (system.impairer: {kind: …, options: {…}}) for `pacbench drivers`.
func writeImpairers(w io.Writer, reg *impair.Registry) {
	fmt.Fprintln(w, "impairment backends (system.impairer: {kind: …, options: {…}})")
	for _, in := range reg.Infos() {
		fmt.Fprintf(w, "  %s — %s\n", in.Kind, in.Description)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, o := range in.Options {
			def := o.Default
			if def == "" {
				def = "-"
			}
			fmt.Fprintf(tw, "    %s\t(default %s)\t%s\n", o.Key, def, o.Doc)
		}
		_ = tw.Flush()
	}
}
