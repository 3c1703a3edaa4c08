package profile

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/pacbench/pacbench/internal/threshold"
)

// Threshold is one entry of the profile's thresholds: section, a
// pass/fail condition on the run's summary values evaluated after the run
// (docs/results.md, "Thresholds"). In YAML an entry is the expression
// itself ("read.p99 < 20ms", "serializable: stale_ratio(baseline) < 1%")
// or a mapping {scenario: NAME, expr: EXPR}.
type Threshold struct {
	// Scenario, if set, restricts Expr to the scenario of that name (like
	// prefixing the expression with "NAME: ").
	Scenario string `yaml:"scenario" json:"scenario,omitempty"`
	// Expr is the expression in the threshold grammar.
	Expr string `yaml:"expr" json:"expr"`
	// Source says where the threshold was given: "FILE:LINE" for a
	// profile entry (set by Parse), "--threshold" for the flag.
	Source string `yaml:"-" json:"source,omitempty"`
	// Line is the source line of the entry, not from YAML.
	Line int `yaml:"-" json:"-"`
}

// Text returns the whole expression: Expr, prefixed with the scenario
// selector when Scenario is set.
func (t Threshold) Text() string {
	if t.Scenario == "" {
		return t.Expr
	}
	return t.prefix() + t.Expr
}

// prefix is the scenario selector Text puts before Expr.
func (t Threshold) prefix() string {
	e := threshold.Expr{Scenario: t.Scenario, HasScenario: true, Metric: "m", Op: threshold.Equal,
		Value: threshold.Literal{Text: "v"}}
	s := e.String()
	return s[:len(s)-len("m == v")]
}

// ThresholdNames are the scenario and phase names thresholds may select.
func (p *Profile) ThresholdNames() threshold.Names {
	n := threshold.Names{Scenarios: []string{}, Phases: []string{}}
	for _, ls := range p.Levels {
		n.Scenarios = append(n.Scenarios, ls.Name)
	}
	for _, ph := range p.Phases {
		n.Phases = append(n.Phases, ph.Name)
	}
	return n
}

// CompileThresholds compiles the profile's thresholds with cat (nil:
// threshold.Builtin()), in order.
func (p *Profile) CompileThresholds(cat *threshold.Catalog) ([]*threshold.Threshold, error) {
	if cat == nil {
		cat = threshold.Builtin()
	}
	out := make([]*threshold.Threshold, 0, len(p.Thresholds))
	for i, t := range p.Thresholds {
		th, err := cat.Compile(t.Text(), t.Source, p.ThresholdNames())
		if err != nil {
			return nil, fmt.Errorf("thresholds[%d] %q: %w", i, t.Text(), err)
		}
		out = append(out, th)
	}
	return out, nil
}

var thresholdType = reflect.TypeOf(Threshold{})

// threshold decodes one thresholds entry: a scalar expression or a
// {scenario, expr} mapping. The expression's node is kept for positions.
func (d *decoder) threshold(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.MappingNode {
		d.structure(n, v, path)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "expr" {
				d.c.exprs[path] = n.Content[i+1]
			}
		}
		return
	}
	s, ok := d.scalar(n, path, `an expression (e.g. "read.p99 < 20ms") or {scenario: NAME, expr: EXPR}`)
	if !ok {
		return
	}
	v.Set(reflect.ValueOf(Threshold{Expr: s, Line: n.Line}))
	d.c.exprs[path] = n
}

// thresholds compiles every threshold against the profile's scenario and
// phase names; a problem is placed at its column in the file where the
// expression is a one-line scalar.
func (c *checker) thresholds(p *Profile, o Options) {
	if len(p.Thresholds) == 0 {
		return
	}
	cat := threshold.Builtin()
	if o.Checks != nil {
		cat = threshold.NewCatalog(o.Checks)
	}
	names := p.ThresholdNames()
	for i := range p.Thresholds {
		t := &p.Thresholds[i]
		path := fmt.Sprintf("thresholds[%d]", i)
		if t.Source == "" && t.Line > 0 {
			t.Source = fmt.Sprintf("%s:%d", c.file, t.Line)
		}
		if c.suppressed(path) {
			continue
		}
		if t.Expr == "" && c.exprs[path] == nil {
			c.add(path, `expr required (e.g. {scenario: %s, expr: "read.p99 < 20ms"})`, t.Scenario)
			continue
		}
		if t.Scenario != "" && t.Expr != "" {
			if e, err := threshold.Parse(t.Expr); err == nil && e.HasScenario {
				c.add(path+".expr", "%q selects scenario %q and scenario: says %q: give it once", t.Expr, e.Scenario, t.Scenario)
				continue
			}
		}
		_, err := cat.Compile(t.Text(), t.Source, names)
		var te *threshold.Error
		if !errors.As(err, &te) {
			continue
		}
		c.addAt(c.thresholdPos(path, *t, te.Col), path, fmt.Sprintf("%q: %s", t.Text(), te.Msg))
	}
}

// thresholdPos places column col of threshold t's Text in the file: in
// its expression's scalar when that is on one line (exact for plain
// scalars), at the scenario: key for the scenario selector, else at the
// entry.
func (c *checker) thresholdPos(path string, t Threshold, col int) pos {
	en := c.exprs[path]
	inExpr := col - (utf8.RuneCountInString(t.Text()) - utf8.RuneCountInString(t.Expr))
	switch {
	case t.Scenario != "" && col > 0 && inExpr <= 0:
		return c.at(path + ".scenario")
	case en == nil:
		return c.at(path)
	}
	at := nodePos(en)
	if col > 0 && !strings.Contains(t.Expr, "\n") {
		switch en.Style {
		case 0:
			at.col += inExpr - 1
		case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
			at.col += inExpr // after the opening quote
		}
	}
	return at
}
