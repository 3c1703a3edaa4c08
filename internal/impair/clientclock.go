package impair

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// BackendClientClock is the kind of the client-clock backend: it offsets
// the clocks pacbench's own writers stamp their writes with.
const BackendClientClock = "client_clock"

// SkewClock is the wall clock offset by a settable amount: the clock the
// writers of one write route stamp their writes with. The zero value
// reads the wall clock. Safe for concurrent use.
type SkewClock struct {
	off atomic.Int64 // ns
}

// Now returns the wall clock plus the offset.
func (c *SkewClock) Now() time.Time { return time.Now().Add(time.Duration(c.off.Load())) }

// Offset returns the current offset.
func (c *SkewClock) Offset() time.Duration { return time.Duration(c.off.Load()) }

// Set sets the offset (0: the wall clock).
func (c *SkewClock) Set(d time.Duration) { c.off.Store(int64(d)) }

// ClientClocks are the write clocks of a run's write routes, by the member
// each route goes to. The runner hands a route's clock to its writers'
// sessions (drivers.ClientTimestamper); the client-clock backend sets
// their offsets. Safe for concurrent use.
type ClientClocks struct {
	mu sync.Mutex
	m  map[string]*SkewClock
}

// NewClientClocks returns an empty set (every clock at offset 0).
func NewClientClocks() *ClientClocks { return &ClientClocks{m: map[string]*SkewClock{}} }

// Clock returns the clock of the writers through member, creating it.
func (c *ClientClocks) Clock(member string) *SkewClock {
	c.mu.Lock()
	defer c.mu.Unlock()
	k, ok := c.m[member]
	if !ok {
		k = &SkewClock{}
		c.m[member] = k
	}
	return k
}

// ClientClockBackend applies client_clock_skew by setting the offset of
// the skewed route's clock; Clear sets every offset it changed back to 0.
// Nothing outlives the process, so Heal only clears. Safe for concurrent
// use.
type ClientClockBackend struct {
	clocks *ClientClocks
	dry    io.Writer

	mu     sync.Mutex
	skewed []Action // applied and not cleared, in order
}

var (
	_ Backend      = (*ClientClockBackend)(nil)
	_ KindsHandler = (*ClientClockBackend)(nil)
)

// NewClientClockBackend returns the backend acting on clocks; with dry
// set it only prints what it would set.
func NewClientClockBackend(clocks *ClientClocks, dry io.Writer) *ClientClockBackend {
	if clocks == nil {
		clocks = NewClientClocks()
	}
	return &ClientClockBackend{clocks: clocks, dry: dry}
}

// Name returns "client_clock".
func (b *ClientClockBackend) Name() string { return BackendClientClock }

// HandledKinds returns the client kinds.
func (b *ClientClockBackend) HandledKinds() []string { return KindsOf(ClassClient) }

// Apply sets the offsets of the skewed routes' clocks.
func (b *ClientClockBackend) Apply(_ context.Context, actions []Action) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, a := range actions {
		if a.Kind != KindClientClockSkew {
			return fmt.Errorf("client clock: action %d: %w: kind %s (want %s)", i, ErrInvalid, a.Kind, KindClientClockSkew)
		}
		b.skewed = append(b.skewed, a)
		if b.dry != nil {
			if _, err := fmt.Fprintf(b.dry, "# client clock of the writers via %s: %s\n", a.Member, signed(a.Offset)); err != nil {
				return fmt.Errorf("dry run: %w", err)
			}
			continue
		}
		b.clocks.Clock(a.Member).Set(a.Offset)
	}
	return nil
}

// Clear sets the clocks it skewed back to the wall clock.
func (b *ClientClockBackend) Clear(context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range b.skewed {
		if b.dry != nil {
			if _, err := fmt.Fprintf(b.dry, "# client clock of the writers via %s: back to the wall clock\n", a.Member); err != nil {
				return fmt.Errorf("dry run: %w", err)
			}
			continue
		}
		b.clocks.Clock(a.Member).Set(0)
	}
	b.skewed = nil
	return nil
}

// Pending lists the skews in place.
func (b *ClientClockBackend) Pending() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]string, len(b.skewed))
	for i, a := range b.skewed {
		out[i] = Describe(a)
	}
	return out
}

// Heal clears (the clocks live in this process only).
func (b *ClientClockBackend) Heal(ctx context.Context) (HealReport, error) {
	rep := HealReport{Removed: b.Pending()}
	return rep, b.Clear(ctx)
}

// signed renders d with its sign ("+500ms", "-1.5s").
func signed(d time.Duration) string {
	if d > 0 {
		return "+" + d.String()
	}
	return d.String()
}

// ClientClockFactory builds the client-clock backend. Like the process
// backend it is opened next to the chosen backend, for client_clock_skew.
// Stateless.
type ClientClockFactory struct{}

var (
	_ Factory      = ClientClockFactory{}
	_ KindsHandler = ClientClockFactory{}
)

// Info describes the backend (no options).
func (ClientClockFactory) Info() BackendInfo {
	return BackendInfo{
		Kind: BackendClientClock,
		Description: "client_clock_skew: the writers of one write route stamp their writes with a clock offset by the given amount " +
			"(drivers whose sessions take client timestamps: cassandra); used next to the chosen backend for that kind",
	}
}

// HandledKinds returns the client kinds.
func (ClientClockFactory) HandledKinds() []string { return KindsOf(ClassClient) }

// CheckSetup has nothing to check (targets are checked per impairment,
// CheckEnv.ClientClocks).
func (ClientClockFactory) CheckSetup(Setup) []SetupError { return nil }

// CheckSpec refuses every other kind (chosen alone, it has nothing else to
// act on).
func (ClientClockFactory) CheckSpec(s Spec) []FieldError {
	if ClassOf(s.Kind) != ClassClient {
		return []FieldError{{Field: KeyKind, Err: Invalidf("%s is not a client clock fault: choose a backend that applies it (system.impairer.kind: %s)", s.Kind, BackendToxiproxy)}}
	}
	return nil
}

// New builds the backend over c.ClientClocks (a new set when nil).
func (ClientClockFactory) New(c Config) (Backend, error) {
	return NewClientClockBackend(c.ClientClocks, c.DryRun), nil
}

// ClientClockReach says what client_clock_skew may aim at, for validation
// (CheckEnv.ClientClocks).
type ClientClockReach struct {
	// Writers are the write routes as the profile names them
	// (routes.writers, or routes.write); a skew aims at one of them.
	Writers []string
	// Unsupported, when set, is why the driver cannot take client write
	// timestamps (every client_clock_skew is refused).
	Unsupported error
}

// check reports what is wrong with one client_clock_skew.
func (r *ClientClockReach) check(s Spec, add func(key, format string, args ...any)) {
	if r.Unsupported != nil {
		add(KeyKind, "%s needs client-side write timestamps: %v", s.Kind, r.Unsupported)
		return
	}
	if s.Target != "" && !slices.Contains(r.Writers, s.Target) {
		want := "routes.write or routes.writers naming a role or member"
		if len(r.Writers) > 0 {
			want = "one of " + strings.Join(r.Writers, ", ")
		}
		add(KeyTarget, "%s aims at the writers of one write route: want %s, got %q", s.Kind, want, s.Target)
	}
}
