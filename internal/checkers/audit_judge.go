package checkers

import (
	"fmt"

	"github.com/pacbench/pacbench/metrics"
)

// FinalRead is the audit's read of one key at the strongest level.
type FinalRead struct {
	Key uint64
	// Err is the read's error: the key's fate is then unknown.
	Err error
	// Found is false when the key had no value (seq 0).
	Found bool
	// Foreign: the value is not one pacbench wrote for this key (no
	// header, or another key's); the key's fate is unknown.
	Foreign bool
	// Seq is the final value's seq (its header's).
	Seq uint64
}

// AuditInput is what Judge needs besides the logged writes.
type AuditInput struct {
	// Group are the scenarios (indexes) that ran together and wrote the
	// keys read.
	Group []int
	// Reads are the final reads, one per audited key (Audit.Keys).
	Reads []FinalRead
	// KeyName names a key index for the evidence (nil: its number).
	KeyName func(uint64) string
	// Convergence has, per key read by the convergence wait, the time
	// from the heal until every member returned the same value (ns; < 0:
	// never within the wait), observed in phase HealPhase (the impaired
	// phase healed last; < 0: none).
	Convergence map[uint64]int64
	HealPhase   int
	// Levels names the audit's read levels in the evidence ("read=ALL").
	Levels string
	// WaitMs is the convergence wait before the final reads, ms;
	// Converged is false when its bound ended it (evidence).
	WaitMs    float64
	Converged bool
}

// AuditResult is Judge's outcome for one group.
type AuditResult struct {
	// Values are the cells' counts, convergence times and verdicts, for
	// metrics.Recorder.Add.
	Values []metrics.CellValue
	// Keys audited; of them UnknownKeys whose final read failed,
	// ForeignKeys whose value was not pacbench's, BoundedKeys whose lost
	// count is a lower bound (their history was evicted).
	Keys, UnknownKeys, ForeignKeys, BoundedKeys int
	// Totals over the group's cells.
	Lost, Unknown, IndeterminateFound int64
	// Converged and Unconverged count the keys of Convergence.
	Converged, Unconverged int
}

// AuditEvidence backs one phase's audit.intact verdict (summary.json
// phases[].audit.evidence).
type AuditEvidence struct {
	// Read is the audit's read level set.
	Read string `json:"read"`
	// WaitMs is the convergence wait before the final reads (ms);
	// Converged is false when its bound (runner.AuditWait) ended it.
	WaitMs    float64 `json:"wait_ms"`
	Converged bool    `json:"converged"`
	// Audited is the phase's acknowledged writes the audit judged (the
	// logged ones: all of them unless LowerBound); Lost and Unknown as in
	// the phase's counts.
	Audited int64 `json:"audited"`
	Lost    int64 `json:"lost"`
	Unknown int64 `json:"unknown"`
	// LowerBound: some key's history was evicted, so Lost may be higher.
	LowerBound bool `json:"lower_bound,omitempty"`
	// LostWrites names up to five lost writes.
	LostWrites []LostWrite `json:"lost_writes,omitempty"`
}

// ReadLevels returns the audit's read level set (for the verdict's
// evidence).
func (e AuditEvidence) ReadLevels() string { return e.Read }

// LostWrite is one lost acknowledged write.
type LostWrite struct {
	Key string `json:"key"`
	// Seq of the lost write; FinalSeq of the value found (0: none found).
	Seq      uint64 `json:"seq"`
	FinalSeq uint64 `json:"final_seq"`
}

// judgement accumulates per-cell counts.
type judgement struct {
	a        *Audit
	in       *AuditInput
	res      AuditResult
	lost     map[int]int64
	unknown  map[int]int64
	found    map[int]int64
	bounded  map[int]bool
	examples map[int][]LostWrite
	audited  map[int]int64
}

// Judge counts, for the scenarios of in.Group, what the final reads say
// about every logged write (see Audit). Call it after the group's workers
// stopped.
func (a *Audit) Judge(in AuditInput) AuditResult {
	j := &judgement{a: a, in: &in, lost: map[int]int64{}, unknown: map[int]int64{}, found: map[int]int64{},
		bounded: map[int]bool{}, examples: map[int][]LostWrite{},
		audited: map[int]int64{}}
	for _, r := range in.Reads {
		if r.Key < uint64(len(a.logs)) {
			j.key(r)
		}
	}
	j.values()
	j.convergence()
	return j.res
}

// key judges one key's logged writes against its final read.
func (j *judgement) key(r FinalRead) {
	a := j.a
	l := &a.logs[r.Key]
	var es []auditRec
	l.each(func(e auditRec) {
		if inGroup(e.e.cell()/a.cfg.Phases, j.in.Group) {
			es = append(es, e)
		}
	})
	if len(es) == 0 {
		return
	}
	j.res.Keys++
	for _, e := range es {
		if e.e.acked() {
			j.audited[e.e.cell()]++
		}
	}
	if r.Err != nil || r.Foreign {
		j.unknownKey(r, es)
		return
	}
	f := uint64(0)
	if r.Found {
		f = r.Seq
	}
	fRet, late := j.finalWrite(r, f, es, l.evictedRet)
	if late {
		return
	}
	for _, e := range es {
		if e.e.acked() && e.e.seq() > f && e.inv > fRet {
			j.lostWrite(r.Key, e.e, f)
		}
	}
	if ev := l.evicted; ev.e != 0 && ev.e.seq() > f && ev.inv > fRet && inGroup(ev.e.cell()/a.cfg.Phases, j.in.Group) {
		// An evicted acknowledged write is lost too; older ones may be.
		j.res.BoundedKeys++
		j.lostWrite(r.Key, ev.e, f)
		for p := ev.e.cell() % a.cfg.Phases; p >= 0; p-- {
			for _, s := range j.in.Group {
				j.bounded[s*a.cfg.Phases+p] = true
			}
		}
	}
}

