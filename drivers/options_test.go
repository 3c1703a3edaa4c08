package drivers_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
)

// toyOptions is what a driver's options struct looks like.
type toyOptions struct {
	name    string
	n       int
	on      bool
	timeout time.Duration
	mode    string
}

func declareToy(o *toyOptions) *drivers.OptionSet {
	s := drivers.NewOptionSet("toy")
	s.String(&o.name, "name", "pacbench", "a name", func(v string) error {
		if v == "" {
			return errors.New("want a non-empty name")
		}
		return nil
	})
	s.Int(&o.n, "n", 1, 1, 10, "a count")
	s.Bool(&o.on, "on", false, "a switch")
	s.Duration(&o.timeout, "timeout", 5*time.Second, "a bound")
	s.Func("mode", "fast|slow", "fast", "a mode", func(v string) error {
		if v != "fast" && v != "slow" {
			return errors.New("want fast or slow")
		}
		o.mode = v
		return nil
	})
	o.mode = "fast"
	return s
}

func TestOptionSetParse(t *testing.T) {
	t.Parallel()
	def := toyOptions{name: "pacbench", n: 1, timeout: 5 * time.Second, mode: "fast"}
	tests := []struct {
		name string
		in   map[string]string
		want toyOptions
		errs []string // the keys rejected, in order, and a fragment of each message
		msgs []string
	}{
		{name: "defaults", in: nil, want: def},
		{name: "all set", in: map[string]string{"name": "x", "n": " 10 ", "on": "true", "timeout": "250ms", "mode": "slow"},
			want: toyOptions{name: "x", n: 10, on: true, timeout: 250 * time.Millisecond, mode: "slow"}},
		{name: "unknown key", in: map[string]string{"nmae": "x"}, errs: []string{"nmae"}, msgs: []string{`toy: invalid option nmae="x": unknown option (known: name, n, on, timeout, mode)`}},
		{name: "int below", in: map[string]string{"n": "0"}, errs: []string{"n"}, msgs: []string{`n="0": want an integer in 1..10`}},
		{name: "int above", in: map[string]string{"n": "11"}, errs: []string{"n"}, msgs: []string{"in 1..10"}},
		{name: "int word", in: map[string]string{"n": "many"}, errs: []string{"n"}, msgs: []string{"want an integer"}},
		{name: "bool", in: map[string]string{"on": "yes"}, errs: []string{"on"}, msgs: []string{"want true or false"}},
		{name: "duration unit", in: map[string]string{"timeout": "5"}, errs: []string{"timeout"}, msgs: []string{"positive Go duration"}},
		{name: "duration negative", in: map[string]string{"timeout": "-1s"}, errs: []string{"timeout"}, msgs: []string{"positive Go duration"}},
		{name: "string check", in: map[string]string{"name": ""}, errs: []string{"name"}, msgs: []string{"non-empty"}},
		{name: "func", in: map[string]string{"mode": "warp"}, errs: []string{"mode"}, msgs: []string{"fast or slow"}},
		{name: "every problem, in key order", in: map[string]string{"on": "?", "zz": "1", "n": "-3", "name": "ok"},
			errs: []string{"n", "on", "zz"}, msgs: []string{"integer", "true or false", "unknown option"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got toyOptions
			err := declareToy(&got).Parse(tt.in)
			if len(tt.errs) == 0 {
				if err != nil || got != tt.want {
					t.Fatalf("Parse(%v) = %+v, %v; want %+v", tt.in, got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, drivers.ErrInvalidOption) {
				t.Fatalf("Parse(%v) = %v, want ErrInvalidOption", tt.in, err)
			}
			oes := drivers.OptionErrors(err)
			if len(oes) != len(tt.errs) {
				t.Fatalf("Parse(%v): %d option errors %v, want %v", tt.in, len(oes), err, tt.errs)
			}
			for i, oe := range oes {
				if oe.Key != tt.errs[i] || oe.Value != tt.in[oe.Key] || oe.Driver != "toy" || !strings.Contains(oe.Error(), tt.msgs[i]) {
					t.Errorf("error %d = %+v (%q), want key %s mentioning %q", i, oe, oe.Error(), tt.errs[i], tt.msgs[i])
				}
				if unknown := errors.Is(oe, drivers.ErrUnknownOption); unknown != strings.Contains(tt.msgs[i], "unknown option") {
					t.Errorf("error %d: errors.Is(ErrUnknownOption) = %v", i, unknown)
				}
			}
		})
	}
}

// TestOptionSetDocs: Info's option docs come from the declarations, with
// types and defaults rendered from the typed defaults, in order.
func TestOptionSetDocs(t *testing.T) {
	t.Parallel()
	got := declareToy(&toyOptions{}).Options()
	want := []drivers.Option{
		{Key: "name", Type: "string", Default: "pacbench", Doc: "a name"},
		{Key: "n", Type: "int", Default: "1", Doc: "a count"},
		{Key: "on", Type: "bool", Default: "false", Doc: "a switch"},
		{Key: "timeout", Type: "duration", Default: "5s", Doc: "a bound"},
		{Key: "mode", Type: "fast|slow", Default: "fast", Doc: "a mode"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Options() =\n%+v\nwant\n%+v", got, want)
	}
	// Every documented default parses to the declared default.
	var fromDocs, declared toyOptions
	s := declareToy(&fromDocs)
	declareToy(&declared)
	m := map[string]string{}
	for _, o := range s.Options() {
		m[o.Key] = o.Default
	}
	if err := s.Parse(m); err != nil || fromDocs != declared {
		t.Fatalf("documented defaults parse to %+v (%v), declared %+v", fromDocs, err, declared)
	}
}

func TestOptionSetDuplicatePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("declaring a key twice did not panic")
		}
	}()
	var a, b bool
	s := drivers.NewOptionSet("toy")
	s.Bool(&a, "x", false, "")
	s.Bool(&b, "x", false, "")
}
