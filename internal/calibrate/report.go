package calibrate

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a calibration: every pair, and the spread of the
// pairwise figures. Plain data (JSON tags are the `--format json` schema,
// "pacbench.calibration/v1").
type Report struct {
	// Schema is "pacbench.calibration/v1".
	Schema   string   `json:"schema"`
	Settings Settings `json:"settings"`
	// Pairs in the order they ran (A = raw, then B = pacbench).
	Pairs []Pair `json:"pairs"`
	// ThroughputRatio is the spread of pacbench/raw ok-ops/s over pairs.
	ThroughputRatio Spread `json:"throughput_ratio"`
	// P50DiffPct and P99DiffPct are the spreads of the service-time
	// differences (pacbench − raw) / raw, in percent (positive: pacbench
	// slower).
	P50DiffPct Spread `json:"p50_diff_pct"`
	P99DiffPct Spread `json:"p99_diff_pct"`
	// CPUPerOpDiffUs is the spread of the difference in this process's CPU
	// time per op (pacbench − raw), in µs: pacbench's own client-side cost,
	// far less sensitive to other load than the latency figures.
	CPUPerOpDiffUs Spread `json:"cpu_per_op_diff_us"`
	// Targets are issue 8's goals; MeetsTargets says whether the medians
	// meet them (the spread says how far to trust that).
	Targets      Targets `json:"targets"`
	MeetsTargets bool    `json:"meets_targets"`
}

// Settings records what was compared and on what machine.
type Settings struct {
	Pairs     int     `json:"pairs"`
	DurationS float64 `json:"duration_s"`
	WarmupS   float64 `json:"warmup_s"`
	Workers   int     `json:"workers"`
	Records   int     `json:"records"`
	ValueSize int     `json:"value_size"`
	ReadRatio float64 `json:"read_ratio"`
	Level     string  `json:"level"`
	// ReadVia/WriteVia are the roles asked for; Endpoints what they
	// resolved to (both sides use exactly these endpoints).
	ReadVia  string `json:"read_via"`
	WriteVia string `json:"write_via"`
	Endpoints
	Machine
}

// Endpoints are the members and endpoints both sides' ops went to.
type Endpoints struct {
	ReadMember    string `json:"read_member"`
	WriteMember   string `json:"write_member"`
	ReadEndpoint  string `json:"read_endpoint"`
	WriteEndpoint string `json:"write_endpoint"`
	// LocalCluster is true when the calibration started the cluster itself.
	LocalCluster bool `json:"local_cluster"`
	Members      int  `json:"members"`
}

// Machine: logical CPUs, GOMAXPROCS, Go version, and the 1-minute load
// average at the start and the end (Linux; -1 when unknown), which says
// how much other work shared the machine.
type Machine struct {
	CPUs         int     `json:"cpus"`
	GOMAXPROCS   int     `json:"gomaxprocs"`
	GoVersion    string  `json:"go_version"`
	LoadAvgStart float64 `json:"load_avg_start"`
	LoadAvgEnd   float64 `json:"load_avg_end"`
}

// thisMachine is Machine now (LoadAvgEnd is set at the end).
func thisMachine() Machine {
	return Machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), LoadAvgStart: loadAvg()}
}

// Pair is one A (raw) B (pacbench) pair and its pairwise figures.
type Pair struct {
	Index    int  `json:"index"`
	Raw      Side `json:"raw"`
	Pacbench Side `json:"pacbench"`
	// ThroughputRatio is Pacbench.ThroughputOps / Raw.ThroughputOps.
	ThroughputRatio float64 `json:"throughput_ratio"`
	// P50DiffPct and P99DiffPct are (pacbench − raw) / raw × 100 of the
	// service-time percentiles.
	P50DiffPct float64 `json:"p50_diff_pct"`
	P99DiffPct float64 `json:"p99_diff_pct"`
	// CPUPerOpDiffUs is Pacbench.CPUPerOpUs − Raw.CPUPerOpUs.
	CPUPerOpDiffUs float64 `json:"cpu_per_op_diff_us"`
}

// Side is one measured run of one side: ops started in the measured
// window, and the service time (actual start → completion) of the
// successful ones, reads and writes together.
type Side struct {
	OK     int64 `json:"ok"`
	Errors int64 `json:"errors"`
	// DurationS is the measured window in seconds.
	DurationS float64 `json:"duration_s"`
	// ThroughputOps is OK / DurationS.
	ThroughputOps float64 `json:"throughput_ops"`
	// Service time of successful ops, in ms.
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MeanMs float64 `json:"mean_ms"`
	// CPUPerOpUs is this process's CPU time (user+system) over the
	// measured window per op started in it, in µs: the client, plus the
	// local cluster's in-process proxies (the same for both sides); the
	// etcd members are other processes and are not counted.
	CPUPerOpUs float64 `json:"cpu_per_op_us"`

	cpu time.Duration // CPU time over the measured window
}

// Spread is the min, median and max of a pairwise figure over the pairs.
type Spread struct {
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// Targets are the goals the medians are held to.
type Targets struct {
	ThroughputRatioMin float64 `json:"throughput_ratio_min"`
	P50DiffPctMax      float64 `json:"p50_diff_pct_max"`
}

// spreadOf returns the min, median (mean of the middle two for an even
// count) and max of xs; the zero Spread for none.
func spreadOf(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Min: s[0], Median: med, Max: s[n-1]}
}

// diffPct returns (b − a) / a × 100, or 0 when a is 0.
func diffPct(a, b float64) float64 {
	if a == 0 {
		return 0
	}
	return (b - a) / a * 100
}

