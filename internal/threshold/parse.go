// Package threshold implements pacbench's thresholds: pass/fail conditions
// on a run's summary values (k6's idea), given in a profile's thresholds:
// section or with --threshold, evaluated after the run. A failed threshold
// makes `pacbench run` exit 3 (results still written).
//
// The grammar (docs/results.md, "Thresholds"):
//
//	threshold := [ name ":" ] metric [ "(" name { "," name } ")" ] cmp value
//	metric    := ident { "." ident }            read.p99, availability, linearizable
//	name      := bare | "quoted"                a scenario (before ":") or a phase
//	cmp       := "<" | "<=" | ">" | ">=" | "==" | "!="
//	value     := number [ unit ] | true | false | word
//	unit      := us | µs | ms | s | m | %
//
// A bare name is any run of characters other than white space and
// : ( ) , < > = ! " — a name holding one of those is double-quoted (Go
// escapes). Parse checks the syntax; a Catalog binds the metric to a
// value of the summary document and checks the value's unit (Compile);
// Evaluate compares.
//
// Everything here is a pure function of its inputs; values are read-only
// after construction and safe to share between goroutines.
package threshold

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalid is what every error about a threshold expression unwraps to
// (syntax, unknown metric, wrong unit, unknown scenario or phase): a usage
// error, found before anything starts.
var ErrInvalid = errors.New("invalid threshold")

// Error is a problem in one threshold expression at a column.
type Error struct {
	// Col is the 1-based column (in characters) of the offending token in
	// the expression (0: the expression as a whole).
	Col int
	// Msg says what is wrong.
	Msg string
}

// Error implements error: "column N: msg".
func (e *Error) Error() string {
	if e.Col <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("column %d: %s", e.Col, e.Msg)
}

// Unwrap returns ErrInvalid.
func (e *Error) Unwrap() error { return ErrInvalid }

func errAt(col int, format string, args ...any) *Error {
	return &Error{Col: col, Msg: fmt.Sprintf(format, args...)}
}

// Cmp is a comparison operator.
type Cmp string

// The comparison operators.
const (
	Less      Cmp = "<"
	LessEq    Cmp = "<="
	Greater   Cmp = ">"
	GreaterEq Cmp = ">="
	Equal     Cmp = "=="
	NotEqual  Cmp = "!="
)

// LitKind is the kind of a threshold's right-hand side.
type LitKind uint8

// Literal kinds.
const (
	LitNumber LitKind = iota + 1 // 20ms, 0.99, 99%, 3
	LitBool                      // true, false
	LitWord                      // a verdict word: PA, PC, EL, EC
)

// Literal is the right-hand side as written.
type Literal struct {
	Kind LitKind
	// Num and Unit of a LitNumber (Unit "" when plain).
	Num  float64
	Unit string
	// Bool of a LitBool; Word of a LitWord.
	Bool bool
	Word string
	// Text is the literal as written; Col its 1-based column.
	Text string
	Col  int
}

// Expr is a parsed threshold expression (its syntax; Compile gives it a
// meaning).
type Expr struct {
	// Scenario selects one scenario ("" with HasScenario false: every
	// scenario); ScenarioCol is its column.
	Scenario    string
	HasScenario bool
	ScenarioCol int
	// Metric is the dotted metric name as written; MetricCol its column.
	Metric    string
	MetricCol int
	// Phases select phases (nil: every phase the scenario ran); PhaseCols
	// are their columns.
	Phases    []string
	PhaseCols []int
	// Op compares the metric's value with Value.
	Op    Cmp
	OpCol int
	Value Literal
}

// String renders the expression canonically: names quoted only where
// needed, one space around the operator. Parse(e.String()) gives e back
// (columns aside).
func (e Expr) String() string {
	var b strings.Builder
	if e.HasScenario {
		b.WriteString(quoteName(e.Scenario) + ": ")
	}
	b.WriteString(e.Metric)
	if e.Phases != nil {
		q := make([]string, len(e.Phases))
		for i, p := range e.Phases {
			q[i] = quoteName(p)
		}
		b.WriteString("(" + strings.Join(q, ", ") + ")")
	}
	b.WriteString(" " + string(e.Op) + " " + e.Value.Text)
	return b.String()
}

