package impair

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// KindsHandler is an optional capability of a Factory or a Backend: the
// fault kinds it applies. Without it, a backend applies the network kinds
// (KindsOf(ClassNetwork)).
type KindsHandler interface {
	HandledKinds() []string
}

// ClearBudgeter is an optional capability of a Backend: how long its next
// Clear may need, given what it has applied (a restart of a killed member
// takes up to its start timeout). Guard and the runner give Clear at least
// that.
type ClearBudgeter interface {
	ClearBudget() time.Duration
}

// ClearTimeout returns how long to give b's Clear: def, or b's budget
// (ClearBudgeter) when that is larger.
func ClearTimeout(b Backend, def time.Duration) time.Duration {
	if cb, ok := b.(ClearBudgeter); ok {
		return max(def, cb.ClearBudget())
	}
	return def
}

// HandledKinds returns the fault kinds x (a Factory or a Backend) applies.
func HandledKinds(x any) []string {
	if h, ok := x.(KindsHandler); ok {
		return h.HandledKinds()
	}
	return KindsOf(ClassNetwork)
}

// Handles reports whether x (a Factory or a Backend) applies kind.
func Handles(x any, kind string) bool { return slices.Contains(HandledKinds(x), kind) }

// MuxPart is one backend of a Mux and the fault kinds it applies.
type MuxPart struct {
	Backend Backend
	Kinds   []string
}

// Mux is a Backend made of several, each applying its own fault kinds
// (the chosen network backend and the process backend, for instance).
// Apply hands each action to the first part that applies its kind; Clear
// and Heal go to every part, in order (links are healed before processes
// are restarted, so that a restarted member finds its peers). Safe for
// concurrent use when its parts are.
type Mux struct {
	parts []MuxPart
}

var _ Backend = (*Mux)(nil)

// NewMux returns a Mux of parts, in order.
func NewMux(parts ...MuxPart) *Mux { return &Mux{parts: parts} }

// Parts returns the backends, in order.
func (m *Mux) Parts() []Backend {
	out := make([]Backend, len(m.parts))
	for i, p := range m.parts {
		out[i] = p.Backend
	}
	return out
}

// HandledKinds returns every part's kinds.
func (m *Mux) HandledKinds() []string {
	var out []string
	for _, p := range m.parts {
		for _, k := range p.Kinds {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// Name joins the parts' names with "+" ("toxiproxy+process").
func (m *Mux) Name() string {
	names := make([]string, len(m.parts))
	for i, p := range m.parts {
		names[i] = p.Backend.Name()
	}
	return strings.Join(names, "+")
}

// Apply splits actions by kind and applies each share through its part,
// in part order, stopping at the first error. An action of a kind no part
// applies wraps ErrInvalid (nothing is applied then).
func (m *Mux) Apply(ctx context.Context, actions []Action) error {
	shares := make([][]Action, len(m.parts))
	for _, a := range actions {
		i := slices.IndexFunc(m.parts, func(p MuxPart) bool { return slices.Contains(p.Kinds, a.Kind) })
		if i < 0 {
			return fmt.Errorf("%w: no backend of %s applies %s", ErrInvalid, m.Name(), Describe(a))
		}
		shares[i] = append(shares[i], a)
	}
	for i, share := range shares {
		if len(share) == 0 {
			continue
		}
		if err := m.parts[i].Backend.Apply(ctx, share); err != nil {
			return err
		}
	}
	return nil
}

// Clear clears every part, in order, whatever the others return.
func (m *Mux) Clear(ctx context.Context) error {
	var errs []error
	for _, p := range m.parts {
		if err := p.Backend.Clear(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Pending joins the parts' pending lines.
func (m *Mux) Pending() []string {
	var out []string
	for _, p := range m.parts {
		out = append(out, p.Backend.Pending()...)
	}
	return out
}

// Heal heals every part, in order, and merges their reports (each line
// prefixed with its part's name when there are several).
func (m *Mux) Heal(ctx context.Context) (HealReport, error) {
	var rep HealReport
	var errs []error
	for _, p := range m.parts {
		r, err := p.Backend.Heal(ctx)
		prefix := ""
		if len(m.parts) > 1 {
			prefix = p.Backend.Name() + ": "
		}
		for _, l := range r.Removed {
			rep.Removed = append(rep.Removed, prefix+l)
		}
		for _, l := range r.Left {
			rep.Left = append(rep.Left, prefix+l)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p.Backend.Name(), err))
		}
	}
	return rep, errors.Join(errs...)
}

// ClearBudget is the sum of the parts' budgets (Clear visits them one
// after the other); parts without one count 0.
func (m *Mux) ClearBudget() time.Duration {
	var d time.Duration
	for _, p := range m.parts {
		d += ClearTimeout(p.Backend, 0)
	}
	return d
}

// Preflight runs the Preflighter parts on their share of actions.
func (m *Mux) Preflight(ctx context.Context, actions []Action) error {
	for _, p := range m.parts {
		pf, ok := p.Backend.(Preflighter)
		if !ok {
			continue
		}
		var share []Action
		for _, a := range actions {
			if slices.Contains(p.Kinds, a.Kind) {
				share = append(share, a)
			}
		}
		if err := pf.Preflight(ctx, share); err != nil {
			return err
		}
	}
	return nil
}
