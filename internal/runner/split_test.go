package runner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/internal/fakedriver"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/profile"
)

// splitProfile has two write routes with split-brain writers and a phase
// that partitions f3 (a no-op for the fake: only the writers' locking
// changes).
const splitProfile = `
system:
  driver: fake
  endpoints: [fake://1, fake://2, fake://3]
  impairer: {api: "http://127.0.0.1:1"}
  nodes: [{name: f1, endpoint: "fake://1"}, {name: f2, endpoint: "fake://2"}, {name: f3, endpoint: "fake://3"}]
workload: {records: 2, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform}
load: {workers: 8}
routes: {writers: [f1, f2], split_brain: true}
levels: [{name: fresh, read: fresh}]
phases:
  - {name: baseline, duration: 500ms}
  - {name: partition, duration: 500ms, impairments: [{kind: partition, target: f3}]}
  - {name: healed, duration: 500ms}
`

// overlapLog records, per key, writes that started while another write of
// the same key was in flight, and when. Safe for concurrent use.
type overlapLog struct {
	mu       sync.Mutex
	inflight map[string]int
	at       []time.Time // start of each overlapping write
}

func (l *overlapLog) begin(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inflight[key] > 0 {
		l.at = append(l.at, time.Now())
	}
	l.inflight[key]++
}

func (l *overlapLog) end(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight[key]--
}

// overlapDriver wraps the fake driver's sessions with an overlapLog.
type overlapDriver struct {
	*fakedriver.Driver
	log *overlapLog
}

func (d overlapDriver) Open(ctx context.Context, cfg drivers.Config) (drivers.Client, error) {
	c, err := d.Driver.Open(ctx, cfg)
	return overlapClient{c, d.log}, err
}

type overlapClient struct {
	drivers.Client
	log *overlapLog
}

func (c overlapClient) Session(ctx context.Context, cfg drivers.SessionConfig) (drivers.Session, error) {
	s, err := c.Client.Session(ctx, cfg)
	return overlapSession{s, c.log}, err
}

type overlapSession struct {
	drivers.Session
	log *overlapLog
}

func (s overlapSession) Write(ctx context.Context, key string, v []byte) error {
	s.log.begin(key)
	defer s.log.end(key)
	return s.Session.Write(ctx, key, v)
}

// windowImpairer notes when its impairment was applied and cleared.
type windowImpairer struct {
	mu             sync.Mutex
	applied, clear time.Time
}

func (*windowImpairer) Name() string { return "window" }
func (i *windowImpairer) Apply(context.Context, []impair.Action) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.applied = time.Now()
	return nil
}
func (i *windowImpairer) Clear(context.Context) error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if !i.applied.IsZero() && i.clear.IsZero() {
		i.clear = time.Now()
	}
	return nil
}
func (i *windowImpairer) Heal(ctx context.Context) (impair.HealReport, error) {
	return impair.HealReport{}, i.Clear(ctx)
}
func (*windowImpairer) Pending() []string { return nil }

// TestSplitBrainWriters (routes.split_brain): writes of one key overlap
// (the two routes' writers write it at the same time) during the
// partition phase only — never before it, never once its writes in flight
// are done after the heal; reads issued during the partition are not
// judged for staleness (seq order is not real-time order then), reads of
// the other phases are (and none is stale: the oracle does not judge a
// key's reads again until a write that overlapped none was acked); and on
// a store that applies every write at once
// the audit, judging by real-time order, finds no acknowledged write lost
// although seq order and completion order differ.
func TestSplitBrainWriters(t *testing.T) {
	t.Parallel()
	log := &overlapLog{inflight: map[string]int{}}
	d := overlapDriver{fakedriver.New(fakedriver.Options{OpDelay: 2 * time.Millisecond}), log}
	pl, _ := plan(t, d.Driver, splitProfile)
	reg := drivers.NewRegistry(d)
	imp := &windowImpairer{}
	links := impair.Topology{Members: []impair.MemberLinks{{Name: "f1", PeerProxy: "f1p"}, {Name: "f2", PeerProxy: "f2p"}, {Name: "f3", PeerProxy: "f3p"}}}
	res, err := runner.Run(context.Background(), runner.Config{Plan: pl, Registry: reg, Links: links, Impairer: imp,
		Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if imp.applied.IsZero() || imp.clear.IsZero() {
		t.Fatalf("partition never applied/cleared (%v, %v)", imp.applied, imp.clear)
	}
	var during int
	for _, at := range log.at {
		// A write issued in the partition phase may start up to an op
		// delay after the heal began; 100 ms covers it on a loaded machine.
		if at.Before(imp.applied) || at.After(imp.clear.Add(100*time.Millisecond)) {
			t.Errorf("overlapping write at %v outside the partition [%v, %v]", at, imp.applied, imp.clear)
		} else {
			during++
		}
	}
	if during == 0 {
		t.Error("no overlapping writes during the partition: the sides did not write the same keys at the same time")
	}
	for ph, want := range []bool{true, false, true} {
		st := staleness(t, res.Results, 0, ph)
		if (st.checked > 0) != want {
			t.Errorf("phase %d: %d reads checked for staleness, want checked %v", ph, st.checked, want)
		}
		// The fake applies each write at once: no read is stale, also
		// after overlapping writes acked out of seq order.
		if st.stale != 0 {
			t.Errorf("phase %d: %d of %d reads stale, want none", ph, st.stale, st.checked)
		}
	}
	for ph := range 3 {
		c := cell(t, res.Results, 0, ph)
		lost, _ := res.Results.Value(c, checkers.AuditLost)
		acked, _ := res.Results.Value(c, checkers.AuditAcked)
		if acked.Count == 0 || lost.Count != 0 {
			t.Errorf("phase %d: %d of %d acknowledged writes lost, want 0 of some", ph, lost.Count, acked.Count)
		}
	}
}

// TestSplitBrainValidation: routes.split_brain needs two write routes and
// a partition phase, refused at its file:line otherwise.
func TestSplitBrainValidation(t *testing.T) {
	t.Parallel()
	reg := drivers.NewRegistry(fakedriver.New(fakedriver.Options{}))
	tests := []struct {
		name, from, to, want string
	}{
		{"one write route", "writers: [f1, f2], split_brain: true", "write: f1, split_brain: true",
			"test.yaml:9:21: routes.split_brain: needs two write routes or more in routes.writers"},
		{"no partition phase", "kind: partition, target: f3", "kind: down, target: f3",
			"test.yaml:9:29: routes.split_brain: no phase has a partition impairment"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yml := strings.Replace(splitProfile, tc.from, tc.to, 1)
			_, err := profile.Parse("test.yaml", []byte(yml), profile.Options{Registry: reg})
			if err == nil || !errors.Is(err, profile.ErrInvalid) {
				t.Fatalf("parse: %v, want a validation error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}
}
