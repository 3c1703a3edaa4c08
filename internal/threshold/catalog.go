package threshold

import (
	"fmt"
	"sort"
	"strings"

	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Scope is where a metric's value lives in the summary document.
type Scope uint8

// Scopes.
const (
	// ScopeScenario: one value per scenario (scenarios[i]); no phases.
	ScopeScenario Scope = iota + 1
	// ScopePhase: one value per phase (scenarios[i].phases[j]).
	ScopePhase
	// ScopeOp: one value per phase of one op kind
	// (scenarios[i].phases[j].ops[op]); the metric is written op.name.
	ScopeOp
)

// Unit is what a metric's value is, and so which literals it compares
// with.
type Unit string

// Units of metrics.
const (
	UnitMs      Unit = "ms"      // milliseconds; literals: plain (ms), us, µs, ms, s, m
	UnitRatio   Unit = "ratio"   // a fraction 0…1; literals: plain (0…1) or %
	UnitCount   Unit = "count"   // a count; literals: plain
	UnitRate    Unit = "ops/s"   // ops per second; literals: plain
	UnitBool    Unit = "bool"    // true/false (null: not judged); == and != only
	UnitVerdict Unit = "verdict" // a word of Words; == and != only
)

// Metric is a resolved metric: where its value is in the summary
// document and what it is.
type Metric struct {
	// Name is the metric as written (op.name for op metrics).
	Name string
	// Scope and, for ScopeOp, Op (its kind's name).
	Scope Scope
	Op    string
	// Path is the value's key path inside the scope's object
	// (["latency_ms", "p99"] in ops[op]).
	Path []string
	Unit Unit
	// Words are the values a UnitVerdict metric takes.
	Words []string
	// Doc says what it is (for docs and messages).
	Doc string
}

// def is one catalog entry; ops restricts an op metric to some kinds
// (nil: every kind).
type def struct {
	scope Scope
	path  []string
	unit  Unit
	words []string
	ops   []string
	doc   string
}

// Catalog is the metrics thresholds can name: the fixed summary values
// and every check field of a Checks layout (so a new check's fields are
// thresholds without code here). Read-only after NewCatalog; safe for
// concurrent use.
type Catalog struct {
	defs map[string]def // by name; op metrics without their op prefix
}

// latencyStats are the keys of the summary's percentile objects.
var latencyStats = []string{"p50", "p90", "p99", "p999", "p9999", "max", "mean"}

// NewCatalog returns the fixed metrics plus the check fields of cs (nil:
// the fixed metrics only).
func NewCatalog(cs *metrics.Checks) *Catalog {
	c := &Catalog{defs: map[string]def{}}
	c.put("kept_up", def{scope: ScopeScenario, path: []string{"load", "kept_up"}, unit: UnitBool,
		doc: "the open-loop schedule kept up (always true in closed loop)"})
	c.put("achieved_rate", def{scope: ScopeScenario, path: []string{"load", "achieved_rate_ops"}, unit: UnitRate,
		doc: "ops started per second over the scenario's measured time"})
	c.put("schedule_lag", def{scope: ScopeScenario, path: []string{"load", "max_schedule_lag_ms"}, unit: UnitMs,
		doc: "largest delay between an op's intended and actual start (open loop)"})
	c.put("pacelc.partition", def{scope: ScopeScenario, path: []string{"pacelc", "partition"}, unit: UnitVerdict,
		words: []string{"PA", "PC"}, doc: "the PACELC verdict's partition side"})
	c.put("pacelc.else", def{scope: ScopeScenario, path: []string{"pacelc", "else"}, unit: UnitVerdict,
		words: []string{"EL", "EC"}, doc: "the PACELC verdict's else side"})
	c.put("availability", def{scope: ScopePhase, path: []string{"availability"}, unit: UnitRatio,
		doc: "ok ops / attempted ops of the phase, every op kind"})
	c.put("consistent_after", def{scope: ScopePhase, path: []string{"consistent_after_ms"}, unit: UnitMs,
		doc: "smallest probe delay from which 99.9 % of probes were consistent"})
	c.put("convergence", def{scope: ScopePhase, path: []string{"convergence", "converged_ms"}, unit: UnitMs,
		doc: "time from the heal until staleness was back to the baseline's"})
	for _, st := range latencyStats {
		c.put(st, def{scope: ScopeOp, path: []string{"latency_ms", st}, unit: UnitMs, doc: "latency " + st + " of ok ops"})
		c.put("service."+st, def{scope: ScopeOp, path: []string{"service_ms", st}, unit: UnitMs, doc: "service time " + st + " of ok ops"})
	}
	c.put("throughput", def{scope: ScopeOp, path: []string{"throughput_ops"}, unit: UnitRate, doc: "ok ops per second"})
	c.put("availability", def{scope: ScopeOp, path: []string{"availability"}, unit: UnitRatio, doc: "ok / attempted"})
	c.put("count", def{scope: ScopeOp, path: []string{"count"}, unit: UnitCount, doc: "ops attempted"})
	c.put("ok", def{scope: ScopeOp, path: []string{"ok"}, unit: UnitCount, doc: "ops that succeeded"})
	for _, cl := range op.ErrorClasses() {
		c.put("errors."+cl.String(), def{scope: ScopeOp, path: []string{"errors", cl.String()}, unit: UnitCount,
			doc: "failed ops of class " + cl.String()})
	}
	if cs != nil {
		c.addChecks(cs)
	}
	return c
}

// opKey is the catalog key of an op metric (op metrics and phase metrics
// may share a name: availability).
func opKey(name string) string { return "op:" + name }

// addChecks adds the check fields of cs: counters, ratios, histogram
// statistics and verdicts (bucket lists are not single values).
func (c *Catalog) addChecks(cs *metrics.Checks) {
	for _, f := range cs.Layout().Fields {
		m, _, ok := cs.Measure(f.Measure)
		if !ok {
			continue
		}
		path := []string{f.Key}
		if f.Group != "" {
			path = []string{f.Group, f.Key}
		}
		name := strings.Join(path, ".")
		d := def{scope: ScopePhase, path: path, doc: m.Help}
		if f.Scope == metrics.ScopeOp {
			d.scope, d.ops = ScopeOp, []string{f.Op.String()}
		}
		switch m.Kind {
		case metrics.KindCounter:
			d.unit = UnitCount
		case metrics.KindRatio:
			d.unit = UnitRatio
		case metrics.KindVerdict:
			d.unit = UnitBool
		case metrics.KindHistogram:
			for _, st := range f.Stats {
				sd := d
				sd.path = append(append([]string(nil), path...), st.Key)
				sd.unit = UnitCount
				if m.Unit == metrics.UnitNanoseconds {
					sd.unit = UnitMs // the summary renders durations in ms
				}
				c.put(name+"."+st.Key, sd)
			}
			continue
		default:
			continue // bucket lists are curves, not values
		}
		c.put(name, d)
		if f.Scope == metrics.ScopeOp && f.Key == "stale_ratio" {
			// stale_ratio alone: the phase's stale ratio of that op kind.
			c.put("stale_ratio", def{scope: ScopePhase, path: append([]string{"ops", f.Op.String()}, path...),
				unit: UnitRatio, doc: m.Help})
			c.put("stale_ratio", d)
		}
	}
}

// put adds a definition (op metrics under opKey) unless the name is
// taken: the fixed metrics come first and win.
func (c *Catalog) put(name string, d def) {
	key := name
	if d.scope == ScopeOp {
		key = opKey(name)
	}
	if _, dup := c.defs[key]; !dup {
		c.defs[key] = d
	}
}

// Builtin returns the catalog of the built-in checks.
func Builtin() *Catalog {
	cs, err := checkers.Registry(checkers.Config{})
	if err != nil {
		return NewCatalog(nil)
	}
	return NewCatalog(cs)
}

// Names lists every metric name as a threshold writes it (op metrics as
// <op>.name), sorted.
func (c *Catalog) Names() []string {
	var out []string
	for k, d := range c.defs {
		if name, ok := strings.CutPrefix(k, "op:"); ok {
			prefix := "<op>"
			if len(d.ops) == 1 {
				prefix = d.ops[0]
			}
			out = append(out, prefix+"."+name)
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Resolve finds a metric by name: an op metric is op.name (read.p99), the
// others are their own name.
func (c *Catalog) Resolve(name string) (Metric, error) {
	if d, ok := c.defs[name]; ok {
		return d.metric(name, ""), nil
	}
	head, rest, dotted := strings.Cut(name, ".")
	if k, ok := op.ParseKind(head); ok && dotted {
		d, found := c.defs[opKey(rest)]
		if !found {
			return Metric{}, fmt.Errorf("%s has no metric %q (%s)", head, rest, c.opHint())
		}
		if d.ops != nil && !contains(d.ops, k.String()) {
			return Metric{}, fmt.Errorf("%s is measured for %s only", rest, strings.Join(d.ops, ", "))
		}
		return d.metric(name, k.String()), nil
	}
	if d, ok := c.defs[opKey(name)]; ok {
		ex := "read"
		if d.ops != nil {
			ex = d.ops[0]
		}
		return Metric{}, fmt.Errorf("%s is per op kind: write %s.%s", name, ex, name)
	}
	return Metric{}, fmt.Errorf("unknown metric %q (known: %s)", name, strings.Join(c.Names(), ", "))
}

func (c *Catalog) opHint() string {
	return "e.g. p50, p99, max, throughput, availability, errors.timeout"
}

func (d def) metric(name, opName string) Metric {
	return Metric{Name: name, Scope: d.scope, Op: opName, Path: d.path, Unit: d.unit, Words: d.words, Doc: d.doc}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
