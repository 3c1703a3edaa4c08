package profile

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// ErrInvalid is what every validation failure unwraps to:
// errors.Is(err, profile.ErrInvalid) tells an invalid profile (exit 2) from
// an I/O error.
var ErrInvalid = errors.New("invalid profile")

// Problem is one validation problem at a place in a file. Line and Col are
// 1-based; 0 means unknown (a profile built in code rather than parsed).
type Problem struct {
	// File is the profile's path as given to Load or Parse.
	File string `json:"file,omitempty"`
	// Line and Col locate the offending key or value.
	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
	// Override, when set, is the command-line setting that wrote the
	// offending value ("-p load.rate=abc"); Line and Col are then 0.
	Override string `json:"override,omitempty"`
	// Msg starts with the YAML path of what is wrong ("phases[1].duration: …").
	Msg string `json:"msg"`
}

// String renders the problem as "file:line:col: msg", leaving out the parts
// that are unknown, or "file: override -p PATH=VALUE: msg" for a value an
// override wrote.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteByte(':')
	}
	if p.Override != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "override %s: %s", p.Override, p.Msg)
		return b.String()
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, "%d:", p.Col)
		}
	}
	if b.Len() > 0 {
		b.WriteByte(' ')
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in a profile. As an error it prints one
// problem per line, sorted by position, and unwraps to ErrInvalid. A
// Problems value is plain data, safe to share read-only.
type Problems []Problem

// Error implements error: one problem per line, sorted by file, line, column.
func (ps Problems) Error() string {
	sorted := append(Problems(nil), ps...)
	sorted.sort()
	lines := make([]string, len(sorted))
	for i, p := range sorted {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns ErrInvalid.
func (ps Problems) Unwrap() error { return ErrInvalid }

// sort orders problems by file, line and column, keeping the order in which
// problems at the same place were found.
func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
