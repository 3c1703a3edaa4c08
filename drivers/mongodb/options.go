package mongodb

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pacbench/pacbench/drivers"
)

// ErrInvalidOption: a system option the driver does not know or cannot parse.
var ErrInvalidOption = errors.New("invalid mongodb option")

// Option keys (profile `system.options`).
const (
	OptDatabase               = "database"
	OptCollection             = "collection"
	OptPoolSize               = "pool_size"
	OptRetryReads             = "retry_reads"
	OptRetryWrites            = "retry_writes"
	OptServerSelectionTimeout = "server_selection_timeout"
	OptDirect                 = "direct"
	OptReplicaSet             = "replica_set"
)

// Options are the driver's system options, parsed from drivers.Config.
// Plain data; safe to share read-only.
type Options struct {
	// Database holds the collection (default "pacbench").
	Database string
	// Collection holds one document per key (default "usertable").
	Collection string
	// PoolSize is the maximum number of connections per server of each
	// session's own mongo client (default 1: every worker's ops to a given
	// member travel over one pinned connection, so per-connection Toxiproxy
	// toxics and netem rules hit every op the same way, and workers never
	// queue behind each other for a connection).
	PoolSize uint64
	// RetryReads and RetryWrites turn on the driver's retryable reads and
	// writes (default false: a benchmark must see every failure).
	RetryReads, RetryWrites bool
	// ServerSelectionTimeout bounds how long an op waits for a suitable
	// member (a primary for writes, a member matching the read preference
	// for reads) before failing as unavailable (default 10s; the op's own
	// deadline still applies).
	ServerSelectionTimeout time.Duration
	// Direct connects to the single endpoint without replica-set discovery
	// (default false).
	Direct bool
	// ReplicaSet is the expected replica set name (default: discovered).
	ReplicaSet string
}

// optionDocs documents every option for drivers.Info, in display order.
var optionDocs = []drivers.Option{
	{Key: OptDatabase, Default: "pacbench", Doc: "database holding the collection"},
	{Key: OptCollection, Default: "usertable", Doc: "collection holding one document per key: {_id, v, seq, writer, t_invoke, key_index}"},
	{Key: OptPoolSize, Default: "1", Doc: "max connections per member for each session's own client (1 = every worker's ops to a member use one pinned connection)"},
	{Key: OptRetryReads, Default: "false", Doc: "driver retryable reads (off: every failure is counted)"},
	{Key: OptRetryWrites, Default: "false", Doc: "driver retryable writes (off: every failure is counted); not used by writes with wtimeout, which go as raw commands"},
	{Key: OptServerSelectionTimeout, Default: "10s", Doc: "how long an op waits for a suitable member before failing as unavailable"},
	{Key: OptDirect, Default: "false", Doc: "connect directly to the one endpoint, without replica-set discovery"},
	{Key: OptReplicaSet, Default: "", Doc: "expected replica set name (default: discovered)"},
}

// ParseOptions parses system options; unknown keys and bad values wrap
// ErrInvalidOption.
func ParseOptions(m map[string]string) (Options, error) {
	o := Options{
		Database:               "pacbench",
		Collection:             "usertable",
		PoolSize:               1,
		ServerSelectionTimeout: 10 * time.Second,
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := o.set(k, m[k]); err != nil {
			return Options{}, err
		}
	}
	return o, nil
}

func (o *Options) set(k, v string) error {
	bad := func(want string) error {
		return fmt.Errorf("%w: %s=%q: want %s", ErrInvalidOption, k, v, want)
	}
	var err error
	switch k {
	case OptDatabase:
		if v == "" || strings.ContainsAny(v, "/\\. \"$") {
			return bad("a MongoDB database name")
		}
		o.Database = v
	case OptCollection:
		if v == "" || strings.HasPrefix(v, "system.") || strings.Contains(v, "$") {
			return bad("a MongoDB collection name")
		}
		o.Collection = v
	case OptPoolSize:
		if o.PoolSize, err = strconv.ParseUint(v, 10, 32); err != nil || o.PoolSize == 0 {
			return bad("a positive integer")
		}
	case OptRetryReads:
		if o.RetryReads, err = strconv.ParseBool(v); err != nil {
			return bad("true or false")
		}
	case OptRetryWrites:
		if o.RetryWrites, err = strconv.ParseBool(v); err != nil {
			return bad("true or false")
		}
	case OptServerSelectionTimeout:
		if o.ServerSelectionTimeout, err = time.ParseDuration(v); err != nil || o.ServerSelectionTimeout <= 0 {
			return bad("a positive Go duration (5s)")
		}
	case OptDirect:
		if o.Direct, err = strconv.ParseBool(v); err != nil {
			return bad("true or false")
		}
	case OptReplicaSet:
		o.ReplicaSet = v
	default:
		known := make([]string, len(optionDocs))
		for i, d := range optionDocs {
			known[i] = d.Key
		}
		return fmt.Errorf("%w: unknown option %q (known: %s)", ErrInvalidOption, k, strings.Join(known, ", "))
	}
	return nil
}
