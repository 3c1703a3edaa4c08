package threshold

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want Expr
	}{
		{"read.p99 < 20ms", Expr{Metric: "read.p99", MetricCol: 1, Op: Less, OpCol: 10,
			Value: Literal{Kind: LitNumber, Num: 20, Unit: "ms", Text: "20ms", Col: 12}}},
		{"availability(partition) >= 0.99", Expr{Metric: "availability", MetricCol: 1, Phases: []string{"partition"},
			PhaseCols: []int{14}, Op: GreaterEq, OpCol: 25, Value: Literal{Kind: LitNumber, Num: 0.99, Text: "0.99", Col: 28}}},
		{"linearizable == true", Expr{Metric: "linearizable", MetricCol: 1, Op: Equal, OpCol: 14,
			Value: Literal{Kind: LitBool, Bool: true, Text: "true", Col: 17}}},
		{"serializable: stale_ratio(baseline, healed)<1%", Expr{Scenario: "serializable", HasScenario: true, ScenarioCol: 1,
			Metric: "stale_ratio", MetricCol: 15, Phases: []string{"baseline", "healed"}, PhaseCols: []int{27, 37},
			Op: Less, OpCol: 44, Value: Literal{Kind: LitNumber, Num: 1, Unit: "%", Text: "1%", Col: 45}}},
		{`"w=majority": pacelc.partition != PA`, Expr{Scenario: "w=majority", HasScenario: true, ScenarioCol: 1,
			Metric: "pacelc.partition", MetricCol: 15, Op: NotEqual, OpCol: 32,
			Value: Literal{Kind: LitWord, Word: "PA", Text: "PA", Col: 35}}},
		{"ONE/ONE : read.max <= 1.5 s", Expr{Scenario: "ONE/ONE", HasScenario: true, ScenarioCol: 1, Metric: "read.max",
			MetricCol: 11, Op: LessEq, OpCol: 20, Value: Literal{Kind: LitNumber, Num: 1.5, Unit: "s", Text: "1.5s", Col: 23}}},
		{`write.p50("phase one") > -2e1`, Expr{Metric: "write.p50", MetricCol: 1, Phases: []string{"phase one"},
			PhaseCols: []int{11}, Op: Greater, OpCol: 24, Value: Literal{Kind: LitNumber, Num: -20, Text: "-2e1", Col: 26}}},
		{"é: read.p99 < 3µs", Expr{Scenario: "é", HasScenario: true, ScenarioCol: 1, Metric: "read.p99", MetricCol: 4,
			Op: Less, OpCol: 13, Value: Literal{Kind: LitNumber, Num: 3, Unit: "µs", Text: "3µs", Col: 15}}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
			}
			again, err := Parse(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("String() %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string
		col      int
	}{
		{"", "empty threshold", 0},
		{"   ", "empty threshold", 0},
		{"read.p99", `want a comparison`, 9},
		{"read.p99 < ", `want a value`, 12},
		{"read.p99 =< 20ms", `unknown operator "="`, 10},
		{"read.p99 < 20 mss", `unexpected "mss" after the value`, 15},
		{"read.p99 < 20mss", `unknown unit "mss"`, 14},
		{"read.p99 < 20ms 5", `unexpected "5"`, 17},
		{`"read.p99" < 20ms`, "a metric name is not quoted", 1},
		{"read..p99 < 1", "bad metric name", 1},
		{"read.p99( < 1", "want a phase name", 11},
		{"read.p99(a b) < 1", "want , or )", 12},
		{"read.p99(a", "unclosed (", 9},
		{`read.p99("a) < 1`, "unterminated quoted name", 10},
		{`"": read.p99 < 1`, "empty scenario name", 1},
		{`read.p99("") < 1`, "empty phase name", 10},
		{"read.p99 < #1", `bad value "#1"`, 12},
		{"read.p99 < 1 \x00", `unexpected character`, 14},
		{"read.p99 < \xff", "invalid UTF-8", 12},
		{": read.p99 < 1", "want a metric", 1},
		{strings.Repeat("a", MaxLen+1), "too long", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tc.in)
			wantError(t, "Parse", tc.in, err, tc.col, tc.want)
		})
	}
}

// wantError checks that err is an *Error at column col whose message
// contains want.
func wantError(t *testing.T, fn, in string, err error, col int, want string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("%s(%q) = %v, want an *Error", fn, in, err)
	}
	if !strings.Contains(e.Msg, want) || e.Col != col {
		t.Errorf("%s(%q) = column %d %q, want column %d containing %q", fn, in, e.Col, e.Msg, col, want)
	}
}

// FuzzParse: Parse never panics; what it accepts prints canonically and
// parses back to the same canonical text; Compile never panics either.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"read.p99 < 20ms", "availability(partition) >= 0.99", `"a b": linearizable == true`,
		"stale_ratio(baseline) < 1%", "kept_up == true", "x(", `"\x00"`, "read.p99 < 1e999", "pacelc.else != EC"} {
		f.Add(s)
	}
	cat := Builtin()
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %v is not an *Error", s, err)
			}
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok, but its String %q fails: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("String not stable: %q → %q → %q", s, canon, again.String())
		}
		_, _ = cat.Compile(s, "fuzz", Names{Scenarios: []string{"a"}, Phases: []string{"b"}})
	})
}
