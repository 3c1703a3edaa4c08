package report

import (
	"math"
	"testing"
)

// TestPACELCMap: each level's map point carries the numbers its verdict's
// evidence cites: the else-side p99 against the strongest level of the
// same system, the else-side stale ratio, the partition availability.
func TestPACELCMap(t *testing.T) {
	t.Parallel()
	in := fixture(t)
	s := Build(in)
	pts := PACELCMap(s.Scenarios, in.Plan.Phases)
	if len(pts) != 2 {
		t.Fatalf("%d points, want 2", len(pts))
	}
	strong, weak := pts[0], pts[1]
	for _, tc := range []struct {
		name string
		got  *float64
		want float64
	}{
		{"strong latency cost", strong.LatencyCost, 1},
		{"strong stale ratio", strong.StaleRatio, 0},
		{"strong partition availability", strong.PartitionAvailability, 0.1},
		{"weak latency cost", weak.LatencyCost, *weak.ElseP99Ms / *strong.ElseP99Ms},
		{"weak partition availability", weak.PartitionAvailability, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got == nil || math.Abs(*tc.got-tc.want) > 1e-9 {
				t.Errorf("%v, want %v", tc.got, tc.want)
			}
		})
	}
	if weak.Strongest != "strong" || strong.Strongest != "strong" {
		t.Errorf("strongest: %q, %q", weak.Strongest, strong.Strongest)
	}
	if weak.StaleRatio == nil || *weak.StaleRatio <= StaleAbove || *weak.Verdict.Else != "EL" || *strong.Verdict.Partition != "PC" {
		t.Errorf("weak stale ratio %v, verdicts %+v %+v", weak.StaleRatio, weak.Verdict, strong.Verdict)
	}
}
