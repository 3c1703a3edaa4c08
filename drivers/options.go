package drivers

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of option parsing.
var (
	// ErrInvalidOption: a system option the driver does not declare, or a
	// value its declaration rejects. Every *OptionError wraps it.
	ErrInvalidOption = errors.New("invalid option")
	// ErrUnknownOption: the driver declares no option of that key (an
	// *OptionError's Err).
	ErrUnknownOption = errors.New("unknown option")
)

// Option documents one driver-specific system option (profile
// system.options): what `pacbench drivers` shows. Drivers build it from an
// OptionSet, the same declaration they parse with.
type Option struct {
	// Key as written under system.options.
	Key string `json:"key"`
	// Type names the accepted values: "string", "int", "bool", "duration"
	// (a Go duration such as 500ms), or a driver-specific form.
	Type string `json:"type,omitempty"`
	// Default is the value used when the option is absent ("" = none).
	Default string `json:"default"`
	// Doc says what it does, with its unit and range.
	Doc string `json:"doc"`
}

// OptionError is one bad system option: an undeclared key or a value its
// declaration rejects. It wraps ErrInvalidOption and Err.
type OptionError struct {
	// Driver is the registry name of the driver that rejected it.
	Driver string
	// Key is the option key as written.
	Key string
	// Value is the value as written.
	Value string
	// Err says what is wrong: ErrUnknownOption, or what the value should be.
	Err error
	// Known lists the declared keys when Err is ErrUnknownOption.
	Known []string
}

// Error renders "driver: invalid option key="value": problem".
func (e *OptionError) Error() string {
	msg := fmt.Sprintf("%s: %v %s=%q: %v", e.Driver, ErrInvalidOption, e.Key, e.Value, e.Err)
	if len(e.Known) > 0 {
		msg += " (known: " + strings.Join(e.Known, ", ") + ")"
	}
	return msg
}

// Unwrap returns ErrInvalidOption and Err.
func (e *OptionError) Unwrap() []error { return []error{ErrInvalidOption, e.Err} }

// OptionSet declares a driver's system options, in the manner of
// flag.FlagSet: each declaration binds a key to a variable, sets the
// variable to its default and says how a written value is parsed. Options
// (for Info) and Parse (for Open and validation) read the same
// declarations, so documentation and parsing cannot disagree. Build one per
// parse (declare into a fresh options value); not safe for concurrent use.
type OptionSet struct {
	driver string
	defs   []optionDef
}

type optionDef struct {
	Option
	set func(v string) error
}

// NewOptionSet returns an empty declaration for the driver named driver
// (its registry name, used in errors).
func NewOptionSet(driver string) *OptionSet { return &OptionSet{driver: driver} }

// Func declares option key of type typ (for the docs) whose value parse
// applies; def is the documented default, which the caller has already
// stored in its variable. parse's error says what was wanted.
func (s *OptionSet) Func(key, typ, def, doc string, parse func(v string) error) {
	if key == "" || slices.ContainsFunc(s.defs, func(d optionDef) bool { return d.Key == key }) {
		panic(fmt.Sprintf("drivers: option %q declared twice or empty", key)) // a programming error
	}
	s.defs = append(s.defs, optionDef{Option{Key: key, Type: typ, Default: def, Doc: doc}, parse})
}

// String declares a string option stored in *p, default def. check, if
// non-nil, rejects a value with an error saying what is wanted.
func (s *OptionSet) String(p *string, key, def, doc string, check func(v string) error) {
	*p = def
	s.Func(key, "string", def, doc, func(v string) error {
		if check != nil {
			if err := check(v); err != nil {
				return err
			}
		}
		*p = v
		return nil
	})
}

// Int declares an integer option in [lo, hi] stored in *p, default def.
func (s *OptionSet) Int(p *int, key string, def, lo, hi int, doc string) {
	*p = def
	s.Func(key, "int", strconv.Itoa(def), doc, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer%s", bounds(lo, hi))
		}
		*p = n
		return nil
	})
}

// bounds renders an integer range for messages: " ≥ 1", " in 3..5".
func bounds(lo, hi int) string {
	switch {
	case lo == math.MinInt && hi == math.MaxInt:
		return ""
	case hi == math.MaxInt:
		return fmt.Sprintf(" ≥ %d", lo)
	case lo == math.MinInt:
		return fmt.Sprintf(" ≤ %d", hi)
	}
	return fmt.Sprintf(" in %d..%d", lo, hi)
}

// Bool declares a boolean option ("true"/"false", as strconv.ParseBool)
// stored in *p, default def.
func (s *OptionSet) Bool(p *bool, key string, def bool, doc string) {
	*p = def
	s.Func(key, "bool", strconv.FormatBool(def), doc, func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		*p = b
		return nil
	})
}

// Duration declares a positive Go duration option stored in *p, default
// def (0: no default, documented as "").
func (s *OptionSet) Duration(p *time.Duration, key string, def time.Duration, doc string) {
	*p = def
	shown := ""
	if def != 0 {
		shown = def.String()
	}
	s.Func(key, "duration", shown, doc, func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return errors.New("want a positive Go duration such as 5s or 500ms")
		}
		*p = d
		return nil
	})
}

// Options returns the declarations in declaration order, for Info().Options.
func (s *OptionSet) Options() []Option {
	out := make([]Option, len(s.defs))
	for i, d := range s.defs {
		out[i] = d.Option
	}
	return out
}

// Parse applies the written options m to the declared variables (which
// hold their defaults), in key order. Values are trimmed of surrounding
// space. It returns every problem, one *OptionError per bad key joined in
// key order (errors.Join), or nil.
func (s *OptionSet) Parse(m map[string]string) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		i := slices.IndexFunc(s.defs, func(d optionDef) bool { return d.Key == k })
		if i < 0 {
			errs = append(errs, &OptionError{Driver: s.driver, Key: k, Value: m[k], Err: ErrUnknownOption, Known: s.keys()})
			continue
		}
		if err := s.defs[i].set(strings.TrimSpace(m[k])); err != nil {
			errs = append(errs, &OptionError{Driver: s.driver, Key: k, Value: m[k], Err: err})
		}
	}
	return errors.Join(errs...)
}

func (s *OptionSet) keys() []string {
	out := make([]string, len(s.defs))
	for i, d := range s.defs {
		out[i] = d.Key
	}
	return out
}

// OptionErrors returns the *OptionError values in err (as returned by
// OptionSet.Parse or a driver wrapping it), in order.
func OptionErrors(err error) []*OptionError {
	var out []*OptionError
	walk(err, func(e error) bool {
		if oe, ok := e.(*OptionError); ok {
			out = append(out, oe)
			return true
		}
		return false
	})
	return out
}

// walk calls f on err and, unless f reports it handled it, on everything
// err wraps, depth first.
func walk(err error, f func(error) bool) {
	if err == nil || f(err) {
		return
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			walk(e, f)
		}
	case interface{ Unwrap() error }:
		walk(u.Unwrap(), f)
	}
}
