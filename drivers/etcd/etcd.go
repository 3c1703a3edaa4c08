// Package etcd is the pacbench driver for etcd v3 (go.etcd.io/etcd/client/v3).
//
// Levels: "read" is linearizable (default; a ReadIndex round through the
// leader) or serializable (served from the contacted member's local state,
// possibly stale); "write" accepts only "default" because every etcd write
// goes through raft. Sessions may pin reads and writes to different members;
// clients never auto-sync their endpoint list, so a pin holds for the run.
//
// Failure classes: a member that cannot be reached (its connection refused,
// reset or blackholed) fails an op as timeout, at the op's deadline: the
// etcd client retries the member until then, and a pinned session has no
// other member to try. Leader loss and server-side refusals are
// unavailable, server request timeouts timeout (see ClassOf).
package etcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Level values.
const (
	Linearizable = "linearizable"
	Serializable = "serializable"
	WriteDefault = "default"
)

// Option keys and defaults.
const (
	OptDialTimeout     = "dial_timeout"
	OptPool            = "pool"
	DefaultDialTimeout = 5 * time.Second
	DefaultPool        = 1
)

// Driver is the "etcd" driver. Stateless; safe for concurrent use.
type Driver struct{}

// Compile-time capability checks.
var (
	_ drivers.Driver     = (*Driver)(nil)
	_ drivers.Client     = (*Client)(nil)
	_ drivers.Topologist = (*Client)(nil)
	_ drivers.Session    = (*Session)(nil)
	_ drivers.Scanner    = (*Session)(nil)
	_ drivers.CASer      = (*Session)(nil)

	_ drivers.ConfigChecker = (*Driver)(nil)
)

// New returns the etcd driver.
func New() *Driver { return &Driver{} }

// Name returns "etcd".
func (*Driver) Name() string { return "etcd" }

// Info describes the levels and options.
func (*Driver) Info() drivers.Info {
	return drivers.Info{
		Name:        "etcd",
		Description: "etcd v3 key-value store (raft); reads linearizable or serializable, writes through raft",
		Levels: []drivers.LevelDim{
			{Key: "read", Values: []string{Linearizable, Serializable}, Default: Linearizable,
				Doc: "linearizable: ReadIndex round through the leader; serializable: the contacted member's local state (may be stale)"},
			{Key: "write", Values: []string{WriteDefault}, Default: WriteDefault,
				Doc: "etcd writes always commit through raft (a quorum); there is no weaker write"},
		},
		Options: declare(&options{}).Options(),
		Ops:     []string{op.Read.String(), op.Write.String(), op.Insert.String(), op.Scan.String(), op.RMW.String(), op.CAS.String()},
	}
}

// ValidateLevels accepts read ∈ {linearizable, serializable, ""} and
// write ∈ {default, ""}; any other key or value wraps drivers.ErrInvalidLevel.
func (*Driver) ValidateLevels(l drivers.Levels) error {
	_, err := parseLevels(l)
	return err
}

// parseLevels returns whether reads are serializable.
func parseLevels(l drivers.Levels) (serializable bool, err error) {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := l[k]
		switch k {
		case "read":
			switch v {
			case "", Linearizable:
			case Serializable:
				serializable = true
			default:
				return false, fmt.Errorf("etcd: %w: read=%q (allowed: %s, %s)", drivers.ErrInvalidLevel, v, Linearizable, Serializable)
			}
		case "write":
			if v != "" && v != WriteDefault {
				return false, fmt.Errorf("etcd: %w: write=%q (allowed: %s; etcd writes always go through raft)", drivers.ErrInvalidLevel, v, WriteDefault)
			}
		default:
			return false, fmt.Errorf("etcd: %w: unknown level key %q=%q (allowed keys: read, write)", drivers.ErrInvalidLevel, k, v)
		}
	}
	return serializable, nil
}

// options are the parsed driver options.
type options struct {
	dialTimeout time.Duration
	pool        int
}

// declare binds the driver's options to o (set to their defaults): the one
// declaration Info documents and parseOptions parses.
func declare(o *options) *drivers.OptionSet {
	s := drivers.NewOptionSet("etcd")
	s.Duration(&o.dialTimeout, OptDialTimeout, DefaultDialTimeout,
		"bound on connecting and on the reachability check at open (default: Config.DialTimeout if set)")
	s.Int(&o.pool, OptPool, DefaultPool, 1, 1024,
		"gRPC clients (connections) per distinct endpoint set, shared round-robin by sessions")
	return s
}

