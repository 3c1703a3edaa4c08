package metrics

import "github.com/pacbench/pacbench/workloads"

// VerdictMerger is an optional capability of a Check (found by type
// assertion): it combines the verdicts that the shards of one run
// (workloads.Shard: disjoint key slices) gave one (scenario, phase) and
// one of its KindVerdict measures, for pacbench merge. A check without it
// gets CombineVerdicts' verdict and the shards' evidence side by side.
type VerdictMerger interface {
	MergeVerdicts(measure string, parts []ShardVerdict) Verdict
}

// ShardVerdict is one shard's verdict of a cell. Its Evidence is what the
// shard's results directory holds (JSON, a json.RawMessage), not the
// check's own type.
type ShardVerdict struct {
	Shard   workloads.Shard
	Verdict Verdict
}

// CombineVerdicts is the verdict of a property that holds for a run when
// it holds for every shard's part (a per-key property over disjoint keys,
// such as linearizability, which is local): false if any shard's is
// false, else unknown (nil) if any is unknown, else true. No part: unknown.
func CombineVerdicts(parts []ShardVerdict) *bool {
	if len(parts) == 0 {
		return nil
	}
	unknown := false
	for _, p := range parts {
		switch {
		case p.Verdict.OK == nil:
			unknown = true
		case !*p.Verdict.OK:
			f := false
			return &f
		}
	}
	if unknown {
		return nil
	}
	t := true
	return &t
}
