package runner

import (
	"sync"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/plan"
)

// splitStripes is how many writer locks each write route has in
// split-brain mode (keys share them by key mod splitStripes).
const splitStripes = 256

// splitLocks are the writer locks of split-brain writers
// (plan.Routes.SplitBrain). In a phase that partitions the cluster a write
// holds its route's stripe of the key alone, so the writers of different
// routes (the sides of the partition) write the key at the same time, one
// per route; in any other phase a write holds every route's stripe and the
// key's oracle lock, so a key's writers stay disjoint in time, also with a
// split write still in flight from the phase before.
type splitLocks struct {
	overlap []bool         // by phase index: the routes' writers overlap
	routes  [][]sync.Mutex // [route][key mod splitStripes]
}

// newSplitLocks returns the plan's split-brain locks for routes write
// routes, or nil when the plan has no split-brain writers.
func newSplitLocks(p *plan.Plan, routes int) *splitLocks {
	if !p.Routes.SplitBrain || routes < 2 {
		return nil
	}
	s := &splitLocks{overlap: make([]bool, len(p.Phases)), routes: make([][]sync.Mutex, routes)}
	for i, ph := range p.Phases {
		for _, sp := range ph.Impairments {
			s.overlap[i] = s.overlap[i] || sp.Kind == impair.KindPartition
		}
	}
	for i := range s.routes {
		s.routes[i] = make([]sync.Mutex, splitStripes)
	}
	return s
}

// overlaps reports whether writes issued in phase overlap across routes
// (false for a nil s).
func (s *splitLocks) overlaps(phase int) bool {
	return s != nil && phase >= 0 && phase < len(s.overlap) && s.overlap[phase]
}

// lockKey takes the writer locks of a write of key issued in phase by w
// and reports whether the write overlaps other routes' (then it holds only
// its route's stripe, and reports under the oracle lock: see report).
func (w *worker) lockKey(phase int, key uint64) bool {
	r := w.sc.r
	s := r.split
	if s == nil {
		r.rec.Oracle().Lock(key)
		return false
	}
	stripe := key % splitStripes
	if s.overlaps(phase) {
		s.routes[r.writeRoute(w.index)][stripe].Lock()
		r.rec.Oracle().Overlap(key)
		return true
	}
	for i := range s.routes {
		s.routes[i][stripe].Lock()
	}
	r.rec.Oracle().Lock(key)
	return false
}

// unlockKey releases what lockKey(phase, key) took.
func (w *worker) unlockKey(overlap bool, key uint64) {
	r := w.sc.r
	s := r.split
	if s == nil {
		r.rec.Oracle().Unlock(key)
		return
	}
	stripe := key % splitStripes
	if overlap {
		s.routes[r.writeRoute(w.index)][stripe].Unlock()
		return
	}
	r.rec.Oracle().Unlock(key)
	for i := range s.routes {
		s.routes[i][stripe].Unlock()
	}
}
