package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/profile"
)

// opsIn is the number of ops recorded in (scenario, phase), all kinds (0
// when none ran there).
func opsIn(t *testing.T, res *metrics.Results, si, pi int) int64 {
	t.Helper()
	c := cellOrNil(res, si, pi)
	if c == nil {
		return 0
	}
	var n int64
	for _, st := range c.Ops {
		if st != nil {
			n += st.Count
		}
	}
	return n
}

const stagesYAML = `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 50, value_size: 64, mix: {read: 0.8, write: 0.2}, distribution: uniform}
load: {model: stages, workers: 8, rate: 100, options: {stages: "1s:900, 1s:900"}}
levels: [{name: only, read: fresh}]
phases: [{name: ramp, duration: 1s}, {name: hold, duration: 1s}]
`

// TestStagesModel: the built-in stages model through the real engine: a
// ramp from 100 to 900 ops/s over the first phase (500 arrivals) and 900
// held over the second (900): each phase gets the arrivals the ramp
// scheduled in it, issued there or skipped and counted, whatever the
// machine's load.
func TestStagesModel(t *testing.T) {
	t.Parallel()
	pl, reg := planWith(t, drivers.NewRegistry(fakedriver.New(fakedriver.Options{})), stagesYAML, load.Builtin())
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	ld := res.Load[0]
	t.Logf("load %+v", ld)
	if ld.Model != "stages" || ld.TargetRate != 700 { // 1400 arrivals over 2 s
		t.Errorf("load stats %+v: want model stages, target 700 ops/s", ld)
	}
	var issued int64
	for pi, want := range []int64{500, 900} {
		got := opsIn(t, res.Results, 0, pi)
		issued += got
		if got > want || got < want-ld.Skipped || got == 0 {
			t.Errorf("phase %d: %d ops, want the %d the ramp scheduled (less at most the %d skipped)", pi, got, want, ld.Skipped)
		}
	}
	if issued+ld.Skipped != 1400 {
		t.Errorf("%d issued + %d skipped, want the 1400 scheduled", issued, ld.Skipped)
	}
	// Validation goes through the model, each problem at its line.
	for _, tc := range []struct{ old, new, want string }{
		{`"1s:900, 1s:900"`, `"1s:900, 1s:fast"`, `x.yaml:4:56: load.options.stages: stage 2 "1s:fast": ops/s "fast" is not a number in [0, 1e+08]`},
		{`"1s:900, 1s:900"}`, `"1s:900", start: "1"}`, `x.yaml:4:74: load.options.start: unknown option of model stages (known: stages)`},
		{`model: stages`, `model: stagez`, `x.yaml:4:8: load.model: unknown value "stagez" (want closed, open, ramp, stages)`},
	} {
		_, err := profile.Parse("x.yaml", []byte(strings.Replace(stagesYAML, tc.old, tc.new, 1)), profile.Options{Registry: reg})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("bad stages profile: %v, want %q", err, tc.want)
		}
	}
}

