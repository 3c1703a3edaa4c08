// Command rsssweep measures pacbench's own memory against the worker count
// and the series count (issue 18): it runs the real engine (runner.Run:
// pacer, generator, recorder, checks, collector) against the in-memory fake
// driver with a fixed per-op delay, for one profile shape given by flags, and
// prints the process's peak resident set size (VmHWM) and its RSS at the
// end. The fake driver is a stand-in for the database only; what is measured
// is pacbench's memory, which is the same code as against a real database.
//
// One process per measurement (RSS never shrinks much): scripts/rss-sweep.sh
// runs the sweep and prints the table of docs/performance.md.
//
//	go run ./internal/tools/rsssweep -workers 1024 -scenarios 1 -phases 1 -ops read
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/plan"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/profile"
)

func main() {
	workers := flag.Int("workers", 16, "workers per scenario")
	scenarios := flag.Int("scenarios", 1, "scenarios (side by side)")
	phases := flag.Int("phases", 1, "phases")
	ops := flag.String("ops", "read,write", "op kinds of the mix (equal shares)")
	rate := flag.Float64("rate", 2000, "open-loop target per scenario, ops/s (0: closed loop)")
	dur := flag.Duration("duration", 10*time.Second, "total measured time, split over the phases")
	delay := flag.Duration("delay", time.Millisecond, "fake database service time per op")
	records := flag.Int("records", 1000, "records")
	heap := flag.String("heapprofile", "", "write a heap profile at 80% of the run to this file")
	flag.Parse()
	if *heap != "" {
		time.AfterFunc(*dur*8/10, func() { writeHeap(*heap) })
	}
	if err := run(*workers, *scenarios, *phases, *ops, *rate, *dur, *delay, *records); err != nil {
		fmt.Fprintln(os.Stderr, "rsssweep:", err)
		os.Exit(1)
	}
}

func run(workers, scenarios, phases int, ops string, rate float64, dur, delay time.Duration, records int) error {
	mix := map[string]float64{}
	kinds := strings.Split(ops, ",")
	for _, k := range kinds {
		mix[strings.TrimSpace(k)] = 1 / float64(len(kinds))
	}
	p := &profile.Profile{
		Name:     "rsssweep",
		Seed:     1,
		System:   profile.System{Driver: "fake", Endpoints: []string{"fake://1"}, OpTimeout: profile.Duration(time.Second)},
		Workload: profile.Workload{Records: records, ValueSize: 128, Mix: mix, Distribution: "zipfian"},
		Load:     profile.LoadModel{Model: "closed", Workers: workers},
		Routes:   profile.Routes{Read: "follower", Write: "leader"},
		Checks:   profile.Checks{LinearizableKeys: 4},
	}
	if rate > 0 {
		p.Load = profile.LoadModel{Model: "open", Workers: workers, Rate: rate}
	}
	for i := range scenarios {
		lv := "fresh"
		if i%2 == 1 {
			lv = "stale"
		}
		p.Levels = append(p.Levels, profile.LevelSet{Name: "s" + strconv.Itoa(i+1), Levels: map[string]string{"read": lv}})
	}
	for i := range phases {
		p.Phases = append(p.Phases, profile.Phase{Name: "p" + strconv.Itoa(i+1), Duration: profile.Duration(dur / time.Duration(phases))})
	}
	pp, err := p.Plan(profile.Overrides{})
	if err != nil {
		return err
	}
	pl, err := plan.New(pp, nil)
	if err != nil {
		return err
	}
	reg := drivers.NewRegistry(fakedriver.New(fakedriver.Options{OpDelay: delay, Lag: 2 * time.Millisecond}))
	var mid runtime.MemStats // at 80% of the run: stacks and heap while every worker runs
	midTimer := time.AfterFunc(dur*8/10, func() { runtime.ReadMemStats(&mid) })
	defer midTimer.Stop()
	done := make(chan struct{})
	peak := make(chan int64)
	go func() { // sampled peak as a cross-check of VmHWM
		var m int64
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				peak <- m
				return
			case <-t.C:
				m = max(m, status("VmRSS"))
			}
		}
	}()
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Interval: time.Second})
	close(done)
	sampled := <-peak
	if err != nil {
		return err
	}
	var n int64
	series := 0
	for _, c := range res.Results.Cells {
		for _, s := range c.Ops {
			n += s.Count
			series += len(s.Response)
		}
	}
	runtime.GC()
	fmt.Printf("workers=%d scenarios=%d phases=%d ops=%s series=%d ops_done=%d peak_rss_mib=%.1f sampled_peak_mib=%.1f end_rss_mib=%.1f stacks_mib=%.1f heap_inuse_mib=%.1f\n",
		workers, scenarios, phases, ops, series, n, mib(status("VmHWM")), mib(sampled), mib(status("VmRSS")),
		float64(mid.StackInuse)/(1<<20), float64(mid.HeapInuse)/(1<<20))
	return nil
}

// writeHeap writes a heap profile (for finding what grows with workers).
func writeHeap(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rsssweep:", err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "rsssweep:", err)
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// status returns a /proc/self/status field in KiB (0 if unknown).
func status(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}
