// Package cassandra is the pacbench driver for Apache Cassandra, built on
// github.com/apache/cassandra-gocql-driver/v2.
//
// Levels (in Cassandra's words): "read" (ONE TWO THREE QUORUM ALL LOCAL_ONE
// LOCAL_QUORUM EACH_QUORUM, and SERIAL/LOCAL_SERIAL linearizable reads),
// "write" (the same without the serial ones, plus ANY) and "serial" (SERIAL,
// LOCAL_SERIAL) for the Paxos phase of a CAS (lightweight transaction).
//
// Data lives in one table, <keyspace>.kv (k text PRIMARY KEY, v blob); the
// value bytes the runner writes (staleness header plus padding) are stored
// as they are.
//
// Routing: a session whose ReadEndpoints (WriteEndpoints) name hosts uses
// only those hosts as coordinators of its reads (writes), in rotation; a
// session without them uses token-aware routing (shuffled replicas, round
// robin or DC-aware fallback). Retries of failed ops are off by default and
// speculative execution is opt-in (options "retries", "speculative"); the
// one exception is an idempotent op (read, write, scan) whose coordinator
// connection was lost before any answer: it goes to the next host the
// routing offers (the Java driver's default for aborted requests), so a
// token-aware session routes around a host whose connection was lost,
// while a session pinned to that host fails as unavailable. The client ignores
// the cluster's node UP/DOWN events (the gossip view of the node holding its
// control connection): a host is down for a client only when the client's
// own connections to it fail, so a partition between replicas is measured
// as Cassandra answers it, not as a driver-side outage.
//
// The Driver is stateless, a Client is safe for concurrent use, a session
// belongs to one worker goroutine.
package cassandra

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Name is the driver's registry name.
const Name = "cassandra"

// defaultPort is the CQL native port of a contact point given without one.
const defaultPort = 9042

// Table is the name of the table holding the benchmark's keys.
const Table = "kv"

// reconnectInterval is how often gocql retries hosts it marked down, so a
// healed node serves again within a phase.
const reconnectInterval = 2 * time.Second

// Driver is the Cassandra driver. Stateless; safe for concurrent use.
type Driver struct{}

var (
	_ drivers.Driver           = (*Driver)(nil)
	_ drivers.ConfigChecker    = (*Driver)(nil)
	_ drivers.ClientTimestamps = (*Driver)(nil)
)

// New returns the driver.
func New() *Driver { return &Driver{} }

// Name returns "cassandra".
func (*Driver) Name() string { return Name }

// Info describes levels, options and supported ops.
func (*Driver) Info() drivers.Info {
	return drivers.Info{
		Name:        Name,
		Description: "Apache Cassandra (gocql v2): tunable read/write consistency levels, LWT compare-and-set",
		Levels: []drivers.LevelDim{
			{Key: KeyRead, Values: readLevels, Default: DefaultRead, Doc: "consistency level of reads and scans (SERIAL/LOCAL_SERIAL: linearizable Paxos reads)"},
			{Key: KeyWrite, Values: writeLevels, Default: DefaultWrite, Doc: "consistency level of writes and of the commit phase of CAS"},
			{Key: KeySerial, Values: serialLevels, Default: DefaultSerial, Doc: "serial consistency level of the Paxos phase of CAS (LWT)"},
		},
		Options: declare(&Options{}).Options(),
		Ops:     []string{op.Read.String(), op.Write.String(), op.Insert.String(), op.Scan.String(), op.RMW.String(), op.CAS.String()},
	}
}

// CheckOptions implements drivers.ConfigChecker (see ParseOptions).
func (*Driver) CheckOptions(opts map[string]string) error {
	_, err := ParseOptions(opts)
	return err
}

// CheckEndpoints implements drivers.ConfigChecker: each endpoint is a
// contact point "host" or "host:port" (port 9042 when omitted).
func (*Driver) CheckEndpoints(eps []string) error {
	return drivers.EachEndpoint(Name, eps, func(ep string) error {
		_, _, err := drivers.SplitHostPort(ep, defaultPort)
		return err
	})
}

