package mongodb

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
	"go.mongodb.org/mongo-driver/v2/tag"

	"github.com/pacbench/pacbench/drivers"
)

// Level keys, in MongoDB's own words.
const (
	// KeyW is the write concern's w: "1", "2" (any positive member count) or
	// "majority". Default "1".
	KeyW = "w"
	// KeyJ is the write concern's j: "true" or "false". Default: not sent
	// (the server's default applies).
	KeyJ = "j"
	// KeyWTimeout is the write concern's wtimeout as a Go duration ("500ms",
	// "2s"). Default: not sent.
	KeyWTimeout = "wtimeout"
	// KeyReadConcern is the read concern level: local, available, majority,
	// linearizable, snapshot. Default "local" (sent explicitly).
	KeyReadConcern = "read_concern"
	// KeyReadPreference is the read preference mode: primary,
	// primaryPreferred, secondary, secondaryPreferred, nearest. Default
	// "primary".
	KeyReadPreference = "read_preference"
	// KeyMaxStaleness is maxStalenessSeconds: whole seconds ("90") or a Go
	// duration ("2m"), at least 90 s; only with a non-primary preference.
	KeyMaxStaleness = "max_staleness"
	// KeyTags are read preference tag sets: "k:v,k:v" is one set; sets are
	// separated by ";" and tried in order ("dc:east,rack:1;dc:east").
	KeyTags = "tags"
	// KeyCausal turns causally consistent sessions on ("true") or off
	// ("false", default).
	KeyCausal = "causal"
	// KeyRead and KeyWrite are the generic dimensions every level set may
	// carry (drivers.Levels); for MongoDB they are aliases of read_concern
	// and w.
	KeyRead  = "read"
	KeyWrite = "write"
)

// MinMaxStaleness is the smallest maxStalenessSeconds MongoDB accepts (the
// server-selection spec's floor with default heartbeat settings).
const MinMaxStaleness = 90 * time.Second

// Read concern levels.
var readConcerns = []string{"local", "available", "majority", "linearizable", "snapshot"}

// Read preference modes, in the spelling MongoDB uses.
var readPrefModes = []string{"primary", "primaryPreferred", "secondary", "secondaryPreferred", "nearest"}

// Levels is a parsed, validated MongoDB level set. Immutable after
// ParseLevels; safe to share between goroutines.
type Levels struct {
	// W is "majority" or a positive member count in decimal.
	W string
	// J is the write concern's j; nil means not sent.
	J *bool
	// WTimeout is the write concern's wtimeout; 0 means not sent.
	WTimeout time.Duration
	// ReadConcern is the read concern level (always set; default "local").
	ReadConcern string
	// ReadPreference is the read preference mode (default "primary").
	ReadPreference string
	// MaxStaleness is maxStalenessSeconds; 0 means not set.
	MaxStaleness time.Duration
	// TagSets are the read preference tag sets, in order.
	TagSets []tag.Set
	// Causal turns on one causally consistent mongo session per pacbench
	// session.
	Causal bool
}

// ParseLevels validates l and returns the parsed level set. Every problem
// wraps drivers.ErrInvalidLevel and names the key and value at fault.
//
// Rejected, because MongoDB rejects them or they would measure nothing:
// unknown keys or values; read_concern=linearizable with any preference
// but primary (MongoDB serves linearizable reads only from the primary);
// read_concern=snapshot without w=majority; max_staleness or tags with
// read_preference=primary; max_staleness below 90 s; causal=true with
// read_concern available or linearizable (MongoDB does not allow them in
// causally consistent sessions).
//
// Allowed but weak: causal=true with w below majority or read_concern
// local. MongoDB only guarantees read-your-writes, monotonic reads/writes
// and writes-follow-reads across failures with w=majority +
// read_concern=majority; weaker pairs keep the guarantees only while the
// primary does not change, and pacbench measures exactly that difference.
func ParseLevels(l drivers.Levels) (Levels, error) {
	out := Levels{W: "1", ReadConcern: "local", ReadPreference: "primary"}
	if err := checkKeys(l); err != nil {
		return Levels{}, err
	}
	if err := out.parseWrite(l); err != nil {
		return Levels{}, err
	}
	if err := out.parseRead(l); err != nil {
		return Levels{}, err
	}
	if err := out.checkCombinations(); err != nil {
		return Levels{}, err
	}
	return out, nil
}

var knownKeys = []string{KeyW, KeyJ, KeyWTimeout, KeyReadConcern, KeyReadPreference, KeyMaxStaleness, KeyTags, KeyCausal, KeyRead, KeyWrite}

