package htmlreport

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// ErrUsage marks errors in what the caller named (no such directory, not
// a run, an unwritable output path): found before anything is written.
var ErrUsage = errors.New("bad usage")

type usageError struct{ error }

func (u usageError) Is(target error) bool { return target == ErrUsage }
func (u usageError) Unwrap() error        { return u.error }

// WriteReport (re)builds dir/report.html from the run directory's files
// alone (a sweep's directory: from its summary.json, RenderSweep) and
// returns its path. The file is replaced atomically (written
// beside it, then renamed), and nothing is written outside dir.
func WriteReport(dir string) (string, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", usageError{fmt.Errorf("run directory: %w", err)}
	}
	defer root.Close()
	b, err := RenderDir(root.FS())
	if err != nil {
		if errors.Is(err, ErrNotRun) || errors.Is(err, fs.ErrNotExist) {
			err = usageError{err}
		}
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	if err := writeAtomic(root, ReportFile, b); err != nil {
		return "", fmt.Errorf("%s: %w", dir, err)
	}
	return filepath.Join(dir, ReportFile), nil
}

// WriteFile writes data to path atomically: into a temporary file in the
// same directory, synced, then renamed over path.
func WriteFile(path string, data []byte) error {
	root, err := os.OpenRoot(filepath.Dir(path))
	if err != nil {
		return usageError{fmt.Errorf("output: %w", err)}
	}
	defer root.Close()
	return writeAtomic(root, filepath.Base(path), data)
}

func writeAtomic(root *os.Root, name string, data []byte) error {
	tmp := "." + name + ".tmp-" + strconv.Itoa(os.Getpid())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// RenderDir renders the report.html of the run or sweep directory fsys
// from its files alone.
func RenderDir(fsys fs.FS) ([]byte, error) {
	var b bytes.Buffer
	sd, err := LoadSweep(fsys)
	switch {
	case err == nil:
		err = RenderSweep(&b, sd)
		return b.Bytes(), err
	case !errors.Is(err, ErrNotSweep):
		return nil, err
	}
	r, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	if err := Render(&b, Build(r)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
