package htmlreport

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
	"testing/fstest"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// TestLongRunDownsampled: a run of many more intervals than MaxBlocks is
// drawn from at most MaxBlocks points, each merging whole consecutive
// intervals exactly: no op is lost, the page stays small, and a block's
// max is the max of its intervals.
func TestLongRunDownsampled(t *testing.T) {
	t.Parallel()
	const intervals = 2401 // 4 min at 100 ms
	fsys := fstest.MapFS{}
	for _, f := range []string{SummaryFile, ManifestFile} {
		b, err := os.ReadFile(fixture + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		fsys[f] = &fstest.MapFile{Data: b}
	}
	r0, err := Load(os.DirFS(fixture))
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	w, err := report.NewHlogWriter(&log, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), "long", r0.Names)
	if err != nil {
		t.Fatal(err)
	}
	key := metrics.SeriesKey{Scenario: 0, Phase: 0, Kind: op.Read, Class: op.OK}
	h := metrics.NewLatencyHistogram()
	var total int64
	for i := int64(0); i < intervals; i++ {
		h.Reset()
		for v := int64(1); v <= 1+i%7; v++ {
			_ = h.RecordValue(v * 1_000_000)
			total++
		}
		if err := w.Add(&metrics.Interval{StartNs: i * 1e8, EndNs: (i + 1) * 1e8, Series: []metrics.IntervalSeries{{Key: key, Response: h}}}); err != nil {
			t.Fatal(err)
		}
	}
	fsys[report.IntervalLogFile] = &fstest.MapFile{Data: log.Bytes()}
	r, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	d := Build(r)
	if d.Time.Intervals != intervals || d.Time.PerBlock != 5 || len(d.Time.Start) > MaxBlocks || len(d.Time.Start) != 481 {
		t.Fatalf("time axis: %d intervals, %d per block, %d blocks", d.Time.Intervals, d.Time.PerBlock, len(d.Time.Start))
	}
	tl := d.Timelines[0]
	var ops float64
	for b, v := range tl.OK {
		if v == nil {
			t.Fatalf("block %d: no rate", b)
		}
		ops += *v * (d.Time.End[b] - d.Time.Start[b])
		want := 0.0
		for i := 5 * b; i < min(5*b+5, intervals); i++ {
			want = max(want, float64(1+i%7))
		}
		if got := *tl.Response.Max[b]; got < want || got > want*1.001 {
			t.Errorf("block %d: max %v ms, its intervals' max is %v ms", b, got, want)
		}
	}
	if int64(ops+0.5) != total {
		t.Errorf("blocks hold %.0f ops, the log %d", ops, total)
	}
	b, _ := json.Marshal(d)
	if len(b) > 400_000 {
		t.Errorf("data is %d bytes for a %d-interval run", len(b), intervals)
	}
}
