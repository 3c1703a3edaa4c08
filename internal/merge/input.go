package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/workloads"
)

// Input is one shard's results directory, read back.
type Input struct {
	// Dir is the directory as given.
	Dir string
	// Manifest and Measurements are its manifest.json and
	// measurements.json.
	Manifest     *report.Manifest
	Measurements *report.Measurements
	// Shard is its part of the run.
	Shard workloads.Shard
	// Base is its run clock's zero; Anchor the common start its times are
	// aligned on (the start barrier, or its first phase's start without
	// one).
	Base, Anchor time.Time
	fsys         fs.FS
}

// read reads one shard's results directory.
func read(dir string) (*Input, error) {
	in := &Input{Dir: dir, fsys: os.DirFS(dir)}
	in.Manifest = &report.Manifest{}
	if err := readJSON(in.fsys, dir, "manifest.json", in.Manifest); err != nil {
		return nil, err
	}
	if in.Manifest.Schema != report.ManifestSchema {
		return nil, usage("%s: manifest.json has schema %q, not %q: not a pacbench results directory", dir, in.Manifest.Schema, report.ManifestSchema)
	}
	in.Measurements = &report.Measurements{}
	if err := readJSON(in.fsys, dir, report.MeasurementsFile, in.Measurements); err != nil {
		return nil, err
	}
	if in.Manifest.Profile == nil {
		return nil, usage("%s: manifest.json has no profile", dir)
	}
	sh := in.Manifest.Shard
	if sh == nil {
		return nil, usage("%s: run %s is not a shard (run it with --shard I/N)", dir, in.Manifest.RunID)
	}
	in.Shard = workloads.Shard{Index: sh.Index, Count: sh.Count}
	if err := in.Shard.Validate(); err != nil || !in.Shard.Sharded() {
		return nil, usage("%s: manifest.json's shard %d/%d is not one of several", dir, sh.Index, sh.Count)
	}
	var err error
	if in.Base, err = time.Parse(time.RFC3339Nano, in.Manifest.ClockBase); err != nil {
		return nil, usage("%s: manifest.json clock_base %q: %v", dir, in.Manifest.ClockBase, err)
	}
	in.Anchor, err = anchor(in.Manifest, in.Base)
	if err != nil {
		return nil, usage("%s: %v", dir, err)
	}
	return in, nil
}

// anchor is what a shard's times are aligned on: its start barrier, or,
// without one, the start of its first phase.
func anchor(m *report.Manifest, base time.Time) (time.Time, error) {
	if b := m.StartBarrier; b != nil {
		at, err := time.Parse(time.RFC3339Nano, b.At)
		if err != nil {
			return time.Time{}, fmt.Errorf("manifest.json start_barrier.at %q: %w", b.At, err)
		}
		return at, nil
	}
	if len(m.Phases) == 0 {
		return time.Time{}, errors.New("manifest.json has no phase: the shard never started measuring")
	}
	return base.Add(time.Duration(m.Phases[0].StartNs)), nil
}

func readJSON(fsys fs.FS, dir, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if errors.Is(err, fs.ErrNotExist) {
		what := "not a complete pacbench results directory"
		if name == report.MeasurementsFile {
			what = "written by a pacbench without measurements.json, or incomplete"
		}
		return usage("%s: no %s: %s", dir, name, what)
	}
	if err != nil {
		return usage("%s: %v", dir, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return usage("%s: %s: %v", dir, name, err)
	}
	return nil
}

// group checks that ins are shards of one run and returns them by shard
// index, the shard count and the indexes missing. Mismatches are usage
// errors naming the directories.
func group(ins []*Input, allowMissing bool) ([]*Input, int, []int, error) {
	first := ins[0]
	n := first.Shard.Count
	byIndex := make([]*Input, n)
	ref, err := profileKey(first.Manifest.Profile)
	if err != nil {
		return nil, 0, nil, err
	}
	for _, in := range ins {
		m := in.Manifest
		switch {
		case m.RunID != first.Manifest.RunID:
			return nil, 0, nil, usage("%s is run %q but %s is run %q: shards of different runs", in.Dir, m.RunID, first.Dir, first.Manifest.RunID)
		case in.Shard.Count != n:
			return nil, 0, nil, usage("%s is shard %s but %s is shard %s: different shard counts overlap", in.Dir, in.Shard, first.Dir, first.Shard)
		case byIndex[in.Shard.Index] != nil:
			return nil, 0, nil, usage("shard %s given twice: %s and %s", in.Shard, byIndex[in.Shard.Index].Dir, in.Dir)
		case !sameBarrier(m, first.Manifest):
			return nil, 0, nil, usage("%s and %s have different start barriers (--start-at)", in.Dir, first.Dir)
		case m.IntervalMs != first.Manifest.IntervalMs:
			return nil, 0, nil, usage("%s has a %v ms interval, %s %v ms: the interval logs cannot be aligned", in.Dir, m.IntervalMs, first.Dir, first.Manifest.IntervalMs)
		}
		key, err := profileKey(m.Profile)
		if err != nil {
			return nil, 0, nil, err
		}
		if !bytes.Equal(key, ref) {
			return nil, 0, nil, usage("%s ran a different profile from %s (%s)", in.Dir, first.Dir, profileDiff(key, ref))
		}
		byIndex[in.Shard.Index] = in
	}
	var missing []int
	for i, in := range byIndex {
		if in == nil {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 && !allowMissing {
		return nil, 0, nil, usage("run %s: shard%s %s of %d missing (--allow-missing merges the others, marked partial)",
			first.Manifest.RunID, plural(len(missing)), joinInts(missing), n)
	}
	return byIndex, n, missing, nil
}

// profileKey is the profile as run without its shard: what every shard of
// one run has in common.
func profileKey(p *profile.Profile) ([]byte, error) {
	cp := *p
	cp.Shard = ""
	b, err := json.Marshal(&cp)
	if err != nil {
		return nil, fmt.Errorf("merge: profile: %w", err)
	}
	return b, nil
}

// profileDiff names the top-level profile keys that differ.
func profileDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	_ = json.Unmarshal(a, &ma)
	_ = json.Unmarshal(b, &mb)
	var diff []string
	for k := range maps.Keys(ma) {
		if !bytes.Equal(ma[k], mb[k]) {
			diff = append(diff, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	return "differs in " + strings.Join(slices.Compact(diff), ", ")
}

func sameBarrier(a, b *report.Manifest) bool {
	if (a.StartBarrier == nil) != (b.StartBarrier == nil) {
		return false
	}
	return a.StartBarrier == nil || a.StartBarrier.At == b.StartBarrier.At
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
