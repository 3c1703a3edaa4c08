package htmlreport

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/profile"
)

// Files of a run directory the report reads and writes.
const (
	SummaryFile  = "summary.json"
	ManifestFile = "manifest.json"
	// ReportFile is the page written into every run directory.
	ReportFile = "report.html"
)

// MaxBlocks bounds the points of every time series: a run of more
// intervals is downsampled by merging each MaxBlocks-th share of
// consecutive whole intervals into one block (histograms merged exactly,
// counts added); no op is ever sampled out.
const MaxBlocks = 600

// ErrNotRun is returned by Load when the directory holds no pacbench
// summary.json.
var ErrNotRun = errors.New("not a pacbench run directory")

// Run is a results directory read back from its files alone: summary.json,
// manifest.json and the interval logs (intervals.hlog, checks.hlog),
// the logs reduced to at most MaxBlocks blocks. Read-only after Load; safe
// for concurrent readers.
type Run struct {
	Summary  *report.Summary
	Manifest *report.Manifest
	// Names are the file-safe stems of the plan's scenarios and phases
	// (the hlog tags).
	Names report.Names
	// Notes say what could not be read (a missing staleness log).
	Notes []string

	grid     grid
	tracks   map[tagKey]*track
	fsys     fs.FS
	phases   []profile.Phase // the plan's, in order (index = phase id)
	phaseIdx map[string]int
}

// tagKey is a parsed log tag: scenario/phase/op/outcome/measure.
type tagKey struct {
	scenario, phase      int
	op, outcome, measure string
}

// track is one tag's histograms: per block, and merged over the run.
type track struct {
	blocks []blockBins // ascending index, one per block with samples
	all    *hdrhistogram.Histogram
}

type blockBins struct {
	index int
	bins  Bins
}

// at returns the bins of block b (nil if none).
func (t *track) at(b int) Bins {
	if t == nil {
		return nil
	}
	i := sort.Search(len(t.blocks), func(i int) bool { return t.blocks[i].index >= b })
	if i < len(t.blocks) && t.blocks[i].index == b {
		return t.blocks[i].bins
	}
	return nil
}

// Load reads the run directory fsys (e.g. os.DirFS or an os.Root's FS).
// summary.json and manifest.json are required; without intervals.hlog
// (removed on a full disk) or checks.hlog (older runs) the page lacks what
// they hold and Notes says so.
func Load(fsys fs.FS) (*Run, error) {
	r := &Run{fsys: fsys, tracks: map[tagKey]*track{}}
	r.Summary = &report.Summary{}
	if err := readJSON(fsys, SummaryFile, r.Summary); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: no %s", ErrNotRun, SummaryFile)
		}
		return nil, err
	}
	if r.Summary.Schema != report.Schema {
		return nil, fmt.Errorf("%w: %s has schema %q, want %q", ErrNotRun, SummaryFile, r.Summary.Schema, report.Schema)
	}
	r.Manifest = &report.Manifest{}
	if err := readJSON(fsys, ManifestFile, r.Manifest); err != nil {
		return nil, err
	}
	scs := make([]string, len(r.Summary.Scenarios))
	for i, sc := range r.Summary.Scenarios {
		scs[i] = sc.Name
	}
	r.phases = planPhases(r.Summary, r.Manifest)
	phs := make([]string, len(r.phases))
	r.phaseIdx = map[string]int{}
	for i, ph := range r.phases {
		phs[i] = ph.Name
		r.phaseIdx[ph.Name] = i
	}
	r.Names = report.NewNames(scs, phs)
	if err := r.loadLogs(); err != nil {
		return nil, err
	}
	return r, nil
}

// planPhases returns the plan's phases (the profile as run, in the
// manifest), or, for a manifest without a profile, the summary's phase
// names in order (without impairments: no phase counts as a partition).
func planPhases(s *report.Summary, m *report.Manifest) []profile.Phase {
	if m.Profile != nil {
		return m.Profile.Phases
	}
	var out []profile.Phase
	seen := map[string]bool{}
	for _, sc := range s.Scenarios {
		for _, ph := range sc.Phases {
			if !seen[ph.Name] {
				seen[ph.Name] = true
				out = append(out, profile.Phase{Name: ph.Name})
			}
		}
	}
	return out
}