// ClientTimestamps implements drivers.ClientTimestamps: sessions stamp
// their writes with the client's clock unless option timestamps is
// server.
func (*Driver) ClientTimestamps(opts map[string]string) error {
	o, err := ParseOptions(opts)
	if err != nil {
		return nil // the options' own problems are reported at their keys
	}
	if o.Timestamps == TimestampsServer {
		return fmt.Errorf("option %s is %s: the coordinators stamp the writes", OptTimestamps, TimestampsServer)
	}
	return nil
}

// ValidateLevels reports the first problem with l (see ParseLevels).
func (*Driver) ValidateLevels(l drivers.Levels) error {
	_, err := ParseLevels(l)
	return err
}

// Open connects to the cluster at cfg.Endpoints ("host:port" or "host",
// port 9042) and discovers the other hosts from system.local and
// system.peers. A failure to reach any host wraps drivers.ErrUnreachable.
func (*Driver) Open(ctx context.Context, cfg drivers.Config) (drivers.Client, error) {
	return Open(ctx, cfg)
}

// Open is Driver.Open returning the concrete client.
func Open(ctx context.Context, cfg drivers.Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("cassandra: open: no endpoints")
	}
	opts, err := ParseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	if err := drivers.CheckConfig(New(), drivers.Config{Endpoints: cfg.Endpoints}); err != nil {
		return nil, err
	}
	cc := gocql.NewCluster(cfg.Endpoints...)
	cc.NumConns = opts.PoolSize
	cc.ProtoVersion = opts.ProtocolVersion
	cc.ConnectTimeout = opts.ConnectTimeout
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = cfg.DialTimeout
	}
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = DefaultConnectTimeout
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < cc.ConnectTimeout {
		cc.ConnectTimeout = max(time.Until(d), time.Millisecond)
	}
	cc.ReconnectInterval = reconnectInterval
	// Client-side timestamps (gocql's default) unless the coordinators are
	// to stamp writes from their own clocks.
	cc.DefaultTimestamp = opts.Timestamps != TimestampsServer
	// Node UP/DOWN events carry the gossip view of whichever node holds the
	// control connection: in a partition, the cut-off node reports every
	// other node DOWN and gocql would drop their pools, a client-side
	// outage that Cassandra never caused. Hosts are marked down only when
	// the client's own connections to them fail, and retried every
	// reconnectInterval.
	cc.Events.DisableNodeStatusEvents = true
	cc.RetryPolicy = rerouteAborted{}
	if opts.Retries > 0 {
		cc.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: opts.Retries}
	}
	fallback := gocql.RoundRobinHostPolicy()
	if opts.LocalDC != "" {
		fallback = gocql.DCAwareRoundRobinPolicy(opts.LocalDC)
	}
	cc.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(fallback, gocql.ShuffleReplicas())
	if cfg.Credentials.Username != "" {
		cc.Authenticator = gocql.PasswordAuthenticator{Username: cfg.Credentials.Username, Password: cfg.Credentials.Password}
	}
	// gocql's session set-up takes no context: run it aside so ctx bounds it.
	type result struct {
		s   *gocql.Session
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := cc.CreateSession()
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("cassandra: open %s: %w: %w", drivers.RedactEndpoints(cfg.Endpoints), drivers.ErrUnreachable, r.err)
		}
		c := &Client{s: r.s, opts: opts}
		if opts.SpeculativeAttempts > 0 {
			c.spec = &gocql.SimpleSpeculativeExecution{NumAttempts: opts.SpeculativeAttempts, TimeoutDelay: opts.SpeculativeDelay}
		}
		c.prepareStatements()
		return c, nil
	case <-ctx.Done():
		go func() {
			if r := <-done; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, fmt.Errorf("cassandra: open %s: %w: %w", drivers.RedactEndpoints(cfg.Endpoints), drivers.ErrUnreachable, ctx.Err())
	}
}