// parseOptions parses cfg.Options; errors are *drivers.OptionError values
// (wrapping drivers.ErrInvalidOption). Config.DialTimeout applies unless
// the dial_timeout option is given.
func parseOptions(cfg drivers.Config) (options, error) {
	var o options
	if err := declare(&o).Parse(cfg.Options); err != nil {
		return options{}, err
	}
	if _, set := cfg.Options[OptDialTimeout]; !set && cfg.DialTimeout > 0 {
		o.dialTimeout = cfg.DialTimeout
	}
	return o, nil
}

// CheckOptions implements drivers.ConfigChecker.
func (*Driver) CheckOptions(opts map[string]string) error {
	return declare(&options{}).Parse(opts)
}

// CheckEndpoints implements drivers.ConfigChecker: each endpoint is
// "host:port" or an http(s) URL "scheme://host:port" with no path.
func (*Driver) CheckEndpoints(eps []string) error {
	return drivers.EachEndpoint("etcd", eps, checkEndpoint)
}

// checkEndpoint checks one client endpoint's syntax.
func checkEndpoint(ep string) error {
	u, err := url.Parse(normalize(ep))
	switch {
	case err != nil:
		return errors.New("want host:port or http(s)://host:port")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("scheme %q: want http or https", u.Scheme)
	case u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return errors.New("want host:port or http(s)://host:port, without path or query")
	}
	_, _, err = drivers.SplitHostPort(u.Host, 0)
	return err
}

// normalize turns "host:port" into "http://host:port"; URLs stay as given.
func normalize(ep string) string {
	if strings.Contains(ep, "://") {
		return ep
	}
	return "http://" + ep
}

func normalizeAll(eps []string) []string {
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = normalize(ep)
	}
	return out
}

// Open connects to the endpoints and checks, within the dial timeout, that
// every one of them answers a Status request; an endpoint that does not is
// reported by name in an error wrapping drivers.ErrUnreachable.
func (d *Driver) Open(ctx context.Context, cfg drivers.Config) (drivers.Client, error) {
	o, err := parseOptions(cfg)
	if err != nil {
		return nil, err
	}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("etcd: open: %w: no endpoints", drivers.ErrUnreachable)
	}
	if err := drivers.CheckConfig(d, drivers.Config{Endpoints: cfg.Endpoints}); err != nil {
		return nil, err
	}
	c := &Client{
		endpoints: normalizeAll(cfg.Endpoints),
		opts:      o,
		creds:     cfg.Credentials,
		pools:     map[string]*pool{},
		servers:   map[uint64]string{},
	}
	if c.admin, err = c.newClient(c.endpoints); err != nil {
		return nil, fmt.Errorf("etcd: open: %w", err)
	}
	sctx, cancel := context.WithTimeout(ctx, o.dialTimeout)
	defer cancel()
	var errs []error
	for _, ep := range c.endpoints {
		st, err := c.admin.Status(sctx, ep)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ep, err))
			continue
		}
		c.servers[st.Header.MemberId] = ep
	}
	if len(errs) > 0 {
		c.admin.Close()
		return nil, fmt.Errorf("etcd: open: %w within %v: %w", drivers.ErrUnreachable, o.dialTimeout, errors.Join(errs...))
	}
	return c, nil
}

// Client is an open etcd deployment: a shared pool of gRPC clients per
// distinct endpoint set. Safe for concurrent use.
type Client struct {
	endpoints []string
	opts      options
	creds     drivers.Credentials
	admin     *clientv3.Client  // all endpoints: status and topology
	servers   map[uint64]string // member id → endpoint (immutable after Open)

	mu     sync.Mutex
	pools  map[string]*pool // by endpoint-set key
	closed bool
}

// pool is a fixed set of clients for one endpoint set, handed out round-robin.
type pool struct {
	clients []*clientv3.Client
	next    int
}

func (c *Client) newClient(eps []string) (*clientv3.Client, error) {
	cc, err := clientv3.New(clientv3.Config{
		Endpoints:   eps,
		DialTimeout: c.opts.dialTimeout,
		Logger:      zap.NewNop(),
		Username:    c.creds.Username,
		Password:    c.creds.Password,
		// AutoSyncInterval stays 0: never replace the endpoint list, so
		// pinned sessions keep talking to the member they were pinned to.
	})
	if err != nil {
		return nil, fmt.Errorf("client for %v: %w", eps, err)
	}
	return cc, nil
}

