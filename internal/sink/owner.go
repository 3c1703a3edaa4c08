package sink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/pacbench/pacbench/internal/owner"
)

// ownedName is the name of a hidden entry of the results directory that
// belongs to this process: ".<id>.pacbench-<pid>-<start>.<kind>", where
// start is the process's start time (clock ticks since boot, from
// /proc/<pid>/stat) so that a reused pid is not mistaken for the owner.
func ownedName(id, kind string) string {
	pid := os.Getpid()
	return fmt.Sprintf(".%s.pacbench-%d-%d.%s", id, pid, procStart(pid), kind)
}

var ownedRe = regexp.MustCompile(`^\.([A-Za-z0-9][A-Za-z0-9._-]*)\.pacbench-([0-9]+)-([0-9]+)\.(stage|old)$`)

// procStart returns a process's start time (owner.Start).
func procStart(pid int) uint64 { return owner.Start(pid) }

// ownerGone reports whether the process that made an owned entry is
// provably gone (owner.Proc.Gone).
func ownerGone(pid int, start uint64) bool { return owner.Proc{PID: pid, Start: start}.Gone() }

// Sweep cleans what dead runs left in parent (a results directory): a
// staging directory whose owner process is gone is removed (that run never
// finished writing); a run moved aside by --overwrite whose owner died
// before removing it is put back if the run directory is missing, and
// removed otherwise. Only entries named by ownedName whose owner is
// provably gone are touched. It returns one line per entry handled; with
// dry set it changes nothing and says what it would do.
func Sweep(parent string, dry bool) ([]string, error) {
	entries, err := os.ReadDir(parent)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("results: sweep %s: %w", parent, err)
	}
	var done []string
	var errs []error
	for _, e := range entries {
		m := ownedRe.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		pid, err1 := strconv.Atoi(m[2])
		start, err2 := strconv.ParseUint(m[3], 10, 64)
		if err1 != nil || err2 != nil || !ownerGone(pid, start) {
			continue
		}
		p := filepath.Join(parent, e.Name())
		if dry {
			done = append(done, fmt.Sprintf("would remove or restore %s (left by pacbench %d, which is gone)", p, pid))
			continue
		}
		line, err := sweepOne(parent, p, m[1], m[4], pid)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done = append(done, line)
	}
	return done, errors.Join(errs...)
}

func sweepOne(parent, p, id, kind string, pid int) (string, error) {
	if kind == "old" {
		final := filepath.Join(parent, id)
		if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
			if err := os.Rename(p, final); err != nil {
				return "", fmt.Errorf("results: restore %s: %w", final, err)
			}
			return fmt.Sprintf("restored run %s (pacbench %d died while replacing it)", final, pid), nil
		}
	}
	if err := os.RemoveAll(p); err != nil {
		return "", fmt.Errorf("results: remove %s: %w", p, err)
	}
	what := "unfinished results of run " + id
	if kind == "old" {
		what = "replaced copy of run " + id
	}
	return fmt.Sprintf("removed %s left by pacbench %d, which is gone: %s", what, pid, p), nil
}
