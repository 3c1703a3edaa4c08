package checkers

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// MaxVisualizedKeys bounds how many illegal keys one visualization shows (the
// first ones in key order); the verdict lists every illegal key found.
const MaxVisualizedKeys = 2

// Reason says why a verdict is unknown.
type Reason string

// Reasons for an unknown (null) verdict.
const (
	ReasonNone      Reason = ""          // the verdict is known
	ReasonTimeout   Reason = "timeout"   // porcupine did not finish within the timeout
	ReasonTruncated Reason = "truncated" // a key's history exceeded MaxOps in this or another phase
	ReasonNoReads   Reason = "no reads"  // no read was kept: nothing to check
	ReasonCanceled  Reason = "canceled"  // the context ended before the check did
)

// Verdict is the linearizability verdict of one (scenario, phase).
type Verdict struct {
	// Scenario and Phase index Options.Scenarios and Options.Phases.
	Scenario, Phase int
	// Linearizable is true if every checked key's history is linearizable,
	// false if some key's is not, and nil when unknown (timeout, truncated
	// history, nothing to check, canceled). A timeout is never true.
	Linearizable *bool
	// Reason says why Linearizable is nil ("" otherwise).
	Reason Reason
	// Ops and Keys count the operations and keys checked.
	Ops, Keys int
	// IllegalKeys lists the keys whose history is not linearizable, when
	// Linearizable is false (possibly incomplete if the search for them
	// timed out).
	IllegalKeys []uint64
	// Duration is the wall time the check took, visualization included.
	Duration time.Duration
	// Visualization is porcupine's HTML visualization of the first
	// MaxVisualizedKeys illegal keys, with the impairment windows annotated;
	// nil unless Linearizable is false (and nil if rendering timed out).
	Visualization []byte
}

// Window is a time window to annotate in visualizations (an impairment).
// Times are nanoseconds on the run clock.
type Window struct {
	Name           string
	StartNs, EndNs int64
}

// Check checks every (scenario, phase) in index order (scenario-major) and
// returns one verdict each. timeout bounds porcupine's search for each
// (scenario, phase), and separately the rendering of its visualization;
// timeout ≤ 0 means no limit other than ctx. When ctx ends, the remaining
// verdicts are unknown (ReasonCanceled). annotate is shown on
// visualizations. Check may run concurrently with Record; it checks a
// snapshot. It uses up to one goroutine per checked key.
func (h *History) Check(ctx context.Context, timeout time.Duration, annotate []Window) []Verdict {
	snap := h.snapshot()
	ns, np := len(h.opts.Scenarios), len(h.opts.Phases)
	out := make([]Verdict, 0, ns*np)
	for s := range ns {
		for p := range np {
			out = append(out, h.checkCell(ctx, snap, s, p, timeout, annotate))
		}
	}
	return out
}

// keyOps is one key's slice of a cell's operations.
type keyOps struct {
	key    uint64
	lo, hi int
}

func (h *History) checkCell(ctx context.Context, snap []keySnapshot, s, p int, timeout time.Duration, annotate []Window) (v Verdict) {
	start := time.Now()
	v = Verdict{Scenario: s, Phase: p}
	defer func() { v.Duration = time.Since(start) }()

	ids := make(clientIDs)
	var ops []porcupine.Operation
	var keys []keyOps
	truncated := false
	for i := range snap {
		lo := len(ops)
		var st keyStatus
		ops, st = h.appendKeyHistory(ops, &snap[i], s, p, ids)
		switch st {
		case keyTruncated:
			truncated = true
		case keyPartial:
			truncated = true
			keys = append(keys, keyOps{snap[i].key, lo, len(ops)})
		case keyChecked:
			keys = append(keys, keyOps{snap[i].key, lo, len(ops)})
		}
	}
	v.Ops, v.Keys = len(ops), len(keys)
	if len(ops) == 0 {
		v.Reason = ReasonNoReads
		if truncated {
			v.Reason = ReasonTruncated
		}
		return v
	}
	res, ok := checkOps(ctx, ops, timeout)
	switch {
	case !ok:
		v.Reason = ReasonCanceled
	case res == porcupine.Illegal:
		v.Linearizable = new(false)
		v.IllegalKeys, v.Visualization = h.explain(ctx, snap, s, p, ops, keys, timeout, annotate)
	case res == porcupine.Unknown:
		v.Reason = ReasonTimeout
	case truncated:
		v.Reason = ReasonTruncated
	default:
		v.Linearizable = new(true)
	}
	return v
}

