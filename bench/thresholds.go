package bench

import (
	"fmt"

	"github.com/pacbench/pacbench/internal/report"
	"github.com/pacbench/pacbench/internal/sink"
	"github.com/pacbench/pacbench/internal/threshold"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/profile"
)

// EvaluateThresholds compares the thresholds of p (the profile's, with
// those added from --threshold) with the values of sum, as summary.json
// holds them, and records the results in sum.Thresholds. cs are the run's
// checks (nil: the built-in ones), whose fields thresholds may name. A
// threshold that cannot be evaluated is recorded as failed, with the
// reason, and the error is returned.
func EvaluateThresholds(p *profile.Profile, cs *metrics.Checks, sum *report.Summary) error {
	if len(p.Thresholds) == 0 {
		return nil
	}
	cat := threshold.Builtin()
	if cs != nil {
		cat = threshold.NewCatalog(cs)
	}
	sum.Thresholds = nil
	ths, err := p.CompileThresholds(cat)
	var doc []byte
	if err == nil {
		doc, _, err = sink.MarshalJSON(sum)
	}
	if err == nil {
		sum.Thresholds, err = threshold.Evaluate(ths, doc)
	}
	if err != nil {
		err = fmt.Errorf("thresholds not evaluated: %w", err)
		sum.Thresholds = make([]threshold.Result, 0, len(p.Thresholds))
		for _, t := range p.Thresholds {
			sum.Thresholds = append(sum.Thresholds, threshold.Result{Threshold: t.Text(), Source: t.Source,
				Values: []threshold.Value{}, Reason: err.Error()})
		}
	}
	return err
}
