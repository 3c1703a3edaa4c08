package sink

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/pacbench/pacbench/internal/report"
)

// Sentinel errors of the results directory, for callers to branch on. The
// first three are also usage errors (errors.Is(err, ErrUsage)).
var (
	// ErrBadRunID: the run id is not one safe path element.
	ErrBadRunID = errors.New("invalid run id")
	// ErrRunExists: the run directory exists and --overwrite was not given.
	ErrRunExists = errors.New("run directory exists")
	// ErrNotARun: --overwrite was given but the directory is not a
	// pacbench run (no manifest.json or summary.json of pacbench's).
	ErrNotARun = errors.New("not a pacbench run directory")
	// ErrBadName: a file name a sink asked for would leave the run
	// directory or is not safe.
	ErrBadName = errors.New("unsafe file name")
)

// MaxRunIDLen bounds a run id, in bytes.
const MaxRunIDLen = 128

var runIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateRunID checks that id is one path element of safe characters:
// ASCII letters, digits, ".", "_" and "-", starting with a letter or digit
// (so never ".", "..", hidden, or flag-like), at most MaxRunIDLen bytes.
// Errors wrap ErrBadRunID and ErrUsage and say what is wrong.
func ValidateRunID(id string) error {
	switch {
	case id == "":
		return Usage(fmt.Errorf("%w: empty", ErrBadRunID))
	case len(id) > MaxRunIDLen:
		return Usage(fmt.Errorf("%w: %d bytes, at most %d", ErrBadRunID, len(id), MaxRunIDLen))
	case strings.ContainsAny(id, `/\`):
		return Usage(fmt.Errorf("%w %q: a path separator; the run id names one directory inside --out", ErrBadRunID, id))
	case !runIDRe.MatchString(id):
		return Usage(fmt.Errorf("%w %q: use ASCII letters, digits, '.', '_' and '-', starting with a letter or digit", ErrBadRunID, id))
	}
	return nil
}

// IsRun reports whether dir is a directory (not a symlink) holding a
// pacbench run: a manifest.json or summary.json with pacbench's schema.
func IsRun(dir string) bool {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return false
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return false
	}
	defer root.Close()
	for name, schema := range map[string]string{"manifest.json": report.ManifestSchema, "summary.json": report.Schema} {
		b, err := root.ReadFile(name)
		if err != nil {
			continue
		}
		var doc struct {
			Schema string `json:"schema"`
		}
		if json.Unmarshal(b, &doc) == nil && doc.Schema == schema {
			return true
		}
	}
	return false
}

// CheckTarget refuses, before anything starts, to write run id into parent
// where that would replace something silently: an existing entry is
// refused unless overwrite is set and it is a pacbench run.
func CheckTarget(parent, id string, overwrite bool) error {
	if err := ValidateRunID(id); err != nil {
		return err
	}
	if st, err := os.Stat(parent); (err == nil && !st.IsDir()) || errors.Is(err, syscall.ENOTDIR) {
		return Usage(fmt.Errorf("results: --out %s is not a directory", parent))
	}
	final := filepath.Join(parent, id)
	if _, err := os.Lstat(final); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	if !overwrite {
		return Usage(fmt.Errorf("%w: %s (choose another --run-id, or --overwrite to replace that run)", ErrRunExists, final))
	}
	if !IsRun(final) {
		return Usage(fmt.Errorf("%w: %s (--overwrite replaces only a directory pacbench wrote; remove it yourself)", ErrNotARun, final))
	}
	return nil
}

// Dir is a run directory being written. Files go into a hidden staging
// directory next to it, named after the run and its owner process
// (".<id>.pacbench-<pid>-<start>.stage", so a dead run's leftovers are
// recognised by Sweep), and Commit renames it into place: a reader never
// sees a half-written run. Every file is created through an os.Root on the
// staging directory, so no name can leave it. Safe for concurrent use.
type Dir struct {
	parent, id string
	overwrite  bool
	stage      string
	root       *os.Root
	final      string

	mu    sync.Mutex
	files map[string]bool
}

// NewDir checks the target (CheckTarget), creates parent if needed and
// the staging directory.
func NewDir(parent, id string, overwrite bool) (*Dir, error) {
	if err := CheckTarget(parent, id, overwrite); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		if errors.Is(err, syscall.ENOTDIR) {
			return nil, Usage(fmt.Errorf("results: --out %s is not a directory: %w", parent, err))
		}
		return nil, fmt.Errorf("results: %w", err)
	}
	d := &Dir{parent: parent, id: id, overwrite: overwrite, final: filepath.Join(parent, id), files: map[string]bool{}}
	d.stage = filepath.Join(parent, ownedName(id, "stage"))
	if err := os.Mkdir(d.stage, 0o755); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	root, err := os.OpenRoot(d.stage)
	if err != nil {
		_ = os.Remove(d.stage)
		return nil, fmt.Errorf("results: %w", err)
	}
	d.root = root
	return d, nil
}

// Path is where the run directory is (or will be, once committed).
func (d *Dir) Path() string { return d.final }

// StagePath is the staging directory, where the run is until Commit (a
// sweep writes its values' runs inside it).
func (d *Dir) StagePath() string { return d.stage }

var elemRe = regexp.MustCompile(`^[A-Za-z0-9_=-][A-Za-z0-9._=-]*$`)

// checkName accepts a slash-separated relative path whose every element is
// a safe, non-hidden name (report.Stem makes them).
func checkName(name string) error {
	if name == "" || path.Clean(name) != name || !filepath.IsLocal(name) {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, e := range strings.Split(name, "/") {
		if !elemRe.MatchString(e) || len(e) > 255 {
			return fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	return nil
}

// Create creates a new file name (slash-separated, relative) in the run
// directory, with its parent directories; it fails if the file exists.
func (d *Dir) Create(name string) (*os.File, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if dir := path.Dir(name); dir != "." {
		if err := d.root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
	}
	f, err := d.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	d.files[name] = true
	return f, nil
}

// WriteFile writes a whole file; on failure nothing of it is left.
func (d *Dir) WriteFile(name string, data []byte) error {
	f, err := d.Create(name)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = d.Remove(name)
		return fmt.Errorf("write %s: %w", name, werr)
	}
	return nil
}

// Remove deletes a file written earlier.
func (d *Dir) Remove(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.files, name)
	if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// FS returns a read-only view of the run directory as written so far
// (e.g. for a sink that builds a file from the others, as report.html
// does). Reads cannot leave the directory.
func (d *Dir) FS() fs.FS { return d.root.FS() }

// Files lists the files written so far, sorted.
func (d *Dir) Files() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.files))
	for n := range d.files {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Commit renames the staging directory into place. If the target exists
// by now (a concurrent run took the id), an overwrite replaces it only if
// it is a pacbench run; otherwise the results go to the first free
// "<id>-N" and Commit says so in its note. Path reports where they are.
func (d *Dir) Commit() (note string, err error) {
	_ = d.root.Close()
	if err := os.Chmod(d.stage, 0o755); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	if _, err := os.Lstat(d.final); err == nil {
		if d.overwrite && IsRun(d.final) {
			return "", d.replace()
		}
		return d.commitElsewhere()
	}
	if err := os.Rename(d.stage, d.final); err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	return "", nil
}

// replace swaps an existing pacbench run for the new one: the old run is
// moved aside under an owned name first, so that a crash in between leaves
// nothing Sweep cannot restore.
func (d *Dir) replace() error {
	aside := filepath.Join(d.parent, ownedName(d.id, "old"))
	if err := os.Rename(d.final, aside); err != nil {
		return fmt.Errorf("results: replace %s: %w", d.final, err)
	}
	if err := os.Rename(d.stage, d.final); err != nil {
		_ = os.Rename(aside, d.final)
		return fmt.Errorf("results: %w", err)
	}
	if err := os.RemoveAll(aside); err != nil {
		return fmt.Errorf("results: remove the replaced run: %w", err)
	}
	return nil
}

func (d *Dir) commitElsewhere() (string, error) {
	for n := 2; n < 1000; n++ {
		alt := fmt.Sprintf("%s-%d", d.final, n)
		if _, err := os.Lstat(alt); err == nil {
			continue
		}
		if err := os.Rename(d.stage, alt); err != nil {
			return "", fmt.Errorf("results: %w", err)
		}
		prev := d.final
		d.final = alt
		return fmt.Sprintf("%s appeared during the run and was left alone; results written to %s", prev, alt), nil
	}
	return "", fmt.Errorf("%w: %s and its -2…-999 alternatives", ErrRunExists, d.final)
}

// Abort removes the staging directory and everything in it.
func (d *Dir) Abort() error {
	_ = d.root.Close()
	if err := os.RemoveAll(d.stage); err != nil {
		return fmt.Errorf("results: remove %s: %w", d.stage, err)
	}
	return nil
}
