package calibrate

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// RawOpenSpec is what the raw side of an open-loop calibration runs, in a
// process of its own (`pacbench calibrate raw-open`, reading it as JSON
// on stdin), so that its CPU time is its own. Plain data.
type RawOpenSpec struct {
	// ReadEndpoint and WriteEndpoint are the members' client URLs.
	ReadEndpoint  string `json:"read_endpoint"`
	WriteEndpoint string `json:"write_endpoint"`
	// Serializable selects serializable reads (else linearizable).
	Serializable bool `json:"serializable"`
	// Rate is the target in ops/s; Workers the goroutines that run them.
	Rate    float64 `json:"rate"`
	Workers int     `json:"workers"`
	// Records, ValueSize and ReadRatio are the workload (uniform keys).
	Records   int     `json:"records"`
	ValueSize int     `json:"value_size"`
	ReadRatio float64 `json:"read_ratio"`
	// OpTimeout bounds every op; Warmup runs before the measured Duration.
	OpTimeout time.Duration `json:"op_timeout"`
	Warmup    time.Duration `json:"warmup"`
	Duration  time.Duration `json:"duration"`
	// Seed of the op sequence.
	Seed int64 `json:"seed"`
}

// RawOpenResult is what the raw side measured over its measured window.
type RawOpenResult struct {
	// Ops is the number of ops whose intended start was in the window;
	// Errors those that failed.
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	// ReadResponseP50Ms and ReadResponseP99Ms are the successful reads'
	// response times (completion − intended start), in ms.
	ReadResponseP50Ms float64 `json:"read_response_p50_ms"`
	ReadResponseP99Ms float64 `json:"read_response_p99_ms"`
	// MaxLagMs is the largest delay from an intended start to the op's
	// actual start, in ms.
	MaxLagMs float64 `json:"max_lag_ms"`
}

// Marks the sides of an open-loop calibration write to their stderr, one
// line each, when their warm-up, measured window and end begin: the lines
// pacbench's runner logs as it opens each phase of the calibration
// profile, so that the parent samples a side's CPU time at the same
// points whatever the side.
func markLine(phase string) string { return "phase " + phase + " (" }

// RunRawOpen runs the raw open loop of spec: the simplest correct pacer —
// one goroutine computing each op's intended start from the rate (start +
// i/rate, so it never drifts), sleeping until it (time.Sleep) and handing
// it to a pool of spec.Workers goroutines over a channel; each op is one
// clientv3 call under a context with the op timeout, timed from its
// intended start (no coordinated omission). It writes the phase marks to
// log and returns the measured window's figures. Not safe to run twice at
// once in one process (the CPU time would be shared).
func RunRawOpen(ctx context.Context, spec RawOpenSpec, log io.Writer) (RawOpenResult, error) {
	if spec.Workers < 1 || !(spec.Rate > 0) || spec.Duration <= 0 || spec.Warmup < 0 || spec.OpTimeout <= 0 {
		return RawOpenResult{}, fmt.Errorf("%w: raw open loop: workers %d, rate %g, duration %s, warm-up %s, op timeout %s",
			ErrInvalidOptions, spec.Workers, spec.Rate, spec.Duration, spec.Warmup, spec.OpTimeout)
	}
	read, err := newClient([]string{spec.ReadEndpoint}, dialTimeout)
	if err != nil {
		return RawOpenResult{}, fmt.Errorf("calibrate: connect %s: %w", spec.ReadEndpoint, err)
	}
	defer read.Close()
	write := read
	if spec.WriteEndpoint != spec.ReadEndpoint {
		if write, err = newClient([]string{spec.WriteEndpoint}, dialTimeout); err != nil {
			return RawOpenResult{}, fmt.Errorf("calibrate: connect %s: %w", spec.WriteEndpoint, err)
		}
		defer write.Close()
	}
	l := &rawLoop{spec: spec, read: read, write: write, value: strings.Repeat("v", spec.ValueSize)}
	if spec.Serializable {
		l.readOpts = []clientv3.OpOption{clientv3.WithSerializable()}
	}
	return l.run(ctx, log)
}