// Client is a connection pool to one Cassandra cluster; safe for concurrent
// use. Its sessions share the pool.
type Client struct {
	s    *gocql.Session
	opts Options
	spec gocql.SpeculativeExecutionPolicy // nil: off

	// CQL statements, built once from the keyspace name.
	qRead, qWrite, qInsertIfAbsent, qUpdateIf, qScan string
}

var (
	_ drivers.Client     = (*Client)(nil)
	_ drivers.Preparer   = (*Client)(nil)
	_ drivers.Topologist = (*Client)(nil)
)

func (c *Client) prepareStatements() {
	t := c.opts.Keyspace + "." + Table
	c.qRead = "SELECT v FROM " + t + " WHERE k = ?"
	c.qWrite = "INSERT INTO " + t + " (k, v) VALUES (?, ?)"
	c.qInsertIfAbsent = "INSERT INTO " + t + " (k, v) VALUES (?, ?) IF NOT EXISTS"
	c.qUpdateIf = "UPDATE " + t + " SET v = ? WHERE k = ? IF v = ?"
	c.qScan = "SELECT k FROM " + t + " WHERE token(k) >= token(?) LIMIT ?"
}

// Options returns the parsed options the client runs with.
func (c *Client) Options() Options { return c.opts }

// Prepare creates the keyspace (SimpleStrategy, or NetworkTopologyStrategy
// in LocalDC, at ReplicationFactor; an existing keyspace with another
// replication is altered to it) and the kv table. Idempotent. Schema
// changes wait for schema agreement, so every host must be up.
func (c *Client) Prepare(ctx context.Context) error {
	repl := c.replication()
	ks := c.opts.Keyspace
	if err := c.s.Query("CREATE KEYSPACE IF NOT EXISTS " + ks + " WITH replication = " + repl).ExecContext(ctx); err != nil {
		return fmt.Errorf("cassandra: prepare: create keyspace %s: %w", ks, classify(err))
	}
	var cur map[string]string
	if err := c.s.Query("SELECT replication FROM system_schema.keyspaces WHERE keyspace_name = ?", ks).
		Consistency(gocql.One).ScanContext(ctx, &cur); err != nil {
		return fmt.Errorf("cassandra: prepare: read replication of %s: %w", ks, classify(err))
	}
	if !sameReplication(cur, c.replicationMap()) {
		if err := c.s.Query("ALTER KEYSPACE " + ks + " WITH replication = " + repl).ExecContext(ctx); err != nil {
			return fmt.Errorf("cassandra: prepare: alter keyspace %s: %w", ks, classify(err))
		}
	}
	if err := c.s.Query("CREATE TABLE IF NOT EXISTS " + ks + "." + Table + " (k text PRIMARY KEY, v blob)").ExecContext(ctx); err != nil {
		return fmt.Errorf("cassandra: prepare: create table %s.%s: %w", ks, Table, classify(err))
	}
	return nil
}

// replicationMap is the keyspace replication the options ask for, as
// system_schema.keyspaces shows it.
func (c *Client) replicationMap() map[string]string {
	rf := strconv.Itoa(c.opts.ReplicationFactor)
	if c.opts.LocalDC != "" {
		return map[string]string{"class": "org.apache.cassandra.locator.NetworkTopologyStrategy", c.opts.LocalDC: rf}
	}
	return map[string]string{"class": "org.apache.cassandra.locator.SimpleStrategy", "replication_factor": rf}
}

// replication renders replicationMap as a CQL map literal.
func (c *Client) replication() string {
	rf := strconv.Itoa(c.opts.ReplicationFactor)
	if c.opts.LocalDC != "" {
		return "{'class': 'NetworkTopologyStrategy', '" + strings.ReplaceAll(c.opts.LocalDC, "'", "''") + "': " + rf + "}"
	}
	return "{'class': 'SimpleStrategy', 'replication_factor': " + rf + "}"
}