// quoteName returns a name as the grammar needs it: bare if it can be,
// else double-quoted.
func quoteName(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool { return !bareRune(r) }) {
		return s
	}
	return strconv.Quote(s)
}

// bareRune reports whether r may appear in a bare name.
func bareRune(r rune) bool {
	return !unicode.IsSpace(r) && !strings.ContainsRune(`:(),<>=!"`, r) && r != utf8.RuneError && unicode.IsPrint(r)
}

type tokKind uint8

const (
	tEOF tokKind = iota
	tBare
	tQuoted
	tColon
	tLParen
	tRParen
	tComma
	tCmp
)

type token struct {
	kind tokKind
	text string // bare text, unquoted string, operator
	raw  string // as written
	col  int
}

// MaxLen bounds an expression's length in bytes.
const MaxLen = 1024

// lex splits s into tokens.
func lex(s string) ([]token, error) {
	var out []token
	col := 1
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		start, startCol := i, col
		switch {
		case r == utf8.RuneError && size <= 1:
			return nil, errAt(col, "invalid UTF-8")
		case unicode.IsSpace(r):
			i += size
			col++
			continue
		case strings.ContainsRune(":(),", r):
			kind := map[rune]tokKind{':': tColon, '(': tLParen, ')': tRParen, ',': tComma}[r]
			out = append(out, token{kind: kind, text: string(r), raw: string(r), col: col})
			i++
			col++
			continue
		case strings.ContainsRune("<>=!", r):
			op := s[i : i+1]
			if i+1 < len(s) && s[i+1] == '=' {
				op = s[i : i+2]
			}
			switch Cmp(op) {
			case Less, LessEq, Greater, GreaterEq, Equal, NotEqual:
			default:
				return nil, errAt(col, "unknown operator %q (want <, <=, >, >=, == or !=)", op)
			}
			out = append(out, token{kind: tCmp, text: op, raw: op, col: col})
			i += len(op)
			col += len(op)
			continue
		case r == '"':
			end, err := quotedEnd(s, i)
			if err != nil {
				return nil, errAt(col, "%v", err)
			}
			raw := s[i:end]
			text, err := strconv.Unquote(raw)
			if err != nil {
				return nil, errAt(col, "bad quoted name %s: %v", raw, err)
			}
			out = append(out, token{kind: tQuoted, text: text, raw: raw, col: col})
			i = end
			col += utf8.RuneCountInString(raw)
			continue
		case !bareRune(r):
			return nil, errAt(col, "unexpected character %q", r)
		}
		for i < len(s) {
			r, size := utf8.DecodeRuneInString(s[i:])
			if !bareRune(r) {
				break
			}
			i += size
			col++
		}
		out = append(out, token{kind: tBare, text: s[start:i], raw: s[start:i], col: startCol})
	}
	return append(out, token{kind: tEOF, col: col}), nil
}

// quotedEnd returns the end of the double-quoted string starting at s[i].
func quotedEnd(s string, i int) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, errors.New("unterminated quoted name")
}

var (
	metricRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$`)
	numberRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?`)
	wordRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Units are the units a number may carry: durations (converted to ms) and
// percent (converted to a fraction).
func Units() []string { return []string{"us", "µs", "ms", "s", "m", "%"} }

func isUnit(s string) bool {
	for _, u := range Units() {
		if s == u {
			return true
		}
	}
	return false
}

