package calibrate

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/profile"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	// Fields after the command: state ppid pgrp session tty tpgid flags
	// minflt cminflt majflt cmajflt utime stime …
	tail := " S 1 2 3 4 5 6 7 8 9 10 %s %s 0 0 20 0 9 0 100 200 300"
	cases := []struct {
		name, comm, utime, stime string
		want                     time.Duration
		err                      string
	}{
		{"plain", "(pacbench)", "150", "50", 2 * time.Second, ""},
		{"spaces and parentheses in the name", "(pac (bench) x)", "3", "4", 70 * time.Millisecond, ""},
		{"zero", "(p)", "0", "0", 0, ""},
		{"bad utime", "(p)", "x", "1", 0, `CPU field "x"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			line := "4242 " + tc.comm + strings.ReplaceAll(strings.Replace(tail, "%s", tc.utime, 1), "%s", tc.stime)
			got, err := parseStatCPU(line)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("parseStatCPU(%q) = %v, %v; want an error mentioning %q", line, got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("parseStatCPU(%q) = %v, %v; want %v", line, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"4242 no name 1 2 3", "4242 (p) S 1 2"} {
		if _, err := parseStatCPU(bad); err == nil {
			t.Errorf("parseStatCPU(%q): no error", bad)
		}
	}
}

// TestOpenProfile: the pacbench side's profile is one the profile package
// accepts (with the etcd driver's own level validation) and plans as the
// raw side runs: an open loop at the rate with the workers, the warm-up,
// measured and cooldown phases, the members' routes and the level.
func TestOpenProfile(t *testing.T) {
	t.Parallel()
	o, err := Options{Pairs: 1, Rate: 1500, Workers: 8, Duration: 4 * time.Second, Warmup: time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	b, err := openProfile(o, []string{"http://127.0.0.1:2379", "http://127.0.0.2:2379"}, "m2", "m1", 7)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse("calibration-open.yaml", b, profile.Options{Registry: drivers.NewRegistry(etcd.New())})
	if err != nil {
		t.Fatalf("the open-loop profile does not validate: %v\n%s", err, b)
	}
	pl, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	if l := p.Load; l.Model != "open" || l.Rate != 1500 || l.Workers != 8 {
		t.Errorf("load %+v; want open at 1500 ops/s with 8 workers", l)
	}
	if got, want := strings.Join(pl.PhaseNames(), ","), phaseWarmup+","+phaseMeasure+","+phaseCooldown; got != want {
		t.Errorf("phases %s, want %s", got, want)
	}
	if p.Routes.Read != "m2" || p.Routes.Write != "m1" || p.Seed != 7 {
		t.Errorf("routes %+v, seed %d; want reads via m2, writes via m1, seed 7", p.Routes, p.Seed)
	}
}

func TestMeasuredPhase(t *testing.T) {
	t.Parallel()
	doc := `{"scenarios":[{"load":{"max_schedule_lag_ms":3.5,"kept_up":true},"phases":[
	  {"name":"warmup","ops":{"read":{"count":99,"ok":99,"latency_ms":{"p50":9,"p99":9}}}},
	  {"name":"measure","ops":{"read":{"count":950,"ok":948,"latency_ms":{"p50":0.8,"p99":2.5}},
	                           "write":{"count":50,"ok":50,"latency_ms":{"p50":3,"p99":7}}}}]}]}`
	s, err := measuredPhase([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if s.Ops != 1000 || s.Errors != 2 || s.ReadP50Ms != 0.8 || s.ReadP99Ms != 2.5 || s.MaxLagMs != 3.5 || s.KeptUp == nil || !*s.KeptUp {
		t.Errorf("measured phase %+v; want 1000 ops, 2 errors, the reads' percentiles, lag 3.5 ms, kept up", s)
	}
	for name, bad := range map[string]string{
		"not JSON":          "{",
		"no scenario":       `{"scenarios":[]}`,
		"no measured phase": `{"scenarios":[{"phases":[{"name":"warmup"}]}]}`,
	} {
		if _, err := measuredPhase([]byte(bad)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestOpenReport: the CPU figures per side, the ratios' spread, the
// verdict on the median and the text naming both.
func TestOpenReport(t *testing.T) {
	t.Parallel()
	side := func(cpu time.Duration, ops int64) OpenSide { return OpenSide{Ops: ops}.finish(cpu, 10*time.Second) }
	r := &OpenReport{Settings: OpenSettings{Pairs: 3, Rate: 2000, Workers: 32, CompareExe: "/tmp/old"}}
	for i, c := range []struct{ raw, pac, cmp time.Duration }{
		{2 * time.Second, 2100 * time.Millisecond, 3 * time.Second},
		{2 * time.Second, 2400 * time.Millisecond, 3 * time.Second},
		{2 * time.Second, 2000 * time.Millisecond, 3 * time.Second},
	} {
		cmp := side(c.cmp, 20000)
		p := OpenPair{Index: i + 1, Order: []string{SideRaw, SidePacbench, SideCompare},
			Raw: side(c.raw, 20000), Pacbench: side(c.pac, 20000), Compare: &cmp}
		p.finish()
		r.Pairs = append(r.Pairs, p)
	}
	r.summarize()
	if r.Pairs[0].Raw.CPUPerOpUs != 100 || r.Pairs[0].Raw.AchievedOps != 2000 {
		t.Errorf("raw side %+v; want 100 µs/op at 2000 ops/s", r.Pairs[0].Raw)
	}
	if want := (Spread{1, 1.05, 1.2}); !close3(r.CPURatio, want) {
		t.Errorf("CPU ratio %+v, want %+v", r.CPURatio, want)
	}
	if r.CompareCPURatio == nil || !close3(*r.CompareCPURatio, Spread{1.5, 1.5, 1.5}) {
		t.Errorf("compare ratio %+v, want 1.5", r.CompareCPURatio)
	}
	if !r.MeetsTarget {
		t.Error("median 1.05 ≤ 1.1 reported as missing the target")
	}
	var b bytes.Buffer
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"median 1.050", "compare / raw:", "meets the target"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, b.String())
		}
	}
	r.Pairs[0].CPURatio, r.Pairs[2].CPURatio = 1.3, 1.2
	r.summarize()
	if r.MeetsTarget {
		t.Errorf("median %.2f > 1.1 reported as meeting the target", r.CPURatio.Median)
	}
}

func close3(a, b Spread) bool {
	d := func(x, y float64) bool { return x-y < 1e-9 && y-x < 1e-9 }
	return d(a.Min, b.Min) && d(a.Median, b.Median) && d(a.Max, b.Max)
}
