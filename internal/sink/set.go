package sink

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/metrics"
)

// Set is the sinks of one run, composed: it fans each call out to every
// sink in registry order. Its methods follow the Sink call order and are
// called from one goroutine at a time, except Impairments (any goroutine).
type Set struct {
	sinks      []named
	cumulative bool
}

type named struct {
	name string
	s    Sink
}

// Open builds every sink cfg enables, in order. On error the sinks built so
// far are stopped at once.
func (r *Registry) Open(ctx context.Context, cfg Config) (*Set, error) {
	set := &Set{}
	for _, e := range r.entries {
		s, err := e.f(ctx, cfg)
		if err != nil {
			done, cancel := context.WithCancel(ctx)
			cancel() // no linger: nothing ran
			_ = set.Stop(done)
			return nil, fmt.Errorf("sink %s: %w", e.name, err)
		}
		if s == nil {
			continue
		}
		if _, ok := s.(Cumulative); ok {
			set.cumulative = true
		}
		set.sinks = append(set.sinks, named{e.name, s})
	}
	return set, nil
}

// Names lists the sinks the set holds, in order.
func (s *Set) Names() []string {
	out := make([]string, len(s.sinks))
	for i, n := range s.sinks {
		out[i] = n.name
	}
	return out
}

// Start starts every sink; the first error is returned (the run must not
// start).
func (s *Set) Start(info Info) error {
	for _, n := range s.sinks {
		if err := n.s.Start(info); err != nil {
			return fmt.Errorf("%s: %w", n.name, err)
		}
	}
	return nil
}

// AddInterval feeds one interval to every sink, then the cumulative results
// (from cumulative, called at most once) to the Cumulative ones. Every
// sink is fed even if one fails; the first error is returned.
func (s *Set) AddInterval(t Tick, cumulative func() *metrics.Results) error {
	var first error
	for _, n := range s.sinks {
		if err := n.s.AddInterval(t); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", n.name, err)
		}
	}
	if !s.cumulative || cumulative == nil {
		return first
	}
	res := cumulative()
	for _, n := range s.sinks {
		if c, ok := n.s.(Cumulative); ok {
			if err := c.Cumulative(t, res); err != nil && first == nil {
				first = fmt.Errorf("%s: %w", n.name, err)
			}
		}
	}
	return first
}

// Impairments tells the ImpairmentWatchers the active impairments.
func (s *Set) Impairments(active []impair.Action) {
	for _, n := range s.sinks {
		if w, ok := n.s.(ImpairmentWatcher); ok {
			w.Impairments(active)
		}
	}
}

// Finish finishes every sink; a failure becomes a note in end.
func (s *Set) Finish(end *End) {
	for _, n := range s.sinks {
		if err := n.s.Finish(end); err != nil {
			end.AddNote(fmt.Sprintf("%s: %v", n.name, err))
		}
	}
}

// WriteFiles has every FileWriter write its files into dir, in order,
// after Finish. A write that fails because the disk is full is retried
// once after the Releasers gave back their space (in reverse order: the
// least important first). It returns the write errors; the files that
// could be written stay written.
func (s *Set) WriteFiles(dir *Dir, end *End) error {
	var errs []error
	released := false
	for _, n := range s.sinks {
		fw, ok := n.s.(FileWriter)
		if !ok {
			continue
		}
		err := fw.WriteFiles(dir, end)
		if err != nil && errors.Is(err, syscall.ENOSPC) && !released {
			released = true
			s.release(dir, end)
			err = fw.WriteFiles(dir, end)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n.name, err))
		}
	}
	return errors.Join(errs...)
}

// Find returns the sink registered as name, or nil.
func (s *Set) Find(name string) Sink {
	for _, n := range s.sinks {
		if n.name == name {
			return n.s
		}
	}
	return nil
}

func (s *Set) release(dir *Dir, end *End) {
	for i := len(s.sinks) - 1; i >= 0; i-- {
		r, ok := s.sinks[i].s.(Releaser)
		if !ok {
			continue
		}
		note, err := r.Release(dir)
		if err != nil {
			note = fmt.Sprintf("%s: release disk space: %v", s.sinks[i].name, err)
		}
		if note != "" {
			end.AddNote(note)
		}
	}
}

// Stop stops every Stopper by ctx's deadline; errors are joined.
func (s *Set) Stop(ctx context.Context) error {
	var errs []error
	for _, n := range s.sinks {
		if st, ok := n.s.(Stopper); ok {
			if err := st.Stop(ctx); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", n.name, err))
			}
		}
	}
	return errors.Join(errs...)
}