// parser reads one expression's tokens.
type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// Parse parses one threshold expression (syntax only: see Compile).
// Errors are *Error (column and message) and unwrap to ErrInvalid. Parse
// never panics, whatever s holds.
func Parse(s string) (Expr, error) {
	if len(s) > MaxLen {
		return Expr{}, errAt(0, "expression too long (%d bytes; at most %d)", len(s), MaxLen)
	}
	if strings.TrimSpace(s) == "" {
		return Expr{}, errAt(0, "empty threshold (want e.g. read.p99 < 20ms)")
	}
	toks, err := lex(s)
	if err != nil {
		return Expr{}, err
	}
	p := &parser{toks: toks}
	var e Expr
	if t := p.peek(); (t.kind == tBare || t.kind == tQuoted) && p.toks[p.i+1].kind == tColon {
		p.next()
		p.next()
		if t.text == "" {
			return Expr{}, errAt(t.col, "empty scenario name")
		}
		e.Scenario, e.HasScenario, e.ScenarioCol = t.text, true, t.col
	}
	if err := p.metric(&e); err != nil {
		return Expr{}, err
	}
	if p.peek().kind == tLParen {
		if err := p.phases(&e); err != nil {
			return Expr{}, err
		}
	}
	t := p.next()
	if t.kind != tCmp {
		return Expr{}, errAt(t.col, "want a comparison (<, <=, >, >=, ==, !=) after %s, got %s", e.Metric, describe(t))
	}
	e.Op, e.OpCol = Cmp(t.text), t.col
	if e.Value, err = p.literal(); err != nil {
		return Expr{}, err
	}
	if t := p.next(); t.kind != tEOF {
		return Expr{}, errAt(t.col, "unexpected %s after the value", describe(t))
	}
	return e, nil
}

func (p *parser) metric(e *Expr) error {
	t := p.next()
	switch {
	case t.kind == tQuoted:
		return errAt(t.col, "a metric name is not quoted (quote scenario and phase names only)")
	case t.kind != tBare:
		return errAt(t.col, "want a metric (e.g. read.p99, availability, linearizable), got %s", describe(t))
	case !metricRE.MatchString(t.text):
		return errAt(t.col, "bad metric name %q (want dotted names of letters, digits and _, e.g. read.p99)", t.text)
	}
	e.Metric, e.MetricCol = t.text, t.col
	return nil
}

func (p *parser) phases(e *Expr) error {
	open := p.next()
	e.Phases = []string{}
	for {
		t := p.next()
		if t.kind != tBare && t.kind != tQuoted {
			return errAt(t.col, "want a phase name, got %s", describe(t))
		}
		if t.text == "" {
			return errAt(t.col, "empty phase name")
		}
		e.Phases = append(e.Phases, t.text)
		e.PhaseCols = append(e.PhaseCols, t.col)
		switch sep := p.next(); sep.kind {
		case tComma:
		case tRParen:
			return nil
		case tEOF:
			return errAt(open.col, "unclosed (")
		default:
			return errAt(sep.col, "want , or ) after a phase name, got %s", describe(sep))
		}
	}
}

// literal reads the value: a number with an optional unit (attached or
// after a space), true, false or a word.
func (p *parser) literal() (Literal, error) {
	t := p.next()
	if t.kind != tBare {
		return Literal{}, errAt(t.col, "want a value (e.g. 20ms, 0.99, 99%%, true), got %s", describe(t))
	}
	l := Literal{Text: t.text, Col: t.col}
	switch {
	case t.text == "true" || t.text == "false":
		l.Kind, l.Bool = LitBool, t.text == "true"
		return l, nil
	case wordRE.MatchString(t.text):
		l.Kind, l.Word = LitWord, t.text
		return l, nil
	}
	m := numberRE.FindString(t.text)
	if m == "" {
		return Literal{}, errAt(t.col, "bad value %q (want a number with an optional unit, true, false or a word)", t.text)
	}
	f, err := strconv.ParseFloat(m, 64)
	if err != nil {
		return Literal{}, errAt(t.col, "number %s is out of range", m)
	}
	l.Kind, l.Num, l.Unit = LitNumber, f, t.text[len(m):]
	if l.Unit == "" {
		if u := p.peek(); u.kind == tBare && isUnit(u.text) {
			p.next()
			l.Unit = u.text
			l.Text = t.text + u.text
		}
	}
	if l.Unit != "" && !isUnit(l.Unit) {
		return Literal{}, errAt(t.col+utf8.RuneCountInString(m), "unknown unit %q (want one of %s, or none)", l.Unit, strings.Join(Units(), " "))
	}
	return l, nil
}

// describe names a token for messages.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end"
	case tQuoted:
		return "quoted " + t.raw
	}
	return strconv.Quote(t.raw)
}
