package mongodb

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/drivertest"
	"github.com/pacbench/pacbench/op"
)

// TestStatic holds the driver to the kit's promises that need no server.
func TestStatic(t *testing.T) {
	t.Parallel()
	drivertest.Static(t, New())
}

// TestFerretConformance runs the driver conformance kit against FerretDB
// (a real MongoDB-wire server; a standalone, so the level set is the
// default w:1, local) in a database of its own. The impaired link is a
// real Toxiproxy the kit runs in front of the server, reached over a
// direct connection; with it down, ops fail as unavailable (server
// selection finds no member). FerretDB's conditional writes are not atomic,
// so the concurrent CAS case is reported, not checked.
func TestFerretConformance(t *testing.T) {
	t.Parallel()
	uri, addr := ferretURI(t)
	ref := openTest(t, []string{uri}) // creates and drops the database
	opts := map[string]string{OptDatabase: ref.opts.Database, OptServerSelectionTimeout: "3s"}
	coll := ref.control.Database(ref.opts.Database).Collection(ref.opts.Collection)
	drivertest.Run(t, drivertest.Harness{
		Driver:  New(),
		Config:  drivers.Config{Endpoints: []string{uri}, Options: opts},
		Levels:  drivers.Levels{},
		Members: []string{addr},
		// Scan's order is _id order; the reference counts with the server.
		CountFrom: func(ctx context.Context, start string) (int, error) {
			n, err := coll.CountDocuments(ctx, bson.D{{Key: fieldID, Value: bson.D{{Key: "$gte", Value: start}}}})
			return int(n), err
		},
		Link: func(t *testing.T) drivertest.Link {
			return drivertest.ProxyLink(t, addr, func(proxy string) (drivers.Config, string) {
				return drivers.Config{Endpoints: []string{proxy}, Options: map[string]string{
					OptDatabase: ref.opts.Database, OptDirect: "true", OptServerSelectionTimeout: "1s"}}, proxy
			})
		},
		DownClass:    op.Unavailable,
		CASNotAtomic: "FerretDB 1.x (SQLite backend) does not make a conditional replace atomic: concurrent CAS of one key can all report a swap (see the package doc)",
	})
}
