package threshold

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Result is one threshold's evaluation, as summary.json's "thresholds"
// lists it. It passes when every value it selected passes; a value that is
// null (no data) or absent fails, never passes silently.
type Result struct {
	// Threshold is the expression as given; Source where it was given.
	Threshold string `json:"threshold"`
	Source    string `json:"source,omitempty"`
	// Metric, Unit, Op and Limit are the expression's parts (Limit in Unit).
	Metric string `json:"metric"`
	Unit   Unit   `json:"unit"`
	Op     Cmp    `json:"op"`
	Limit  any    `json:"limit"`
	Pass   bool   `json:"pass"`
	// Reason says why it failed when it selected no value at all.
	Reason string `json:"reason,omitempty"`
	// Values are the measured values it compared, one per scenario (and
	// phase), in the summary's order.
	Values []Value `json:"values"`
}

// Value is one measured value a threshold compared.
type Value struct {
	Scenario string `json:"scenario"`
	// Phase is absent for per-scenario metrics.
	Phase string `json:"phase,omitempty"`
	// Value in the metric's unit: a number, true/false or a verdict word;
	// null when there is no data.
	Value any  `json:"value"`
	Pass  bool `json:"pass"`
	// Reason says why a value failed without being compared (no data, the
	// phase did not run).
	Reason string `json:"reason,omitempty"`
}

// Failed returns the results that did not pass.
func Failed(rs []Result) []Result {
	var out []Result
	for _, r := range rs {
		if !r.Pass {
			out = append(out, r)
		}
	}
	return out
}

// ErrDocument: the summary document could not be read.
var ErrDocument = errors.New("threshold: bad summary document")

// Evaluate compares every threshold with the values of a summary document
// (summary.json's encoding, schema pacbench.summary/v1), in order.
func Evaluate(ths []*Threshold, doc []byte) ([]Result, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root struct {
		Scenarios []map[string]any `json:"scenarios"`
	}
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDocument, err)
	}
	out := make([]Result, 0, len(ths))
	for _, t := range ths {
		out = append(out, evaluate(t, root.Scenarios))
	}
	return out, nil
}

func evaluate(t *Threshold, scenarios []map[string]any) Result {
	r := Result{Threshold: t.Text, Source: t.Source, Metric: t.Metric.Name, Unit: t.Metric.Unit, Op: t.Expr.Op,
		Limit: t.Limit, Values: []Value{}}
	for _, sc := range scenarios {
		name, _ := sc["name"].(string)
		if t.Expr.HasScenario && name != t.Expr.Scenario {
			continue
		}
		if t.Metric.Scope == ScopeScenario {
			r.Values = append(r.Values, t.compare(Value{Scenario: name}, sc, t.Metric.Path))
			continue
		}
		r.Values = append(r.Values, t.phaseValues(name, sc)...)
	}
	r.Pass = len(r.Values) > 0
	for _, v := range r.Values {
		r.Pass = r.Pass && v.Pass
	}
	if len(r.Values) == 0 {
		r.Reason = "nothing to compare: no scenario ran"
		if t.Expr.HasScenario {
			r.Reason = fmt.Sprintf("nothing to compare: scenario %s did not run", quoteName(t.Expr.Scenario))
		}
	}
	return r
}

// phaseValues compares the selected phases of one scenario.
func (t *Threshold) phaseValues(scenario string, sc map[string]any) []Value {
	phases, _ := sc["phases"].([]any)
	byName := map[string]map[string]any{}
	var order []string
	for _, p := range phases {
		ph, ok := p.(map[string]any)
		if !ok {
			continue
		}
		n, _ := ph["name"].(string)
		if _, dup := byName[n]; !dup {
			order = append(order, n)
		}
		byName[n] = ph
	}
	want := t.Expr.Phases
	if want == nil {
		want = order
	}
	path := t.Metric.Path
	if t.Metric.Scope == ScopeOp {
		path = append([]string{"ops", t.Metric.Op}, path...)
	}
	out := make([]Value, 0, len(want))
	for _, pn := range want {
		v := Value{Scenario: scenario, Phase: pn}
		ph, ok := byName[pn]
		if !ok {
			v.Reason = "the phase did not run"
			out = append(out, v)
			continue
		}
		out = append(out, t.compare(v, ph, path))
	}
	return out
}

// compare looks path up in obj and compares it with the limit.
func (t *Threshold) compare(v Value, obj map[string]any, path []string) Value {
	var cur any = obj
	for i, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			v.Reason = "no data (null)"
			return v
		}
		if cur, ok = m[k]; !ok {
			v.Reason = "not in the summary"
			if i == 1 && path[0] == "ops" {
				v.Reason = fmt.Sprintf("no %s ops", k)
			}
			return v
		}
	}
	switch x := cur.(type) {
	case nil:
		v.Reason = "no data (null)"
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			v.Reason = fmt.Sprintf("not a number: %s", x)
			return v
		}
		v.Value = f
		if lim, ok := t.Limit.(float64); ok {
			v.Pass = compareNum(f, t.Expr.Op, lim)
		} else {
			v.Reason = "a number, but the limit is not"
		}
	case bool, string:
		v.Value = x
		if t.Expr.Op == Equal || t.Expr.Op == NotEqual {
			v.Pass = (x == t.Limit) == (t.Expr.Op == Equal)
		} else {
			v.Reason = "not a number"
		}
	default:
		v.Reason = "not a single value"
	}
	return v
}

func compareNum(x float64, op Cmp, lim float64) bool {
	switch op {
	case Less:
		return x < lim
	case LessEq:
		return x <= lim
	case Greater:
		return x > lim
	case GreaterEq:
		return x >= lim
	case Equal:
		return x == lim
	case NotEqual:
		return x != lim
	}
	return false
}
