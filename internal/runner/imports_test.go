package runner_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRunnerReadsNoProfile: the engine takes the typed plan only; no file
// of package runner imports package profile (the YAML schema).
func TestRunnerReadsNoProfile(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sources: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range file.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); path == "github.com/pacbench/pacbench/profile" {
				t.Errorf("%s imports %s: the runner must read only internal/plan", f, path)
			}
		}
	}
}
