package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/owner"
)

// TestCleanStale: only directories named like a local cluster's, holding a
// valid owner file whose every process is provably gone, are removed.
func TestCleanStale(t *testing.T) {
	t.Parallel()
	if owner.Self().Start == 0 {
		t.Skip("no /proc: nothing can be proved gone")
	}
	done := exec.Command("true")
	if err := done.Start(); err != nil {
		t.Fatal(err)
	}
	dead := owner.Of(done.Process.Pid)
	_ = done.Wait()
	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	alive := owner.Of(live.Process.Pid)
	owners := func(ps ...owner.Proc) string {
		var b strings.Builder
		b.WriteString(ownerMagic + "\n")
		for i, p := range ps {
			kind := "member"
			if i == 0 {
				kind = "parent"
			}
			fmt.Fprintf(&b, "%s %d %d\n", kind, p.PID, p.Start)
		}
		return b.String()
	}
	tmp := t.TempDir()
	cases := []struct {
		name    string
		owner   string // owner file content ("-": none)
		file    bool   // a plain file, not a directory
		removed bool
	}{
		{TempPattern + "dead", owners(dead, dead), false, true},
		{TempPattern + "self", owners(owner.Self()), false, false},
		{TempPattern + "member-alive", owners(dead, alive), false, false},
		{TempPattern + "no-owner", "-", false, false},
		{TempPattern + "malformed", ownerMagic + "\nparent x 1\n", false, false},
		{TempPattern + "foreign", "some other tool\nparent 1 1\n", false, false},
		{"other-dir", owners(dead), false, false},
		{TempPattern + "file", "", true, false},
	}
	for _, c := range cases {
		p := filepath.Join(tmp, c.name)
		if c.file {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "m1.etcd"), []byte("data"), 0o644); err != nil {
			t.Fatal(err)
		}
		if c.owner != "-" {
			if err := os.WriteFile(filepath.Join(p, OwnerFile), []byte(c.owner), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	lines, err := CleanStale(tmp, true)
	if err != nil || len(lines) != 1 || !strings.Contains(lines[0], "would remove "+filepath.Join(tmp, TempPattern+"dead")) {
		t.Fatalf("dry run: %q, %v", lines, err)
	}
	lines, err = CleanStale(tmp, false)
	if err != nil || len(lines) != 1 {
		t.Fatalf("CleanStale: %q, %v", lines, err)
	}
	for _, c := range cases {
		_, err := os.Stat(filepath.Join(tmp, c.name))
		if gone := os.IsNotExist(err); gone != c.removed {
			t.Errorf("%s: removed %v, want %v", c.name, gone, c.removed)
		}
	}
	left, _ := os.ReadDir(tmp)
	if n := len(left); n != len(cases)-1 || slices.ContainsFunc(left, func(e os.DirEntry) bool { return e.Name() == TempPattern+"dead" }) {
		t.Errorf("left %d entries", n)
	}
}
