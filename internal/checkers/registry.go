package checkers

import (
	"github.com/pacbench/pacbench/metrics"
)

// Config is what the built-in checks need to know about a run.
type Config struct {
	// Sessions is the number of worker sessions of the run (all scenarios),
	// for the session tables' shared memory budget (0: no budget).
	Sessions int
	// SessionKeys caps one session's table (0: DefaultSessionKeys).
	SessionKeys int
	// Linearizability configures the sampler (no keys: off).
	Linearizability LinConfig
	// Audit configures the lost-write audit.
	Audit AuditConfig
}

// Registry returns the checks of a run, in rendering order (their fields,
// columns and families appear in this order), followed by extra. A new
// check is one new file plus one line in this list.
func Registry(c Config, extra ...metrics.Check) (*metrics.Checks, error) {
	checks := []metrics.Check{
		Staleness{},
		NewSession(c.SessionKeys, 0, c.Sessions),
		NewLinearizability(c.Linearizability),
		Visibility{},
		NewAudit(c.Audit),
		Pool{},
	}
	return metrics.NewChecks(append(checks, extra...)...)
}

// Lin returns the registry's linearizability check (nil if absent).
func Lin(cs *metrics.Checks) *Linearizability {
	for _, c := range cs.List() {
		if l, ok := c.(*Linearizability); ok {
			return l
		}
	}
	return nil
}
