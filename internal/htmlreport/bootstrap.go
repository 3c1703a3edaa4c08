package htmlreport

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/pacbench/pacbench/metrics"
)

// sample is one series of one run as the bootstrap sees it: its blocks
// (whole measurement intervals, or merged groups of them in a long run),
// each with the ok latencies, op counts, length and read checks.
type sample struct {
	blocks []sampleBlock
}

type sampleBlock struct {
	ok             Bins
	okN, count     int64
	lenMs          int64
	checked, stale int64
}

// stats are the compared statistics of a set of blocks (NaN: undefined).
type stats [numMetrics]float64

// Metric indexes.
const (
	mP50 = iota
	mP99
	mP999
	mThroughput
	mAvailability
	mStale
	numMetrics
)

// grid is the sorted union of the latency values of every block of the
// compared samples, each block's bins as indexes into it: a resample's
// merged histogram is then an array add, not a merge.
type valueGrid struct {
	values []int64
}

func newValueGrid(samples ...sample) valueGrid {
	seen := map[int64]bool{}
	var g valueGrid
	for _, s := range samples {
		for _, b := range s.blocks {
			for _, x := range b.ok {
				if !seen[x.Value] {
					seen[x.Value] = true
					g.values = append(g.values, x.Value)
				}
			}
		}
	}
	sort.Slice(g.values, func(i, j int) bool { return g.values[i] < g.values[j] })
	return g
}

// indexed is a block's ok bins as (grid index, count).
type indexed struct{ idx, count []int64 }

func (g valueGrid) index(b Bins) indexed {
	out := indexed{idx: make([]int64, len(b)), count: make([]int64, len(b))}
	for i, x := range b {
		out.idx[i] = int64(sort.Search(len(g.values), func(j int) bool { return g.values[j] >= x.Value }))
		out.count[i] = x.Count
	}
	return out
}

// resampler computes the statistics of resamples of one sample.
type resampler struct {
	s      sample
	g      valueGrid
	blocks []indexed
	counts []int64
}

func newResampler(s sample, g valueGrid) *resampler {
	r := &resampler{s: s, g: g, counts: make([]int64, len(g.values))}
	for _, b := range s.blocks {
		r.blocks = append(r.blocks, g.index(b.ok))
	}
	return r
}

// stats computes the statistics of the blocks picked (indexes, with
// repetition) — the merged latency histogram's reference percentiles,
// throughput over the blocks' measured length, availability, stale ratio.
func (r *resampler) stats(pick []int) stats {
	clear(r.counts)
	var okN, count, lenMs, checked, stale int64
	for _, i := range pick {
		b := &r.s.blocks[i]
		ix := r.blocks[i]
		for j, gi := range ix.idx {
			r.counts[gi] += ix.count[j]
		}
		okN, count, lenMs = okN+b.okN, count+b.count, lenMs+b.lenMs
		checked, stale = checked+b.checked, stale+b.stale
	}
	var st stats
	for i := range st {
		st[i] = math.NaN()
	}
	if okN > 0 {
		qs := [...]float64{0.5, 0.99, 0.999}
		var cum int64
		k := 0
		for qi, q := range qs {
			rank := metrics.Rank(q, okN)
			for k < len(r.counts)-1 && cum+r.counts[k] < rank {
				cum += r.counts[k]
				k++
			}
			st[qi] = float64(r.g.values[k]) / 1e6
		}
	}
	if lenMs > 0 {
		st[mThroughput] = float64(okN) / (float64(lenMs) / 1000)
	}
	if count > 0 {
		st[mAvailability] = float64(okN) / float64(count)
	}
	if checked > 0 {
		st[mStale] = float64(stale) / float64(checked)
	}
	return st
}

// all returns the statistics of every block once.
func (r *resampler) all() stats {
	pick := make([]int, len(r.s.blocks))
	for i := range pick {
		pick[i] = i
	}
	return r.stats(pick)
}

// perBlock returns each block's own statistics (NaN where a block has too
// few samples: fewer than minBlockOps ok ops for the latencies and
// throughput, fewer than minBlockOps ops or checks for the ratios).
func (r *resampler) perBlock() []stats {
	out := make([]stats, len(r.s.blocks))
	for i, b := range r.s.blocks {
		out[i] = r.stats([]int{i})
		if b.okN < minBlockOps {
			out[i][mP50], out[i][mP99], out[i][mP999], out[i][mThroughput] = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		}
		if b.count < minBlockOps {
			out[i][mAvailability] = math.NaN()
		}
		if b.checked < minBlockOps {
			out[i][mStale] = math.NaN()
		}
	}
	return out
}

// minBlockOps is the fewest ops (or checks) that make a block's own
// statistic count towards the noise band.
const minBlockOps = 5

// boot draws n resamples of the sample's blocks (each as many blocks as it
// has, with replacement) with a generator seeded from seed and name, so a
// comparison is reproducible and independent of its order.
func (r *resampler) boot(n int, seed uint64, name string) []stats {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	rng := rand.New(rand.NewPCG(seed, h.Sum64()))
	out := make([]stats, n)
	pick := make([]int, len(r.s.blocks))
	for i := range out {
		for j := range pick {
			pick[j] = rng.IntN(len(pick))
		}
		out[i] = r.stats(pick)
	}
	return out
}

// quantileF returns the q-quantile of the finite xs (linear interpolation
// between order statistics; NaN if none): used for bootstrap intervals and
// noise bands, never for latency percentiles.
func quantileF(xs []float64, q float64) float64 {
	v := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	pos := q * float64(len(v)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(v)-1)
	return v[lo] + (v[hi]-v[lo])*(pos-float64(lo))
}