// clientFor returns the next pooled client for the endpoint set eps (nil or
// empty: every endpoint, spread by the client's balancer).
func (c *Client) clientFor(eps []string) (*clientv3.Client, error) {
	if len(eps) == 0 {
		eps = c.endpoints
	}
	eps = normalizeAll(eps)
	slices.Sort(eps)
	eps = slices.Compact(eps)
	key := strings.Join(eps, ",")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, errors.New("client closed")
	}
	p := c.pools[key]
	if p == nil {
		p = &pool{}
		for range c.opts.pool {
			cc, err := c.newClient(eps)
			if err != nil {
				for _, x := range p.clients {
					x.Close()
				}
				return nil, err
			}
			p.clients = append(p.clients, cc)
		}
		c.pools[key] = p
	}
	cc := p.clients[p.next%len(p.clients)]
	p.next++
	return cc, nil
}

// Session returns a session reading through cfg.ReadEndpoints and writing
// through cfg.WriteEndpoints (empty: all endpoints), at cfg.Levels.
func (c *Client) Session(ctx context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	serializable, err := parseLevels(cfg.Levels)
	if err != nil {
		return nil, err
	}
	rc, err := c.clientFor(cfg.ReadEndpoints)
	if err != nil {
		return nil, fmt.Errorf("etcd: session: %w", err)
	}
	wc, err := c.clientFor(cfg.WriteEndpoints)
	if err != nil {
		return nil, fmt.Errorf("etcd: session: %w", err)
	}
	s := &Session{rc: rc, wc: wc, servers: c.servers}
	if len(cfg.ReadEndpoints) == 1 {
		s.pinned = normalize(cfg.ReadEndpoints[0])
	}
	if serializable {
		s.readOpts = []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return s, nil
}

// Close closes every pooled client. Idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, p := range c.pools {
		for _, cc := range p.clients {
			errs = append(errs, cc.Close())
		}
	}
	errs = append(errs, c.admin.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("etcd: close: %w", err)
	}
	return nil
}

// Topology lists the members with their advertised client URL as Endpoint
// and their role ("leader" or "follower"). The leader is the one reported
// by the member answering Status with the highest raft term, so a member
// cut off from the others does not mislead it.
func (c *Client) Topology(ctx context.Context) ([]drivers.Member, error) {
	ml, err := c.admin.MemberList(ctx, clientv3.WithSerializable())
	if err != nil {
		return nil, classify("member list", err)
	}
	var leader, term uint64
	var last error
	for _, ep := range c.endpoints {
		st, err := c.admin.Status(ctx, ep)
		if err != nil {
			last = err
			continue
		}
		if st.Leader != 0 && st.RaftTerm >= term {
			leader, term = st.Leader, st.RaftTerm
		}
	}
	if leader == 0 {
		return nil, op.Errorf(op.Unavailable, "etcd: topology: no member reports a leader (last error: %v)", last)
	}
	out := make([]drivers.Member, 0, len(ml.Members))
	for _, m := range ml.Members {
		if m.Name == "" || len(m.ClientURLs) == 0 {
			continue // added but not started yet
		}
		role := "follower"
		if m.ID == leader {
			role = "leader"
		}
		out = append(out, drivers.Member{Name: m.Name, Endpoint: m.ClientURLs[0], Role: role})
	}
	return out, nil
}

// Session is one worker's view: a read client and a write client taken from
// the pools. Not safe for concurrent use (the clients underneath are).
type Session struct {
	rc, wc   *clientv3.Client
	readOpts []clientv3.OpOption
	pinned   string            // the read endpoint when reads are pinned to one
	servers  map[uint64]string // member id → endpoint, read-only
}

// Read gets key at the session's read level. A missing key is Found=false
// with a nil error. Version is the key's mod revision. Server is the pinned
// read endpoint, or the endpoint of the member that answered.
func (s *Session) Read(ctx context.Context, key string) (drivers.Value, error) {
	resp, err := s.rc.Get(ctx, key, s.readOpts...)
	if err != nil {
		return drivers.Value{}, classify("read", err)
	}
	v := drivers.Value{Server: s.pinned}
	if v.Server == "" && resp.Header != nil {
		v.Server = s.servers[resp.Header.MemberId]
	}
	if len(resp.Kvs) > 0 {
		kv := resp.Kvs[0]
		v.Data, v.Found, v.Version = kv.Value, true, drivers.RevisionVersion(kv.ModRevision)
	}
	return v, nil
}

