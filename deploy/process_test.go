package deploy

import (
	"bytes"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/impair"
)

// TestProcessFaultsNameComposeContainers: every container a compose
// profile's process faults pause, kill or start is a database container
// compose creates (not a netem sidecar, whose pause would do nothing to
// the node), and each fault's heal undoes it in its phase.
func TestProcessFaultsNameComposeContainers(t *testing.T) {
	t.Parallel()
	p := stack(t)
	db := map[string]bool{}
	for name, s := range p.Services {
		if s.NetworkMode == "" {
			db[projectName+"-"+name+"-1"] = true
		}
	}
	re := regexp.MustCompile(`(?m)^docker (pause|unpause|kill|start) (\S+)$`)
	n := 0
	for _, f := range composeProfiles(t) {
		var out bytes.Buffer
		if err := bench.DryRun(loadShipped(t, f), impair.Builtin(), &out); err != nil {
			t.Fatal(err)
		}
		count := map[string]int{}
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			n++
			count[m[1]]++
			if !db[m[2]] {
				t.Errorf("%s: docker %s %s, which is not a database container of the stack", filepath.Base(f), m[1], m[2])
			}
		}
		if count["pause"] != count["unpause"] || count["kill"] != count["start"] {
			t.Errorf("%s: %v: every pause needs its unpause and every kill its start", filepath.Base(f), count)
		}
	}
	if n == 0 {
		t.Error("no compose profile has process faults")
	}
}
