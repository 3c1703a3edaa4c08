package cassandra

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

func TestParseLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      drivers.Levels
		want    Levels
		wantErr string
	}{
		{"defaults", nil, Levels{gocql.One, gocql.One, gocql.Serial}, ""},
		{"empty values", drivers.Levels{"read": "", "write": ""}, Levels{gocql.One, gocql.One, gocql.Serial}, ""},
		{"quorum pair", drivers.Levels{"read": "QUORUM", "write": "quorum"}, Levels{gocql.Quorum, gocql.Quorum, gocql.Serial}, ""},
		{"all/one", drivers.Levels{"read": "ALL", "write": "ONE"}, Levels{gocql.All, gocql.One, gocql.Serial}, ""},
		{"local", drivers.Levels{"read": "LOCAL_QUORUM", "write": "EACH_QUORUM", "serial": "LOCAL_SERIAL"}, Levels{gocql.LocalQuorum, gocql.EachQuorum, gocql.LocalSerial}, ""},
		{"any write", drivers.Levels{"write": "ANY"}, Levels{gocql.One, gocql.Any, gocql.Serial}, ""},
		{"serial read", drivers.Levels{"read": "SERIAL"}, Levels{gocql.Serial, gocql.One, gocql.Serial}, ""},
		{"two three", drivers.Levels{"read": "TWO", "write": "THREE"}, Levels{gocql.Two, gocql.Three, gocql.Serial}, ""},
		{"any read", drivers.Levels{"read": "ANY"}, Levels{}, `read="ANY"`},
		{"serial write", drivers.Levels{"write": "SERIAL"}, Levels{}, `write="SERIAL"`},
		{"quorum serial", drivers.Levels{"serial": "QUORUM"}, Levels{}, `serial="QUORUM"`},
		{"unknown key", drivers.Levels{"read_concern": "majority"}, Levels{}, `"read_concern"`},
		{"garbage", drivers.Levels{"read": "MOST"}, Levels{}, `read="MOST"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseLevels(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, drivers.ErrInvalidLevel) {
					t.Fatalf("err = %v, want ErrInvalidLevel", err)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %q, want it to name %s", err, tt.wantErr)
				}
				if New().ValidateLevels(tt.in) == nil {
					t.Fatal("ValidateLevels accepted what ParseLevels rejects")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseOptions(t *testing.T) {
	t.Parallel()
	def := Options{Keyspace: "pacbench", ReplicationFactor: 3, PoolSize: 1, Timestamps: TimestampsClient}
	tests := []struct {
		name    string
		in      map[string]string
		want    Options
		wantErr string
	}{
		{"defaults", nil, def, ""},
		{"all set", map[string]string{
			"keyspace": "bench_1", "replication_factor": "1", "pool_size": "2", "retries": "3",
			"speculative": "2@50ms", "protocol_version": "5", "connect_timeout": "3s", "local_dc": "dc1", "timestamps": "server",
		}, Options{Keyspace: "bench_1", ReplicationFactor: 1, PoolSize: 2, Retries: 3,
			SpeculativeAttempts: 2, SpeculativeDelay: 50 * time.Millisecond, ProtocolVersion: 5,
			ConnectTimeout: 3 * time.Second, LocalDC: "dc1", Timestamps: TimestampsServer}, ""},
		{"timestamps", map[string]string{"timestamps": "coordinator"}, Options{}, "timestamps="},
		{"speculative off", map[string]string{"speculative": "off"}, def, ""},
		{"unknown", map[string]string{"consistency": "ONE"}, Options{}, `consistency="ONE": unknown option`},
		{"bad keyspace", map[string]string{"keyspace": "a; DROP"}, Options{}, "keyspace="},
		{"rf zero", map[string]string{"replication_factor": "0"}, Options{}, "replication_factor="},
		{"pool zero", map[string]string{"pool_size": "0"}, Options{}, "pool_size="},
		{"negative retries", map[string]string{"retries": "-1"}, Options{}, "retries="},
		{"speculative no delay", map[string]string{"speculative": "2"}, Options{}, "speculative="},
		{"speculative bad delay", map[string]string{"speculative": "2@soon"}, Options{}, "speculative="},
		{"speculative zero attempts", map[string]string{"speculative": "0@10ms"}, Options{}, "speculative="},
		{"protocol 2", map[string]string{"protocol_version": "2"}, Options{}, "protocol_version="},
		{"timeout", map[string]string{"connect_timeout": "5"}, Options{}, "connect_timeout="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOptions(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want op.Class
	}{
		{"nil", nil, op.OK},
		{"unavailable", &gocql.RequestErrUnavailable{Consistency: gocql.All, Required: 3, Alive: 2}, op.Unavailable},
		{"read timeout", &gocql.RequestErrReadTimeout{Consistency: gocql.Quorum}, op.ReadTimeout},
		{"write timeout", &gocql.RequestErrWriteTimeout{Consistency: gocql.Quorum, WriteType: "SIMPLE"}, op.WriteTimeout},
		{"cas write timeout", &gocql.RequestErrWriteTimeout{Consistency: gocql.Serial, WriteType: "CAS"}, op.WriteTimeout},
		{"cas write unknown", &gocql.RequestErrCASWriteUnknown{Consistency: gocql.Serial}, op.WriteTimeout},
		{"wrapped unavailable", fmt.Errorf("x: %w", &gocql.RequestErrUnavailable{}), op.Unavailable},
		{"client timeout", gocql.ErrTimeoutNoResponse, op.Timeout},
		{"deadline", context.DeadlineExceeded, op.Timeout},
		{"deadline wrapped", fmt.Errorf("q: %w", context.DeadlineExceeded), op.Timeout},
		{"no hosts", gocql.ErrNoConnections, op.Unavailable},
		{"connection closed under the request", fmt.Errorf("read: %w", gocql.ErrConnectionClosed), op.Unavailable},
		{"connection reset", syscall.ECONNRESET, op.Unavailable},
		{"connection ended under the request", fmt.Errorf("gocql: failed to read uncompressed frame, err: %w", io.EOF), op.Unavailable},
		{"connection ended mid-frame", fmt.Errorf("gocql: failed to read uncompressed frame payload, err: %w", io.ErrUnexpectedEOF), op.Unavailable},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, op.Unavailable},
		{"read failure", &gocql.RequestErrReadFailure{}, op.Other},
		{"syntax", &gocql.RequestErrSyntax{}, op.Other},
		{"already classified", op.Errorf(op.Conflict, "lost"), op.Conflict},
		{"other", errors.New("boom"), op.Other},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %v, want %v", tt.err, got, tt.want)
			}
			wrapped := classify(tt.err)
			if tt.err == nil {
				if wrapped != nil {
					t.Fatalf("classify(nil) = %v", wrapped)
				}
				return
			}
			if got := op.ClassOf(wrapped); got != tt.want {
				t.Fatalf("op.ClassOf(classify(err)) = %v, want %v", got, tt.want)
			}
			if !errors.Is(wrapped, tt.err) {
				t.Fatalf("classify lost the cause: %v", wrapped)
			}
		})
	}
}

func TestRoute(t *testing.T) {
	t.Parallel()
	var none route
	if got := none.pick(); got != "" {
		t.Fatalf("empty route picked %q", got)
	}
	r := route{ids: []string{"a", "b"}}
	var got []string
	for range 5 {
		got = append(got, r.pick())
	}
	if fmt.Sprint(got) != "[a b a b a]" {
		t.Fatalf("rotation %v", got)
	}
}

// TestClassifyOpConnectionCancel: a cancellation that is not the caller's
// is the connection closing under the request (unavailable); the caller's
// own cancellation stays what it is.
func TestClassifyOpConnectionCancel(t *testing.T) {
	t.Parallel()
	live := context.Background()
	if c := op.ClassOf(classifyOp(live, fmt.Errorf("q: %w", context.Canceled))); c != op.Unavailable {
		t.Errorf("connection-level cancel: %s, want unavailable", c)
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if c := op.ClassOf(classifyOp(done, context.Canceled)); c == op.Unavailable {
		t.Errorf("caller's own cancel classified unavailable")
	}
}

// TestRerouteAborted: only a lost coordinator connection sends an op to
// the next host; server verdicts and timeouts are returned as they are.
func TestRerouteAborted(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want gocql.RetryType
	}{
		{"closed connection still in the pool", gocql.ErrConnectionClosed, gocql.RetryNextHost},
		{"connection ended under the request", fmt.Errorf("frame: %w", io.EOF), gocql.RetryNextHost},
		{"reset", syscall.ECONNRESET, gocql.RetryNextHost},
		{"broken pipe", syscall.EPIPE, gocql.RetryNextHost},
		{"server unavailable", &gocql.RequestErrUnavailable{}, gocql.Rethrow},
		{"server read timeout", &gocql.RequestErrReadTimeout{}, gocql.Rethrow},
		{"client timeout", gocql.ErrTimeoutNoResponse, gocql.Rethrow},
		{"deadline", context.DeadlineExceeded, gocql.Rethrow},
		{"no hosts", gocql.ErrNoConnections, gocql.Rethrow},
		{"other", errors.New("boom"), gocql.Rethrow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := (rerouteAborted{}).GetRetryType(tt.err); got != tt.want {
				t.Fatalf("GetRetryType(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