// checkOps runs porcupine on ops within timeout and ctx. ok is false when ctx
// ended first (the result is then meaningless).
func checkOps(ctx context.Context, ops []porcupine.Operation, timeout time.Duration) (res porcupine.CheckResult, ok bool) {
	t, ok := budget(ctx, timeout)
	if !ok {
		return porcupine.Unknown, false
	}
	res = porcupine.CheckOperationsTimeout(registerModel(ctx), ops, t)
	return res, ctx.Err() == nil
}

// budget returns porcupine's timeout for one search: timeout capped by ctx's
// deadline (0 = unlimited). ok is false when ctx has already ended.
func budget(ctx context.Context, timeout time.Duration) (time.Duration, bool) {
	if ctx.Err() != nil {
		return 0, false
	}
	if dl, has := ctx.Deadline(); has {
		left := time.Until(dl)
		if left <= 0 {
			return 0, false
		}
		if timeout <= 0 || left < timeout {
			timeout = left
		}
	}
	return max(timeout, 0), true
}

// explain finds which keys of an illegal cell are illegal and renders the
// visualization of the first MaxVisualizedKeys of them. Both steps share one
// timeout; what does not finish in it is left out.
func (h *History) explain(ctx context.Context, snap []keySnapshot, s, p int, ops []porcupine.Operation, keys []keyOps, timeout time.Duration, annotate []Window) ([]uint64, []byte) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var illegal []uint64
	for _, k := range keys {
		res, ok := checkOps(ctx, ops[k.lo:k.hi], 0)
		if !ok {
			break
		}
		if res == porcupine.Illegal {
			illegal = append(illegal, k.key)
		}
	}
	if len(illegal) == 0 {
		return nil, nil
	}
	// Rebuild the illegal keys' histories with dense client ids: each id is
	// a row in the visualization.
	ids := make(clientIDs)
	shown := illegal[:min(len(illegal), MaxVisualizedKeys)]
	var vops []porcupine.Operation
	for i := range snap {
		if slices.Contains(shown, snap[i].key) {
			vops, _ = h.appendKeyHistory(vops, &snap[i], s, p, ids)
		}
	}
	t, ok := budget(ctx, 0)
	if !ok {
		return illegal, nil
	}
	res, info := porcupine.CheckOperationsVerbose(registerModel(ctx), vops, t)
	if res != porcupine.Illegal || ctx.Err() != nil {
		return illegal, nil
	}
	info.AddAnnotations(annotations(annotate))
	var buf bytes.Buffer
	// Replay with a model that ignores ctx: every step of a recorded partial
	// linearization succeeded once and must succeed again.
	if err := porcupine.Visualize(registerModel(context.Background()), info, &buf); err != nil {
		return illegal, nil
	}
	return illegal, buf.Bytes()
}

// annotations turns impairment windows into porcupine annotations on an
// "impairments" row.
func annotations(ws []Window) []porcupine.Annotation {
	out := make([]porcupine.Annotation, 0, len(ws))
	for _, w := range ws {
		end := max(w.EndNs, w.StartNs)
		out = append(out, porcupine.Annotation{
			Tag:             "impairments",
			Start:           w.StartNs,
			End:             end,
			Description:     w.Name,
			Details:         fmt.Sprintf("%s: %v – %v on the run clock", w.Name, time.Duration(w.StartNs), time.Duration(end)),
			BackgroundColor: "#fbe3c4",
		})
	}
	return out
}

