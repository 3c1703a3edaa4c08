package load_test

import (
	"slices"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/load"
)

// TestPart: the parts of a schedule split over shards are, together, the
// whole schedule: same pacers for the same global workers (so the union of
// the arrivals is the one process's), rates that add up to the whole rate.
func TestPart(t *testing.T) {
	t.Parallel()
	for _, arrivals := range []string{load.ArrivalsUniform, load.ArrivalsPoisson} {
		t.Run(arrivals, func(t *testing.T) {
			t.Parallel()
			whole := load.Open{}.Schedule(load.Spec{Model: "open", Workers: 8, Rate: 600, Arrivals: arrivals})
			const seed = 42
			var all, parts []time.Duration
			for w := range whole.Workers() {
				all = append(all, times(whole.Pacer(w, seed+uint64(w)), 50)...)
			}
			var rate float64
			// 8 workers over 3 shards: 3, 3, 2.
			for _, sp := range [][2]int{{0, 3}, {3, 3}, {6, 2}} {
				p := load.Part(whole, sp[0], sp[1])
				if p.Workers() != sp[1] || !p.Open() {
					t.Fatalf("part %v: %d workers, open %v", sp, p.Workers(), p.Open())
				}
				rate += p.Rate(time.Second)
				for i := range p.Workers() {
					parts = append(parts, times(p.Pacer(i, seed+uint64(sp[0]+i)), 50)...)
				}
			}
			slices.Sort(all)
			slices.Sort(parts)
			if !slices.Equal(all, parts) {
				t.Fatal("the parts' arrivals are not the whole schedule's")
			}
			if rate < 600-1e-9 || rate > 600+1e-9 {
				t.Fatalf("parts' rates add up to %v, want 600", rate)
			}
		})
	}
	closed := load.Part(load.Closed{}.Schedule(load.Spec{Model: "closed", Workers: 4}), 2, 2)
	if closed.Open() || closed.Rate(time.Second) != 0 || closed.Workers() != 2 {
		t.Fatalf("closed part: open %v, rate %v, %d workers", closed.Open(), closed.Rate(time.Second), closed.Workers())
	}
}

func times(p load.Pacer, n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = p.Next(uint64(i), 0)
	}
	return out
}
