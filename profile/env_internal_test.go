package profile

import (
	"strings"
	"testing"
)

// FuzzExpandEnv: the ${…} parser never panics; text without "${" only has
// "$$" turned into "$"; a reference to a set variable becomes its value.
func FuzzExpandEnv(f *testing.F) {
	for _, s := range []string{"${A}", "${A:-b}", "$$", "$", "${", "${A:-}", "x${A}y${B:-z}", "${A:-${B}}", "$${A}", "${_9}"} {
		f.Add(s)
	}
	lookup := func(k string) (string, bool) { return "<" + k + ">", k != "B" }
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandEnv(s, lookup, func(string, string) {})
		if err != nil {
			if !strings.Contains(s, "${") {
				t.Fatalf("expandEnv(%q) failed without a reference: %v", s, err)
			}
			return
		}
		if !strings.Contains(s, "${") && out != strings.ReplaceAll(s, "$$", "$") {
			t.Fatalf("expandEnv(%q) = %q", s, out)
		}
		wrapped, err := expandEnv("a${A}"+strings.ReplaceAll(s, "$", "$$"), lookup, func(string, string) {})
		if err != nil || wrapped != "a<A>"+s {
			t.Fatalf("escaped %q expands to %q, %v; want it back", s, wrapped, err)
		}
	})
}

// FuzzPath: a path parsePath accepts renders back to itself.
func FuzzPath(f *testing.F) {
	for _, s := range []string{"load.rate", "levels[0].read", "a[1][2].b-c_d", "a.", "[0]", "a[01]", "a..b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		steps, err := parsePath(s)
		if err != nil {
			return
		}
		if got := pathString(steps); got != s {
			t.Fatalf("parsePath(%q) renders back as %q", s, got)
		}
	})
}
