package sink

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/report"
)

func TestValidateRunID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		id   string
		ok   bool
		want string
	}{
		{"q", true, ""},
		{"2026-11-21_run.3", true, ""},
		{strings.Repeat("a", MaxRunIDLen), true, ""},
		{"", false, "empty"},
		{".", false, "ASCII letters"},
		{"..", false, "ASCII letters"},
		{".hidden", false, "starting with a letter"},
		{"a/b", false, "path separator"},
		{"../x", false, "path separator"},
		{"/etc", false, "path separator"},
		{`a\b`, false, "path separator"},
		{"-x", false, "starting with a letter"},
		{"--overwrite", false, "starting with a letter"},
		{strings.Repeat("a", MaxRunIDLen+1), false, "at most 128"},
		{"a\x00b", false, "ASCII letters"},
		{"ünïcødé", false, "ASCII letters"},
		{"run 1", false, "ASCII letters"},
		{"a:b", false, "ASCII letters"},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%q", tc.id), func(t *testing.T) {
			t.Parallel()
			err := ValidateRunID(tc.id)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateRunID(%q) = %v, want ok", tc.id, err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrBadRunID) || !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ValidateRunID(%q) = %v, want ErrBadRunID and ErrUsage saying %q", tc.id, err, tc.want)
			}
		})
	}
}

