package runner

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/checkers"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// Audit bounds (the lost-write audit after each group's last phase).
const (
	// AuditWait bounds the convergence wait before the final reads.
	AuditWait = 10 * time.Second
	// auditSample is how many audited keys (the lowest indexes) the
	// convergence wait polls on every member.
	auditSample = 32
	// auditPoll is the convergence wait's polling period.
	auditPoll = 50 * time.Millisecond
	// auditReaders read the audited keys in parallel.
	auditReaders = 16
)

// AuditStats reports one group's lost-write audit (Result.Audits).
type AuditStats struct {
	// Scenarios audited together (names).
	Scenarios []string `json:"scenarios"`
	// Levels the final reads used (drivers.Auditor.AuditLevels).
	Levels drivers.Levels `json:"levels"`
	// Keys audited; Unknown of them whose final read failed.
	Keys    int `json:"keys"`
	Unknown int `json:"unknown_keys"`
	// WaitMs is the convergence wait (from the end of the last phase's
	// heal until every member returned the same value for the sampled
	// keys, or AuditWait); Converged is false when the bound ended it.
	WaitMs    float64 `json:"wait_ms"`
	Converged bool    `json:"converged"`
	// ReadMs is the time the final reads took.
	ReadMs float64 `json:"read_ms"`
	// Lost totals the group's lost acknowledged writes.
	Lost int64 `json:"lost"`
	// Error says why the audit did not run or failed ("" when it ran).
	Error string `json:"error,omitempty"`
}

// auditGroup runs the lost-write audit of the group's scenarios after
// their last phase (impairments healed): a bounded convergence wait, one
// read of every key they wrote at the strongest level, Judge, and the
// values into the recorder. Problems are reported, never fatal.
func (g *group) auditGroup(ctx context.Context, idx []int) {
	r := g.r
	a := checkers.AuditOf(r.rec.Checks())
	if a == nil || a.Off() {
		return
	}
	st := AuditStats{Scenarios: g.names}
	defer func() {
		if st.Error != "" {
			r.res.Errors = append(r.res.Errors, "audit: "+st.Error)
		}
		r.res.Audits = append(r.res.Audits, st)
	}()
	au, ok := r.driver.(drivers.Auditor)
	if !ok {
		st.Error = fmt.Sprintf("driver %s has no strongest read level (drivers.Auditor): not audited", r.driver.Name())
		return
	}
	keys := a.Keys(idx)
	st.Keys = len(keys)
	st.Levels = au.AuditLevels(r.plan.Scenarios[idx[0]].Levels, r.plan.Workload.Mix[op.CAS] > 0)
	sess, err := r.client.Session(ctx, drivers.SessionConfig{Levels: st.Levels, ReadEndpoints: r.writeEP,
		WriteEndpoints: r.writeEP, ID: r.ids.loader(auditSessionOffset)})
	if err != nil {
		st.Error = fmt.Sprintf("open session at %v: %v", st.Levels, err)
		return
	}
	defer func() { _ = sess.Close() }()
	conv, heal := g.convergenceWait(ctx, au, idx, keys, &st)
	t0 := time.Now()
	reads := r.finalReads(ctx, sess, keys)
	st.ReadMs = float64(time.Since(t0).Microseconds()) / 1e3
	res := a.Judge(checkers.AuditInput{Group: idx, Reads: reads,
		KeyName: r.ks.Key, Convergence: conv, HealPhase: heal, Levels: st.Levels.String(),
		WaitMs: st.WaitMs, Converged: st.Converged})
	st.Unknown, st.Lost = res.UnknownKeys+res.ForeignKeys, res.Lost
	if err := r.rec.Add(res.Values); err != nil {
		st.Error = err.Error()
	}
	r.logf("audit: %d keys at %s in %.0f ms (convergence wait %.0f ms): %d lost, %d unknown keys",
		st.Keys, st.Levels.String(), st.ReadMs, st.WaitMs, res.Lost, st.Unknown)
}

// auditSessionOffset numbers the audit's sessions among the loader's
// (negative ids, far beyond any loader worker).
const auditSessionOffset = 1 << 20

