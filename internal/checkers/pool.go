package checkers

import (
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Pool counts the open-loop ops that could not start on time because no
// worker was free (load.max_workers reached: the pool could not grow), per
// series (scenario × phase × op, the scenario carrying the levels), and
// how long they waited for a worker, apart from the database's time (the
// op's service time excludes the wait; its response time, measured from
// the intended start, includes it). Fed by metrics.QueueChecker.
type Pool struct{}

// Measure name prefixes: the measures are PoolNoWorker + "." + op kind
// ("pool.no_worker.write") and PoolWait + "." + op kind.
const (
	PoolNoWorker = "pool.no_worker"
	PoolWait     = "pool.no_worker_wait"
)

// Prometheus families of the pool check (docs/metrics.md), label op.
const (
	PoolNoWorkerFamily = "pacbench_no_worker_ops_total"
	PoolWaitFamily     = "pacbench_no_worker_wait_seconds"
)

// Name implements metrics.Check.
func (Pool) Name() string { return "pool" }

// Measures implements metrics.Check: per op kind (op.Kinds order), a
// counter then a histogram (index 2k, 2k+1).
func (Pool) Measures() []metrics.Measure {
	const countHelp = "Open-loop ops that could not start on time because no worker was free (the pool at load.max_workers)."
	const waitHelp = "Time open-loop ops waited for a free worker, part of their response time, none of their service time."
	var out []metrics.Measure
	for _, k := range op.Kinds() {
		lbl := []metrics.Label{{Name: "op", Value: k.String()}}
		out = append(out,
			metrics.Measure{Name: PoolNoWorker + "." + k.String(), Kind: metrics.KindCounter, Help: countHelp,
				Metric: metrics.Metric{Name: PoolNoWorkerFamily, Help: countHelp, Labels: lbl}},
			metrics.Measure{Name: PoolWait + "." + k.String(), Kind: metrics.KindHistogram, Unit: metrics.UnitNanoseconds,
				Help: waitHelp + " (ns)", Metric: metrics.Metric{Name: PoolWaitFamily, Help: waitHelp, Labels: lbl}},
		)
	}
	return out
}

// Layout implements metrics.Check: ops.<op>.no_worker {ops, wait_ms} in
// the summary, the trailing no_worker and no_worker_wait_*_ms columns of
// the CSV, "no worker" in the table.
func (Pool) Layout() metrics.Layout {
	var fields []metrics.Field
	for _, k := range op.Kinds() {
		fields = append(fields,
			metrics.Field{Scope: metrics.ScopeOp, Op: k, Group: "no_worker", Key: "ops", Measure: PoolNoWorker + "." + k.String()},
			metrics.Field{Scope: metrics.ScopeOp, Op: k, Group: "no_worker", Key: "wait_ms", Measure: PoolWait + "." + k.String(), Stats: quantiles()})
	}
	c := func(name, m string, q float64) metrics.Column {
		return metrics.Column{Name: name, Scope: metrics.ScopeOp, PerOp: true, Measure: m, Stat: metrics.Stat{Q: q}, Trailing: true}
	}
	return metrics.Layout{
		Fields: fields,
		Columns: []metrics.Column{c("no_worker", PoolNoWorker, 0), c("no_worker_wait_p99_ms", PoolWait, 0.99),
			c("no_worker_wait_max_ms", PoolWait, 1)},
		Table: []metrics.Column{c("no worker", PoolNoWorker, 0)},
	}
}

// NewWorker implements metrics.Check: no per-worker state.
func (Pool) NewWorker(metrics.WorkerInfo) metrics.CheckWorker { return poolWorker{} }

type poolWorker struct{}

// Queued implements metrics.QueueChecker.
func (poolWorker) Queued(ev *metrics.Queued, t metrics.Tally) {
	if ev.Kind >= op.NumKinds {
		return
	}
	t.Add(2*int(ev.Kind), 1)
	t.Observe(2*int(ev.Kind)+1, ev.WaitNs)
}
