package checkers_test

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/metrics"
)

// registry returns the built-in checks (linearizability sampling off).
func registry(t testing.TB) *metrics.Checks {
	t.Helper()
	cs, err := checkers.Registry(checkers.Config{Sessions: 4})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// cellView is a cell's built-in check measurements, for assertions.
type cellView struct {
	Checked, Stale, Unchecked, LowerBound int64
	RYW, Monotonic, Evictions             int64
	Versions, Behind                      *hdrhistogram.Histogram
	Visibility                            []metrics.Bucket
}

func view(res *metrics.Results, c *metrics.Cell) cellView {
	get := func(name string) metrics.Value {
		v, _ := res.Value(c, name)
		return v
	}
	return cellView{
		Checked: get(checkers.StalenessChecked).Count, Stale: get(checkers.StalenessStale).Count,
		Unchecked: get(checkers.StalenessUnchecked).Count, LowerBound: get(checkers.StalenessLowerBound).Count,
		RYW: get(checkers.SessionRYW).Count, Monotonic: get(checkers.SessionMonotonic).Count,
		Evictions: get(checkers.SessionEvictions).Count,
		Versions:  get(checkers.StalenessVersions).Hist, Behind: get(checkers.StalenessBehind).Hist,
		Visibility: get(checkers.VisibilityReads).Buckets,
	}
}
