package threshold

import (
	"math"
	"slices"
	"strings"
)

// Threshold is a compiled threshold: its expression bound to a metric,
// with the limit in the metric's unit. Read-only; safe to share.
type Threshold struct {
	// Text is the expression as given (surrounding space trimmed).
	Text string
	// Source says where it was given ("profile.yaml:14", "--threshold").
	Source string
	Expr   Expr
	Metric Metric
	// Limit is the right-hand side in the metric's unit: a float64 (ms,
	// fraction, count, ops/s), a bool or a verdict word (string).
	Limit any
}

// Names are the scenario and phase names a threshold may select (from
// the plan). Nil lists are not checked.
type Names struct {
	Scenarios, Phases []string
}

// Compile parses text and binds it to a metric of c, checking that the
// value fits the metric (unit, operator, range) and, where names lists
// them, that the scenario and phases exist. Errors are *Error (column and
// message; wrap ErrInvalid). Source is recorded as given.
func (c *Catalog) Compile(text, source string, names Names) (*Threshold, error) {
	e, err := Parse(text)
	if err != nil {
		return nil, err
	}
	m, err := c.Resolve(e.Metric)
	if err != nil {
		return nil, errAt(e.MetricCol, "%v", err)
	}
	if e.Phases != nil && m.Scope == ScopeScenario {
		return nil, errAt(e.PhaseCols[0]-1, "%s is one value per scenario: it takes no phases", e.Metric)
	}
	if err := checkNames(e, names); err != nil {
		return nil, err
	}
	limit, err := bindLimit(e, m)
	if err != nil {
		return nil, err
	}
	return &Threshold{Text: strings.TrimSpace(text), Source: source, Expr: e, Metric: m, Limit: limit}, nil
}

func checkNames(e Expr, n Names) error {
	if e.HasScenario && n.Scenarios != nil && !slices.Contains(n.Scenarios, e.Scenario) {
		return errAt(e.ScenarioCol, "no scenario %s (scenarios: %s)", quoteName(e.Scenario), quoteList(n.Scenarios))
	}
	if n.Phases == nil {
		return nil
	}
	for i, p := range e.Phases {
		if !slices.Contains(n.Phases, p) {
			return errAt(e.PhaseCols[i], "no phase %s (phases: %s)", quoteName(p), quoteList(n.Phases))
		}
	}
	return nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteName(n)
	}
	return strings.Join(q, ", ")
}

// msPer converts a duration unit to milliseconds.
var msPer = map[string]float64{"": 1, "us": 1e-3, "µs": 1e-3, "ms": 1, "s": 1e3, "m": 60e3}

// bindLimit converts the literal into the metric's unit.
func bindLimit(e Expr, m Metric) (any, error) {
	l := e.Value
	eqOnly := func(what string) error {
		if e.Op != Equal && e.Op != NotEqual {
			return errAt(e.OpCol, "%s is %s: compare it with == or !=", e.Metric, what)
		}
		return nil
	}
	switch m.Unit {
	case UnitBool:
		if l.Kind != LitBool {
			return nil, errAt(l.Col, "%s is true or false, not %s", e.Metric, l.Text)
		}
		return l.Bool, eqOnly("true or false")
	case UnitVerdict:
		if l.Kind != LitWord || !slices.Contains(m.Words, l.Word) {
			return nil, errAt(l.Col, "%s is one of %s, not %s", e.Metric, strings.Join(m.Words, ", "), l.Text)
		}
		return l.Word, eqOnly("a verdict")
	}
	if l.Kind != LitNumber {
		return nil, errAt(l.Col, "%s is a number (%s), not %s", e.Metric, m.Unit, l.Text)
	}
	if math.IsInf(l.Num, 0) || math.IsNaN(l.Num) {
		return nil, errAt(l.Col, "number %s is out of range", l.Text)
	}
	switch m.Unit {
	case UnitMs:
		f, ok := msPer[l.Unit]
		if !ok {
			return nil, errAt(l.Col, "%s is a duration: write it in us, ms, s or m (a plain number is ms), not %s", e.Metric, l.Unit)
		}
		return l.Num * f, nil
	case UnitRatio:
		v := l.Num
		switch l.Unit {
		case "%":
			v /= 100
		case "":
		default:
			return nil, errAt(l.Col, "%s is a fraction: write 0.99 or 99%%, not %s", e.Metric, l.Text)
		}
		if v < 0 || v > 1 {
			hint := ""
			if l.Unit == "" && l.Num > 1 && l.Num <= 100 {
				hint = " (did you mean " + l.Text + "%?)"
			}
			return nil, errAt(l.Col, "%s is a fraction from 0 to 1, %s is outside it%s", e.Metric, l.Text, hint)
		}
		return v, nil
	default: // counts and rates
		if l.Unit != "" {
			return nil, errAt(l.Col, "%s is %s: a plain number, without a unit (got %s)", e.Metric, m.Unit, l.Unit)
		}
		return l.Num, nil
	}
}