func checkKeys(l drivers.Levels) error {
	unknown := make([]string, 0)
	for k := range l {
		if !slices.Contains(knownKeys, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%w: unknown mongodb level key %q (known: %s)", drivers.ErrInvalidLevel, unknown[0], strings.Join(knownKeys, ", "))
	}
	return nil
}

// alias returns the value of key, or of its generic alias; both set and
// different is an error.
func alias(l drivers.Levels, key, generic string) (string, error) {
	v, g := l[key], l[generic]
	switch {
	case v == "":
		return g, nil
	case g != "" && g != v:
		return "", fmt.Errorf("%w: %s=%q contradicts %s=%q (%s is an alias of %s)", drivers.ErrInvalidLevel, generic, g, key, v, generic, key)
	}
	return v, nil
}

func (o *Levels) parseWrite(l drivers.Levels) error {
	w, err := alias(l, KeyW, KeyWrite)
	if err != nil {
		return err
	}
	if w != "" {
		if n, err := strconv.Atoi(w); w != "majority" && (err != nil || n < 1) {
			return fmt.Errorf("%w: w=%q: want 1, 2 (a positive member count) or majority (w:0 is unacknowledged and not measurable)", drivers.ErrInvalidLevel, w)
		}
		o.W = w
	}
	if j, ok := l[KeyJ]; ok && j != "" {
		b, err := strconv.ParseBool(j)
		if err != nil {
			return fmt.Errorf("%w: j=%q: want true or false", drivers.ErrInvalidLevel, j)
		}
		o.J = &b
	}
	if s := l[KeyWTimeout]; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 || d%time.Millisecond != 0 {
			return fmt.Errorf("%w: wtimeout=%q: want a positive whole number of milliseconds as a Go duration (500ms, 2s)", drivers.ErrInvalidLevel, s)
		}
		o.WTimeout = d
	}
	return nil
}

func (o *Levels) parseRead(l drivers.Levels) error {
	rc, err := alias(l, KeyReadConcern, KeyRead)
	if err != nil {
		return err
	}
	if rc != "" {
		if !slices.Contains(readConcerns, rc) {
			return fmt.Errorf("%w: read_concern=%q: want one of %s", drivers.ErrInvalidLevel, rc, strings.Join(readConcerns, ", "))
		}
		o.ReadConcern = rc
	}
	if rp := l[KeyReadPreference]; rp != "" {
		if !slices.Contains(readPrefModes, rp) {
			return fmt.Errorf("%w: read_preference=%q: want one of %s", drivers.ErrInvalidLevel, rp, strings.Join(readPrefModes, ", "))
		}
		o.ReadPreference = rp
	}
	if s := l[KeyMaxStaleness]; s != "" {
		d, err := parseSeconds(s)
		if err != nil {
			return fmt.Errorf("%w: max_staleness=%q: want whole seconds (90) or a Go duration (2m)", drivers.ErrInvalidLevel, s)
		}
		if d < MinMaxStaleness {
			return fmt.Errorf("%w: max_staleness=%q: MongoDB requires maxStalenessSeconds ≥ 90", drivers.ErrInvalidLevel, s)
		}
		o.MaxStaleness = d
	}
	if s := l[KeyTags]; s != "" {
		sets, err := parseTagSets(s)
		if err != nil {
			return fmt.Errorf("%w: tags=%q: %v", drivers.ErrInvalidLevel, s, err)
		}
		o.TagSets = sets
	}
	if s := l[KeyCausal]; s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%w: causal=%q: want true or false", drivers.ErrInvalidLevel, s)
		}
		o.Causal = b
	}
	return nil
}

func (o *Levels) checkCombinations() error {
	switch {
	case o.ReadConcern == "linearizable" && o.ReadPreference != "primary":
		return fmt.Errorf("%w: read_concern=linearizable needs read_preference=primary, got %q: MongoDB serves linearizable reads only from the primary", drivers.ErrInvalidLevel, o.ReadPreference)
	case o.ReadConcern == "snapshot" && o.W != "majority":
		return fmt.Errorf("%w: read_concern=snapshot needs w=majority, got w=%s: a snapshot read sees only majority-committed data, so writes acknowledged at w:%s may be missing from it (or roll back) and every such read would look stale for a reason the level pair creates, not the network", drivers.ErrInvalidLevel, o.W, o.W)
	case o.MaxStaleness > 0 && o.ReadPreference == "primary":
		return fmt.Errorf("%w: max_staleness needs a non-primary read_preference: MongoDB rejects maxStalenessSeconds with mode primary", drivers.ErrInvalidLevel)
	case len(o.TagSets) > 0 && o.ReadPreference == "primary":
		return fmt.Errorf("%w: tags need a non-primary read_preference: MongoDB rejects tag sets with mode primary", drivers.ErrInvalidLevel)
	case o.Causal && (o.ReadConcern == "available" || o.ReadConcern == "linearizable"):
		return fmt.Errorf("%w: causal=true with read_concern=%s: MongoDB does not allow read concern %q in causally consistent sessions", drivers.ErrInvalidLevel, o.ReadConcern, o.ReadConcern)
	}
	return nil
}

// parseSeconds parses whole seconds or a Go duration.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%time.Second != 0 {
		return 0, fmt.Errorf("not whole seconds")
	}
	return d, nil
}

