package cassandra_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/cassandra"
	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/report"
)

func TestClusterProfileEndToEnd(t *testing.T) {
	testenv.Short(t)
	testenv.Require(t, "PACBENCH_CASSANDRA_HOSTS", `run: eval "$(scripts/cassandra.sh start)"`)
	reg := drivers.NewRegistry(cassandra.New())
	p, err := profile.Load(filepath.Join("..", "..", "profiles", "cassandra-local.yaml"), profile.Options{Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	durs := map[string]time.Duration{"baseline": 10 * time.Second, "latency": 10 * time.Second, "partition": 35 * time.Second, "healed": 10 * time.Second}
	for i := range p.Phases {
		p.Phases[i].Duration = profile.Duration(durs[p.Phases[i].Name])
	}
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := bench.Execute(ctx, bench.Options{Profile: p, Registry: reg, OutDir: t.TempDir(), Log: &log})
	t.Logf("log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	var tbl bytes.Buffer
	if err := report.WriteTable(&tbl, out.Summary); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", tbl.String())
}
