package sink

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/pacbench/pacbench/internal/report"
)

// Format renders the summary on stdout ("a format is one small function").
type Format func(w io.Writer, s *report.Summary) error

// Formats is a registry of stdout formats by name. Not safe for concurrent
// Register; Lookup may be called concurrently.
type Formats struct {
	m map[string]Format
}

// NewFormats returns an empty format registry.
func NewFormats() *Formats { return &Formats{m: map[string]Format{}} }

// DefaultFormats returns the built-in formats: table (the comparison table)
// and json (the summary document alone, exactly summary.json's bytes).
func DefaultFormats() *Formats {
	f := NewFormats()
	_ = f.Register("table", report.WriteTable)
	_ = f.Register("json", JSONFormat)
	return f
}

// Register adds a format; names are unique.
func (f *Formats) Register(name string, fn Format) error {
	if _, dup := f.m[name]; dup {
		return fmt.Errorf("format %q registered twice", name)
	}
	f.m[name] = fn
	return nil
}

// Names lists the formats, sorted, with "table" first.
func (f *Formats) Names() []string {
	out := make([]string, 0, len(f.m))
	for n := range f.m {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i] == "table") != (out[j] == "table") {
			return out[i] == "table"
		}
		return out[i] < out[j]
	})
	return out
}

// Lookup returns the format name; the error lists the known ones.
func (f *Formats) Lookup(name string) (Format, error) {
	if fn, ok := f.m[name]; ok {
		return fn, nil
	}
	names := f.Names()
	list := strings.Join(names, " or ")
	if len(names) > 2 {
		list = strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
	}
	return nil, fmt.Errorf("%q is not %s", name, list)
}

// JSONFormat writes the summary document (non-finite numbers as null) and
// a newline.
func JSONFormat(w io.Writer, s *report.Summary) error {
	b, _, err := MarshalJSON(s)
	if err != nil {
		return fmt.Errorf("summary: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
