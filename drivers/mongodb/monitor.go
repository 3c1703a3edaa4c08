package mongodb

import (
	"context"
	"strings"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

// Command is one command as the driver put it on the wire, seen by the
// command monitor.
type Command struct {
	// Name is the command name ("find", "update", "insert"…).
	Name string
	// Server is the address of the member it was sent to (host:port).
	Server string
	// Body is the full command document, including readConcern,
	// writeConcern, $readPreference, maxTimeMS, lsid and $clusterTime when
	// the driver sent them. Owned by the Trace (a copy).
	Body bson.Raw
	// OK reports whether the server answered ok:1 (false also when no
	// answer came).
	OK bool
}

// Trace records the commands sent by every operation whose context carries
// it (see WithTrace): it shows exactly which concerns and preferences went
// on the wire. Safe for concurrent use. The zero value is ready to use.
type Trace struct {
	mu   sync.Mutex
	cmds []Command
	// byReq maps a request id to its index in cmds, to mark replies.
	byReq map[int64]int
}

// WithTrace returns a context under which every command the driver sends
// is also recorded in t. Meant for tests and diagnostics, not the hot path.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// Commands returns a copy of the commands recorded so far, in send order.
func (t *Trace) Commands() []Command {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Command(nil), t.cmds...)
}

// Reset forgets the commands recorded so far.
func (t *Trace) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cmds, t.byReq = nil, nil
}

func (t *Trace) started(e *event.CommandStartedEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.byReq == nil {
		t.byReq = map[int64]int{}
	}
	t.byReq[e.RequestID] = len(t.cmds)
	t.cmds = append(t.cmds, Command{
		Name:   e.CommandName,
		Server: serverOf(e.ConnectionID),
		Body:   append(bson.Raw(nil), e.Command...),
	})
}

func (t *Trace) succeeded(reqID int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.byReq[reqID]; ok {
		t.cmds[i].OK = true
	}
}

type traceKey struct{}

// probeKey marks the context of one read: the command monitor writes the
// address of the member the read's command went to into the *probe.
type probeKey struct{}

// probe receives the server of the last command sent under its context.
// The monitor's Started callback runs in the goroutine that issues the op,
// before the op returns, so the owner reads it without locking.
type probe struct {
	server string
}

// serverOf extracts host:port from a mongo-driver connection id
// ("host:port[-17]").
func serverOf(connID string) string {
	if i := strings.LastIndex(connID, "[-"); i >= 0 {
		return connID[:i]
	}
	return connID
}

// commandMonitor returns the monitor every mongo client of this driver
// uses. It keeps no state of its own: it writes into the probe and trace
// carried by each op's context.
func commandMonitor() *event.CommandMonitor {
	return &event.CommandMonitor{
		Started: func(ctx context.Context, e *event.CommandStartedEvent) {
			if p, ok := ctx.Value(probeKey{}).(*probe); ok {
				p.server = serverOf(e.ConnectionID)
			}
			if t, ok := ctx.Value(traceKey{}).(*Trace); ok {
				t.started(e)
			}
		},
		Succeeded: func(ctx context.Context, e *event.CommandSucceededEvent) {
			if t, ok := ctx.Value(traceKey{}).(*Trace); ok {
				t.succeeded(e.RequestID)
			}
		},
	}
}
