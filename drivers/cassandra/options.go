package cassandra

import (
	"fmt"
	"regexp"
	"sort"
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
}

var optionDocs = []drivers.Option{
	{Key: OptKeyspace, Default: "pacbench", Doc: "keyspace holding table kv (k text PRIMARY KEY, v blob)"},
	{Key: OptReplicationFactor, Default: "3", Doc: "replication factor of the keyspace (SimpleStrategy, or NetworkTopologyStrategy in local_dc)"},
	{Key: OptPoolSize, Default: "1", Doc: "connections per host (pinned so Toxiproxy toxics hit every op)"},
	{Key: OptRetries, Default: "0", Doc: "retries of a failed idempotent op on the next host (0: failures are counted, not hidden)"},
	{Key: OptSpeculative, Default: "off", Doc: `speculative execution "N@DELAY" (e.g. "2@50ms": up to 2 extra executions, 50 ms apart) for unpinned idempotent ops`},
	{Key: OptProtocolVersion, Default: "0", Doc: "native protocol version (0: negotiate)"},
	{Key: OptConnectTimeout, Default: DefaultConnectTimeout.String(), Doc: "connection set-up timeout (Go duration)"},
	{Key: OptLocalDC, Default: "", Doc: "local data center: DC-aware routing and NetworkTopologyStrategy"},
}

// identRe matches an unquoted CQL identifier pacbench accepts as keyspace.
var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,47}$`)

// ParseOptions parses system options; unknown keys and malformed values are
// errors naming the key.
func ParseOptions(m map[string]string) (Options, error) {
	o := Options{Keyspace: "pacbench", ReplicationFactor: 3, PoolSize: 1}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.TrimSpace(m[k])
		var err error
		switch k {
		case OptKeyspace:
			if !identRe.MatchString(v) {
				err = fmt.Errorf("want a CQL identifier (letter, then letters, digits or _; at most 48)")
			}
			o.Keyspace = v
		case OptReplicationFactor:
			o.ReplicationFactor, err = atoiMin(v, 1)
		case OptPoolSize:
			o.PoolSize, err = atoiMin(v, 1)
		case OptRetries:
			o.Retries, err = atoiMin(v, 0)
		case OptSpeculative:
			o.SpeculativeAttempts, o.SpeculativeDelay, err = parseSpeculative(v)
		case OptProtocolVersion:
			o.ProtocolVersion, err = atoiMin(v, 0)
			if err == nil && o.ProtocolVersion != 0 && (o.ProtocolVersion < 3 || o.ProtocolVersion > 5) {
				err = fmt.Errorf("want 0 (negotiate) or 3..5")
			}
		case OptConnectTimeout:
			o.ConnectTimeout, err = time.ParseDuration(v)
			if err == nil && o.ConnectTimeout <= 0 {
				err = fmt.Errorf("want a positive duration")
			}
		case OptLocalDC:
			o.LocalDC = v
		default:
			return Options{}, fmt.Errorf("cassandra: unknown option %q (known: %s)", k, knownOptions())
		}
		if err != nil {
			return Options{}, fmt.Errorf("cassandra: option %s=%q: %w", k, m[k], err)
		}
	}
	return o, nil
}

func knownOptions() string {
	names := make([]string, len(optionDocs))
	for i, d := range optionDocs {
		names[i] = d.Key
	}
	return strings.Join(names, ", ")
}

func atoiMin(s string, min int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("want an integer")
	}
	if n < min {
		return 0, fmt.Errorf("want an integer ≥ %d", min)
	}
	return n, nil
}

// parseSpeculative parses "off", "" or "N@DELAY".
func parseSpeculative(s string) (int, time.Duration, error) {
	if s == "" || s == "off" || s == "0" {
		return 0, 0, nil
	}
	n, d, ok := strings.Cut(s, "@")
	if !ok {
		return 0, 0, fmt.Errorf(`want "off" or "N@DELAY", e.g. "2@50ms"`)
	}
	attempts, err := atoiMin(n, 1)
	if err != nil {
		return 0, 0, fmt.Errorf("attempts: %w", err)
	}
	delay, err := time.ParseDuration(d)
	if err != nil || delay <= 0 {
		return 0, 0, fmt.Errorf("delay: want a positive Go duration")
	}
	return attempts, delay, nil
}