func sameReplication(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// Topology lists the hosts the driver discovered from system.local and
// system.peers: Name is the host's broadcast (peer) address, Endpoint its
// client address "rpc_address:port", Role "node".
func (c *Client) Topology(ctx context.Context) ([]drivers.Member, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cassandra: topology: %w", err)
	}
	hosts := c.s.GetHosts()
	out := make([]drivers.Member, 0, len(hosts))
	for _, h := range hosts {
		name := h.BroadcastAddress()
		if name == nil {
			name = h.ConnectAddress()
		}
		out = append(out, drivers.Member{Name: name.String(), Endpoint: h.ConnectAddressAndPort(), Role: "node"})
	}
	if len(out) == 0 {
		return nil, op.Classify(op.Unavailable, fmt.Errorf("cassandra: topology: %w", gocql.ErrNoConnections))
	}
	return out, nil
}

// Close closes every connection of the client and its sessions.
func (c *Client) Close() error {
	c.s.Close()
	return nil
}

// Session returns a session at cfg.Levels routing as cfg says. Pinned
// endpoints are matched against the discovered hosts by address (and port,
// when given); one that matches no host wraps ErrUnknownHost.
func (c *Client) Session(ctx context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	lv, err := ParseLevels(cfg.Levels)
	if err != nil {
		return nil, err
	}
	reads, err := c.hostIDs(ctx, cfg.ReadEndpoints)
	if err != nil {
		return nil, fmt.Errorf("cassandra: session %d: read route: %w", cfg.ID, err)
	}
	writes, err := c.hostIDs(ctx, cfg.WriteEndpoints)
	if err != nil {
		return nil, fmt.Errorf("cassandra: session %d: write route: %w", cfg.ID, err)
	}
	return &session{c: c, lv: lv, reads: route{ids: reads}, writes: route{ids: writes}}, nil
}

// hostIDs resolves endpoints to gocql host IDs.
func (c *Client) hostIDs(ctx context.Context, endpoints []string) ([]string, error) {
	if len(endpoints) == 0 {
		return nil, nil
	}
	hosts := c.s.GetHosts()
	ids := make([]string, 0, len(endpoints))
	for _, ep := range endpoints {
		h, err := matchHost(ctx, hosts, ep)
		if err != nil {
			return nil, err
		}
		ids = append(ids, h.HostID())
	}
	return ids, nil
}

