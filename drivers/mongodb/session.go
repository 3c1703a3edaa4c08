package mongodb

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// LinearizableMaxTime is the deadline given to a linearizable read whose
// context has none, so that maxTimeMS is always sent with it (MongoDB's
// advice: a linearizable read with no majority reachable waits forever).
// Normally the runner's per-op timeout supplies the deadline.
const LinearizableMaxTime = 10 * time.Second

// Document field names.
const (
	fieldID    = "_id"
	fieldValue = "v"
)

var (
	_ drivers.Session  = (*session)(nil)
	_ drivers.Scanner  = (*session)(nil)
	_ drivers.Inserter = (*session)(nil)
	_ drivers.CASer    = (*session)(nil)
)

// route is one mongo client a session sends ops through: the default
// (discovery, read preference) or one member pinned by a direct connection.
type route struct {
	endpoint string // "" for the default route
	mc       *mongo.Client
	db       *mongo.Database
	coll     *mongo.Collection // carries the levels' concerns and preference
	ms       *mongo.Session    // causally consistent session, or nil
}

// session is one worker's view of the database. Not safe for concurrent
// use, except that Close may race with Client.Close.
type session struct {
	c      *Client
	lv     Levels
	rp     *readpref.ReadPref // what server selection gets for reads
	wcDoc  bson.D             // raw write concern, when lv.WTimeout > 0
	read   *route
	write  *route
	routes []*route

	findOne *options.FindOneOptionsBuilder
	upsert  *options.ReplaceOptionsBuilder // replace, upserting
	replace *options.ReplaceOptionsBuilder // replace only a match

	closeOnce sync.Once
	closeErr  error
}

// Session returns a session at cfg.Levels. Reads go to the member the read
// preference selects, or, with cfg.ReadEndpoints, over a direct connection
// to that one member (the preference is then moot: the driver talks to
// that member only). Writes likewise with cfg.WriteEndpoints. Each route
// gets its own mongo client and, with causal=true, its own causally
// consistent mongo session; the two sessions' cluster and operation times
// are exchanged after every op so causality holds across routes. The
// session connects before returning (a ping on each route), so the first
// measured op pays no handshake.
func (c *Client) Session(ctx context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	lv, err := ParseLevels(cfg.Levels)
	if err != nil {
		return nil, fmt.Errorf("mongodb: session: %w", err)
	}
	if lv.WTimeout > 0 && c.opts.RetryWrites {
		return nil, fmt.Errorf("mongodb: session: %w: retry_writes=true with wtimeout: mongo-driver v2 cannot send wtimeout, so such writes go as raw commands, which the driver never retries", drivers.ErrUnsupported)
	}
	readEP, err := pinnedEndpoint("read", cfg.ReadEndpoints)
	if err != nil {
		return nil, err
	}
	writeEP, err := pinnedEndpoint("write", cfg.WriteEndpoints)
	if err != nil {
		return nil, err
	}
	rp, err := lv.readPref()
	if err != nil {
		return nil, fmt.Errorf("mongodb: session: %w", err)
	}
	s := &session{
		c:       c,
		lv:      lv,
		rp:      rp,
		findOne: options.FindOne().SetProjection(bson.D{{Key: fieldValue, Value: 1}}),
		upsert:  options.Replace().SetUpsert(true),
		replace: options.Replace(),
	}
	if lv.WTimeout > 0 {
		s.wcDoc = lv.writeConcernDoc()
	}
	if err := c.register(s); err != nil {
		return nil, err
	}
	if s.read, err = s.route(readEP, rp); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if s.write, err = s.route(writeEP, rp); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	if err := s.warmUp(ctx, rp); err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

func pinnedEndpoint(what string, eps []string) (string, error) {
	switch len(eps) {
	case 0:
		return "", nil
	case 1:
		return eps[0], nil
	}
	return "", fmt.Errorf("mongodb: session: %w: %s pinned to %d members; MongoDB routes by read preference, pin at most one member", drivers.ErrUnsupported, what, len(eps))
}

func (c *Client) register(s *session) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("mongodb: session: client is closed")
	}
	c.sessions[s] = struct{}{}
	return nil
}

