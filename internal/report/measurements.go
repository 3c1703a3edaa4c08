package report

import (
	"encoding/json"
	"errors"
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pacbench/pacbench/internal/runner"
	"github.com/pacbench/pacbench/metrics"
	"github.com/pacbench/pacbench/op"
)

// Measurements file of a run directory: the run's cumulative measurements
// exactly, so that results can be rebuilt and merged from the files
// (pacbench merge) through the same code that built the summary.
const (
	MeasurementsFile   = "measurements.json"
	MeasurementsSchema = "pacbench.measurements/v1"
)

// ErrMeasurements: a measurements.json that cannot be read back (wrong
// schema, measures that the running pacbench does not have, a corrupt
// histogram).
var ErrMeasurements = errors.New("unreadable measurements")

// Measurements is measurements.json (docs/results.md): every cell's op
// counts and histograms (response, service, generator wait: HdrHistogram
// V2, base64, as in the interval log), every check measure's value in
// Results.Measures order (verdicts with their evidence as JSON), the
// t-visibility probe counts and the convergence bins. Plain data.
type Measurements struct {
	Schema string `json:"schema"`
	RunID  string `json:"run_id"`
	// Measures names the check measures by index (Cell.Values order).
	Measures []MeasureRef `json:"measures"`
	Cells    []CellData   `json:"cells"`
	// Probes and Convergence as the runner counted them (runner.Result).
	Probes      []runner.ProbeStats      `json:"probes,omitempty"`
	Convergence []runner.ConvergenceBins `json:"convergence,omitempty"`
}

// MeasureRef identifies a check measure: its name and kind.
type MeasureRef struct {
	Name string       `json:"name"`
	Kind metrics.Kind `json:"kind"`
}

// CellData is one (scenario, phase)'s cumulative measurements.
type CellData struct {
	Scenario int      `json:"scenario"`
	Phase    int      `json:"phase"`
	Clamped  int64    `json:"clamped,omitempty"`
	Ops      []OpData `json:"ops"`
	// Values are the check measures' values, indexed like Measures.
	Values []ValueData `json:"values,omitempty"`
}

// OpData is one op kind's cumulative measurements in a cell.
type OpData struct {
	Op      string      `json:"op"`
	FirstNs int64       `json:"first_ns"`
	LastNs  int64       `json:"last_ns"`
	Classes []ClassData `json:"classes"`
}

// ClassData is one outcome class of an op kind: its count and histograms
// (response and service times; generator wait when the kind waits).
type ClassData struct {
	Class    string `json:"class"`
	Count    int64  `json:"count"`
	Response string `json:"response,omitempty"`
	Service  string `json:"service,omitempty"`
	Wait     string `json:"wait,omitempty"`
}

// ValueData is one check measure's value in a cell: a counter's count, a
// histogram, buckets or a verdict (by the measure's kind).
type ValueData struct {
	Count   int64            `json:"count,omitempty"`
	Hist    string           `json:"hist,omitempty"`
	Buckets []metrics.Bucket `json:"buckets,omitempty"`
	Verdict *VerdictData     `json:"verdict,omitempty"`
}

