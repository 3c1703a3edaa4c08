package runner

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// scenarioRun is one scenario's worker group.
type scenarioRun struct {
	r       *run
	index   int
	workers []*worker
	open    bool
	rate    float64
	started atomic.Int64
	maxLag  atomic.Int64
}

// worker is one client session: one goroutine, one driver session, one
// generator, one recorder worker.
type worker struct {
	sc       *scenarioRun
	id       int
	sess     drivers.Session
	gen      *workloads.Generator
	rec      *metrics.Worker
	pacer    Pacer
	buf      []byte
	ctx      context.Context
	stop     *atomic.Bool
	stopCh   <-chan struct{}
	timeout  time.Duration
	think    time.Duration
	scanner  drivers.Scanner
	caser    drivers.CASer
	inserter drivers.Inserter
	timer    *time.Timer
}

func (r *run) newScenario(ctx context.Context, si int, stop *atomic.Bool, stopCh <-chan struct{}) (*scenarioRun, error) {
	p := r.plan
	load := p.Profile.Load
	sc := &scenarioRun{r: r, index: si, open: load.Model == "open", rate: load.Rate}
	n := max(load.Workers, 1)
	for w := range n {
		id := si*10000 + w + 1 // session ids are unique across scenarios; 0 is the loader
		sess, err := r.client.Session(ctx, drivers.SessionConfig{
			Levels:         p.Scenarios[si].Levels,
			ReadEndpoints:  r.readEP,
			WriteEndpoints: r.writeEP,
			ID:             id,
		})
		if err != nil {
			sc.close()
			return nil, err
		}
		seed := p.Seed*1_000_003 + int64(si)*10_007 + int64(w)
		wk := &worker{
			sc: sc, id: id, sess: sess,
			gen:     workloads.NewGenerator(p.Workload, r.ks, seed),
			rec:     r.rec.NewWorker(si, id),
			buf:     make([]byte, max(p.Workload.ValueSize, workloads.HeaderSize)),
			ctx:     ctx,
			stop:    stop,
			stopCh:  stopCh,
			timeout: r.opTimeout(),
			think:   load.ThinkTime.D(),
			timer:   time.NewTimer(time.Hour),
		}
		wk.timer.Stop()
		wk.scanner, _ = sess.(drivers.Scanner)
		wk.caser, _ = sess.(drivers.CASer)
		wk.inserter, _ = sess.(drivers.Inserter)
		if sc.open {
			perWorker := load.Rate / float64(n)
			if load.Arrivals == "poisson" {
				wk.pacer = NewPoissonPacer(perWorker, uint64(seed))
			} else {
				// Interleave the workers' evenly spaced schedules.
				wk.pacer = ConstantPacer{Freq: perWorker, Offset: time.Duration(float64(w) * 1e9 / load.Rate)}
			}
		}
		sc.workers = append(sc.workers, wk)
	}
	return sc, nil
}

func (sc *scenarioRun) start(wg *sync.WaitGroup, begin int64) {
	for _, w := range sc.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					sc.r.workerPanic(p)
				}
			}()
			w.loop(begin)
		}()
	}
}

func (sc *scenarioRun) close() {
	for _, w := range sc.workers {
		_ = w.sess.Close()
	}
}

func (sc *scenarioRun) stats(elapsedNs int64) LoadStats {
	p := sc.r.plan.Profile.Load
	st := LoadStats{Model: p.Model, Workers: len(sc.workers), Ops: sc.started.Load(), KeptUp: true}
	if st.Model == "" {
		st.Model = "closed"
	}
	if elapsedNs > 0 {
		st.AchievedRate = float64(st.Ops) / (float64(elapsedNs) / 1e9)
	}
	if sc.open {
		st.TargetRate = sc.rate
		st.MaxScheduleLagMs = float64(sc.maxLag.Load()) / 1e6
		st.KeptUp = st.AchievedRate >= 0.95*sc.rate && st.MaxScheduleLagMs <= 1000
	}
	return st
}

// sleepUntil waits until the run clock reaches t or the group stops; it
// returns false when stopped.
func (w *worker) sleepUntil(t int64) bool {
	clock := w.sc.r.clock
	d := time.Duration(t - clock.Now())
	if d <= 0 {
		return !w.stop.Load()
	}
	if d < 50*time.Microsecond {
		for clock.Now() < t {
			if w.stop.Load() {
				return false
			}
		}
		return true
	}
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-w.stopCh:
		w.timer.Stop()
		return false
	}
}

func (w *worker) loop(begin int64) {
	r := w.sc.r
	for hits := uint64(0); ; hits++ {
		if w.stop.Load() {
			return
		}
		var intended int64
		if w.pacer != nil {
			intended = begin + int64(w.pacer.Due(hits))
			if !w.sleepUntil(intended) {
				return
			}
		}
		o := w.gen.Next()
		start := r.clock.Now()
		if w.pacer == nil {
			intended = start
		} else if lag := start - intended; lag > w.sc.maxLag.Load() {
			w.sc.maxLag.Store(lag)
		}
		w.sc.started.Add(1)
		w.exec(o, r.phaseOf(intended), intended, start)
		if w.think > 0 && !w.sleepUntil(r.clock.Now()+int64(w.think)) {
			return
		}
	}
}