// TestStagesStallShows: a 600 ms stall of the database while the rate
// ramps up shows in the response-time tail (measured from each op's
// intended start on the changing schedule), not in the service time of
// the ops that waited for a worker: coordinated omission stays handled.
func TestStagesStallShows(t *testing.T) {
	t.Parallel()
	const stall = 600 * time.Millisecond
	d := fakedriver.New(fakedriver.Options{StallFrom: 800 * time.Millisecond, StallFor: stall})
	pl, reg := planWith(t, drivers.NewRegistry(d), `
system: {driver: fake, endpoints: [fake://1], op_timeout: 5s}
workload: {records: 100, value_size: 64, mix: {read: 1}, distribution: uniform}
load: {model: stages, workers: 8, rate: 200, options: {stages: "2s:1000"}}
levels: [{name: only, read: fresh}]
phases: [{name: ramp, duration: 2s}]
`, load.Builtin())
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	st := cell(t, res.Results, 0, 0).Ops[op.Read]
	resp, _ := metrics.Quantile(st.Response[op.OK], 1)
	svc99, _ := metrics.Quantile(st.Service[op.OK], 0.99)
	resp99, _ := metrics.Quantile(st.Response[op.OK], 0.99)
	t.Logf("ops %d, response max %v p99 %v, service p99 %v, load %+v", st.Count, time.Duration(resp), time.Duration(resp99),
		time.Duration(svc99), res.Load[0])
	// The op due first in the stall waits all of it: its response time is
	// at least the stall less the fake's own start-up slack.
	if time.Duration(resp) < stall*8/10 {
		t.Errorf("response max %v, want ≥ %v (the stall must show)", time.Duration(resp), stall*8/10)
	}
	// About 600 ms × ~520 ops/s ≈ 300 of the ~1200 ops arrive during the
	// stall: more than 1 % of them waited ≥ 100 ms.
	if time.Duration(resp99) < 100*time.Millisecond {
		t.Errorf("response p99 %v, want ≥ 100ms (a quarter of the ops arrived during the stall)", time.Duration(resp99))
	}
	if time.Duration(svc99) >= time.Duration(resp99) {
		t.Errorf("service p99 %v ≥ response p99 %v: the wait for a worker must not be service time", time.Duration(svc99), time.Duration(resp99))
	}
}

// TestRampModel: the closed-loop worker ramp through the engine: the
// number of sessions opened is load.workers, the active ones follow the
// stages (none in the idle phase after a ramp down to 0 and back up
// later), and latency is service time.
func TestRampModel(t *testing.T) {
	t.Parallel()
	// Ops of 250 ms: a 600 ms phase lets one worker issue at most 3, and
	// four workers at least 4 (each issues one as it becomes active) unless
	// the machine stalls a worker for the whole phase — counts that hold at
	// any load, unlike rates (2 ms ops gave one 193 / four 120 under the
	// race detector at load 30, a stall landing in one phase only).
	d := fakedriver.New(fakedriver.Options{OpDelay: 250 * time.Millisecond})
	pl, reg := planWith(t, drivers.NewRegistry(d), `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 50, value_size: 64, mix: {read: 1}, distribution: uniform}
load: {model: ramp, workers: 4, options: {start: "1", stages: "600ms:1, 0s:4, 600ms:4, 0s:0, 600ms:0, 0s:2"}}
levels: [{name: only, read: fresh}]
phases: [{name: one, duration: 600ms}, {name: four, duration: 600ms}, {name: idle, duration: 600ms}, {name: two, duration: 600ms}]
`, load.Builtin())
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	ld := res.Load[0]
	one, four, idle, two := opsIn(t, res.Results, 0, 0), opsIn(t, res.Results, 0, 1), opsIn(t, res.Results, 0, 2), opsIn(t, res.Results, 0, 3)
	t.Logf("load %+v; ops per phase: one %d, four %d, idle %d, two %d", ld, one, four, idle, two)
	if ld.Model != "ramp" || ld.Workers != 4 || ld.TargetRate != 0 {
		t.Errorf("load stats %+v: want model ramp, 4 workers, no target rate", ld)
	}
	// A phase with active workers issues ops; the idle phase at most the
	// ops still in flight when it began (one per worker of the phase before).
	if one == 0 || four == 0 || two == 0 || idle > 4 {
		t.Errorf("ops per phase one %d, four %d, idle %d, two %d: want ops wherever workers are active, none (≤ 4 in flight) when idle", one, four, idle, two)
	}
	// Four workers issue more than one (≥ 4 against ≤ 3, see above).
	if four <= one || one > 3 {
		t.Errorf("four active workers issued %d ops, one issued %d: want more", four, one)
	}
	st := cell(t, res.Results, 0, 1).Ops[op.Read]
	if r, s := st.Response[op.OK].TotalCount(), st.Service[op.OK].TotalCount(); r != s || r == 0 {
		t.Errorf("response %d vs service %d samples", r, s)
	}
}