// keyStatus is what appendKeyHistory made of one key for one cell.
type keyStatus uint8

const (
	keyNoReads   keyStatus = iota // nothing to check
	keyTruncated                  // history incomplete: cannot be checked
	keyChecked                    // operations appended
	keyPartial                    // appended, but another phase lost writes: can disprove, not prove
)

// clientIDs maps (scenario, client) to dense porcupine client ids.
type clientIDs map[[2]int32]int

func (c clientIDs) id(scenario, client int32) int {
	k := [2]int32{scenario, client}
	id, ok := c[k]
	if !ok {
		id = len(c)
		c[k] = id
	}
	return id
}

// appendKeyHistory appends to ops the history of one key for scenario s and
// phase p, as the package documentation defines it.
func (h *History) appendKeyHistory(ops []porcupine.Operation, ks *keySnapshot, s, p int, ids clientIDs) ([]porcupine.Operation, keyStatus) {
	if ks.truncated[p] {
		return ops, keyTruncated
	}
	reads := ks.reads[s*len(h.opts.Phases)+p]
	if len(reads) == 0 {
		return ops, keyNoReads
	}
	// Earliest return of a read of each value; first read invocation.
	readRet := make(map[uint64]int64, len(reads))
	firstCall := int64(math.MaxInt64)
	for _, r := range reads {
		if len(ks.bySeq[r.seq]) == 0 && ks.anyTrunc {
			// The write it read may be one MaxOps dropped.
			return ops, keyTruncated
		}
		if t, seen := readRet[r.seq]; !seen || r.ret < t {
			readRet[r.seq] = r.ret
		}
		firstCall = min(firstCall, r.call)
	}
	seed, seedRet := -1, int64(math.MinInt64)
	for i, w := range ks.writes {
		if !w.indet && w.ret < firstCall && w.ret > seedRet {
			seed, seedRet = i, w.ret
		}
	}
	for i, w := range ks.writes {
		minRet, observed := readRet[w.seq]
		if ks.phaseOf[i] != p && !observed && i != seed {
			continue
		}
		ret := w.ret
		if w.indet {
			switch {
			case !observed:
				continue // exact: it can linearize after everything
			case len(ks.bySeq[w.seq]) == 1:
				ret = max(minRet, w.call) // it must precede that read
			default:
				ret = math.MaxInt64
			}
		}
		ops = append(ops, porcupine.Operation{
			ClientId: ids.id(w.scenario, w.client),
			Input:    regOp{Key: ks.key, Write: true, Seq: w.seq, Indet: w.indet},
			Call:     w.call,
			Return:   ret,
			Metadata: h.meta(w, ks.phaseOf[i]),
		})
	}
	for _, r := range reads {
		ops = append(ops, porcupine.Operation{
			ClientId: ids.id(r.scenario, r.client),
			Input:    regOp{Key: ks.key, Seq: r.seq, Written: len(ks.bySeq[r.seq]) > 0},
			Call:     r.call,
			Return:   r.ret,
			Metadata: h.meta(r, p),
		})
	}
	if ks.anyTrunc {
		// A dropped write of another phase may be the true seed.
		return ops, keyPartial
	}
	return ops, keyChecked
}

func (h *History) meta(r rec, phase int) opMeta {
	return opMeta{scenario: h.opts.Scenarios[r.scenario], phase: h.opts.Phases[phase], client: r.client, worker: r.worker}
}

// opMeta labels an operation in the visualization's tooltip.
type opMeta struct {
	scenario, phase string
	client, worker  int32
}

func (m opMeta) String() string {
	return fmt.Sprintf("scenario %s, phase %s, session %d (worker %d)", m.scenario, m.phase, m.client, m.worker)
}