// matchHost finds the host whose client address is ep ("host:port",
// "host", or a URL-ish "cassandra://host:port").
func matchHost(ctx context.Context, hosts []*gocql.HostInfo, ep string) (*gocql.HostInfo, error) {
	raw := ep
	if i := strings.Index(ep, "://"); i >= 0 {
		ep = ep[i+3:]
	}
	host, portStr, err := net.SplitHostPort(ep)
	port := 0
	if err != nil {
		host = ep
	} else if port, err = strconv.Atoi(portStr); err != nil {
		return nil, fmt.Errorf("%w: %q: bad port", ErrUnknownHost, raw)
	}
	var ips []net.IP
	if ip := net.ParseIP(host); ip != nil {
		ips = []net.IP{ip}
	} else {
		addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrUnknownHost, raw, err)
		}
		for _, a := range addrs {
			ips = append(ips, a.IP)
		}
	}
	known := make([]string, 0, len(hosts))
	for _, h := range hosts {
		known = append(known, h.ConnectAddressAndPort())
		if port != 0 && h.Port() != port {
			continue
		}
		for _, ip := range ips {
			if h.ConnectAddress().Equal(ip) {
				return h, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: %q (known: %s)", ErrUnknownHost, raw, strings.Join(known, ", "))
}

// route is a session's coordinator choice for one op direction: empty ids
// means token-aware routing, otherwise the ids are used in rotation.
type route struct {
	ids  []string
	next int
}

// pick returns the host ID for the next op ("" = driver routing).
func (r *route) pick() string {
	if len(r.ids) == 0 {
		return ""
	}
	id := r.ids[r.next%len(r.ids)]
	r.next++
	return id
}

// session is one worker's view; not safe for concurrent use.
type session struct {
	c      *Client
	lv     Levels
	reads  route
	writes route
	now    func() time.Time // stamps plain writes when set (StampWrites)
}

// StampWrites implements drivers.ClientTimestamper: every plain write
// carries now's time as its timestamp (microseconds, what last-write-wins
// compares). CAS keeps Paxos' own ballot timestamps.
func (s *session) StampWrites(now func() time.Time) { s.now = now }

var (
	_ drivers.Session           = (*session)(nil)
	_ drivers.CASer             = (*session)(nil)
	_ drivers.Scanner           = (*session)(nil)
	_ drivers.ClientTimestamper = (*session)(nil)
)

// query builds a query at consistency cl routed to host ("" = token-aware).
func (s *session) query(stmt string, cl gocql.Consistency, host string, idempotent bool, args ...any) *gocql.Query {
	q := s.c.s.Query(stmt, args...).Consistency(cl).Idempotent(idempotent)
	if host != "" {
		q.SetHostID(host)
	} else if s.c.spec != nil && idempotent {
		q.SetSpeculativeExecutionPolicy(s.c.spec)
	}
	return q
}

// Read reads key at the read CL. A missing key is Value{Found: false} and
// no error; Version names the bytes read; Server is the coordinator's
// client address.
func (s *session) Read(ctx context.Context, key string) (drivers.Value, error) {
	iter := s.query(s.c.qRead, s.lv.Read, s.reads.pick(), true, key).IterContext(ctx)
	var data []byte
	found := iter.Scan(&data)
	var server string
	if h := iter.Host(); h != nil {
		server = h.ConnectAddressAndPort()
	}
	if err := iter.Close(); err != nil {
		return drivers.Value{Server: server}, fmt.Errorf("cassandra: read %q: %w", key, classifyOp(ctx, err))
	}
	if !found {
		return drivers.Value{Server: server}, nil
	}
	return drivers.Value{Data: data, Found: true, Version: drivers.BytesVersion(data), Server: server}, nil
}

// Write upserts key at the write CL.
func (s *session) Write(ctx context.Context, key string, value []byte) error {
	q := s.query(s.c.qWrite, s.lv.Write, s.writes.pick(), true, key, value)
	if s.now != nil {
		q.WithTimestamp(s.now().UnixMicro())
	}
	if err := q.ExecContext(ctx); err != nil {
		return fmt.Errorf("cassandra: write %q: %w", key, classifyOp(ctx, err))
	}
	return nil
}

// CAS sets key to next if it still holds the bytes expect names (the
// Version a Read returned; the zero Version: if the key is absent), as a
// lightweight transaction: Paxos at the serial CL, commit at the write CL,
// routed like writes. Not applied → (false, nil). A Paxos timeout is
// write_timeout (the outcome is unknown).
func (s *session) CAS(ctx context.Context, key string, expect drivers.Version, next []byte) (bool, error) {
	var q *gocql.Query
	if expect.Absent() {
		q = s.query(s.c.qInsertIfAbsent, s.lv.Write, s.writes.pick(), false, key, next)
	} else {
		prev, ok := expect.Bytes()
		if !ok {
			return false, op.Errorf(op.Other, "cassandra: cas %q: %w: not a version a cassandra read returned", key, drivers.ErrUnsupported)
		}
		q = s.query(s.c.qUpdateIf, s.lv.Write, s.writes.pick(), false, next, key, prev)
	}
	applied, err := q.SerialConsistency(s.lv.Serial).MapScanCASContext(ctx, map[string]any{})
	if err != nil {
		return false, fmt.Errorf("cassandra: cas %q: %w", key, classifyOp(ctx, err))
	}
	return applied, nil
}

// Scan reads up to n keys in token order (Cassandra's key order under
// Murmur3) starting at start's token, at the read CL; it returns how many
// it read.
func (s *session) Scan(ctx context.Context, start string, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	iter := s.query(s.c.qScan, s.lv.Read, s.reads.pick(), true, start, n).PageSize(n).IterContext(ctx)
	count := 0
	var k string
	for iter.Scan(&k) {
		count++
	}
	if err := iter.Close(); err != nil {
		return count, fmt.Errorf("cassandra: scan from %q: %w", start, classifyOp(ctx, err))
	}
	return count, nil
}

// Close releases nothing: sessions share the client's pool.
func (s *session) Close() error { return nil }