// rawLoop is one raw open-loop run.
type rawLoop struct {
	spec        RawOpenSpec
	read, write *clientv3.Client
	readOpts    []clientv3.OpOption
	value       string
	from, end   time.Time // the measured window of intended starts
}

// rawCounts is one raw worker's figures over the measured window.
type rawCounts struct {
	ops, errors int64
	maxLag      time.Duration
	resp        *hdrhistogram.Histogram
}

func (l *rawLoop) run(ctx context.Context, log io.Writer) (RawOpenResult, error) {
	s := l.spec
	plan, errs := workloads.FromProfile(workloadConfig(s.Records, s.ValueSize, s.ReadRatio))
	if len(errs) > 0 {
		return RawOpenResult{}, fmt.Errorf("calibrate: raw workload: %w", errs[0])
	}
	ks := workloads.NewKeyspace(plan)
	jobs := make(chan time.Time, 1<<16)
	counts := make([]rawCounts, s.Workers)
	var wg sync.WaitGroup
	for w := range s.Workers {
		gen := workloads.NewGenerator(plan, ks, s.Seed*7919+int64(w))
		counts[w].resp = metrics.NewLatencyHistogram()
		wg.Go(func() { l.worker(ctx, gen, ks, jobs, &counts[w]) })
	}
	t0 := time.Now()
	l.from, l.end = t0.Add(s.Warmup), t0.Add(s.Warmup+s.Duration)
	fmt.Fprintln(log, markLine(phaseWarmup))
	marked := false
	for i := 0; ctx.Err() == nil; i++ {
		due := t0.Add(time.Duration(float64(i) * 1e9 / s.Rate))
		if !due.Before(l.end) {
			break
		}
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		if !marked && !due.Before(l.from) {
			fmt.Fprintln(log, markLine(phaseMeasure))
			marked = true
		}
		jobs <- due
	}
	close(jobs)
	wg.Wait()
	fmt.Fprintln(log, markLine(phaseCooldown))
	if err := ctx.Err(); err != nil {
		return RawOpenResult{}, err
	}
	return l.result(counts), nil
}

// worker runs the ops handed to it until jobs is closed.
func (l *rawLoop) worker(ctx context.Context, gen *workloads.Generator, ks *workloads.Keyspace, jobs <-chan time.Time, c *rawCounts) {
	for due := range jobs {
		nx := gen.Next()
		key := ks.Key(nx.Key)
		start := time.Now()
		octx, cancel := context.WithTimeout(ctx, l.spec.OpTimeout)
		var err error
		if nx.Kind == op.Read {
			_, err = l.read.Get(octx, key, l.readOpts...)
		} else {
			_, err = l.write.Put(octx, key, l.value)
		}
		cancel()
		if due.Before(l.from) {
			continue
		}
		c.ops++
		c.maxLag = max(c.maxLag, start.Sub(due))
		if err != nil {
			c.errors++
		} else if nx.Kind == op.Read {
			_ = c.resp.RecordValue(max(int64(time.Since(due)), metrics.LatencyLowestNs))
		}
	}
}

func (l *rawLoop) result(counts []rawCounts) RawOpenResult {
	resp := metrics.NewLatencyHistogram()
	var res RawOpenResult
	var lag time.Duration
	for _, c := range counts {
		res.Ops += c.ops
		res.Errors += c.errors
		lag = max(lag, c.maxLag)
		resp.Merge(c.resp)
	}
	p50, _ := metrics.Quantile(resp, 0.5)
	p99, _ := metrics.Quantile(resp, 0.99)
	res.ReadResponseP50Ms, res.ReadResponseP99Ms = float64(p50)/1e6, float64(p99)/1e6
	res.MaxLagMs = float64(lag) / 1e6
	return res
}

// workloadConfig is the calibration's workload: uniform keys, reads and
// writes in readRatio.
func workloadConfig(records, valueSize int, readRatio float64) workloads.Config {
	mix := map[string]float64{}
	if readRatio > 0 {
		mix["read"] = readRatio
	}
	if readRatio < 1 {
		mix["write"] = 1 - readRatio
	}
	return workloads.Config{Records: records, ValueSize: valueSize, Mix: mix, Distribution: workloads.Uniform}
}
