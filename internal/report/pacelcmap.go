package report

import "github.com/pacbench/pacbench/profile"

// MapPoint is one scenario's place on the PACELC map (report.html): its
// latency cost and staleness outside partitions, and its availability
// during them, with the verdict those numbers gave.
type MapPoint struct {
	Scenario string `json:"scenario"`
	System   string `json:"system"`
	// ElseP99Ms is the scenario's read p99 outside partition phases (the
	// worst such phase's), in ms.
	ElseP99Ms *float64 `json:"else_p99_ms"`
	// Strongest is the level of the same system the cost is measured
	// against (the one with the fewest stale reads outside partitions, as
	// the verdict's evidence), StrongestP99Ms its read p99 there.
	Strongest      string   `json:"strongest"`
	StrongestP99Ms *float64 `json:"strongest_p99_ms"`
	// LatencyCost is ElseP99Ms / StrongestP99Ms (null: no reads outside
	// partitions, or a zero p99 to divide by).
	LatencyCost *float64 `json:"latency_cost"`
	// StaleRatio is the fraction of checked reads outside partitions that
	// were stale (null: staleness not checked).
	StaleRatio *float64 `json:"stale_ratio"`
	// PartitionAvailability is ok / attempted reads during partition
	// phases (null: no partition phase or no reads in it).
	PartitionAvailability *float64 `json:"partition_availability"`
	// Verdict is the scenario's PACELC classification with its evidence.
	Verdict Verdict `json:"verdict"`
}

// PACELCMap returns one MapPoint per scenario of scs (in order), from the
// same numbers as Classify. phases are the plan's (to tell partition
// phases).
func PACELCMap(scs []Scenario, phases []profile.Phase) []MapPoint {
	out := make([]MapPoint, 0, len(scs))
	for i, sc := range scs {
		pt := MapPoint{Scenario: sc.Name, System: sc.System, Verdict: sc.PACELC}
		if p := partitionStats(sc, phases); p.all > 0 {
			pt.PartitionAvailability = ptr(float64(p.ok) / float64(p.all))
		}
		mine := elseStats(sc, phases)
		if mine.reads > 0 {
			pt.ElseP99Ms = ptr(mine.p99)
			if mine.checked > 0 {
				pt.StaleRatio = ptr(mine.staleRatio())
			}
			if j := strongestOf(scs, i, phases); j >= 0 {
				st := elseStats(scs[j], phases)
				pt.Strongest, pt.StrongestP99Ms = scs[j].Name, ptr(st.p99)
				if st.p99 > 0 {
					pt.LatencyCost = ptr(mine.p99 / st.p99)
				}
			}
		}
		out = append(out, pt)
	}
	return out
}

func ptr(f float64) *float64 { return &f }
