package report

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The verdict's third column (issue 14 item 6): what a level loses, from
// the lost-write audit's phase fields (phases[].audit), beside PA/PC and
// EL/EC.

// Loss words of Verdict.Loss.
const (
	// Lossless: the audit read every key and found every acknowledged
	// write (or a later one) as the final value.
	Lossless = "lossless"
	// Lossy: the audit found acknowledged writes lost.
	Lossy = "lossy"
)

// lossSide is a scenario's audit totals over its phases.
type lossSide struct {
	audited                     bool
	acked, lost, indet, unknown int64
	read, worstPhase            string
	worstLost                   int64
}

func lossStats(sc Scenario) lossSide {
	var l lossSide
	for _, ph := range sc.Phases {
		lost, ok := ph.Checks.Int("audit", "lost")
		if !ok {
			continue // not audited
		}
		l.audited = true
		acked, _ := ph.Checks.Int("audit", "acked")
		indet, _ := ph.Checks.Int("audit", "indeterminate")
		unknown, _ := ph.Checks.Int("audit", "unknown")
		l.acked, l.lost, l.indet, l.unknown = l.acked+acked, l.lost+lost, l.indet+indet, l.unknown+unknown
		if lost > l.worstLost {
			l.worstLost, l.worstPhase = lost, ph.Name
		}
		if ev, ok := ph.Checks.Get("audit", "evidence"); ok && l.read == "" {
			l.read = evidenceRead(ev)
		}
	}
	return l
}

// evidenceRead is the read level set named by an audit evidence (the
// check's own type, or JSON once read back from summary.json).
func evidenceRead(ev any) string {
	switch x := ev.(type) {
	case interface{ ReadLevels() string }:
		return x.ReadLevels()
	case json.RawMessage:
		var e struct {
			Read string `json:"read"`
		}
		if json.Unmarshal(x, &e) == nil {
			return e.Read
		}
	}
	return ""
}

// addLoss sets v's third column from the scenario's audit and returns its
// evidence ("" when no phase was audited).
func (v *Verdict) addLoss(sc Scenario) string {
	l := lossStats(sc)
	if !l.audited {
		return ""
	}
	v.LostWrites, v.IndeterminateWrites = &l.lost, &l.indet
	var word string
	switch {
	case l.lost > 0:
		word = Lossy
	case l.unknown == 0:
		word = Lossless
	}
	if word != "" {
		v.Loss = &word
	}
	e := []string{fmt.Sprintf("audit: %d of %d acknowledged writes lost", l.lost, l.acked)}
	if l.lost > 0 {
		e[0] += fmt.Sprintf(" (%d acknowledged in %s)", l.worstLost, l.worstPhase)
	}
	e = append(e, fmt.Sprintf("%d indeterminate", l.indet))
	if l.unknown > 0 {
		e = append(e, fmt.Sprintf("%d of unknown fate", l.unknown))
	}
	if l.read != "" {
		e = append(e, "read at "+l.read)
	}
	return strings.Join(e, ", ")
}