func readJSON(fsys fs.FS, name string, v any) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// loadLogs builds the block grid from intervals.hlog, then reads both logs
// with HdrHistogram's log reader into tracks.
func (r *Run) loadLogs() error {
	r.grid = grid{k: 1}
	g, err := scanFile(r.fsys, report.IntervalLogFile)
	if errors.Is(err, fs.ErrNotExist) {
		r.Notes = append(r.Notes, report.IntervalLogFile+" not in the run directory (see the summary's notes): nothing over time, no spectra")
		return nil
	}
	if err != nil {
		return err
	}
	r.grid = g.grid(MaxBlocks)
	if err := r.readLog(report.IntervalLogFile, r.grid.baseMs); err != nil {
		return err
	}
	sg, err := scanFile(r.fsys, report.ChecksLogFile)
	if errors.Is(err, fs.ErrNotExist) {
		r.Notes = append(r.Notes, report.ChecksLogFile+" not in the run directory (a run of an older pacbench): no staleness over time")
		return nil
	}
	if err != nil {
		return err
	}
	return r.readLog(report.ChecksLogFile, sg.baseMs)
}

// scan is what a first, textual pass over a log finds: its base time and
// the start and length of every interval (ms relative to the base).
type scan struct {
	baseMs int64
	starts map[int64]int64 // start → length
}

