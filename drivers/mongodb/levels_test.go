package mongodb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/tag"

	"github.com/pacbench/pacbench/drivers"
)

func TestParseLevelsRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		levels drivers.Levels
		msg    string // a fragment the message must contain
	}{
		{"unknown key", drivers.Levels{"consistency": "all"}, `unknown mongodb level key "consistency"`},
		{"w zero", drivers.Levels{KeyW: "0"}, `w="0"`},
		{"w word", drivers.Levels{KeyW: "all"}, `w="all"`},
		{"w negative", drivers.Levels{KeyW: "-1"}, `w="-1"`},
		{"j word", drivers.Levels{KeyJ: "yes please"}, `j="yes please"`},
		{"wtimeout no unit", drivers.Levels{KeyWTimeout: "500"}, `wtimeout="500"`},
		{"wtimeout negative", drivers.Levels{KeyWTimeout: "-1s"}, `wtimeout="-1s"`},
		{"wtimeout sub-millisecond", drivers.Levels{KeyWTimeout: "1500us"}, `wtimeout="1500us"`},
		{"read concern unknown", drivers.Levels{KeyReadConcern: "strong"}, `read_concern="strong"`},
		{"read concern case", drivers.Levels{KeyReadConcern: "Majority"}, `read_concern="Majority"`},
		{"read preference unknown", drivers.Levels{KeyReadPreference: "follower"}, `read_preference="follower"`},
		{"read preference case", drivers.Levels{KeyReadPreference: "secondarypreferred"}, `read_preference="secondarypreferred"`},
		{"linearizable secondary", drivers.Levels{KeyReadConcern: "linearizable", KeyReadPreference: "secondary"}, "only from the primary"},
		{"linearizable primaryPreferred", drivers.Levels{KeyReadConcern: "linearizable", KeyReadPreference: "primaryPreferred"}, "linearizable needs read_preference=primary"},
		{"linearizable secondaryPreferred", drivers.Levels{KeyReadConcern: "linearizable", KeyReadPreference: "secondaryPreferred"}, "linearizable needs read_preference=primary"},
		{"linearizable nearest", drivers.Levels{KeyReadConcern: "linearizable", KeyReadPreference: "nearest"}, "linearizable needs read_preference=primary"},
		{"snapshot w1 default", drivers.Levels{KeyReadConcern: "snapshot"}, "snapshot needs w=majority, got w=1"},
		{"snapshot w2", drivers.Levels{KeyReadConcern: "snapshot", KeyW: "2"}, "majority-committed"},
		{"max staleness with primary", drivers.Levels{KeyMaxStaleness: "120"}, "max_staleness needs a non-primary read_preference"},
		{"max staleness too small", drivers.Levels{KeyReadPreference: "secondary", KeyMaxStaleness: "89"}, "≥ 90"},
		{"max staleness duration too small", drivers.Levels{KeyReadPreference: "secondary", KeyMaxStaleness: "1m"}, "≥ 90"},
		{"max staleness fraction", drivers.Levels{KeyReadPreference: "secondary", KeyMaxStaleness: "90.5s"}, "whole seconds"},
		{"max staleness word", drivers.Levels{KeyReadPreference: "nearest", KeyMaxStaleness: "soon"}, "whole seconds"},
		{"tags with primary", drivers.Levels{KeyTags: "dc:east"}, "tags need a non-primary read_preference"},
		{"tags malformed", drivers.Levels{KeyReadPreference: "nearest", KeyTags: "dc=east"}, `bad pair "dc=east"`},
		{"tags empty value", drivers.Levels{KeyReadPreference: "nearest", KeyTags: "dc:"}, "bad pair"},
		{"tags empty set", drivers.Levels{KeyReadPreference: "nearest", KeyTags: "dc:east;"}, "bad pair"},
		{"causal word", drivers.Levels{KeyCausal: "sometimes"}, `causal="sometimes"`},
		{"causal available", drivers.Levels{KeyCausal: "true", KeyReadConcern: "available"}, "causally consistent sessions"},
		{"causal linearizable", drivers.Levels{KeyCausal: "true", KeyReadConcern: "linearizable"}, "causally consistent sessions"},
		{"read alias contradicts", drivers.Levels{KeyRead: "local", KeyReadConcern: "majority"}, "alias"},
		{"write alias contradicts", drivers.Levels{KeyWrite: "1", KeyW: "majority"}, "alias"},
		{"write alias bad", drivers.Levels{KeyWrite: "QUORUM"}, `w="QUORUM"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseLevels(tc.levels)
			if !errors.Is(err, drivers.ErrInvalidLevel) {
				t.Fatalf("ParseLevels(%v) = %v, want ErrInvalidLevel", tc.levels, err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("message %q lacks %q", err, tc.msg)
			}
			if err := New().ValidateLevels(tc.levels); !errors.Is(err, drivers.ErrInvalidLevel) {
				t.Errorf("ValidateLevels accepted what ParseLevels rejects: %v", err)
			}
		})
	}
}

func TestParseLevelsAccepts(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name   string
		levels drivers.Levels
		want   Levels
	}{
		{"defaults", drivers.Levels{}, Levels{W: "1", ReadConcern: "local", ReadPreference: "primary"}},
		{"empty generic keys", drivers.Levels{KeyRead: "", KeyWrite: ""}, Levels{W: "1", ReadConcern: "local", ReadPreference: "primary"}},
		{"generic aliases", drivers.Levels{KeyRead: "majority", KeyWrite: "majority"}, Levels{W: "majority", ReadConcern: "majority", ReadPreference: "primary"}},
		{"alias agreeing", drivers.Levels{KeyRead: "majority", KeyReadConcern: "majority"}, Levels{W: "1", ReadConcern: "majority", ReadPreference: "primary"}},
		{"w2 j wtimeout", drivers.Levels{KeyW: "2", KeyJ: "true", KeyWTimeout: "1s"}, Levels{W: "2", J: &yes, WTimeout: time.Second, ReadConcern: "local", ReadPreference: "primary"}},
		{"j false", drivers.Levels{KeyJ: "false"}, Levels{W: "1", J: &no, ReadConcern: "local", ReadPreference: "primary"}},
		{"linearizable primary w1", drivers.Levels{KeyReadConcern: "linearizable", KeyW: "1"}, Levels{W: "1", ReadConcern: "linearizable", ReadPreference: "primary"}},
		{"snapshot majority", drivers.Levels{KeyReadConcern: "snapshot", KeyW: "majority"}, Levels{W: "majority", ReadConcern: "snapshot", ReadPreference: "primary"}},
		{"secondary max staleness tags", drivers.Levels{KeyReadPreference: "secondary", KeyMaxStaleness: "90", KeyTags: "dc:east, rack:1;dc:west"},
			Levels{W: "1", ReadConcern: "local", ReadPreference: "secondary", MaxStaleness: 90 * time.Second,
				TagSets: tagSets(t, "dc:east,rack:1;dc:west")}},
		{"max staleness duration", drivers.Levels{KeyReadPreference: "nearest", KeyMaxStaleness: "2m"}, Levels{W: "1", ReadConcern: "local", ReadPreference: "nearest", MaxStaleness: 2 * time.Minute}},
		// Allowed but weak (documented): causal without majority pairs.
		{"causal w1 local", drivers.Levels{KeyCausal: "true"}, Levels{W: "1", ReadConcern: "local", ReadPreference: "primary", Causal: true}},
		{"causal majority secondary", drivers.Levels{KeyCausal: "true", KeyW: "majority", KeyReadConcern: "majority", KeyReadPreference: "secondary"},
			Levels{W: "majority", ReadConcern: "majority", ReadPreference: "secondary", Causal: true}},
		{"causal snapshot", drivers.Levels{KeyCausal: "true", KeyW: "majority", KeyReadConcern: "snapshot"}, Levels{W: "majority", ReadConcern: "snapshot", ReadPreference: "primary", Causal: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseLevels(tc.levels)
			if err != nil {
				t.Fatalf("ParseLevels(%v): %v", tc.levels, err)
			}
			gr, gw := got.Describe()
			wr, ww := tc.want.Describe()
			if gr != wr || gw != ww {
				t.Errorf("ParseLevels(%v) = %q / %q, want %q / %q", tc.levels, gr, gw, wr, ww)
			}
			if _, err := got.readPref(); err != nil {
				t.Errorf("valid levels give no read preference: %v", err)
			}
		})
	}
}

func tagSets(t *testing.T, s string) []tag.Set {
	t.Helper()
	sets, err := parseTagSets(s)
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	lv, err := ParseLevels(drivers.Levels{KeyW: "majority", KeyJ: "true", KeyWTimeout: "500ms", KeyReadConcern: "majority",
		KeyReadPreference: "secondaryPreferred", KeyMaxStaleness: "90", KeyTags: "dc:east,rack:1;dc:west", KeyCausal: "true"})
	if err != nil {
		t.Fatal(err)
	}
	r, w := lv.Describe()
	if want := "readConcern=majority readPreference=secondaryPreferred maxStalenessSeconds=90 tags=[dc:east,rack:1];[dc:west] causal=true"; r != want {
		t.Errorf("read = %q, want %q", r, want)
	}
	if want := "w=majority j=true wtimeout=500ms"; w != want {
		t.Errorf("write = %q, want %q", w, want)
	}
}

func TestWriteConcernDoc(t *testing.T) {
	t.Parallel()
	tests := []struct {
		levels drivers.Levels
		want   bson.D
	}{
		{drivers.Levels{KeyWTimeout: "2s"}, bson.D{{Key: "w", Value: int32(1)}, {Key: "wtimeout", Value: int64(2000)}}},
		{drivers.Levels{KeyW: "majority", KeyJ: "false", KeyWTimeout: "15ms"}, bson.D{{Key: "w", Value: "majority"}, {Key: "j", Value: false}, {Key: "wtimeout", Value: int64(15)}}},
		{drivers.Levels{KeyW: "3"}, bson.D{{Key: "w", Value: int32(3)}}},
	}
	for _, tc := range tests {
		lv, err := ParseLevels(tc.levels)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := bson.Marshal(lv.writeConcernDoc())
		if err != nil {
			t.Fatal(err)
		}
		if err := sameDoc(raw, tc.want); err != nil {
			t.Errorf("%v: %v", tc.levels, err)
		}
	}
}
