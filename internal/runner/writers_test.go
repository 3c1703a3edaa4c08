package runner_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/profile"
)

// writersProfile has two write routes (f1, f2 of the fake topology) and a
// phase in which the writers via f2 stamp their writes 500 ms behind.
const writersProfile = `
system: {driver: fake, endpoints: [fake://1, fake://2, fake://3]}
workload: {records: 4, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform}
load: {workers: 4}
routes: {writers: [f1, f2]}
levels: [{name: fresh, read: fresh}]
phases:
  - {name: baseline, duration: 600ms}
  - {name: skewed, duration: 600ms, impairments: [{kind: client_clock_skew, target: f2, offset: -500ms}]}
`

// TestWritersAndClientClockSkew: workers are split between the write
// routes of routes.writers (both carry writes); with last-write-wins, the
// writes through a route whose clock is 500 ms behind lose to the writes
// just before them through the other route, so reads that see every
// acknowledged write before a skew (fresh reads: none stale) go stale
// under it; the skew is set on the route's clock only for its phase.
func TestWritersAndClientClockSkew(t *testing.T) {
	t.Parallel()
	log := &fakedriver.WriteLog{}
	d := fakedriver.New(fakedriver.Options{LWW: true, Writes: log, OpDelay: 200 * time.Microsecond})
	pl, reg := plan(t, d, writersProfile)
	clocks := impair.NewClientClocks()
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 200 * time.Millisecond,
		Impairer: impair.NewClientClockBackend(clocks, nil), WriteClocks: clocks})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	counts := log.Counts()
	if counts["fake://1"] == 0 || counts["fake://2"] == 0 || len(counts) != 2 {
		t.Errorf("writes by route %v, want both routes of routes.writers", counts)
	}
	if len(res.WriterEndpoints) != 2 || res.WriterEndpoints[1][0] != "fake://2" {
		t.Errorf("writer endpoints %v", res.WriterEndpoints)
	}
	base, skewed := staleness(t, res.Results, 0, 0), staleness(t, res.Results, 0, 1)
	if base.checked == 0 || base.stale != 0 {
		t.Errorf("baseline: %d of %d reads stale, want none (every write wins with right clocks)", base.stale, base.checked)
	}
	if skewed.checked == 0 || skewed.stale == 0 {
		t.Errorf("skewed: %d of %d reads stale, want some (writes via f2 lose to older ones via f1)", skewed.stale, skewed.checked)
	}
	if off := clocks.Clock("f2").Offset(); off != 0 {
		t.Errorf("f2's clock still %s off after the run", off)
	}
	ev := res.Phases[1].Impairments
	if len(ev) != 1 || ev[0].Describe != "client_clock_skew -500ms on the writers via f2" || ev[0].ClearedNs <= ev[0].AppliedNs {
		t.Errorf("skew events %+v", ev)
	}
}

// noStampDriver is the fake driver without client timestamps.
type noStampDriver struct{ drivers.Driver }

// TestClientClockSkewNeedsTimestamps: a driver that takes no client write
// timestamps is refused at validation (file:line), by the driver's
// capability.
func TestClientClockSkewNeedsTimestamps(t *testing.T) {
	t.Parallel()
	reg := drivers.NewRegistry(noStampDriver{fakedriver.New(fakedriver.Options{})})
	_, err := profile.Parse("test.yaml", []byte(writersProfile), profile.Options{Registry: reg})
	if err == nil || !errors.Is(err, profile.ErrInvalid) {
		t.Fatalf("parse: %v, want a validation error", err)
	}
	const want = "test.yaml:9:52: phases[1].impairments[0].kind: client_clock_skew needs client-side write timestamps: driver fake cannot take client write timestamps"
	if got := err.Error(); len(got) < len(want) || got[:len(want)] != want {
		t.Errorf("error %q, want it to start with %q", got, want)
	}
}
