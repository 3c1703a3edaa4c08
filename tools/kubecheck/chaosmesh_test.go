package kubecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chaosGoldens are the Chaos Mesh objects the chaosmesh impairment backend
// generates (golden files of internal/impair, rewritten there with -update).
const chaosGoldens = "internal/impair/testdata/chaosmesh"

func TestChaosMeshGoldensValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot, chaosGoldens, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files under %s (%v)", chaosGoldens, err)
	}
	kinds := map[string]int{}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			docs, err := SplitYAML(data)
			if err != nil || len(docs) == 0 {
				t.Fatalf("%d documents, %v", len(docs), err)
			}
			for _, d := range docs {
				o, err := Decode(d)
				if err != nil {
					t.Fatalf("%v\n%s", err, d)
				}
				if err := Check(o); err != nil {
					t.Errorf("%v\n%s", err, d)
				}
				kinds[o.GVK.Kind]++
			}
		})
	}
	for _, k := range []string{"NetworkChaos", "PodChaos"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the goldens (%v)", k, kinds)
		}
	}
}

// TestChaosMeshValidationRejects proves strict decoding and Chaos Mesh's
// webhook refuse broken variants of a golden object.
func TestChaosMeshValidationRejects(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join(repoRoot, chaosGoldens, "latency-peer-out.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := SplitYAML(data)
	if err != nil || len(docs) == 0 {
		t.Fatal(err)
	}
	good := string(docs[0])
	cases := []struct {
		name, old, new, want string
		strict               bool
	}{
		{"unknown field", "  action: delay\n", "  action: delay\n  latency: 40ms\n", "unknown field", true},
		{"bad latency", "latency: 40ms", "latency: 40 ms", "Delay.Latency", false},
		{"bad jitter", "jitter: 5ms", "jitter: five", "Delay.Jitter", false},
		{"bad correlation", `correlation: "0"`, `correlation: "x"`, "Correlation", false},
		{"misspelt target", "  target:\n", "  targets:\n", "unknown field", true},
		// Enumerations (action, mode, direction) are constrained by the
		// CRD's OpenAPI schema in a cluster, not by the Go types or the
		// webhook: not checked here (docs/kubernetes.md says so).
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !strings.Contains(good, tc.old) {
				t.Fatalf("golden lacks %q", tc.old)
			}
			expectRejected(t, []byte(strings.Replace(good, tc.old, tc.new, 1)), tc.strict, tc.want)
		})
	}
}