// newPair computes the pairwise figures of raw and pac.
func newPair(index int, raw, pac Side) Pair {
	p := Pair{Index: index, Raw: raw, Pacbench: pac,
		P50DiffPct: diffPct(raw.P50Ms, pac.P50Ms), P99DiffPct: diffPct(raw.P99Ms, pac.P99Ms),
		CPUPerOpDiffUs: pac.CPUPerOpUs - raw.CPUPerOpUs}
	if raw.ThroughputOps > 0 {
		p.ThroughputRatio = pac.ThroughputOps / raw.ThroughputOps
	}
	return p
}

// summarize fills the spreads and the verdict from r.Pairs.
func (r *Report) summarize() {
	var ratio, p50, p99, cpu []float64
	for _, p := range r.Pairs {
		ratio = append(ratio, p.ThroughputRatio)
		p50 = append(p50, p.P50DiffPct)
		p99 = append(p99, p.P99DiffPct)
		cpu = append(cpu, p.CPUPerOpDiffUs)
	}
	r.ThroughputRatio, r.P50DiffPct, r.P99DiffPct = spreadOf(ratio), spreadOf(p50), spreadOf(p99)
	r.CPUPerOpDiffUs = spreadOf(cpu)
	r.Targets = Targets{ThroughputRatioMin: TargetThroughputRatio, P50DiffPctMax: TargetP50DiffPct}
	r.MeetsTargets = len(r.Pairs) > 0 && r.ThroughputRatio.Median >= TargetThroughputRatio &&
		r.P50DiffPct.Median <= TargetP50DiffPct
}

// WriteText writes the report as a human-readable table: the settings, one
// row per pair, and the min/median/max of each pairwise figure.
func (r *Report) WriteText(w io.Writer) error {
	s := r.Settings
	var b strings.Builder
	mix := fmt.Sprintf("%.0f%% reads (%s via %s %s), %.0f%% writes (via %s %s)",
		100*s.ReadRatio, s.Level, s.ReadVia, s.ReadMember, 100*(1-s.ReadRatio), s.WriteVia, s.WriteMember)
	fmt.Fprintf(&b, "calibration: pacbench engine (B) vs raw etcd clientv3 loop (A), closed loop, alternating A B\n")
	fmt.Fprintf(&b, "  %d workers, %d records × %d B, uniform keys, %s\n", s.Workers, s.Records, s.ValueSize, mix)
	cl := "existing cluster"
	if s.LocalCluster {
		cl = "local cluster (members in their own processes, links through Toxiproxy)"
	}
	fmt.Fprintf(&b, "  %d pairs × %gs measured (+%gs warm-up each); etcd %d members, %s\n", s.Pairs, s.DurationS, s.WarmupS, s.Members, cl)
	fmt.Fprintf(&b, "  machine: %d CPUs, GOMAXPROCS %d, %s; load average %s at start, %s at end\n\n",
		s.CPUs, s.GOMAXPROCS, s.GoVersion, loadStr(s.LoadAvgStart), loadStr(s.LoadAvgEnd))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pair\traw ops/s\tpacbench ops/s\tratio\traw p50 ms\tpacbench p50 ms\tΔp50\traw p99 ms\tpacbench p99 ms\tΔp99\tcpu µs/op raw/pacbench\terrors raw/pacbench\t")
	for _, p := range r.Pairs {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.3f\t%.3f\t%.3f\t%s\t%.3f\t%.3f\t%s\t%.1f/%.1f\t%d/%d\t\n", p.Index,
			p.Raw.ThroughputOps, p.Pacbench.ThroughputOps, p.ThroughputRatio,
			p.Raw.P50Ms, p.Pacbench.P50Ms, pct(p.P50DiffPct), p.Raw.P99Ms, p.Pacbench.P99Ms, pct(p.P99DiffPct),
			p.Raw.CPUPerOpUs, p.Pacbench.CPUPerOpUs, p.Raw.Errors, p.Pacbench.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "throughput ratio pacbench/raw: min %.3f  median %.3f  max %.3f  (target: median ≥ %.2f)\n",
		r.ThroughputRatio.Min, r.ThroughputRatio.Median, r.ThroughputRatio.Max, r.Targets.ThroughputRatioMin)
	fmt.Fprintf(&b, "service p50 difference:        min %s  median %s  max %s  (target: median ≤ %s)\n",
		pct(r.P50DiffPct.Min), pct(r.P50DiffPct.Median), pct(r.P50DiffPct.Max), pct(r.Targets.P50DiffPctMax))
	fmt.Fprintf(&b, "service p99 difference:        min %s  median %s  max %s\n",
		pct(r.P99DiffPct.Min), pct(r.P99DiffPct.Median), pct(r.P99DiffPct.Max))
	fmt.Fprintf(&b, "client CPU per op, pacbench − raw: min %+.1f µs  median %+.1f µs  max %+.1f µs (this process; etcd members excluded)\n",
		r.CPUPerOpDiffUs.Min, r.CPUPerOpDiffUs.Median, r.CPUPerOpDiffUs.Max)
	verdict := "medians meet the targets"
	if !r.MeetsTargets {
		verdict = "medians MISS the targets"
	}
	fmt.Fprintf(&b, "%s; the min–max range is the run-to-run noise of this machine.\n", verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// pct formats a signed percentage with one decimal ("+2.0%"), without a
// negative zero.
func pct(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		v = 0 // -0 → +0
	}
	return fmt.Sprintf("%+.1f%%", v)
}

func loadStr(v float64) string {
	if v < 0 {
		return "unknown"
	}
	return fmt.Sprintf("%.2f", v)
}
