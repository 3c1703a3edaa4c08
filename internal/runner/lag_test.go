package runner

import (
	"testing"
	"time"
)

// TestNoteLag: an op's schedule lag is split into the time its worker was
// still busy with the previous op and the rest (the generator late).
func TestNoteLag(t *testing.T) {
	t.Parallel()
	ms := int64(time.Millisecond)
	cases := []struct {
		name                     string
		intended, start, prevEnd int64
		busy, gen                int64
	}{
		{"worker idle, woken late", 100 * ms, 103 * ms, 90 * ms, 0, 3 * ms},
		{"worker busy all along", 100 * ms, 150 * ms, 150 * ms, 50 * ms, 0},
		{"busy, then started late", 100 * ms, 160 * ms, 150 * ms, 50 * ms, 10 * ms},
		{"first op (no previous)", 100 * ms, 101 * ms, 0, 0, 1 * ms},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var w worker
			w.noteLag(tc.intended, tc.start, tc.prevEnd)
			w.noteLag(tc.intended, tc.start, tc.prevEnd)
			if w.busyLag.Load() != 2*tc.busy || w.genLag.Load() != 2*tc.gen || w.maxBusyLag.Load() != tc.busy ||
				w.maxGenLag.Load() != tc.gen || w.maxLag.Load() != tc.start-tc.intended {
				t.Errorf("busy %d (max %d), generator %d (max %d), max lag %d; want busy %d, generator %d per op",
					w.busyLag.Load(), w.maxBusyLag.Load(), w.genLag.Load(), w.maxGenLag.Load(), w.maxLag.Load(), tc.busy, tc.gen)
			}
		})
	}
}

// TestJudge: only the generator's own lag makes a scenario not keep up;
// busy workers make it behind for the database's reason.
func TestJudge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		st     LoadStats
		kept   bool
		reason string
	}{
		{"on time", LoadStats{TargetRate: 100, AchievedRate: 99, MaxBusyLagMs: 20, MaxGeneratorLagMs: 2}, true, ""},
		{"a stalled database", LoadStats{TargetRate: 100, AchievedRate: 60, BusyLagMs: 9e4, MaxBusyLagMs: 1800, GeneratorLagMs: 5, MaxGeneratorLagMs: 1}, true, BehindWorkersBusy},
		{"arrivals skipped", LoadStats{TargetRate: 100, AchievedRate: 99, Skipped: 3, BusyLagMs: 500, GeneratorLagMs: 10}, true, BehindWorkersBusy},
		{"a starved generator", LoadStats{TargetRate: 100, AchievedRate: 99, MaxGeneratorLagMs: 1500, BusyLagMs: 9e5}, false, BehindGenerator},
		{"a slow generator", LoadStats{TargetRate: 100, AchievedRate: 80, GeneratorLagMs: 4e4, MaxGeneratorLagMs: 600, BusyLagMs: 100}, false, BehindGenerator},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := tc.st
			st.judge()
			if st.KeptUp != tc.kept || st.BehindReason != tc.reason {
				t.Errorf("kept_up %v, behind %q; want %v, %q", st.KeptUp, st.BehindReason, tc.kept, tc.reason)
			}
		})
	}
}