func scanFile(fsys fs.FS, name string) (scan, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return scan{}, fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	s, err := scanLog(f)
	if err != nil {
		return scan{}, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// scanLog reads a log's lines without decoding any histogram. The base
// time is the log's "#[BaseTime:" in whole seconds, which is what
// HdrHistogram's reader adds to the relative timestamps.
func scanLog(rd io.Reader) (scan, error) {
	s := scan{starts: map[int64]int64{}}
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if v, ok := strings.CutPrefix(text, "#[BaseTime: "); ok {
			sec, err := strconv.ParseFloat(strings.Fields(v)[0], 64)
			if err != nil {
				return s, fmt.Errorf("line %d: base time: %w", line, err)
			}
			s.baseMs = int64(math.Round(sec * 1000))
			continue
		}
		if text == "" || text[0] == '#' || strings.HasPrefix(text, `"StartTimestamp"`) {
			continue
		}
		if strings.HasPrefix(text, "Tag=") {
			_, text, _ = strings.Cut(text, ",")
		}
		f := strings.SplitN(text, ",", 3)
		if len(f) < 3 {
			return s, fmt.Errorf("line %d: not an interval histogram", line)
		}
		start, err1 := strconv.ParseFloat(f[0], 64)
		length, err2 := strconv.ParseFloat(f[1], 64)
		if err := errors.Join(err1, err2); err != nil {
			return s, fmt.Errorf("line %d: %w", line, err)
		}
		st := int64(math.Round(start * 1000))
		s.starts[st] = max(s.starts[st], int64(math.Round(length*1000)))
	}
	return s, sc.Err()
}

// grid is the run's intervals (ms since the run clock's zero, from the
// interval log) grouped k at a time into blocks.
type grid struct {
	startMs, lenMs []int64
	k              int
	baseMs         int64
}

func (s scan) grid(maxBlocks int) grid {
	g := grid{baseMs: s.baseMs, k: 1}
	for st := range s.starts {
		g.startMs = append(g.startMs, st)
	}
	sort.Slice(g.startMs, func(i, j int) bool { return g.startMs[i] < g.startMs[j] })
	for _, st := range g.startMs {
		g.lenMs = append(g.lenMs, s.starts[st])
	}
	if n := len(g.startMs); n > maxBlocks {
		g.k = (n + maxBlocks - 1) / maxBlocks
	}
	return g
}

// blocks returns the number of blocks.
func (g grid) blocks() int { return (len(g.startMs) + g.k - 1) / g.k }

// span returns block b's start and end (ms since the run clock's zero) and
// its measured length (the sum of its intervals' lengths).
func (g grid) span(b int) (startMs, endMs, lenMs int64) {
	lo, hi := b*g.k, min((b+1)*g.k, len(g.startMs))
	for i := lo; i < hi; i++ {
		lenMs += g.lenMs[i]
	}
	return g.startMs[lo], g.startMs[hi-1] + g.lenMs[hi-1], lenMs
}

// block returns the block of the interval starting nearest to ms.
func (g grid) block(ms int64) int {
	i := sort.Search(len(g.startMs), func(i int) bool { return g.startMs[i] >= ms })
	if i == len(g.startMs) || (i > 0 && ms-g.startMs[i-1] < g.startMs[i]-ms) {
		i--
	}
	return max(i, 0) / g.k
}

// readLog reads one log with HdrHistogram's log reader, merging each
// histogram into its tag's track (per block and over the run).
func (r *Run) readLog(name string, baseMs int64) error {
	if len(r.grid.startMs) == 0 {
		return nil
	}
	f, err := r.fsys.Open(name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer f.Close()
	acc := accumulator{run: r, open: map[tagKey]*hdrhistogram.Histogram{}, cur: -1}
	lr := hdrhistogram.NewHistogramLogReader(f)
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if h == nil {
			break
		}
		k, err := r.parseTag(h.Tag())
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		acc.add(k, r.grid.block(h.StartTimeMs()-baseMs), h)
	}
	acc.flush()
	for _, t := range r.tracks {
		sortBlocks(t)
	}
	return nil
}

func (r *Run) parseTag(tag string) (tagKey, error) {
	p := strings.Split(tag, "/")
	if len(p) != 5 {
		return tagKey{}, fmt.Errorf("tag %q: want scenario/phase/op/outcome/measure", tag)
	}
	k := tagKey{scenario: indexOf(r.Names.Scenarios, p[0]), phase: indexOf(r.Names.Phases, p[1]), op: p[2], outcome: p[3], measure: p[4]}
	if k.scenario < 0 || k.phase < 0 {
		return tagKey{}, fmt.Errorf("tag %q: no such scenario or phase in %s", tag, ManifestFile)
	}
	return k, nil
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// accumulator merges the histograms of the current block per tag.
type accumulator struct {
	run  *Run
	open map[tagKey]*hdrhistogram.Histogram
	cur  int
}

func (a *accumulator) add(k tagKey, b int, h *hdrhistogram.Histogram) {
	if b != a.cur {
		a.flush()
		a.cur = b
	}
	t := a.run.tracks[k]
	if t == nil {
		t = &track{all: like(h)}
		a.run.tracks[k] = t
	}
	t.all.Merge(h)
	o := a.open[k]
	if o == nil {
		o = like(h)
		a.open[k] = o
	}
	o.Merge(h)
}

// flush ends the current block: every tag that had samples in it gets
// its block's bins.
func (a *accumulator) flush() {
	for k, o := range a.open {
		if o.TotalCount() == 0 {
			continue
		}
		t := a.run.tracks[k]
		t.blocks = append(t.blocks, blockBins{index: a.cur, bins: binsOf(o)})
		o.Reset()
	}
}

// like returns an empty histogram of h's geometry.
func like(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	return hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
}

// sortBlocks orders a track's blocks and merges repeated ones (a log whose
// intervals are out of order).
func sortBlocks(t *track) {
	sort.SliceStable(t.blocks, func(i, j int) bool { return t.blocks[i].index < t.blocks[j].index })
	out := t.blocks[:0]
	for _, b := range t.blocks {
		if n := len(out); n > 0 && out[n-1].index == b.index {
			out[n-1].bins = merge(out[n-1].bins, b.bins)
			continue
		}
		out = append(out, b)
	}
	t.blocks = out
}