// route returns the session's route to endpoint ("" = default), creating
// its mongo client on first use.
func (s *session) route(endpoint string, rp *readpref.ReadPref) (*route, error) {
	for _, r := range s.routes {
		if r.endpoint == endpoint {
			return r, nil
		}
	}
	co, err := s.c.clientOptions(endpoint)
	if err != nil {
		return nil, fmt.Errorf("mongodb: session: %w", err)
	}
	mc, err := mongo.Connect(co)
	if err != nil {
		return nil, fmt.Errorf("mongodb: session: connect %s: %w", endpoint, err)
	}
	r := &route{endpoint: endpoint, mc: mc, db: mc.Database(s.c.opts.Database)}
	s.routes = append(s.routes, r)
	r.coll = r.db.Collection(s.c.opts.Collection, options.Collection().
		SetReadConcern(s.lv.readConcern()).
		SetReadPreference(rp).
		SetWriteConcern(s.lv.writeConcern()))
	if s.lv.Causal {
		if r.ms, err = mc.StartSession(options.Session().SetCausalConsistency(true)); err != nil {
			return nil, fmt.Errorf("mongodb: session: start causal session: %w", err)
		}
	}
	return r, nil
}

// warmUp opens the connections reads and writes will use.
func (s *session) warmUp(ctx context.Context, rp *readpref.ReadPref) error {
	if err := s.read.mc.Ping(ctx, rp); err != nil {
		return classify("session: connect read route", err)
	}
	if err := s.write.mc.Ping(ctx, readpref.Primary()); err != nil {
		return classify("session: connect write route", err)
	}
	return nil
}

// opContext attaches r's causal session to ctx.
func opContext(ctx context.Context, r *route) context.Context {
	if r.ms != nil {
		return mongo.NewSessionContext(ctx, r.ms)
	}
	return ctx
}

// readContext adds the linearizable default deadline and the causal session.
func (s *session) readContext(ctx context.Context) (context.Context, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if _, ok := ctx.Deadline(); !ok && s.lv.ReadConcern == "linearizable" {
		ctx, cancel = context.WithTimeout(ctx, LinearizableMaxTime)
	}
	return opContext(ctx, s.read), cancel
}

// gossip carries the causal session's cluster and operation time from the
// route just used to the other one, so a read on one member is causally
// after a write acknowledged by another.
func (s *session) gossip(from *route) {
	if from.ms == nil || s.read == s.write {
		return
	}
	to := s.read
	if from == s.read {
		to = s.write
	}
	if ct := from.ms.ClusterTime(); ct != nil {
		_ = to.ms.AdvanceClusterTime(ct)
	}
	if ot := from.ms.OperationTime(); ot != nil {
		_ = to.ms.AdvanceOperationTime(ot)
	}
}

// Read reads key's value. A missing key is Value{Found: false} and no
// error. Value.Server is the member the find command went to (from the
// command monitor), also on errors when the command was sent.
func (s *session) Read(ctx context.Context, key string) (drivers.Value, error) {
	p := &probe{}
	ctx, cancel := s.readContext(context.WithValue(ctx, probeKey{}, p))
	defer cancel()
	raw, err := s.read.coll.FindOne(ctx, bson.D{{Key: fieldID, Value: key}}, s.findOne).Raw()
	s.gossip(s.read)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return drivers.Value{Server: p.server}, nil
	case err != nil:
		return drivers.Value{Server: p.server}, classify("read", err)
	}
	_, data, ok := raw.Lookup(fieldValue).BinaryOK()
	if !ok {
		return drivers.Value{Server: p.server}, op.Errorf(op.Other, "mongodb: read %q: document has no binary %q field", key, fieldValue)
	}
	return drivers.Value{Data: data, Found: true, Version: drivers.BytesVersion(data), Server: p.server}, nil
}

// Write overwrites (or creates) key with value: a replacement upsert, so
// no field of an older value survives.
func (s *session) Write(ctx context.Context, key string, value []byte) error {
	_, err := s.replaceDoc(ctx, bson.D{{Key: fieldID, Value: key}}, document(value), true)
	return classify("write", err)
}

// Insert creates key; an existing key fails with class conflict
// (duplicate key).
func (s *session) Insert(ctx context.Context, key string, value []byte) error {
	return classify("insert", s.insertDoc(ctx, key, value))
}

