package runner

import (
	"math"
	"testing"
)

// TestSessionIDs: session ids are unique for any numbers of scenarios,
// workers and probes (the old si*10000+w+1 collided from 10,000 workers
// on, and its probes' si*10000+9000+d from 9,000), positive for sessions
// that write (the loader's are negative) and within the value header's
// uint32 writer field.
func TestSessionIDs(t *testing.T) {
	t.Parallel()
	for _, tc := range []sessionIDs{
		{scenarios: 1, workers: 1, probes: 0},
		{scenarios: 3, workers: 8, probes: 9},
		{scenarios: 2, workers: 9_001, probes: 32},
		{scenarios: 4, workers: 10_000, probes: 1},
		{scenarios: 2, workers: 25_000, probes: 3},
	} {
		seen := map[int]string{}
		add := func(id int, what string) {
			if prev, dup := seen[id]; dup {
				t.Fatalf("%+v: id %d of %s already used by %s", tc, id, what, prev)
			}
			seen[id] = what
		}
		for si := range tc.scenarios {
			for w := range tc.workers {
				id := tc.worker(si, w)
				if id < 1 || id > math.MaxUint32 {
					t.Fatalf("%+v: worker id %d out of range", tc, id)
				}
				add(id, "a worker")
			}
			for d := range tc.probes {
				add(tc.probe(si, d), "a probe")
			}
		}
		for w := range 16 {
			if id := tc.loader(w); id >= 0 {
				t.Fatalf("loader id %d not negative", id)
			}
			add(tc.loader(w), "a loader")
		}
	}
}
