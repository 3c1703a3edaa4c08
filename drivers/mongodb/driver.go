// Package mongodb is pacbench's MongoDB driver (go.mongodb.org/mongo-driver/v2).
//
// Levels, in MongoDB's words: write concern w (1, 2, majority), j and
// wtimeout; read concern local, available, majority, linearizable, snapshot;
// read preference primary … nearest with maxStalenessSeconds and tag sets;
// causally consistent sessions on or off. ParseLevels rejects combinations
// MongoDB rejects or that would measure nothing.
//
// Each key is one document {_id: key, v: <value bytes>}: the bytes are
// stored and returned as they are (the driver never interprets them). A
// read's Version is those bytes, and a CAS matches {_id, v}.
//
// Every session owns its own mongo client with a pool of Options.PoolSize
// connections per member (default 1: pinned), so Toxiproxy's per-connection
// toxics hit each worker's ops the same way and no worker queues behind
// another for a connection. Retryable reads and writes are off by default.
//
// Attribution: the command monitor sees each command's connection, so a
// read's Value.Server is the member that actually served it. A Trace
// (WithTrace) shows every command as sent — read concern, write concern,
// $readPreference, maxTimeMS, afterClusterTime.
//
// CAS is a replace filtered on {_id, v}: atomic on MongoDB, where a
// single-document write is. FerretDB 1.x (SQLite backend) does not make a
// conditional write atomic: concurrent CAS of one key can all report a
// swap (the conformance kit saw 4 of 4 contenders win). pacbench's runner
// never issues concurrent CAS on one key (one writer per key at a time), so
// its runs stay valid; code that races CAS on FerretDB does not.
//
// Against a standalone server (FerretDB, a single mongod) the driver sends
// no $readPreference (the server-selection spec ignores preference for
// standalones); preference matters only against a replica set, where server
// selection applies it and Value.Server shows the member chosen.
//
// No package-level mutable state: a Driver is a stateless value, a Client
// is safe for concurrent use, a Session belongs to one goroutine.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/pacbench/pacbench/drivers"
)

// Name is the registry name of the driver.
const Name = "mongodb"

// defaultDialTimeout bounds Open's reachability check when the config has
// no DialTimeout.
const defaultDialTimeout = 10 * time.Second

// topologyWait caps how long Topology waits for every member's first
// heartbeat when the caller's context has no earlier deadline.
const topologyWait = 5 * time.Second

// Driver opens MongoDB clients. Stateless; safe for concurrent use.
type Driver struct{}

// New returns the MongoDB driver.
func New() *Driver { return &Driver{} }

var (
	_ drivers.Driver     = (*Driver)(nil)
	_ drivers.Client     = (*Client)(nil)
	_ drivers.Topologist = (*Client)(nil)
	_ drivers.Preparer   = (*Client)(nil)

	_ drivers.ConfigChecker = (*Driver)(nil)
)

// Name returns "mongodb".
func (*Driver) Name() string { return Name }

// Info describes the level dimensions and options.
func (*Driver) Info() drivers.Info {
	return drivers.Info{
		Name:        Name,
		Description: "MongoDB (mongo-driver v2): write concern, read concern, read preference, causal sessions",
		Levels: []drivers.LevelDim{
			{Key: KeyW, Values: []string{"1", "2", "majority"}, Default: "1", Doc: "write concern w: members that must acknowledge a write (any positive count, or majority)"},
			{Key: KeyJ, Values: []string{"true", "false"}, Default: "", Doc: "write concern j: acknowledge only after the journal commit (default: not sent, server default)"},
			{Key: KeyWTimeout, Default: "", Doc: "write concern wtimeout as a Go duration; expiry counts as write_timeout (writes then go as raw commands: mongo-driver v2 no longer sends wtimeout)"},
			{Key: KeyReadConcern, Values: readConcerns, Default: "local", Doc: "read concern level (always sent); linearizable needs read_preference=primary and gets maxTimeMS from the op deadline; snapshot needs w=majority"},
			{Key: KeyReadPreference, Values: readPrefModes, Default: "primary", Doc: "read preference mode, applied by server selection (not sent to standalones)"},
			{Key: KeyMaxStaleness, Default: "", Doc: "maxStalenessSeconds (≥ 90, seconds or Go duration), non-primary preferences only"},
			{Key: KeyTags, Default: "", Doc: "read preference tag sets: k:v,k:v per set, sets separated by ';', non-primary preferences only"},
			{Key: KeyCausal, Values: []string{"false", "true"}, Default: "false", Doc: "one causally consistent mongo session per worker; not with available/linearizable; guarantees hold across failover only with w=majority + read_concern=majority"},
		},
		Options: declare(&Options{}).Options(),
		Ops:     []string{"read", "write", "insert", "scan", "rmw", "cas"},
	}
}

