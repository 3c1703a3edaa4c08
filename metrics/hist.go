package metrics

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry (DESIGN.md, "Time").
const (
	// LatencyLowestNs is the lowest discernible latency: 1 µs, in ns.
	LatencyLowestNs = 1_000
	// LatencyHighestNs is the highest trackable latency: 60 s, in ns. Larger
	// values are clamped to it and counted.
	LatencyHighestNs = 60_000_000_000
	// VersionsLowest is the lowest discernible version staleness.
	VersionsLowest = 1
	// VersionsHighest is the highest trackable version staleness; larger
	// values are clamped to it and counted.
	VersionsHighest = 1_000_000_000
	// SignificantDigits is the precision of every histogram.
	SignificantDigits = 3
)

// NewLatencyHistogram returns an empty histogram of pacbench's latency
// geometry (ns, 1 µs–60 s, 3 significant digits). It is about 150 KB.
func NewLatencyHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LatencyLowestNs, LatencyHighestNs, SignificantDigits)
}

// NewVersionsHistogram returns an empty histogram of pacbench's version
// staleness geometry (1–1e9, 3 significant digits). It is about 170 KB.
func NewVersionsHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(VersionsLowest, VersionsHighest, SignificantDigits)
}

// histPool recycles empty histograms of one geometry. Goroutine-safe.
type histPool struct {
	p sync.Pool
}

func newHistPool(newFn func() *hdrhistogram.Histogram) *histPool {
	hp := &histPool{}
	hp.p.New = func() any { return newFn() }
	return hp
}

// get returns an empty histogram.
func (hp *histPool) get() *hdrhistogram.Histogram {
	return hp.p.Get().(*hdrhistogram.Histogram)
}

// put resets h and keeps it for reuse; nil is ignored.
func (hp *histPool) put(h *hdrhistogram.Histogram) {
	if h == nil {
		return
	}
	if h.TotalCount() != 0 {
		h.Reset()
	}
	hp.p.Put(h)
}
