package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/testenv"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "1m") on a new
// directory, unmounted when the test ends. It needs CAP_SYS_ADMIN: root,
// as the test command runs in CI.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size="+size+",mode=0755"); err != nil {
		testenv.Missing(t, "mounting a small tmpfs (a real full file system) needs root: "+err.Error())
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fillTo writes a filler file that leaves about free bytes available.
func fillTo(t *testing.T, dir string, free int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	avail := int64(st.Bavail) * st.Bsize
	if avail <= free {
		t.Fatalf("tmpfs has only %d bytes", avail)
	}
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, avail-free), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFullDisk: the results directory is on a real, nearly full file
// system. The interval log's write fails early in the run: pacbench stops
// the run at once (exit 1, saying why) instead of running the whole
// profile, and keeps what can be kept — summary.json first, making room by
// dropping the interval log if it must.
func TestFullDisk(t *testing.T) {
	testenv.Short(t)
	for _, free := range []int64{32 << 10, 96 << 10} {
		t.Run(fmt.Sprintf("%dKiB-free", free>>10), func(t *testing.T) {
			mnt := mountTmpfs(t, "2m")
			fillTo(t, mnt, free)
			t0 := time.Now()
			// 60 s of phases: the interval log grows by at least ~6 KB/s at
			// 100 ms intervals however few ops a loaded machine runs (one
			// line per series per interval), so 96 KiB fill within ~16 s,
			// in the second of the four phases at the latest; with 8 s a
			// slow machine finished every phase before the disk was full.
			code, stdout, stderr := invoke(t, "run", "--duration", "60s", "--interval", "100ms", "--out", mnt,
				"--run-id", "full", "--metrics-addr", "127.0.0.1:0", "--format", "json")
			took := time.Since(t0)
			if code != ExitRun {
				t.Fatalf("exit %d, want 1\n%s", code, stderr)
			}
			for _, w := range []string{"no space left on device", "run stopped early"} {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			var s report.Summary
			b, err := os.ReadFile(filepath.Join(mnt, "full", "summary.json"))
			if err != nil {
				t.Fatalf("summary.json not kept: %v\n%s", err, stderr)
			}
			if err := json.Unmarshal(b, &s); err != nil || !s.Partial {
				t.Errorf("summary.json: %v, partial=%v", err, s.Partial)
			}
			if err := json.Unmarshal([]byte(stdout), &s); err != nil {
				t.Errorf("stdout is not the summary: %v", err)
			}
			if n := len(s.Scenarios[0].Phases); n >= 4 {
				t.Errorf("all %d phases ran (%s): the run did not stop early", n, took)
			}
			if !strings.Contains(strings.Join(s.Notes, "\n"), "intervals.hlog") {
				t.Errorf("summary notes do not say what happened to intervals.hlog: %q", s.Notes)
			}
			checkPartialHlog(t, filepath.Join(mnt, "full", "intervals.hlog"))
			entries, _ := os.ReadDir(mnt)
			for _, e := range entries {
				if e.Name() != "full" && e.Name() != "filler" {
					t.Errorf("leftover in --out: %s", e.Name())
				}
			}
			t.Logf("stopped after %s with %d phase(s); kept %v; notes %q", took, len(s.Scenarios[0].Phases), dirFiles(t, filepath.Join(mnt, "full")), s.Notes)
		})
	}
}

// checkPartialHlog: a kept interval log holds only complete intervals.
func checkPartialHlog(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return // dropped to make room: the notes say so
	}
	if err != nil {
		t.Fatal(err)
	}
	testenv.HlogCounts(t, bytes.NewReader(b))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("kept intervals.hlog ends mid-line")
	}
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// TestKilledRunLeftovers: SIGKILL leaves the run's hidden staging
// directory in --out; `pacbench heal --out` (and the next run) removes it
// once its owner is provably gone, and nothing else.
func TestKilledRunLeftovers(t *testing.T) {
	testenv.Short(t)
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := os.MkdirAll(filepath.Join(out, "keep"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--duration", "30s", "--out", out, "--run-id", "k", "--metrics-addr", "off", "--interval", "100ms", "--quiet")
	var stderr testenv.SyncBuffer
	cmd.Stderr, cmd.Stdout = &stderr, &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var stage string
	for stage == "" {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("no interval written:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
		m, _ := filepath.Glob(filepath.Join(out, ".k.pacbench-*.stage", "intervals.hlog"))
		if len(m) == 1 {
			if st, err := os.Stat(m[0]); err == nil && st.Size() > 1000 {
				stage = filepath.Dir(m[0])
			}
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait() // reaped: the owner is gone
	if _, err := os.Stat(stage); err != nil {
		t.Fatalf("no leftover to clean: %v", err)
	}
	code, stdout, errs := invoke(t, "heal", "--out", out)
	if code != 0 {
		t.Fatalf("heal: exit %d\n%s%s", code, stdout, errs)
	}
	if !strings.Contains(stdout, "removed unfinished results of run k") {
		t.Errorf("heal did not say what it removed:\n%s", stdout)
	}
	if _, err := os.Stat(stage); !os.IsNotExist(err) {
		t.Errorf("leftover %s still there", stage)
	}
	if _, err := os.Stat(filepath.Join(out, "keep")); err != nil {
		t.Errorf("heal removed a directory that is not a dead run's: %v", err)
	}
}
