// Package profiles holds the profiles shipped with pacbench, embedded in the
// binary. FS is read-only and safe for concurrent use.
package profiles

import "embed"

// FS holds every shipped profile (*.yaml at the top of this directory).
//
//go:embed *.yaml
var FS embed.FS

// QuickstartFile is the name of the built-in default profile in FS.
const QuickstartFile = "quickstart.yaml"

// Quickstart returns the built-in default profile of `pacbench run` (a fresh
// copy each call).
func Quickstart() []byte {
	b, err := FS.ReadFile(QuickstartFile)
	if err != nil {
		panic("profiles: quickstart.yaml is not embedded: " + err.Error()) // build-time invariant
	}
	return b
}
