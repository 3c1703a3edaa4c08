package cassandra

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// ErrUnknownHost: a session pins a route to an endpoint that is not a host
// of the cluster as the driver discovered it.
var ErrUnknownHost = errors.New("endpoint is not a known cassandra host")

// Classify returns the outcome class of an error from gocql:
//
//   - nil → ok
//   - server Unavailable (not enough replicas alive for the CL), no host
//     available in the pool, connection refused, the coordinator's
//     connection closed, reset or ended (EOF) under the request →
//     unavailable
//   - server ReadTimeout → read_timeout
//   - server WriteTimeout (CAS write timeouts too) and CAS_WRITE_UNKNOWN →
//     write_timeout
//   - client-side timeout with no server verdict, context deadline → timeout
//   - anything else (including an error that already carries an op.Class,
//     which keeps its class) → other
//
// A CAS that was not applied is not an error: CAS reports swapped=false and
// the runner counts it as conflict. Safe for concurrent use.
func Classify(err error) op.Class {
	if err == nil {
		return op.OK
	}
	var classified *op.Error
	if errors.As(err, &classified) {
		return classified.Class
	}
	var (
		unavailable *gocql.RequestErrUnavailable
		readTO      *gocql.RequestErrReadTimeout
		writeTO     *gocql.RequestErrWriteTimeout
		casUnknown  *gocql.RequestErrCASWriteUnknown
	)
	switch {
	case errors.As(err, &unavailable):
		return op.Unavailable
	case errors.As(err, &readTO):
		return op.ReadTimeout
	case errors.As(err, &writeTO), errors.As(err, &casUnknown):
		return op.WriteTimeout
	case errors.Is(err, gocql.ErrTimeoutNoResponse), errors.Is(err, context.DeadlineExceeded):
		return op.Timeout
	case errors.Is(err, gocql.ErrNoConnections), errors.Is(err, gocql.ErrNoConnectionsStarted),
		connectionLost(err), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, drivers.ErrUnreachable):
		return op.Unavailable
	}
	return op.Other
}

// connectionLost reports whether err says the connection to the
// coordinator was closed, reset or ended before the coordinator answered:
// the request was never sent (the pool still held the closing connection)
// or was in flight when the connection went away. No server verdict.
func connectionLost(err error) bool {
	return errors.Is(err, gocql.ErrConnectionClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// maxReroutes bounds how many further hosts rerouteAborted tries; the
// routing policy offers each host once, so it is reached only on clusters
// larger than it.
const maxReroutes = 8

// rerouteAborted is the retry policy when option retries is 0: an
// idempotent op whose coordinator connection was lost before it got an
// answer (connectionLost) goes to the next host the routing offers — what
// the Java driver's default retry policy does with aborted requests — so a
// token-aware session routes around a host whose connection was lost in
// the moments before the pool notices. Every other failure (a server
// verdict, a timeout) is returned as it is. A pinned op has no next host
// and fails as unavailable; a CAS is not idempotent and is never resent.
// Stateless; safe for concurrent use.
type rerouteAborted struct{}

var _ gocql.RetryPolicy = rerouteAborted{}

// Attempt allows a further attempt up to maxReroutes.
func (rerouteAborted) Attempt(q gocql.RetryableQuery) bool { return q.Attempts() <= maxReroutes }

// GetRetryType resends to the next host only a request whose connection
// was lost.
func (rerouteAborted) GetRetryType(err error) gocql.RetryType {
	if connectionLost(err) {
		return gocql.RetryNextHost
	}
	return gocql.Rethrow
}

// classify wraps a gocql error with its class and what failed; nil stays nil.
func classify(err error) error {
	if err == nil {
		return nil
	}
	return op.Classify(Classify(err), err)
}

// classifyOp classifies an op's error knowing the op's own context: a
// "context canceled" that did not come from ctx is gocql cancelling the
// request because its connection to the coordinator closed — the
// coordinator became unreachable under the request (unavailable), not a
// caller's cancellation.
func classifyOp(ctx context.Context, err error) error {
	if err != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return op.Classify(op.Unavailable, err)
	}
	return classify(err)
}
