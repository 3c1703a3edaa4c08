package checkers

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// regOp is a porcupine operation's input: one read or write of one key.
type regOp struct {
	Key   uint64
	Write bool
	Seq   uint64 // the value written or read
	// Written (reads): some write in the checked history wrote Seq, so the
	// read cannot be explained by the unknown initial value.
	Written bool
	// Indet (writes): may or may not have taken effect.
	Indet bool
}

// regState is the register's state: unknown until the first write, or the
// first read of a value no write in the history produced.
type regState struct {
	Known bool
	Value uint64
}

// step is the sequential specification of the register.
func step(st regState, in regOp) (bool, regState) {
	switch {
	case in.Write:
		return true, regState{Known: true, Value: in.Seq}
	case st.Known:
		return st.Value == in.Seq, st
	case in.Written:
		return false, st // its write must come first
	default:
		return true, regState{Known: true, Value: in.Seq} // the initial value
	}
}

// registerModel is the per-key register model, partitioned by key. Its steps
// fail once ctx ends, so a canceled search stops promptly; callers must then
// discard the result. Use context.Background() to replay a linearization.
func registerModel(ctx context.Context) porcupine.Model {
	return porcupine.Model{
		Partition: partitionByKey,
		Init:      func() any { return regState{} },
		Step: func(state, input, _ any) (bool, any) {
			if ctx.Err() != nil {
				return false, state
			}
			return step(state.(regState), input.(regOp))
		},
		Hash: func(state any) uint64 {
			s := state.(regState)
			h := s.Value * 0x9e3779b97f4a7c15
			if s.Known {
				h ^= 1
			}
			return h
		},
		DescribeOperation: func(input, _ any) string {
			in := input.(regOp)
			switch {
			case in.Write && in.Indet:
				return fmt.Sprintf("write(%d) indeterminate", in.Seq)
			case in.Write:
				return fmt.Sprintf("write(%d)", in.Seq)
			default:
				return fmt.Sprintf("read() → %d", in.Seq)
			}
		},
		DescribeState: func(state any) string {
			s := state.(regState)
			if !s.Known {
				return "unknown"
			}
			return fmt.Sprintf("%d", s.Value)
		},
	}
}

// partitionByKey splits a history by key, in ascending key order, keeping
// each key's operations in their original order.
func partitionByKey(history []porcupine.Operation) [][]porcupine.Operation {
	h := slices.Clone(history)
	keyOf := func(o porcupine.Operation) uint64 { return o.Input.(regOp).Key }
	slices.SortStableFunc(h, func(a, b porcupine.Operation) int { return cmp.Compare(keyOf(a), keyOf(b)) })
	var out [][]porcupine.Operation
	for lo := 0; lo < len(h); {
		hi := lo + 1
		for hi < len(h) && keyOf(h[hi]) == keyOf(h[lo]) {
			hi++
		}
		out = append(out, h[lo:hi:hi])
		lo = hi
	}
	return out
}
