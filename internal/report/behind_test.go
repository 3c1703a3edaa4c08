package report

import (
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/runner"
)

// TestBehindNote: the table says whether an open loop fell behind and
// whose fault it was, with the time spent in each kind of lag.
func TestBehindNote(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		l    runner.LoadStats
		want []string
		not  []string
	}{
		{"on time", runner.LoadStats{KeptUp: true}, nil, []string{"BEHIND", "behind"}},
		{"busy workers", runner.LoadStats{KeptUp: true, BehindReason: runner.BehindWorkersBusy, BusyLagMs: 18900, MaxBusyLagMs: 1800, GeneratorLagMs: 2},
			[]string{"behind the schedule because every late op's worker was busy waiting on the database", "18.90 s in all for a busy worker (at most 1.80 s)"}, []string{"FELL BEHIND"}},
		{"late generator", runner.LoadStats{KeptUp: false, BehindReason: runner.BehindGenerator, GeneratorLagMs: 3000, MaxGeneratorLagMs: 1500},
			[]string{"FELL BEHIND the schedule: the generator was late with workers free", "3.00 s for the generator (at most 1.50 s)"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := behindNote(&tc.l)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("note %q lacks %q", got, w)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(got, n) {
					t.Errorf("note %q has %q", got, n)
				}
			}
		})
	}
}