// CAS replaces key's value by next if it still holds the bytes expect
// names (the Version a Read returned): the filter is {_id, v}. The zero
// Version inserts only if the key is absent. swapped is false with a nil
// error when nothing matched or the key already existed.
func (s *session) CAS(ctx context.Context, key string, expect drivers.Version, next []byte) (bool, error) {
	if expect.Absent() {
		err := s.insertDoc(ctx, key, next)
		if mongo.IsDuplicateKeyError(err) {
			return false, nil
		}
		return err == nil, classify("cas insert", err)
	}
	prev, ok := expect.Bytes()
	if !ok {
		return false, op.Errorf(op.Other, "mongodb: cas %q: %w: not a version a mongodb read returned", key, drivers.ErrUnsupported)
	}
	filter := bson.D{{Key: fieldID, Value: key}, {Key: fieldValue, Value: prev}}
	matched, err := s.replaceDoc(ctx, filter, document(next), false)
	if err != nil {
		return false, classify("cas", err)
	}
	return matched > 0, nil
}

// Scan reads up to n keys in _id order from start (one find, sorted,
// limited, in one batch) and returns how many it read.
func (s *session) Scan(ctx context.Context, start string, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	ctx, cancel := s.readContext(ctx)
	defer cancel()
	opts := options.Find().
		SetSort(bson.D{{Key: fieldID, Value: 1}}).
		SetLimit(int64(n)).
		SetBatchSize(int32(min(n, 1<<20))).
		SetProjection(bson.D{{Key: fieldValue, Value: 1}})
	cur, err := s.read.coll.Find(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$gte", Value: start}}}}, opts)
	if err != nil {
		s.gossip(s.read)
		return 0, classify("scan", err)
	}
	count := 0
	for cur.Next(ctx) {
		count++
	}
	err = errors.Join(cur.Err(), cur.Close(ctx))
	s.gossip(s.read)
	return count, classify("scan", err)
}

// document is the stored form of value: {v: value}, the bytes as they
// are (the driver never interprets them).
func document(value []byte) bson.D {
	return bson.D{{Key: fieldValue, Value: value}}
}

// replaceDoc replaces the document matching filter by doc (upserting if
// asked) and returns how many documents matched or were upserted. With
// wtimeout it sends a raw update command carrying the full write concern.
func (s *session) replaceDoc(ctx context.Context, filter, doc bson.D, upsert bool) (int64, error) {
	ctx = opContext(ctx, s.write)
	defer s.gossip(s.write)
	if s.wcDoc == nil {
		res, err := s.write.coll.ReplaceOne(ctx, filter, doc, s.replaceOpts(upsert))
		if err != nil {
			return 0, err
		}
		return res.MatchedCount + res.UpsertedCount, nil
	}
	var res struct {
		N int64 `bson:"n"`
	}
	err := s.write.db.RunCommand(ctx, bson.D{
		{Key: "update", Value: s.c.opts.Collection},
		{Key: "updates", Value: bson.A{bson.D{{Key: "q", Value: filter}, {Key: "u", Value: doc}, {Key: "upsert", Value: upsert}}}},
		{Key: "writeConcern", Value: s.wcDoc},
	}).Decode(&res)
	return res.N, err
}

func (s *session) replaceOpts(upsert bool) *options.ReplaceOptionsBuilder {
	if upsert {
		return s.upsert
	}
	return s.replace
}

// insertDoc inserts {_id: key, …document(value)}.
func (s *session) insertDoc(ctx context.Context, key string, value []byte) error {
	ctx = opContext(ctx, s.write)
	defer s.gossip(s.write)
	doc := append(bson.D{{Key: fieldID, Value: key}}, document(value)...)
	if s.wcDoc == nil {
		_, err := s.write.coll.InsertOne(ctx, doc)
		return err
	}
	return s.write.db.RunCommand(ctx, bson.D{
		{Key: "insert", Value: s.c.opts.Collection},
		{Key: "documents", Value: bson.A{doc}},
		{Key: "writeConcern", Value: s.wcDoc},
	}).Err()
}

// Close ends the causal sessions and disconnects the session's clients.
// Idempotent; safe to call concurrently with Client.Close.
func (s *session) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var errs []error
		for _, r := range s.routes {
			if r.ms != nil {
				r.ms.EndSession(ctx)
			}
			errs = append(errs, r.mc.Disconnect(ctx))
		}
		s.c.mu.Lock()
		delete(s.c.sessions, s)
		s.c.mu.Unlock()
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("mongodb: session close: %w", err)
		}
	})
	return s.closeErr
}
