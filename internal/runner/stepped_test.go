package runner_test

// A toy load model, to prove the load-model seam: a stepped open-loop rate
// ("steps" ops/s, each held for "step") is this one file plus one
// registration line (load.NewRegistry(..., stepped{}) in the test below,
// or in load.Builtin for a built-in model). It runs through the real
// engine against the fake driver.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/profile"
)

// stepped is the "stepped" model: options steps (comma-separated ops/s)
// and step (how long each is held, default 1s); after the last step no
// more ops arrive.
type stepped struct{}

func (stepped) Info() load.Info {
	return load.Info{Name: "stepped", Description: "open loop, the rate stepping through options.steps",
		Keys:    []string{load.KeyOptions},
		Options: []load.Option{{Key: "steps", Doc: "ops/s of each step, comma-separated"}, {Key: "step", Default: "1s", Doc: "duration of each step"}}}
}

func (stepped) parse(s load.Spec) (rates []float64, step time.Duration, errs []load.FieldError) {
	step = time.Second
	if v, ok := s.Options["step"]; ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, load.FieldError{Field: "options.step", Msg: fmt.Sprintf("want a positive duration, got %q", v)})
		}
		step = d
	}
	for _, f := range strings.Split(s.Options["steps"], ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || !(r > 0 && r <= profile.MaxRate) {
			errs = append(errs, load.FieldError{Field: "options.steps", Msg: fmt.Sprintf("want rates in (0, %g] ops/s, got %q", float64(profile.MaxRate), f)})
			break
		}
		rates = append(rates, r)
	}
	return rates, step, errs
}

func (m stepped) Check(s load.Spec) []load.FieldError {
	_, _, errs := m.parse(s)
	return errs
}

func (m stepped) Schedule(s load.Spec) load.Schedule {
	rates, step, _ := m.parse(s)
	return steppedSchedule{rates: rates, step: step, workers: s.Workers}
}

type steppedSchedule struct {
	rates   []float64
	step    time.Duration
	workers int
}

func (s steppedSchedule) Workers() int { return s.workers }
func (steppedSchedule) Open() bool     { return true }

// Rate is the mean target over [0, d).
func (s steppedSchedule) Rate(d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return s.count(d) / d.Seconds()
}

// count is the number of arrivals scheduled in [0, d).
func (s steppedSchedule) count(d time.Duration) float64 {
	var n float64
	for i, r := range s.rates {
		held := min(d-time.Duration(i)*s.step, s.step)
		if held <= 0 {
			break
		}
		n += r * held.Seconds()
	}
	return n
}

// at is the time of the union's arrival number k: inside the step whose
// cumulative count covers k.
func (s steppedSchedule) at(k uint64) time.Duration {
	before := 0.0
	for i, r := range s.rates {
		in := r * s.step.Seconds()
		if float64(k) < before+in {
			return time.Duration(i)*s.step + time.Duration((float64(k)-before)/r*1e9)
		}
		before += in
	}
	return load.Never
}

// Pacer: worker w takes the union's arrivals w, w+n, w+2n, ….
func (s steppedSchedule) Pacer(w int, _ uint64) load.Pacer {
	return steppedPacer{s: s, w: uint64(w)}
}

type steppedPacer struct {
	s steppedSchedule
	w uint64
}

func (p steppedPacer) Next(n uint64, _ time.Duration) time.Duration {
	return p.s.at(p.w + n*uint64(p.s.workers))
}

// TestToyLoadModel: the stepped model validates through the profile (its
// options at file:line) and runs through the engine: each phase gets the
// arrivals its step scheduled, issued in that phase (or skipped and
// counted), measured from their intended starts.
func TestToyLoadModel(t *testing.T) {
	t.Parallel()
	models := load.NewRegistry(load.Closed{}, load.Open{}, stepped{})
	const yml = `
system: {driver: fake, endpoints: [fake://1]}
workload: {records: 50, value_size: 64, mix: {read: 0.8, write: 0.2}, distribution: uniform}
load:
  model: stepped
  workers: 4
  options: {steps: "150, 600", step: 800ms}
levels: [{name: only, read: fresh}]
phases: [{name: low, duration: 800ms}, {name: high, duration: 800ms}]
`
	pl, reg := planWith(t, drivers.NewRegistry(fakedriver.New(fakedriver.Options{})), yml, models)
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	ld := res.Load[0]
	t.Logf("load %+v", ld)
	if ld.Model != "stepped" {
		t.Fatalf("load stats %+v: want model stepped", ld)
	}
	// The mean over the phases' scheduled time, however late their timers.
	if want := (150*0.8 + 600*0.8) / 1.6; ld.TargetRate != want {
		t.Errorf("target rate %v, want the schedule's mean %v", ld.TargetRate, want)
	}
	// Every scheduled arrival is either issued in its own phase or, when a
	// starved machine kept the workers behind until the phase ended,
	// skipped and counted: exact accounting whatever the load.
	var issued int64
	for pi, want := range []int64{120, 480} { // 150 ops/s and 600 ops/s for 800 ms
		var got int64
		c := cell(t, res.Results, 0, pi)
		for _, st := range c.Ops {
			if st != nil {
				got += st.Count
			}
		}
		issued += got
		if got > want || got < want-ld.Skipped || got == 0 {
			t.Errorf("phase %d: %d ops, want the %d its step scheduled (less at most the %d skipped)", pi, got, want, ld.Skipped)
		}
	}
	if issued+ld.Skipped != 600 || ld.Ops != issued {
		t.Errorf("%d ops issued + %d skipped (%d started), want the 600 scheduled", issued, ld.Skipped, ld.Ops)
	}
	// Validation goes through the model: its options are checked at their
	// line.
	bad := strings.Replace(yml, `step: 800ms`, `step: soon, pace: 1`, 1)
	_, err = profile.Parse("toy.yaml", []byte(bad), profile.Options{Registry: reg, LoadModels: models})
	for _, want := range []string{`toy.yaml:7:44: load.options.pace: unknown option of model stepped (known: steps, step)`,
		`toy.yaml:7:32: load.options.step: want a positive duration, got "soon"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad options: %v, want %q", err, want)
		}
	}
}
