package exporter

import (
	"strings"
	"unicode/utf8"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/op"
)

// MaxLabelLen is the longest label value the exporter emits, in bytes;
// longer values are truncated.
const MaxLabelLen = 64

// noneLabel replaces an empty label value (Prometheus treats an empty value
// as an absent label).
const noneLabel = "none"

// otherKind replaces an impairment kind outside the closed set.
const otherKind = "other"

// cleanLabel makes a profile-supplied name (system, scenario, phase, level,
// impairment target) safe as a label value: characters outside
// [A-Za-z0-9_.:=,+/@-] become '_', invalid UTF-8 included, the result is cut
// to MaxLabelLen bytes, and an empty value becomes "none". The exporter
// never receives error text, keys or run ids for these labels; this bounds
// what a profile can put there.
func cleanLabel(s string) string {
	if s == "" {
		return noneLabel
	}
	if len(s) > MaxLabelLen*utf8.UTFMax {
		s = s[:MaxLabelLen*utf8.UTFMax]
	}
	var b strings.Builder
	b.Grow(min(len(s), MaxLabelLen))
	for _, r := range s {
		if b.Len() >= MaxLabelLen {
			break
		}
		if allowedRune(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// allowedRune reports whether r may appear in a cleaned label value.
func allowedRune(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("_.:=,+/@-", r)
}

// kindLabel returns the impairment kind if it is one of impair's kinds,
// "other" otherwise.
func kindLabel(k string) string {
	switch k {
	case impair.KindLatency, impair.KindBandwidth, impair.KindPartition, impair.KindDown, impair.KindReset:
		return k
	}
	return otherKind
}

// opLabel returns the op kind's name, and false for a kind outside op's
// closed set (such series are not exported).
func opLabel(k op.Kind) (string, bool) {
	if k >= op.NumKinds {
		return "", false
	}
	return k.String(), true
}

// classLabel returns the outcome class's name, and false for a class outside
// op's closed set.
func classLabel(c op.Class) (string, bool) {
	if c >= op.NumClasses {
		return "", false
	}
	return c.String(), true
}