// VerdictData is a verdict with its evidence as JSON.
type VerdictData struct {
	OK       *bool           `json:"ok"`
	Detail   string          `json:"detail,omitempty"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// NewMeasurements records res (the run's result) for measurements.json.
func NewMeasurements(runID string, res *runner.Result) (*Measurements, error) {
	m := &Measurements{Schema: MeasurementsSchema, RunID: runID, Measures: []MeasureRef{}, Cells: []CellData{}}
	if res == nil || res.Results == nil {
		return m, nil
	}
	m.Probes, m.Convergence = res.Probes, res.Convergence
	for _, me := range res.Results.Measures {
		m.Measures = append(m.Measures, MeasureRef{Name: me.Name, Kind: me.Kind})
	}
	for _, c := range res.Results.Cells {
		cd, err := cellData(c, res.Results.Measures)
		if err != nil {
			return nil, fmt.Errorf("%s: scenario %d phase %d: %w", MeasurementsFile, c.Scenario, c.Phase, err)
		}
		m.Cells = append(m.Cells, cd)
	}
	return m, nil
}

func cellData(c *metrics.Cell, measures []metrics.Measure) (CellData, error) {
	cd := CellData{Scenario: c.Scenario, Phase: c.Phase, Clamped: c.Clamped, Ops: []OpData{}}
	for _, k := range opKinds(c) {
		st := c.Ops[k]
		od := OpData{Op: k.String(), FirstNs: st.FirstNs, LastNs: st.LastNs}
		for cl := range op.NumClasses {
			n := st.OK
			if cl != op.OK {
				n = st.Errors[cl]
			}
			if n == 0 {
				continue
			}
			var cdata ClassData
			var err error
			cdata.Class, cdata.Count = cl.String(), n
			if cdata.Response, err = encodeHist(st.Response[cl]); err == nil {
				if cdata.Service, err = encodeHist(st.Service[cl]); err == nil {
					cdata.Wait, err = encodeHist(st.Wait[cl])
				}
			}
			if err != nil {
				return cd, err
			}
			od.Classes = append(od.Classes, cdata)
		}
		cd.Ops = append(cd.Ops, od)
	}
	for i, v := range c.Values {
		vd, err := valueData(measures[i], v)
		if err != nil {
			return cd, fmt.Errorf("%s: %w", measures[i].Name, err)
		}
		cd.Values = append(cd.Values, vd)
	}
	return cd, nil
}

func valueData(m metrics.Measure, v metrics.Value) (ValueData, error) {
	var vd ValueData
	var err error
	switch m.Kind {
	case metrics.KindCounter:
		vd.Count = v.Count
	case metrics.KindHistogram:
		vd.Hist, err = encodeHist(v.Hist)
	case metrics.KindBuckets:
		vd.Buckets = v.Buckets
	case metrics.KindVerdict:
		if v.Verdict != nil {
			vd.Verdict = &VerdictData{OK: v.Verdict.OK, Detail: v.Verdict.Detail}
			if v.Verdict.Evidence != nil {
				vd.Verdict.Evidence, err = json.Marshal(v.Verdict.Evidence)
			}
		}
	}
	return vd, err
}

// encodeHist is an HdrHistogram V2 encoding (base64), "" for none.
func encodeHist(h *hdrhistogram.Histogram) (string, error) {
	if h == nil || h.TotalCount() == 0 {
		return "", nil
	}
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	return string(b), err
}

// decodeHist reads an encodeHist string (nil for "").
func decodeHist(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("%w: histogram: %w", ErrMeasurements, err)
	}
	return h, nil
}

// Results reads the cumulative measurements back as the recorder's
// Results, with checks (the registry the run used: its measures must be
// the file's, by index, name and kind) and the plan's scenario and phase
// names. Verdict evidence stays the JSON the file holds.
func (m *Measurements) Results(checks *metrics.Checks, scenarios, phases []string) (*metrics.Results, error) {
	if m.Schema != MeasurementsSchema {
		return nil, fmt.Errorf("%w: schema %q, want %q", ErrMeasurements, m.Schema, MeasurementsSchema)
	}
	measures := checks.Measures()
	if len(measures) != len(m.Measures) {
		return nil, fmt.Errorf("%w: %d check measures, this pacbench has %d", ErrMeasurements, len(m.Measures), len(measures))
	}
	for i, me := range measures {
		if m.Measures[i].Name != me.Name || m.Measures[i].Kind != me.Kind {
			return nil, fmt.Errorf("%w: measure %d is %s (kind %d), this pacbench's is %s (kind %d)", ErrMeasurements,
				i, m.Measures[i].Name, m.Measures[i].Kind, me.Name, me.Kind)
		}
	}
	res := &metrics.Results{Scenarios: scenarios, Phases: phases, Checks: checks, Measures: measures}
	for _, cd := range m.Cells {
		if cd.Scenario < 0 || cd.Scenario >= len(scenarios) || cd.Phase < 0 || cd.Phase >= len(phases) {
			return nil, fmt.Errorf("%w: cell of scenario %d phase %d outside the plan", ErrMeasurements, cd.Scenario, cd.Phase)
		}
		c, err := cd.cell(measures)
		if err != nil {
			return nil, fmt.Errorf("scenario %d phase %d: %w", cd.Scenario, cd.Phase, err)
		}
		res.Cells = append(res.Cells, c)
	}
	return res, nil
}

func (cd CellData) cell(measures []metrics.Measure) (*metrics.Cell, error) {
	c := &metrics.Cell{Scenario: cd.Scenario, Phase: cd.Phase, Ops: map[op.Kind]*metrics.OpStats{}, Clamped: cd.Clamped}
	for _, od := range cd.Ops {
		k, ok := op.ParseKind(od.Op)
		if !ok {
			return nil, fmt.Errorf("%w: op %q", ErrMeasurements, od.Op)
		}
		st := &metrics.OpStats{Errors: map[op.Class]int64{}, Response: map[op.Class]*hdrhistogram.Histogram{},
			Service: map[op.Class]*hdrhistogram.Histogram{}, Wait: map[op.Class]*hdrhistogram.Histogram{},
			FirstNs: od.FirstNs, LastNs: od.LastNs}
		for _, cl := range od.Classes {
			if err := addClass(st, cl); err != nil {
				return nil, err
			}
		}
		c.Ops[k] = st
	}
	if len(measures) > 0 {
		c.Values = make([]metrics.Value, len(measures))
	}
	for i, vd := range cd.Values {
		if i >= len(measures) {
			return nil, fmt.Errorf("%w: %d values for %d measures", ErrMeasurements, len(cd.Values), len(measures))
		}
		v, err := vd.value(measures[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", measures[i].Name, err)
		}
		c.Values[i] = v
	}
	return c, nil
}

// addClass adds one outcome class to st.
func addClass(st *metrics.OpStats, cd ClassData) error {
	cl, ok := op.ParseClass(cd.Class)
	if !ok || cd.Count <= 0 {
		return fmt.Errorf("%w: class %q count %d", ErrMeasurements, cd.Class, cd.Count)
	}
	resp, err := decodeHist(cd.Response)
	if err != nil {
		return err
	}
	svc, err := decodeHist(cd.Service)
	if err != nil {
		return err
	}
	wait, err := decodeHist(cd.Wait)
	if err != nil {
		return err
	}
	if resp == nil || resp.TotalCount() != cd.Count {
		return fmt.Errorf("%w: %s: %d ops but a response histogram of %d", ErrMeasurements, cd.Class, cd.Count, totalOf(resp))
	}
	st.Count += cd.Count
	if cl == op.OK {
		st.OK = cd.Count
	} else {
		st.Errors[cl] = cd.Count
	}
	st.Response[cl], st.Service[cl] = resp, svc
	if wait != nil {
		st.Wait[cl] = wait
	}
	return nil
}

func totalOf(h *hdrhistogram.Histogram) int64 {
	if h == nil {
		return 0
	}
	return h.TotalCount()
}

// value reads one measure's value.
func (vd ValueData) value(m metrics.Measure) (metrics.Value, error) {
	var v metrics.Value
	switch m.Kind {
	case metrics.KindCounter:
		v.Count = vd.Count
	case metrics.KindHistogram:
		h, err := decodeHist(vd.Hist)
		if err != nil {
			return v, err
		}
		v.Hist = h
	case metrics.KindBuckets:
		if len(vd.Buckets) != len(m.Bounds) {
			return v, fmt.Errorf("%w: %d buckets, the measure has %d", ErrMeasurements, len(vd.Buckets), len(m.Bounds))
		}
		v.Buckets = vd.Buckets
	case metrics.KindVerdict:
		if vd.Verdict != nil {
			v.Verdict = &metrics.Verdict{OK: vd.Verdict.OK, Detail: vd.Verdict.Detail}
			if len(vd.Verdict.Evidence) > 0 {
				v.Verdict.Evidence = vd.Verdict.Evidence
			}
		}
	}
	return v, nil
}