// Write puts value under key (always through raft).
func (s *Session) Write(ctx context.Context, key string, value []byte) error {
	_, err := s.wc.Put(ctx, key, string(value))
	return classify("write", err)
}

// Scan reads up to n keys in key order from start, at the read level, and
// returns how many it read.
func (s *Session) Scan(ctx context.Context, start string, n int) (int, error) {
	if n <= 0 {
		return 0, nil // etcd's limit 0 means no limit
	}
	opts := make([]clientv3.OpOption, 0, 3)
	opts = append(opts, clientv3.WithFromKey(), clientv3.WithLimit(int64(n)))
	opts = append(opts, s.readOpts...)
	resp, err := s.rc.Get(ctx, start, opts...)
	if err != nil {
		return 0, classify("scan", err)
	}
	return len(resp.Kvs), nil
}

// CAS puts next under key in one transaction if the key's mod revision is
// still the one expect names (the revision a Read returned; the zero
// Version: if the key does not exist). Comparing revisions, not values,
// also refuses a key rewritten with the same bytes. A failed comparison is
// swapped=false with a nil error.
func (s *Session) CAS(ctx context.Context, key string, expect drivers.Version, next []byte) (bool, error) {
	cmp := clientv3.Compare(clientv3.CreateRevision(key), "=", 0)
	if !expect.Absent() {
		rev, ok := expect.Revision()
		if !ok {
			return false, op.Errorf(op.Other, "etcd: cas: %w: not a version an etcd read returned", drivers.ErrUnsupported)
		}
		cmp = clientv3.Compare(clientv3.ModRevision(key), "=", rev)
	}
	resp, err := s.wc.Txn(ctx).If(cmp).Then(clientv3.OpPut(key, string(next))).Commit()
	if err != nil {
		return false, classify("cas", err)
	}
	return resp.Succeeded, nil
}

// Close does nothing: the clients belong to the Client's pools.
func (s *Session) Close() error { return nil }

// classify wraps err with its op.Class (nil stays nil).
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	return op.Classify(ClassOf(err), fmt.Errorf("etcd: %s: %w", what, err))
}

// ClassOf maps an etcd client error to an outcome class: deadlines and
// server request timeouts → Timeout; no leader, leader changed, not capable,
// stopped, gRPC Unavailable, connection refused → Unavailable; anything
// else → Other.
func ClassOf(err error) op.Class {
	if err == nil {
		return op.OK
	}
	for _, e := range []error{rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail,
		rpctypes.ErrTimeoutDueToConnectionLost, rpctypes.ErrTimeoutWaitAppliedIndex} {
		if errors.Is(err, e) {
			return op.Timeout
		}
	}
	for _, e := range []error{rpctypes.ErrNoLeader, rpctypes.ErrNotLeader, rpctypes.ErrLeaderChanged,
		rpctypes.ErrNotCapable, rpctypes.ErrStopped, rpctypes.ErrUnhealthy, rpctypes.ErrTooManyRequests} {
		if errors.Is(err, e) {
			return op.Unavailable
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return op.Timeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return op.Unavailable
	}
	if st, ok := status.FromError(err); ok {
		switch st.Code() {
		case codes.DeadlineExceeded:
			return op.Timeout
		case codes.Unavailable:
			return op.Unavailable
		}
	}
	if strings.Contains(err.Error(), "connection refused") {
		return op.Unavailable
	}
	return op.Other
}

// DescribeLevels implements drivers.LevelDescriber.
func (*Driver) DescribeLevels(l drivers.Levels) (read, write string) {
	read = l["read"]
	if read == "" {
		read = Linearizable
	}
	return read + " range read", "put committed through raft (quorum)"
}

var _ drivers.LevelDescriber = (*Driver)(nil)

// AuditLevels implements drivers.Auditor: linearizable reads (a ReadIndex
// round through the leader), whatever the scenario read at.
func (*Driver) AuditLevels(drivers.Levels, bool) drivers.Levels {
	return drivers.Levels{"read": Linearizable, "write": WriteDefault}
}

// ReplicaLevels implements drivers.Auditor: serializable reads, served by
// the member a session is pinned to from its own state.
func (*Driver) ReplicaLevels(drivers.Levels) drivers.Levels {
	return drivers.Levels{"read": Serializable, "write": WriteDefault}
}

var _ drivers.Auditor = (*Driver)(nil)
