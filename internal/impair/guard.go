package impair

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// ErrAbandoned: the caller stopped waiting for the backend (a second
// interrupt); what it had applied may still be in place.
var ErrAbandoned = errors.New("impairment backend abandoned")

// DefaultClearTimeout bounds one Clear through a Guard.
const DefaultClearTimeout = 15 * time.Second

// GuardOptions configure a Guard. The zero value gives the documented
// defaults.
type GuardOptions struct {
	// Abandon, when closed, stops all waiting: calls in progress return
	// ErrAbandoned at once (the backend's own call is cancelled and left to
	// finish in the background) and later calls return it without calling
	// the backend. Nil: never.
	Abandon <-chan struct{}
	// ClearTimeout bounds each Clear (default DefaultClearTimeout).
	ClearTimeout time.Duration
}

// Guard is a Backend wrapping another: it bounds Clear, lets the caller
// abandon a stuck backend, and keeps an honest account of what was applied,
// removed and left in place (Status). Safe for concurrent use.
type Guard struct {
	b Backend
	o GuardOptions

	mu        sync.Mutex
	busy      bool // a backend call runs (possibly abandoned): do not ask Pending
	applied   bool
	removed   []string
	left      []string
	lastErr   error
	abandoned bool
}

var _ Backend = (*Guard)(nil)

// NewGuard wraps b.
func NewGuard(b Backend, o GuardOptions) *Guard {
	if o.ClearTimeout <= 0 {
		o.ClearTimeout = DefaultClearTimeout
	}
	return &Guard{b: b, o: o}
}

// Name returns the wrapped backend's name.
func (g *Guard) Name() string { return g.b.Name() }

// Unwrap returns the wrapped backend.
func (g *Guard) Unwrap() Backend { return g.b }

// HealStatus is the account of a run's impairments once healing is over.
type HealStatus struct {
	// Backend is the backend's kind.
	Backend string `json:"backend"`
	// Applied is true when anything was ever applied.
	Applied bool `json:"applied"`
	// Removed lists what Clear removed.
	Removed []string `json:"removed,omitempty"`
	// Left lists what is still in place, or, after an abandoned call, not
	// confirmed removed.
	Left []string `json:"left,omitempty"`
	// Abandoned is true when the caller stopped waiting for the backend.
	Abandoned bool `json:"abandoned,omitempty"`
	// Error is the last Clear's error ("" if it succeeded).
	Error string `json:"error,omitempty"`
}

// Healed reports whether nothing is known or suspected to be left in place.
func (s HealStatus) Healed() bool { return len(s.Left) == 0 && !s.Abandoned }

// Status returns the account so far.
func (g *Guard) Status() HealStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := HealStatus{Backend: g.b.Name(), Applied: g.applied, Removed: slices.Clone(g.removed),
		Left: slices.Clone(g.left), Abandoned: g.abandoned}
	if g.lastErr != nil {
		st.Error = g.lastErr.Error()
	}
	return st
}

// abandonedNow reports whether Abandon is closed.
func (g *Guard) abandonedNow() bool {
	if g.o.Abandon == nil {
		return false
	}
	select {
	case <-g.o.Abandon:
		return true
	default:
		return false
	}
}

// call runs f on the backend under ctx, returning early with ErrAbandoned
// when Abandon closes. The backend is marked busy until f returns.
func (g *Guard) call(ctx context.Context, what string, f func(context.Context) error) error {
	g.mu.Lock()
	if g.abandoned || g.busy || g.abandonedNow() {
		g.abandoned = true
		g.mu.Unlock()
		return fmt.Errorf("%s: %w", what, ErrAbandoned)
	}
	g.busy = true
	g.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		err := f(ctx)
		g.mu.Lock()
		g.busy = false
		g.mu.Unlock()
		done <- err
	}()
	select {
	case err := <-done:
		cancel()
		return err
	case <-g.o.Abandon:
		cancel()
		g.mu.Lock()
		g.abandoned = true
		g.mu.Unlock()
		return fmt.Errorf("%s: %w", what, ErrAbandoned)
	}
}

// Apply applies actions unless abandoned.
func (g *Guard) Apply(ctx context.Context, actions []Action) error {
	g.mu.Lock()
	g.applied = g.applied || len(actions) > 0
	g.mu.Unlock()
	return g.call(ctx, "apply", func(ctx context.Context) error { return g.b.Apply(ctx, actions) })
}

// Clear removes what was applied, bounded by ClearTimeout (or the
// backend's larger ClearBudget: a restart of a killed member is given its
// start timeout), and records what
// it removed and what is left. Abandoned, it returns at once and counts
// everything that was in place as left.
func (g *Guard) Clear(ctx context.Context) error {
	// The backend may be asked what is pending unless a call (perhaps an
	// abandoned one) still holds it.
	g.mu.Lock()
	busy := g.busy
	g.mu.Unlock()
	var before []string
	limit := g.o.ClearTimeout
	if !busy {
		before = g.b.Pending()
		limit = ClearTimeout(g.b, limit)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := g.call(ctx, "clear", g.b.Clear)
	g.mu.Lock()
	defer g.mu.Unlock()
	if errors.Is(err, ErrAbandoned) {
		g.left = mergeLines(g.left, before)
		g.lastErr = err
		return err
	}
	after := g.b.Pending()
	for _, b := range before {
		if !slices.Contains(after, b) && !slices.Contains(g.removed, b) {
			g.removed = append(g.removed, b)
		}
	}
	g.left, g.lastErr = after, err
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		g.lastErr = fmt.Errorf("%w (gave up after %s)", err, limit)
	}
	return g.lastErr
}

// ClearBudget is the time the next Clear is given: ClearTimeout, or more
// when the wrapped backend needs it (ClearBudgeter), unless a call holds
// the backend.
func (g *Guard) ClearBudget() time.Duration {
	g.mu.Lock()
	busy := g.busy
	g.mu.Unlock()
	if busy {
		return g.o.ClearTimeout
	}
	return ClearTimeout(g.b, g.o.ClearTimeout)
}

// Pending returns what is left as far as the guard knows (without asking a
// busy or abandoned backend).
func (g *Guard) Pending() []string {
	g.mu.Lock()
	if g.busy || g.abandoned {
		defer g.mu.Unlock()
		return slices.Clone(g.left)
	}
	g.mu.Unlock()
	return g.b.Pending()
}

// Heal runs the backend's Heal unless abandoned.
func (g *Guard) Heal(ctx context.Context) (HealReport, error) {
	var got HealReport
	err := g.call(ctx, "heal", func(ctx context.Context) error {
		r, err := g.b.Heal(ctx)
		got = r
		return err
	})
	if errors.Is(err, ErrAbandoned) {
		return HealReport{Left: []string{"unknown: the heal was abandoned before it finished"}}, err
	}
	return got, err
}

// mergeLines appends the lines of b missing from a.
func mergeLines(a, b []string) []string {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}
