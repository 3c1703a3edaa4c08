package cluster

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pacbench/pacbench/internal/owner"
)

// Names of what StartEtcd leaves in the temporary directory while a
// cluster runs.
const (
	// TempPattern names the data directory StartEtcd creates (os.MkdirTemp).
	TempPattern = "pacbench-etcd-"
	// OwnerFile, inside it, says which pacbench process (and which member
	// processes) own it: it is what proves a directory is pacbench's.
	OwnerFile  = "pacbench-owner"
	ownerMagic = "pacbench local etcd cluster"
)

// writeOwner records the owners of dir (this process and the members'
// processes) atomically.
func writeOwner(dir string, members []owner.Proc) error {
	var b strings.Builder
	self := owner.Self()
	fmt.Fprintf(&b, "%s\nparent %d %d\n", ownerMagic, self.PID, self.Start)
	for _, m := range members {
		fmt.Fprintf(&b, "member %d %d\n", m.PID, m.Start)
	}
	tmp := filepath.Join(dir, OwnerFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("owner file: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, OwnerFile)); err != nil {
		return fmt.Errorf("owner file: %w", err)
	}
	return nil
}

// readOwner parses dir's owner file; ok is false when dir holds none (or a
// malformed one): then it is not provably pacbench's.
func readOwner(dir string) (procs []owner.Proc, ok bool) {
	f, err := os.Open(filepath.Join(dir, OwnerFile))
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() || sc.Text() != ownerMagic {
		return nil, false
	}
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 3 || (fs[0] != "parent" && fs[0] != "member") {
			return nil, false
		}
		pid, err1 := strconv.Atoi(fs[1])
		start, err2 := strconv.ParseUint(fs[2], 10, 64)
		if err1 != nil || err2 != nil || pid <= 0 {
			return nil, false
		}
		procs = append(procs, owner.Proc{PID: pid, Start: start})
	}
	return procs, sc.Err() == nil && len(procs) > 0
}

// CleanStale removes, from tmp (os.TempDir() when ""), the data
// directories of local clusters whose pacbench process and member
// processes are all provably gone (a run that was SIGKILLed). Only
// directories named TempPattern* holding a valid OwnerFile are considered;
// anything else is never touched. It returns one line per directory
// removed (with dry: would remove, nothing is changed).
func CleanStale(tmp string, dry bool) ([]string, error) {
	if tmp == "" {
		tmp = os.TempDir()
	}
	entries, err := os.ReadDir(tmp)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local clusters: read %s: %w", tmp, err)
	}
	var done []string
	var errs []error
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), TempPattern) {
			continue
		}
		dir := filepath.Join(tmp, e.Name())
		procs, ok := readOwner(dir)
		if !ok || !allGone(procs) {
			continue
		}
		if dry {
			done = append(done, fmt.Sprintf("would remove %s (left by pacbench %d, which is gone)", dir, procs[0].PID))
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("local clusters: remove %s: %w", dir, err))
			continue
		}
		done = append(done, fmt.Sprintf("removed %s (left by pacbench %d, which is gone)", dir, procs[0].PID))
	}
	return done, errors.Join(errs...)
}

func allGone(procs []owner.Proc) bool {
	for _, p := range procs {
		if !p.Gone() {
			return false
		}
	}
	return true
}