// parseTagSets parses "k:v,k:v;k:v" into tag sets.
func parseTagSets(s string) ([]tag.Set, error) {
	var sets []tag.Set
	for _, part := range strings.Split(s, ";") {
		var set tag.Set
		for _, kv := range strings.Split(part, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), ":")
			if !ok || k == "" || v == "" {
				return nil, fmt.Errorf("want name:value pairs separated by commas, sets separated by semicolons; bad pair %q", kv)
			}
			set = append(set, tag.Tag{Name: k, Value: v})
		}
		sets = append(sets, set)
	}
	return sets, nil
}

// writeConcern returns the write concern for mongo-driver, without
// wtimeout: mongo-driver v2 no longer sends wtimeout, so writes with one go
// through raw commands carrying writeConcernDoc instead.
func (o Levels) writeConcern() *writeconcern.WriteConcern {
	wc := &writeconcern.WriteConcern{Journal: o.J}
	if n, err := strconv.Atoi(o.W); err == nil {
		wc.W = n
	} else {
		wc.W = o.W
	}
	return wc
}

// readConcern returns the read concern the levels describe.
func (o Levels) readConcern() *readconcern.ReadConcern {
	return &readconcern.ReadConcern{Level: o.ReadConcern}
}

// readPref returns the read preference the levels describe.
func (o Levels) readPref() (*readpref.ReadPref, error) {
	mode, err := readpref.ModeFromString(o.ReadPreference)
	if err != nil {
		return nil, fmt.Errorf("%w: read_preference=%q: %v", drivers.ErrInvalidLevel, o.ReadPreference, err)
	}
	var opts []readpref.Option
	if o.MaxStaleness > 0 {
		opts = append(opts, readpref.WithMaxStaleness(o.MaxStaleness))
	}
	if len(o.TagSets) > 0 {
		opts = append(opts, readpref.WithTagSets(o.TagSets...))
	}
	rp, err := readpref.New(mode, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: read_preference=%q: %v", drivers.ErrInvalidLevel, o.ReadPreference, err)
	}
	return rp, nil
}

// writeConcernDoc is the write concern document raw commands carry when
// wtimeout is set: w, then j and wtimeout (milliseconds) when given.
func (o Levels) writeConcernDoc() bson.D {
	var w any = o.W
	if n, err := strconv.Atoi(o.W); err == nil {
		w = int32(n)
	}
	doc := bson.D{{Key: "w", Value: w}}
	if o.J != nil {
		doc = append(doc, bson.E{Key: "j", Value: *o.J})
	}
	if o.WTimeout > 0 {
		doc = append(doc, bson.E{Key: "wtimeout", Value: o.WTimeout.Milliseconds()})
	}
	return doc
}

// Describe renders the levels exactly as they go on the wire, for summaries:
// read "readConcern=majority readPreference=secondary maxStalenessSeconds=90
// tags=[dc:east] causal=true", write "w=majority j=true wtimeout=500ms".
func (o Levels) Describe() (read, write string) {
	var r strings.Builder
	fmt.Fprintf(&r, "readConcern=%s readPreference=%s", o.ReadConcern, o.ReadPreference)
	if o.MaxStaleness > 0 {
		fmt.Fprintf(&r, " maxStalenessSeconds=%d", int(o.MaxStaleness/time.Second))
	}
	if len(o.TagSets) > 0 {
		sets := make([]string, len(o.TagSets))
		for i, s := range o.TagSets {
			pairs := make([]string, len(s))
			for j, t := range s {
				pairs[j] = t.Name + ":" + t.Value
			}
			sets[i] = "[" + strings.Join(pairs, ",") + "]"
		}
		fmt.Fprintf(&r, " tags=%s", strings.Join(sets, ";"))
	}
	fmt.Fprintf(&r, " causal=%t", o.Causal)
	w := "w=" + o.W
	if o.J != nil {
		w += fmt.Sprintf(" j=%t", *o.J)
	}
	if o.WTimeout > 0 {
		w += " wtimeout=" + o.WTimeout.String()
	}
	return r.String(), w
}

// DescribeLevels implements drivers.LevelDescriber: the exact read and write
// concerns and read preference a level set puts on the wire ("" for an
// invalid set).
func (*Driver) DescribeLevels(l drivers.Levels) (read, write string) {
	lv, err := ParseLevels(l)
	if err != nil {
		return "", ""
	}
	return lv.Describe()
}

var _ drivers.LevelDescriber = (*Driver)(nil)

// AuditLevels implements drivers.Auditor: majority read concern from the
// primary (what a majority of the replica set acknowledged).
func (*Driver) AuditLevels(drivers.Levels, bool) drivers.Levels {
	return drivers.Levels{KeyReadConcern: "majority", KeyReadPreference: "primary"}
}

// ReplicaLevels implements drivers.Auditor: local read concern with the
// nearest preference, so a session pinned to a secondary (a direct
// connection) reads that member's own data.
func (*Driver) ReplicaLevels(drivers.Levels) drivers.Levels {
	return drivers.Levels{KeyReadConcern: "local", KeyReadPreference: "nearest"}
}

var _ drivers.Auditor = (*Driver)(nil)