// writeRun makes a directory that looks like a committed pacbench run.
func writeRun(t *testing.T, dir, marker string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m := fmt.Sprintf(`{"schema": %q, "run_id": %q}`, report.ManifestSchema, marker)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckTarget(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	writeRun(t, filepath.Join(parent, "run"), "old")
	if err := os.Mkdir(filepath.Join(parent, "notarun"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(parent, "notarun", "precious"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(parent, "run"), filepath.Join(parent, "link")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		id        string
		overwrite bool
		want      error
	}{
		{"fresh", false, nil},
		{"run", false, ErrRunExists},
		{"run", true, nil},
		{"notarun", false, ErrRunExists},
		{"notarun", true, ErrNotARun},
		{"link", true, ErrNotARun},
		{"..", true, ErrBadRunID},
	}
	for _, tc := range cases {
		err := CheckTarget(parent, tc.id, tc.overwrite)
		if (tc.want == nil) != (err == nil) || (tc.want != nil && (!errors.Is(err, tc.want) || !errors.Is(err, ErrUsage))) {
			t.Errorf("CheckTarget(%q, overwrite=%v) = %v, want %v", tc.id, tc.overwrite, err, tc.want)
		}
	}
}

func TestDirRejectsEscapes(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	outside := t.TempDir()
	d, err := NewDir(parent, "r", false)
	if err != nil {
		t.Fatal(err)
	}
	// A symlink inside the staging directory pointing outside it.
	if err := os.Symlink(outside, filepath.Join(d.stage, "hgrm")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../x", "/etc/passwd", "a/../../x", ".hidden", "a//b", "", ".", "..", "a/./b", `a\b`, "x\x00y", "hgrm/escape.hgrm"} {
		if err := d.WriteFile(name, []byte("x")); err == nil {
			t.Errorf("WriteFile(%q) succeeded, want refused", name)
		}
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("files written outside the run directory: %v", entries)
	}
	if err := d.WriteFile("hgrm2/a.hgrm", []byte("ok")); err != nil {
		t.Fatalf("WriteFile of a safe name: %v", err)
	}
	if err := d.WriteFile("hgrm2/a.hgrm", []byte("again")); err == nil {
		t.Errorf("WriteFile over an existing file succeeded")
	}
	if err := d.Abort(); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 0 {
		t.Errorf("Abort left %v", entries)
	}
}

func TestDirCommit(t *testing.T) {
	t.Parallel()
	t.Run("new", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		d, err := NewDir(parent, "r", false)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.WriteFile("summary.json", []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if note, err := d.Commit(); err != nil || note != "" {
			t.Fatalf("Commit = %q, %v", note, err)
		}
		if b, _ := os.ReadFile(filepath.Join(parent, "r", "summary.json")); string(b) != "{}" {
			t.Errorf("summary.json = %q", b)
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Errorf("leftovers next to the run: %v", entries)
		}
	})
	t.Run("overwrite a run", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		writeRun(t, filepath.Join(parent, "r"), "old")
		d, err := NewDir(parent, "r", true)
		if err != nil {
			t.Fatal(err)
		}
		writeRunFiles(t, d, "new")
		if _, err := d.Commit(); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(parent, "r", "manifest.json")); !strings.Contains(string(b), `"new"`) {
			t.Errorf("not replaced: %s", b)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 1 {
			t.Errorf("leftovers next to the run: %v", entries)
		}
	})
	t.Run("target appeared meanwhile", func(t *testing.T) {
		t.Parallel()
		parent := t.TempDir()
		d, err := NewDir(parent, "r", false)
		if err != nil {
			t.Fatal(err)
		}
		writeRunFiles(t, d, "mine")
		writeRun(t, filepath.Join(parent, "r"), "theirs")
		note, err := d.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if d.Path() != filepath.Join(parent, "r-2") || !strings.Contains(note, "r-2") {
			t.Errorf("Path %s, note %q: want the results in r-2", d.Path(), note)
		}
		if b, _ := os.ReadFile(filepath.Join(parent, "r", "manifest.json")); !strings.Contains(string(b), "theirs") {
			t.Errorf("the other run was touched: %s", b)
		}
	})
}

func writeRunFiles(t *testing.T, d *Dir, marker string) {
	t.Helper()
	m := fmt.Sprintf(`{"schema": %q, "run_id": %q}`, report.ManifestSchema, marker)
	if err := d.WriteFile("manifest.json", []byte(m)); err != nil {
		t.Fatal(err)
	}
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.Process.Pid
}

func TestSweep(t *testing.T) {
	t.Parallel()
	if procStart(os.Getpid()) == 0 {
		t.Skip("no /proc: Sweep cannot prove an owner is gone here")
	}
	parent := t.TempDir()
	dead := deadPid(t)
	mk := func(name string) string {
		p := filepath.Join(parent, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, HlogFile), []byte("#partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	deadStage := mk(fmt.Sprintf(".a.pacbench-%d-%d.stage", dead, 12345))
	// A live process: ours, with its real start time, and with a wrong
	// start time (the pid was reused: the owner is gone).
	liveStage := mk(fmt.Sprintf(".b.pacbench-%d-%d.stage", os.Getpid(), procStart(os.Getpid())))
	reused := mk(fmt.Sprintf(".c.pacbench-%d-%d.stage", os.Getppid(), procStart(os.Getppid())+1))
	// A run moved aside by --overwrite whose owner died before committing:
	// restored, since the run directory is missing.
	aside := mk(fmt.Sprintf(".d.pacbench-%d-%d.old", dead, 1))
	// Not pacbench's: look-alikes.
	others := []string{mk(".e.pacbench-x-1.stage"), mk(".f.hlog-123"), mk("g"), mk(fmt.Sprintf(".h.pacbench-%d-1.tmp", dead))}
	done, err := Sweep(parent, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 3 {
		t.Errorf("Sweep handled %d entries, want 3: %q", len(done), done)
	}
	for _, p := range []string{deadStage, reused, aside} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left in place", p)
		}
	}
	if _, err := os.Stat(filepath.Join(parent, "d", HlogFile)); err != nil {
		t.Errorf("run d not restored: %v", err)
	}
	for _, p := range append(others, liveStage) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed, but it is not provably a dead run's: %v", p, err)
		}
	}
	for _, line := range done {
		if !strings.Contains(line, "pacbench") {
			t.Errorf("sweep line does not say whose it was: %q", line)
		}
	}
}