// unknownKey counts the acknowledged writes of a key whose final read
// failed or was foreign as unknown.
func (j *judgement) unknownKey(r FinalRead, es []auditRec) {
	if r.Foreign {
		j.res.ForeignKeys++
	} else {
		j.res.UnknownKeys++
	}
	for _, e := range es {
		if e.e.acked() {
			j.unknown[e.e.cell()]++
		}
	}
}

// finalWrite finds the write of the final value (seq f) among the logged
// writes es: it returns when that write returned (a write invoked after it
// and kept under it is lost), or, for a write no longer logged, the latest
// return of any evicted write (evictedRet, an upper bound: 0 for the
// initial load). late reports that the final write was indeterminate: it
// took effect at an unknown time, possibly after every later write, as a
// request delayed in a paused server's socket does, so none of them is
// lost (DESIGN.md).
func (j *judgement) finalWrite(r FinalRead, f uint64, es []auditRec, evictedRet int64) (ret int64, late bool) {
	ret = evictedRet
	for _, e := range es {
		if e.e.seq() != f {
			continue
		}
		if e.e.acked() {
			ret = e.ret
		} else if r.Found {
			j.found[e.e.cell()]++
			late = true
		}
	}
	return ret, late
}

func (j *judgement) lostWrite(key uint64, e auditEntry, f uint64) {
	c := e.cell()
	j.lost[c]++
	if len(j.examples[c]) < auditExamples {
		name := fmt.Sprint(key)
		if j.in.KeyName != nil {
			name = j.in.KeyName(key)
		}
		j.examples[c] = append(j.examples[c], LostWrite{Key: name, Seq: e.seq(), FinalSeq: f})
	}
}

// values turns the counts into cell values and one verdict per cell that
// saw acknowledged writes.
func (j *judgement) values() {
	a := j.a
	add := func(m map[int]int64, name string, total *int64) {
		for _, c := range sortedCells(m) {
			j.res.Values = append(j.res.Values, metrics.CellValue{Scenario: c / a.cfg.Phases, Phase: c % a.cfg.Phases, Measure: name, Count: m[c]})
			*total += m[c]
		}
	}
	add(j.lost, AuditLost, &j.res.Lost)
	add(j.unknown, AuditUnknown, &j.res.Unknown)
	add(j.found, AuditIndeterminateFound, &j.res.IndeterminateFound)
	for _, s := range j.in.Group {
		for p := range a.cfg.Phases {
			if v := j.verdict(s*a.cfg.Phases + p); v != nil {
				j.res.Values = append(j.res.Values, metrics.CellValue{Scenario: s, Phase: p, Measure: AuditIntact, Verdict: v})
			}
		}
	}
}

// verdict is cell c's audit.intact: false when writes were lost, unknown
// (OK nil) when some fates are unknown or the count is a lower bound, true
// otherwise (also without acknowledged writes: nothing was lost).
func (j *judgement) verdict(c int) *metrics.Verdict {
	acked, lost, unknown := j.audited[c], j.lost[c], j.unknown[c]
	ev := AuditEvidence{Read: j.in.Levels, WaitMs: j.in.WaitMs, Converged: j.in.Converged, Audited: acked, Lost: lost, Unknown: unknown,
		LowerBound: j.bounded[c], LostWrites: j.examples[c]}
	v := &metrics.Verdict{Evidence: ev}
	switch {
	case lost > 0:
		no := false
		v.OK = &no
		v.Detail = fmt.Sprintf("%d of %d acknowledged writes lost", lost, acked)
		if ev.LowerBound {
			v.Detail = fmt.Sprintf("at least %d of %d acknowledged writes lost", lost, acked)
		}
	case unknown > 0:
		v.Detail = fmt.Sprintf("%d acknowledged writes on keys the audit could not read", unknown)
	case ev.LowerBound:
		v.Detail = "history evicted: losses may be uncounted"
	default:
		yes := true
		v.OK = &yes
	}
	return v
}

// convergence records the convergence times in every group scenario's
// healed phase.
func (j *judgement) convergence() {
	var obs []int64
	for _, t := range j.in.Convergence {
		if t < 0 {
			j.res.Unconverged++
			continue
		}
		j.res.Converged++
		obs = append(obs, t)
	}
	if len(obs) == 0 || j.in.HealPhase < 0 || j.in.HealPhase >= j.a.cfg.Phases {
		return
	}
	for _, s := range j.in.Group {
		j.res.Values = append(j.res.Values, metrics.CellValue{Scenario: s, Phase: j.in.HealPhase, Measure: AuditConvergence, Observe: obs})
	}
}