// ValidateLevels reports the first problem with l (see ParseLevels).
func (*Driver) ValidateLevels(l drivers.Levels) error {
	_, err := ParseLevels(l)
	return err
}

// Open connects to the deployment in cfg and checks that some member
// answers a ping within cfg.DialTimeout (default 10s); failure wraps
// drivers.ErrUnreachable. cfg.Endpoints are host:port seeds (members
// addressed as the client should dial them, e.g. through proxies) or one
// mongodb:// URI. The returned drivers.Client is a *Client.
func (d *Driver) Open(ctx context.Context, cfg drivers.Config) (drivers.Client, error) {
	opts, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	if err := drivers.CheckConfig(d, drivers.Config{Endpoints: cfg.Endpoints}); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, cfg: cfg, topoChanged: make(chan struct{}), sessions: map[*session]struct{}{}}
	ctl, err := c.clientOptions("")
	if err != nil {
		return nil, fmt.Errorf("mongodb: open: %w", err)
	}
	// The control client (topology, schema) is not on the measured path.
	ctl.SetServerMonitor(&event.ServerMonitor{TopologyDescriptionChanged: c.topologyChanged}).SetMaxPoolSize(4)
	c.control, err = mongo.Connect(ctl)
	if err != nil {
		return nil, fmt.Errorf("mongodb: open: %w", err)
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := c.control.Ping(pctx, readpref.Nearest()); err != nil {
		_ = c.control.Disconnect(context.Background())
		return nil, fmt.Errorf("mongodb: open %s: %w: %w", drivers.RedactEndpoints(cfg.Endpoints), drivers.ErrUnreachable, classify("ping", err))
	}
	return c, nil
}

// clientOptions builds the options of one mongo client: the deployment in
// c.cfg, or with pin != "" a direct connection to that one member.
func (c *Client) clientOptions(pin string) (*options.ClientOptions, error) {
	cfg, o := c.cfg, c.opts
	co := options.Client()
	switch {
	case len(cfg.Endpoints) == 0:
		return nil, errors.New("no endpoints")
	case len(cfg.Endpoints) == 1 && strings.Contains(cfg.Endpoints[0], "://"):
		if err := co.ApplyURI(cfg.Endpoints[0]).Validate(); err != nil {
			return nil, fmt.Errorf("endpoint URI: %w", err)
		}
	default:
		for _, e := range cfg.Endpoints {
			if strings.Contains(e, "://") {
				return nil, fmt.Errorf("endpoint %q: give either one mongodb:// URI or host:port seeds", e)
			}
		}
		co.SetHosts(cfg.Endpoints)
	}
	switch {
	case pin != "":
		co.SetHosts([]string{pin}).SetDirect(true)
	case o.Direct:
		if len(co.Hosts) != 1 {
			return nil, fmt.Errorf("option direct=true needs exactly one endpoint, got %d", len(co.Hosts))
		}
		co.SetDirect(true)
	}
	if o.ReplicaSet != "" {
		co.SetReplicaSet(o.ReplicaSet)
	}
	if cfg.Credentials.Username != "" {
		co.SetAuth(options.Credential{Username: cfg.Credentials.Username, Password: cfg.Credentials.Password})
	}
	if cfg.DialTimeout > 0 {
		co.SetConnectTimeout(cfg.DialTimeout)
	}
	co.SetAppName("pacbench").
		SetRetryReads(o.RetryReads).
		SetRetryWrites(o.RetryWrites).
		SetServerSelectionTimeout(o.ServerSelectionTimeout).
		SetMaxPoolSize(uint64(o.PoolSize)).
		SetMonitor(commandMonitor())
	return co, nil
}

