package calibrate

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// OpenReport is the outcome of an open-loop calibration (RunOpen). Plain
// data (JSON tags are the `--open --format json` schema,
// "pacbench.calibration.open/v1").
type OpenReport struct {
	Schema   string       `json:"schema"`
	Settings OpenSettings `json:"settings"`
	// Pairs in the order they ran.
	Pairs []OpenPair `json:"pairs"`
	// RawCPUPerOpUs, PacbenchCPUPerOpUs and CompareCPUPerOpUs are the
	// spreads of each side's CPU time per op, in µs (Compare: nil without
	// a comparison binary).
	RawCPUPerOpUs      Spread  `json:"raw_cpu_per_op_us"`
	PacbenchCPUPerOpUs Spread  `json:"pacbench_cpu_per_op_us"`
	CompareCPUPerOpUs  *Spread `json:"compare_cpu_per_op_us,omitempty"`
	// CPURatio is the spread of pacbench/raw CPU per op over the pairs;
	// CompareCPURatio of compare/raw.
	CPURatio        Spread  `json:"cpu_ratio"`
	CompareCPURatio *Spread `json:"compare_cpu_ratio,omitempty"`
	// TargetCPURatio is issue 18's goal; MeetsTarget says whether the
	// median ratio is within it.
	TargetCPURatio float64 `json:"target_cpu_ratio"`
	MeetsTarget    bool    `json:"meets_target"`
}

// OpenSettings records what was compared and on what machine.
type OpenSettings struct {
	Pairs      int     `json:"pairs"`
	DurationS  float64 `json:"duration_s"`
	WarmupS    float64 `json:"warmup_s"`
	Rate       float64 `json:"rate_ops"`
	Workers    int     `json:"workers"`
	Records    int     `json:"records"`
	ValueSize  int     `json:"value_size"`
	ReadRatio  float64 `json:"read_ratio"`
	Level      string  `json:"level"`
	CompareExe string  `json:"compare_exe,omitempty"`
	Endpoints
	Machine
}

func openSettings(o Options) OpenSettings {
	return OpenSettings{Pairs: o.Pairs, DurationS: o.Duration.Seconds(), WarmupS: o.Warmup.Seconds(), Rate: o.Rate,
		Workers: o.Workers, Records: o.Records, ValueSize: o.ValueSize, ReadRatio: o.ReadRatio, Level: o.Level,
		CompareExe: o.CompareExe, Machine: thisMachine()}
}

// OpenPair is one run of every side, and the pairwise ratios.
type OpenPair struct {
	Index int `json:"index"`
	// LoadAvg is the 1-minute load average when the pair started.
	LoadAvg float64 `json:"load_avg"`
	// Order names the sides in the order they ran.
	Order    []string  `json:"order"`
	Raw      OpenSide  `json:"raw"`
	Pacbench OpenSide  `json:"pacbench"`
	Compare  *OpenSide `json:"compare,omitempty"`
	// CPURatio is Pacbench.CPUPerOpUs / Raw.CPUPerOpUs; CompareCPURatio
	// Compare's over Raw's.
	CPURatio        float64  `json:"cpu_ratio"`
	CompareCPURatio *float64 `json:"compare_cpu_ratio,omitempty"`
}