// aborted reports whether err comes from the run cancelling its own ops
// (interrupt), which is not a database outcome and is not recorded.
func (w *worker) aborted(err error) bool {
	return err != nil && w.ctx.Err() != nil && errors.Is(err, context.Canceled)
}

func (w *worker) exec(o workloads.Op, phase int, intended, start int64) {
	r := w.sc.r
	ctx, cancel := context.WithTimeout(w.ctx, w.timeout)
	defer cancel()
	var err error
	kind := o.Kind
	switch o.Kind {
	case op.Read:
		err = w.read(ctx, phase, o.Key, start)
	case op.Write:
		start, err = w.write(ctx, o.Key, start, nil)
	case op.Insert:
		key, ok := r.ks.NextInsert()
		if !ok {
			kind = op.Write
			start, err = w.write(ctx, o.Key, start, nil)
			break
		}
		start, err = w.write(ctx, key, start, w.inserter)
		// Acknowledge whatever the outcome (as YCSB does): a failed insert
		// must not freeze the "latest" window for the rest of the run.
		r.ks.AckInsert(key)
	case op.Scan:
		if w.scanner == nil {
			err = op.Errorf(op.Other, "scan: %w", drivers.ErrUnsupported)
			break
		}
		_, err = w.scanner.Scan(ctx, r.ks.Key(o.Key), max(o.ScanLen, 1))
	case op.RMW:
		start, err = w.rmw(ctx, phase, o.Key, start)
	case op.CAS:
		start, err = w.cas(ctx, phase, o.Key, start)
	}
	end := r.clock.Now()
	if w.aborted(err) {
		return
	}
	w.rec.Record(phase, kind, op.ClassOf(err), end-intended, end-start)
}

func (w *worker) read(ctx context.Context, phase int, key uint64, start int64) error {
	v, err := w.sess.Read(ctx, w.sc.r.ks.Key(key))
	if err != nil {
		return err
	}
	w.check(phase, key, v, start)
	return nil
}

func (w *worker) check(phase int, key uint64, v drivers.Value, invoke int64) {
	if !v.Found {
		w.rec.CheckRead(phase, key, false, workloads.Header{}, invoke)
		return
	}
	h, err := workloads.DecodeHeader(v.Data)
	if err != nil || h.Key != key {
		return // not ours: untracked
	}
	w.rec.CheckRead(phase, key, true, h, invoke)
}

// write writes key with the next seq while holding the key's writer lock,
// so writes to one key never overlap. It returns the service start (after
// the lock was acquired).
func (w *worker) write(ctx context.Context, key uint64, start int64, ins drivers.Inserter) (int64, error) {
	r := w.sc.r
	orc := r.rec.Oracle()
	orc.Lock(key)
	defer orc.Unlock(key)
	seq := orc.NextSeq(key)
	start = r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: start}.Encode(w.buf)
	var err error
	if ins != nil {
		err = ins.Insert(ctx, r.ks.Key(key), w.buf)
	} else {
		err = w.sess.Write(ctx, r.ks.Key(key), w.buf)
	}
	w.ack(key, seq, start, err)
	return start, err
}

func (w *worker) ack(key, seq uint64, start int64, err error) {
	r := w.sc.r
	if err == nil {
		r.rec.Oracle().Acked(key, seq, start, r.clock.Now())
		w.rec.Wrote(key, seq)
		return
	}
	r.rec.Oracle().Failed(key, seq, start)
}

// rmw reads then writes one key, holding its writer lock throughout.
func (w *worker) rmw(ctx context.Context, phase int, key uint64, start int64) (int64, error) {
	r := w.sc.r
	orc := r.rec.Oracle()
	orc.Lock(key)
	defer orc.Unlock(key)
	start = r.clock.Now()
	if err := w.read(ctx, phase, key, start); err != nil {
		return start, err
	}
	seq := orc.NextSeq(key)
	wstart := r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: wstart}.Encode(w.buf)
	err := w.sess.Write(ctx, r.ks.Key(key), w.buf)
	w.ack(key, seq, wstart, err)
	return start, err
}

// cas reads the key's current value and swaps in the next version if it
// has not changed; a lost comparison is a conflict.
func (w *worker) cas(ctx context.Context, phase int, key uint64, start int64) (int64, error) {
	r := w.sc.r
	if w.caser == nil {
		return start, op.Errorf(op.Other, "cas: %w", drivers.ErrUnsupported)
	}
	orc := r.rec.Oracle()
	orc.Lock(key)
	defer orc.Unlock(key)
	start = r.clock.Now()
	v, err := w.sess.Read(ctx, r.ks.Key(key))
	if err != nil {
		return start, err
	}
	w.check(phase, key, v, start)
	var prev []byte
	if v.Found {
		prev = v.Data
	}
	seq := orc.NextSeq(key)
	wstart := r.clock.Now()
	workloads.Header{Key: key, Writer: uint32(w.id), Seq: seq, Invoke: wstart}.Encode(w.buf)
	swapped, err := w.caser.CAS(ctx, r.ks.Key(key), prev, w.buf)
	if err == nil && !swapped {
		orc.Failed(key, seq, wstart)
		return start, op.Errorf(op.Conflict, "cas: comparison failed")
	}
	w.ack(key, seq, wstart, err)
	return start, err
}
