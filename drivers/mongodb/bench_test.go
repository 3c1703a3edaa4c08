package mongodb

import (
	"context"
	"errors"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/workloads"
)

// BenchmarkDocument measures building the stored document of a 100-byte
// value (header decoded into fields).
func BenchmarkDocument(b *testing.B) {
	v := workloads.NewValue(workloads.Header{Key: 1, Writer: 2, Seq: 3, Invoke: 4}, 100)
	b.ReportAllocs()
	for b.Loop() {
		_ = document(v)
	}
}

// BenchmarkClassify measures classifying a duplicate-key write error.
func BenchmarkClassify(b *testing.B) {
	err := error(mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000}}})
	b.ReportAllocs()
	for b.Loop() {
		if Classify(err) == 0 {
			b.Fatal(errors.New("classified as ok"))
		}
	}
}

// BenchmarkFerretReadWrite measures one read and one write per iteration
// through the whole driver against FerretDB (client side + loopback +
// FerretDB/SQLite), for spotting driver-side regressions.
func BenchmarkFerretReadWrite(b *testing.B) {
	uri := testenv.Require(b, "PACBENCH_MONGODB_URI", ferretHowto)
	ctx := context.Background()
	dc, err := New().Open(ctx, drivers.Config{Endpoints: []string{uri}, Options: map[string]string{OptDatabase: "pbt_bench"}})
	if err != nil {
		b.Fatal(err)
	}
	c := dc.(*Client)
	defer func() {
		_ = c.control.Database(c.opts.Database).Drop(ctx)
		_ = c.Close()
	}()
	s, err := c.Session(ctx, drivers.SessionConfig{Levels: drivers.Levels{KeyW: "majority", KeyReadConcern: "majority"}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	v := workloads.NewValue(workloads.Header{Key: 1, Seq: 1}, 100)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(ctx, "bench", v); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Read(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