// finalReads reads every key once through sess, auditReaders at a time,
// each bounded by the op timeout.
func (r *run) finalReads(ctx context.Context, sess drivers.Session, keys []uint64) []checkers.FinalRead {
	out := make([]checkers.FinalRead, len(keys))
	var wg sync.WaitGroup
	next := make(chan int)
	for range auditReaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if p := recover(); p != nil {
					r.workerPanic(p) // re-raised by Run on the caller's goroutine
					for range next {
					}
				}
			}()
			for i := range next {
				out[i] = r.finalRead(ctx, sess, keys[i])
			}
		}()
	}
	for i := range keys {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// finalRead reads one key and decodes its header.
func (r *run) finalRead(ctx context.Context, sess drivers.Session, key uint64) checkers.FinalRead {
	rctx, cancel := context.WithTimeout(ctx, r.opTimeout())
	defer cancel()
	v, err := sess.Read(rctx, r.ks.Key(key))
	fr := checkers.FinalRead{Key: key, Err: err}
	if err != nil || !v.Found {
		return fr
	}
	fr.Found = true
	if h, herr := workloads.DecodeHeader(v.Data); herr == nil && h.Key == key {
		fr.Seq = h.Seq
	} else {
		fr.Foreign = true
	}
	return fr
}

// convergenceWait polls up to auditSample of keys on every member (pinned
// sessions at the weakest level) until all members return the same value
// for each, bounded by AuditWait. It returns, per sampled key, the time
// from the heal of the last impaired phase until the members agreed (< 0:
// not within the wait) and that phase (< 0: no impaired phase, no wait).
func (g *group) convergenceWait(ctx context.Context, au drivers.Auditor, idx []int, keys []uint64, st *AuditStats) (map[uint64]int64, int) {
	r := g.r
	heal, healNs := -1, int64(0)
	for _, w := range r.res.Phases {
		for _, ev := range w.Impairments {
			heal, healNs = w.Index, max(healNs, ev.ClearedNs)
		}
	}
	st.Converged = true
	if heal < 0 || len(keys) == 0 || len(r.res.Members) < 2 {
		return nil, heal
	}
	sample := keys[:min(len(keys), auditSample)]
	lv := au.ReplicaLevels(r.plan.Scenarios[idx[0]].Levels)
	var sessions []drivers.Session
	defer func() {
		for _, s := range sessions {
			_ = s.Close()
		}
	}()
	for i, m := range r.res.Members {
		s, err := r.client.Session(ctx, drivers.SessionConfig{Levels: lv, ReadEndpoints: []string{m.Endpoint},
			WriteEndpoints: r.writeEP, ID: r.ids.loader(auditSessionOffset + 1 + i)})
		if err != nil {
			st.Error = fmt.Sprintf("convergence wait: open session on %s: %v", m.Name, err)
			st.Converged = false
			return nil, heal
		}
		sessions = append(sessions, s)
	}
	conv := make(map[uint64]int64, len(sample))
	for _, k := range sample {
		conv[k] = -1
	}
	deadline := time.Now().Add(AuditWait)
	for pending := len(sample); pending > 0; {
		for _, k := range sample {
			if conv[k] < 0 && r.agree(ctx, sessions, k) {
				conv[k] = max(r.clock.Now()-healNs, 0)
				pending--
			}
		}
		if pending == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			st.Converged = pending == 0
			break
		}
		time.Sleep(auditPoll)
	}
	st.WaitMs = float64(max(r.clock.Now()-healNs, 0)) / 1e6
	return conv, heal
}

// agree reports whether every session returns the same value of key (a
// failed read disagrees).
func (r *run) agree(ctx context.Context, sessions []drivers.Session, key uint64) bool {
	var first []byte
	for i, s := range sessions {
		rctx, cancel := context.WithTimeout(ctx, r.opTimeout())
		v, err := s.Read(rctx, r.ks.Key(key))
		cancel()
		if err != nil {
			return false
		}
		if i == 0 {
			first = v.Data
		} else if !bytes.Equal(first, v.Data) {
			return false
		}
	}
	return true
}