func (p *OpenPair) finish() {
	p.CPURatio = ratio(p.Pacbench.CPUPerOpUs, p.Raw.CPUPerOpUs)
	if p.Compare != nil {
		r := ratio(p.Compare.CPUPerOpUs, p.Raw.CPUPerOpUs)
		p.CompareCPURatio = &r
	}
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// OpenSide is one side's measured window.
type OpenSide struct {
	// Ops whose intended start fell in the measured window, and those
	// that failed.
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	// AchievedOps is Ops over the window, in ops/s.
	AchievedOps float64 `json:"achieved_ops"`
	// CPUPerOpUs is the side's process CPU time (user+system, all
	// threads) over the window per op, in µs.
	CPUPerOpUs float64 `json:"cpu_per_op_us"`
	// CPUSeconds is that CPU time.
	CPUSeconds float64 `json:"cpu_s"`
	// ReadP50Ms and ReadP99Ms are the successful reads' response times
	// (from the intended start), in ms.
	ReadP50Ms float64 `json:"read_p50_ms"`
	ReadP99Ms float64 `json:"read_p99_ms"`
	// MaxLagMs is the largest schedule lag (intended → actual start).
	MaxLagMs float64 `json:"max_lag_ms"`
	// KeptUp is pacbench's own verdict (nil for the raw side).
	KeptUp *bool `json:"kept_up,omitempty"`
}

// finish fills the rate and the CPU figures from the window's CPU time.
func (s OpenSide) finish(cpu, window time.Duration) OpenSide {
	if window > 0 {
		s.AchievedOps = float64(s.Ops) / window.Seconds()
	}
	s.CPUSeconds = cpu.Seconds()
	if s.Ops > 0 {
		s.CPUPerOpUs = float64(cpu) / 1e3 / float64(s.Ops)
	}
	return s
}

// summarize fills the spreads and the verdict from r.Pairs.
func (r *OpenReport) summarize() {
	var raw, pac, cmp, rat, crat []float64
	for _, p := range r.Pairs {
		raw = append(raw, p.Raw.CPUPerOpUs)
		pac = append(pac, p.Pacbench.CPUPerOpUs)
		rat = append(rat, p.CPURatio)
		if p.Compare != nil {
			cmp = append(cmp, p.Compare.CPUPerOpUs)
			crat = append(crat, *p.CompareCPURatio)
		}
	}
	r.RawCPUPerOpUs, r.PacbenchCPUPerOpUs, r.CPURatio = spreadOf(raw), spreadOf(pac), spreadOf(rat)
	if len(cmp) > 0 {
		c, cr := spreadOf(cmp), spreadOf(crat)
		r.CompareCPUPerOpUs, r.CompareCPURatio = &c, &cr
	}
	r.TargetCPURatio = TargetCPURatio
	r.MeetsTarget = len(r.Pairs) > 0 && r.CPURatio.Median <= TargetCPURatio
}

// WriteText writes the report for people: the settings, one row per side
// run, and the spreads.
func (r *OpenReport) WriteText(w io.Writer) error {
	s := r.Settings
	var b strings.Builder
	fmt.Fprintf(&b, "open-loop calibration: CPU per op of pacbench vs a raw etcd clientv3 loop paced at the same rate\n")
	fmt.Fprintf(&b, "  %.0f ops/s, %d workers, %d records × %d B, uniform keys, %.0f%% reads (%s via %s), %.0f%% writes (via %s)\n",
		s.Rate, s.Workers, s.Records, s.ValueSize, 100*s.ReadRatio, s.Level, s.ReadMember, 100*(1-s.ReadRatio), s.WriteMember)
	fmt.Fprintf(&b, "  %d pairs × %gs measured (+%gs warm-up), each side its own process (cluster and proxies not counted)\n", s.Pairs, s.DurationS, s.WarmupS)
	if s.CompareExe != "" {
		fmt.Fprintf(&b, "  compare: %s\n", s.CompareExe)
	}
	fmt.Fprintf(&b, "  machine: %d CPUs, GOMAXPROCS %d, %s; load average %s at start, %s at end\n\n",
		s.CPUs, s.GOMAXPROCS, s.GoVersion, loadStr(s.LoadAvgStart), loadStr(s.LoadAvgEnd))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\tload\tside\tops/s\tCPU µs/op\t× raw\tread p50 ms\tread p99 ms\tmax lag ms\terrors\t")
	for _, p := range r.Pairs {
		for _, name := range p.Order {
			sd, x := p.side(name)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%.1f\t%.3f\t%.3f\t%.3f\t%.1f\t%d\t\n", p.Index, loadStr(p.LoadAvg), name,
				sd.AchievedOps, sd.CPUPerOpUs, x, sd.ReadP50Ms, sd.ReadP99Ms, sd.MaxLagMs, sd.Errors)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&b, "\nCPU per op, raw:      %s µs\n", spreadStr(r.RawCPUPerOpUs, "%.1f"))
	fmt.Fprintf(&b, "CPU per op, pacbench: %s µs\n", spreadStr(r.PacbenchCPUPerOpUs, "%.1f"))
	if r.CompareCPUPerOpUs != nil {
		fmt.Fprintf(&b, "CPU per op, compare:  %s µs\n", spreadStr(*r.CompareCPUPerOpUs, "%.1f"))
	}
	fmt.Fprintf(&b, "pacbench / raw:       %s  (target: median ≤ %.2f)\n", spreadStr(r.CPURatio, "%.3f"), r.TargetCPURatio)
	if r.CompareCPURatio != nil {
		fmt.Fprintf(&b, "compare / raw:        %s\n", spreadStr(*r.CompareCPURatio, "%.3f"))
	}
	verdict := "the median meets the target"
	if !r.MeetsTarget {
		verdict = "the median MISSES the target"
	}
	fmt.Fprintf(&b, "%s; the min–max range is the run-to-run noise of this machine.\n", verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// side returns the named side of p and its CPU ratio to the raw side.
func (p *OpenPair) side(name string) (OpenSide, float64) {
	switch name {
	case SidePacbench:
		return p.Pacbench, p.CPURatio
	case SideCompare:
		return *p.Compare, *p.CompareCPURatio
	}
	return p.Raw, 1
}

func spreadStr(s Spread, f string) string {
	return fmt.Sprintf("min "+f+"  median "+f+"  max "+f, s.Min, s.Median, s.Max)
}
