package mongodb

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
)

func TestParseOptions(t *testing.T) {
	t.Parallel()
	def := Options{Database: "pacbench", Collection: "usertable", PoolSize: 1, ServerSelectionTimeout: 10 * time.Second}
	tests := []struct {
		name string
		in   map[string]string
		want Options
		err  string // non-empty: a fragment of the expected error
	}{
		{name: "defaults", in: nil, want: def},
		{name: "all set", in: map[string]string{
			OptDatabase: "db1", OptCollection: "kv", OptPoolSize: "4", OptRetryReads: "true", OptRetryWrites: "true",
			OptServerSelectionTimeout: "2s", OptDirect: "true", OptReplicaSet: "rs0",
		}, want: Options{Database: "db1", Collection: "kv", PoolSize: 4, RetryReads: true, RetryWrites: true,
			ServerSelectionTimeout: 2 * time.Second, Direct: true, ReplicaSet: "rs0"}},
		{name: "unknown", in: map[string]string{"keyspace": "x"}, err: `keyspace="x": unknown option`},
		{name: "pool zero", in: map[string]string{OptPoolSize: "0"}, err: "pool_size"},
		{name: "pool word", in: map[string]string{OptPoolSize: "many"}, err: "pool_size"},
		{name: "retry word", in: map[string]string{OptRetryWrites: "maybe"}, err: "retry_writes"},
		{name: "retry reads word", in: map[string]string{OptRetryReads: "maybe"}, err: "retry_reads"},
		{name: "selection timeout", in: map[string]string{OptServerSelectionTimeout: "10"}, err: "server_selection_timeout"},
		{name: "selection timeout zero", in: map[string]string{OptServerSelectionTimeout: "0s"}, err: "server_selection_timeout"},
		{name: "direct word", in: map[string]string{OptDirect: "y"}, err: "direct"},
		{name: "database dot", in: map[string]string{OptDatabase: "a.b"}, err: "database"},
		{name: "database empty", in: map[string]string{OptDatabase: ""}, err: "database"},
		{name: "collection system", in: map[string]string{OptCollection: "system.users"}, err: "collection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseOptions(tc.in)
			if tc.err != "" {
				if !errors.Is(err, drivers.ErrInvalidOption) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseOptions(%v) = %v, want ErrInvalidOption mentioning %q", tc.in, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("ParseOptions(%v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}