// Client is an open MongoDB deployment. Safe for concurrent use.
type Client struct {
	opts    Options
	cfg     drivers.Config // as given to Open; read-only
	control *mongo.Client

	mu          sync.Mutex
	topo        event.TopologyDescription
	topoChanged chan struct{} // closed and replaced on every topology change
	sessions    map[*session]struct{}
	closed      bool
}

func (c *Client) topologyChanged(e *event.TopologyDescriptionChangedEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topo = e.NewDescription
	close(c.topoChanged)
	c.topoChanged = make(chan struct{})
}

// Options returns the parsed system options.
func (c *Client) Options() Options { return c.opts }

// Prepare creates the collection if it does not exist. Idempotent.
func (c *Client) Prepare(ctx context.Context) error {
	db := c.control.Database(c.opts.Database)
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: c.opts.Collection}})
	if err != nil {
		return classify("prepare: list collections", err)
	}
	if slices.Contains(names, c.opts.Collection) {
		return nil
	}
	err = db.CreateCollection(ctx, c.opts.Collection)
	var ce mongo.CommandError
	if errors.As(err, &ce) && ce.Code == 48 { // NamespaceExists: created concurrently
		return nil
	}
	return classify("prepare: create collection", err)
}

// Topology returns the members as the driver's server discovery sees them:
// Role "primary" (replica-set primary, standalone or mongos), "secondary",
// or "node" (arbiter, unknown, unreachable). It waits (at most until ctx's
// deadline or 5s) for a primary and every member's first heartbeat.
func (c *Client) Topology(ctx context.Context) ([]drivers.Member, error) {
	ctx, cancel := context.WithTimeout(ctx, topologyWait)
	defer cancel()
	for {
		c.mu.Lock()
		topo, changed := c.topo, c.topoChanged
		c.mu.Unlock()
		if settled(topo) {
			return members(topo), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			if ms := members(topo); len(ms) > 0 {
				return ms, nil
			}
			return nil, classify("topology", ctx.Err())
		}
	}
}

// settled: a writable member is known and no member is still unknown.
func settled(t event.TopologyDescription) bool {
	primary := false
	for _, s := range t.Servers {
		switch s.Kind {
		case "Unknown":
			return false
		case "RSPrimary", "Standalone", "Mongos":
			primary = true
		}
	}
	return primary
}

func members(t event.TopologyDescription) []drivers.Member {
	out := make([]drivers.Member, 0, len(t.Servers))
	for _, s := range t.Servers {
		role := "node"
		switch s.Kind {
		case "RSPrimary", "Standalone", "Mongos":
			role = "primary"
		case "RSSecondary":
			role = "secondary"
		}
		addr := s.Addr.String()
		out = append(out, drivers.Member{Name: addr, Endpoint: addr, Role: role})
	}
	slices.SortFunc(out, func(a, b drivers.Member) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Close disconnects the control client and every session's clients.
// Idempotent: a second Close does nothing and returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	ss := make([]*session, 0, len(c.sessions))
	for s := range c.sessions {
		ss = append(ss, s)
	}
	c.mu.Unlock()
	var errs []error
	for _, s := range ss {
		errs = append(errs, s.Close())
	}
	errs = append(errs, c.control.Disconnect(context.Background()))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mongodb: close: %w", err)
	}
	return nil
}
