package cassandra

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pacbench/pacbench/drivers"
)

// Option keys (profile system.options).
const (
	OptKeyspace          = "keyspace"
	OptReplicationFactor = "replication_factor"
	OptPoolSize          = "pool_size"
	OptRetries           = "retries"
	OptSpeculative       = "speculative"
	OptProtocolVersion   = "protocol_version"
	OptConnectTimeout    = "connect_timeout"
	OptLocalDC           = "local_dc"
	OptTimestamps        = "timestamps"
)

// Values of the timestamps option.
const (
	// TimestampsClient: the client stamps each write (gocql's client-side
	// timestamps, from pacbench's clock, or a skewed one).
	TimestampsClient = "client"
	// TimestampsServer: each write's coordinator stamps it from its own
	// clock (to see node_clock_skew).
	TimestampsServer = "server"
)

// DefaultConnectTimeout bounds connection set-up when neither the option
// nor drivers.Config.DialTimeout says otherwise.
const DefaultConnectTimeout = 5 * time.Second

// Options are the driver's system options. Plain data: safe to share.
type Options struct {
	// Keyspace holding the kv table (default "pacbench").
	Keyspace string
	// ReplicationFactor of the keyspace (default 3).
	ReplicationFactor int
	// PoolSize is the number of connections per host (default 1: pinned,
	// so Toxiproxy's per-connection toxicity applies to every op alike).
	PoolSize int
	// Retries is the number of retries of a failed idempotent op on the next
	// host (default 0: a benchmark must not hide failures; only an op whose
	// coordinator connection was lost before any answer goes to the next
	// host, see the package doc).
	Retries int
	// Speculative execution: SpeculativeAttempts extra executions, each
	// launched SpeculativeDelay after the previous one, for idempotent ops
	// of sessions not pinned to one coordinator (default 0: off).
	SpeculativeAttempts int
	SpeculativeDelay    time.Duration
	// ProtocolVersion of the native protocol (0: negotiate, the default).
	ProtocolVersion int
	// ConnectTimeout bounds connection set-up (0: Config.DialTimeout or
	// DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// LocalDC, when set, makes routing DC-aware (token-aware within
	// LocalDC) and creates the keyspace with NetworkTopologyStrategy
	// {LocalDC: ReplicationFactor}; empty uses SimpleStrategy.
	LocalDC string
	// Timestamps says who stamps a write's last-write-wins timestamp:
	// TimestampsClient (default) or TimestampsServer.
	Timestamps string
}

// declare binds the options to o (set to their defaults): the one
// declaration Info documents and ParseOptions parses.
func declare(o *Options) *drivers.OptionSet {
	s := drivers.NewOptionSet(Name)
	s.String(&o.Keyspace, OptKeyspace, "pacbench", "keyspace holding table kv (k text PRIMARY KEY, v blob)", func(v string) error {
		if !identRe.MatchString(v) {
			return errors.New("want a CQL identifier (letter, then letters, digits or _; at most 48)")
		}
		return nil
	})
	s.Int(&o.ReplicationFactor, OptReplicationFactor, 3, 1, 64, "replication factor of the keyspace (SimpleStrategy, or NetworkTopologyStrategy in local_dc)")
	s.Int(&o.PoolSize, OptPoolSize, 1, 1, 64, "connections per host (pinned so Toxiproxy toxics hit every op)")
	s.Int(&o.Retries, OptRetries, 0, 0, 16, "retries of a failed idempotent op on the next host (0: failures are counted, not hidden; only an op whose coordinator connection was lost goes to the next host)")
	s.Func(OptSpeculative, "N@DELAY", "off", `speculative execution "N@DELAY" (e.g. "2@50ms": up to 2 extra executions, 50 ms apart) for unpinned idempotent ops`, func(v string) (err error) {
		o.SpeculativeAttempts, o.SpeculativeDelay, err = parseSpeculative(v)
		return err
	})
	s.Func(OptProtocolVersion, "int", "0", "native protocol version (0: negotiate, or 3..5)", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 0 && (n < 3 || n > 5)) {
			return errors.New("want 0 (negotiate) or 3..5")
		}
		o.ProtocolVersion = n
		return nil
	})
	s.Duration(&o.ConnectTimeout, OptConnectTimeout, 0, "connection set-up timeout (default: Config.DialTimeout, else "+DefaultConnectTimeout.String()+")")
	s.String(&o.LocalDC, OptLocalDC, "", "local data center: DC-aware routing and NetworkTopologyStrategy", nil)
	s.String(&o.Timestamps, OptTimestamps, TimestampsClient, "who stamps each write's last-write-wins timestamp: client (pacbench's clock; client_clock_skew offsets it) or server (the coordinator's clock; node_clock_skew moves it)", func(v string) error {
		if v != TimestampsClient && v != TimestampsServer {
			return errors.New("want client or server")
		}
		return nil
	})
	return s
}

// identRe matches an unquoted CQL identifier pacbench accepts as keyspace.
var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,47}$`)

// ParseOptions parses system options; unknown keys and malformed values
// are *drivers.OptionError values (wrapping drivers.ErrInvalidOption), one
// per bad key, joined.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	if err := declare(&o).Parse(m); err != nil {
		return Options{}, err
	}
	return o, nil
}

// parseSpeculative parses "off", "" or "N@DELAY".
func parseSpeculative(s string) (int, time.Duration, error) {
	if s == "" || s == "off" || s == "0" {
		return 0, 0, nil
	}
	n, d, ok := strings.Cut(s, "@")
	if !ok {
		return 0, 0, errors.New(`want "off" or "N@DELAY", e.g. "2@50ms"`)
	}
	attempts, err := strconv.Atoi(n)
	if err != nil || attempts < 1 {
		return 0, 0, errors.New("attempts: want an integer ≥ 1")
	}
	delay, err := time.ParseDuration(d)
	if err != nil || delay <= 0 {
		return 0, 0, errors.New("delay: want a positive Go duration")
	}
	return attempts, delay, nil
}
