package mongodb

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/connstring"

	"github.com/pacbench/pacbench/drivers"
)

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
	PoolSize int
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

// declare binds the options to o (set to their defaults): the one
// declaration Info documents and ParseOptions parses.
func declare(o *Options) *drivers.OptionSet {
	s := drivers.NewOptionSet(Name)
	s.String(&o.Database, OptDatabase, "pacbench", "database holding the collection", func(v string) error {
		if v == "" || strings.ContainsAny(v, "/\\. \"$") {
			return errors.New("want a MongoDB database name (no /\\. \"$ or space)")
		}
		return nil
	})
	s.String(&o.Collection, OptCollection, "usertable", "collection holding one document per key: {_id, v}", func(v string) error {
		if v == "" || strings.HasPrefix(v, "system.") || strings.Contains(v, "$") {
			return errors.New("want a MongoDB collection name (not system.*, no $)")
		}
		return nil
	})
	s.Int(&o.PoolSize, OptPoolSize, 1, 1, 1024, "max connections per member for each session's own client (1 = every worker's ops to a member use one pinned connection)")
	s.Bool(&o.RetryReads, OptRetryReads, false, "driver retryable reads (off: every failure is counted)")
	s.Bool(&o.RetryWrites, OptRetryWrites, false, "driver retryable writes (off: every failure is counted); not used by writes with wtimeout, which go as raw commands")
	s.Duration(&o.ServerSelectionTimeout, OptServerSelectionTimeout, 10*time.Second, "how long an op waits for a suitable member before failing as unavailable")
	s.Bool(&o.Direct, OptDirect, false, "connect directly to the one endpoint, without replica-set discovery")
	s.String(&o.ReplicaSet, OptReplicaSet, "", "expected replica set name (default: discovered)", nil)
	return s
}

// ParseOptions parses system options; unknown keys and bad values are
// *drivers.OptionError values (wrapping drivers.ErrInvalidOption), one per
// bad key, joined.
func ParseOptions(m map[string]string) (Options, error) {
	var o Options
	if err := declare(&o).Parse(m); err != nil {
		return Options{}, err
	}
	return o, nil
}

// CheckOptions implements drivers.ConfigChecker (see ParseOptions).
func (*Driver) CheckOptions(opts map[string]string) error {
	_, err := ParseOptions(opts)
	return err
}

// defaultPort is the port of a seed given without one.
const defaultPort = 27017

// CheckEndpoints implements drivers.ConfigChecker: either one mongodb://
// URI (checked by mongo-driver's own connection-string validation) or one
// mongodb+srv:// URI (a host name without port; resolved only at Open), or
// host[:port] seeds (port 27017 when omitted).
func (*Driver) CheckEndpoints(eps []string) error {
	return drivers.EachEndpoint(Name, eps, func(ep string) error {
		switch {
		case strings.Contains(ep, "://") && len(eps) > 1:
			return errors.New("a mongodb:// URI must be the only endpoint (or list host:port seeds)")
		case strings.HasPrefix(ep, connstring.SchemeMongoDBSRV+"://"):
			return checkSRV(ep)
		case strings.HasPrefix(ep, connstring.SchemeMongoDB+"://"):
			if _, err := connstring.ParseAndValidate(ep); err != nil {
				return fmt.Errorf("connection string: %w", err)
			}
			return nil
		case strings.Contains(ep, "://"):
			return errors.New("want a mongodb:// or mongodb+srv:// URI, or host:port")
		}
		_, _, err := drivers.SplitHostPort(ep, defaultPort)
		return err
	})
}

// checkSRV checks a mongodb+srv:// URI without resolving it: one host name,
// no port.
func checkSRV(ep string) error {
	u, err := url.Parse(ep)
	switch {
	case err != nil:
		return errors.New("not a valid URI")
	case u.Port() != "" || strings.Contains(u.Host, ","):
		return errors.New("mongodb+srv:// takes one host name and no port")
	}
	_, _, err = drivers.SplitHostPort(u.Host, defaultPort)
	return err
}
