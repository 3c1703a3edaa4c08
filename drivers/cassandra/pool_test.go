package cassandra_test

import (
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/testenv"
	"github.com/pacbench/pacbench/profile"
)

// TestPoolWritesNotSmeared (issue 18 item 3) on the loopback cluster:
// with cassandra3 (the read coordinator) partitioned from its peers, its
// QUORUM reads each hold a worker until Cassandra's 5 s read timeout while
// QUORUM writes through cassandra1 (healthy) complete at once. 10 reads/s
// × 5 s need about 50 workers (Little's law): with the default pool of 16
// the writes wait for the reads' workers (no_worker > 0, their latency the
// reads' timeout), with load.max_workers 128 they keep a p99 far below it.
// The partition phase stays under the failure detector's ~20 s, so the
// reads time out instead of failing fast as unavailable.
func TestPoolWritesNotSmeared(t *testing.T) {
	cases := []struct {
		name       string
		maxWorkers int
	}{
		{"default pool", 0},
		{"max_workers 128", 128},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, reg := localProfile(t)
			p.Levels, p.Checks = levelsNamed(p, "quorum-quorum"), profile.Checks{}
			p.Workload.Mix = map[string]float64{"read": 0.5, "update": 0.5}
			p.Workload.Records = 100
			p.Load.Arrivals, p.Load.Rate, p.Load.Workers, p.Load.MaxWorkers = "uniform", 20, 16, tc.maxWorkers
			p.Phases = []profile.Phase{
				{Name: "baseline", Duration: profile.Duration(time.Second)},
				{Name: "partition", Duration: profile.Duration(8 * time.Second), Impairments: []profile.Impairment{{Kind: "partition", Target: "cassandra3"}}},
			}
			logw := &testenv.SyncBuffer{}
			out, err := run(t, p, reg, logw, 2*time.Minute)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, logw.String())
			}
			sc := out.Summary.Scenarios[0]
			ph := sc.Phases[1]
			r, w := ph.Ops["read"], ph.Ops["write"]
			if r == nil || w == nil || w.LatencyMs.P99 == nil {
				t.Fatalf("partition: reads %s, writes %s", opCounts(r), opCounts(w))
			}
			if r.Errors["read_timeout"]+r.Errors["timeout"] == 0 {
				t.Fatalf("partition: reads through cassandra3 %s; want timeouts (the fault did not hold the workers)", opCounts(r))
			}
			nw, _ := w.Checks.Int("no_worker", "ops")
			p99 := *w.LatencyMs.P99
			t.Logf("%s: write p99 %.1f ms, no_worker %d; reads %s; load %+v", tc.name, p99, nw, opCounts(r), *sc.Load)
			if tc.maxWorkers == 0 {
				if nw == 0 {
					t.Errorf("default pool: no write counted as no_worker; the reads held all 16 workers")
				}
				return
			}
			// Far below the reads' 5 s timeout; 1.5 s leaves room for a
			// loaded 2-core machine running three JVMs.
			if p99 > 1500 {
				t.Errorf("write p99 %.1f ms with max_workers %d, want ≪ the reads' 5 s timeout", p99, tc.maxWorkers)
			}
			if pk := sc.Load.PeakWorkers; pk <= 16 || pk > tc.maxWorkers {
				t.Errorf("peak workers %d, want > 16 (the pool grew) and ≤ %d", pk, tc.maxWorkers)
			} else if pk < tc.maxWorkers && nw != 0 {
				t.Errorf("%d writes counted as no_worker with the pool at %d of %d workers, want 0", nw, pk, tc.maxWorkers)
			}
		})
	}
}
