package merge

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/report"
)

// LogFiles are the interval logs a merge sums (HdrHistogram logs whose
// tags name what each histogram is: the same tag in two shards is the same
// series).
var LogFiles = []string{report.IntervalLogFile, report.ChecksLogFile}

// intervalKey is one merged interval's histogram: the interval's number on
// the grid from the common start, and the tag.
type intervalKey struct {
	n   int64
	tag string
}

// logMerge accumulates one log file over the shards.
type logMerge struct {
	name     string
	iv       int64 // interval, ns
	hists    map[intervalKey]*hdrhistogram.Histogram
	ends     map[int64]int64 // latest real end (merged ns) of each interval
	order    []string        // tags in first-seen order
	seen     map[string]bool
	comments []string // the first shard's own comment lines
}

func newLogMerge(name string, interval time.Duration) *logMerge {
	return &logMerge{name: name, iv: int64(interval), hists: map[intervalKey]*hdrhistogram.Histogram{},
		ends: map[int64]int64{}, seen: map[string]bool{}}
}

// add reads one shard's log: every histogram goes to the interval of the
// merged grid its end is nearest to (intervals of every shard end at the
// same points from a common start barrier, a little late on a loaded
// machine), shifted by the shard's offset. A shard without the log adds
// nothing (noted by the caller).
func (l *logMerge) add(p part) (bool, error) {
	b, err := fs.ReadFile(p.in.fsys, l.name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", p.in.Dir, err)
	}
	if l.comments == nil {
		l.comments = ownComments(b)
	}
	baseMs := p.in.Base.UnixMilli()
	r := hdrhistogram.NewHistogramLogReader(bytes.NewReader(b))
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			return true, usage("%s/%s: %v", p.in.Dir, l.name, err)
		}
		if h == nil {
			return true, nil
		}
		endNs := (h.EndTimeMs()-baseMs)*1e6 + p.offset
		n := max(int64(math.Round(float64(endNs)/float64(l.iv))), 1)
		k := intervalKey{n, h.Tag()}
		if cur := l.hists[k]; cur != nil {
			cur.Merge(h)
		} else {
			l.hists[k] = h
		}
		l.ends[n] = max(l.ends[n], endNs)
		if !l.seen[k.tag] {
			l.seen[k.tag] = true
			l.order = append(l.order, k.tag)
		}
	}
}

// ownComments returns the comment lines of a pacbench log that are not
// the format's own header lines (start/base time, version, legend).
func ownComments(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		if strings.HasPrefix(line, "#[") {
			continue
		}
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
	}
	return out
}

// write renders the merged log: intervals on the merged grid (interval n
// covers ((n−1)·iv, n·iv] from the common start, the last one ending with
// the last op), tags in the order first seen.
func (l *logMerge) write(baseMs int64, comment string) ([]byte, error) {
	var buf bytes.Buffer
	w, err := report.NewLogWriter(&buf, baseMs, append([]string{comment}, l.comments...)...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", l.name, err)
	}
	ns := make([]int64, 0, len(l.ends))
	for n := range l.ends {
		ns = append(ns, n)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i] < ns[j] })
	rank := map[string]int{}
	for i, t := range l.order {
		rank[t] = i
	}
	for _, n := range ns {
		startMs := baseMs + (n-1)*l.iv/1e6
		endMs := max(baseMs+min(n*l.iv, l.ends[n])/1e6, startMs)
		var tags []string
		for k := range l.hists {
			if k.n == n {
				tags = append(tags, k.tag)
			}
		}
		sort.Slice(tags, func(i, j int) bool { return rank[tags[i]] < rank[tags[j]] })
		for _, t := range tags {
			h := l.hists[intervalKey{n, t}]
			h.SetTag(t)
			h.SetStartTimeMs(startMs)
			h.SetEndTimeMs(endMs)
			if err := w.OutputIntervalHistogram(h); err != nil {
				return nil, fmt.Errorf("%s: %w", l.name, err)
			}
		}
	}
	return buf.Bytes(), nil
}
