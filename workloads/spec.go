package workloads

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/pacbench/pacbench/op"
)

// Key distributions (Spec.Distribution).
const (
	// Uniform: every existing key [0, Limit) equally likely.
	Uniform = "uniform"
	// Zipfian: YCSB's ScrambledZipfianGenerator: zipfian ranks over 10^10
	// items, FNV-64 hashed onto the key space, so hot keys are scattered.
	Zipfian = "zipfian"
	// Latest: YCSB's SkewedLatestGenerator: zipfian over the existing keys
	// counted back from the latest acknowledged insert.
	Latest = "latest"
	// Hotspot: YCSB's HotspotIntegerGenerator over the initial records.
	Hotspot = "hotspot"
	// Sequential: keys 0, 1, 2, … per generator, wrapping at Limit.
	Sequential = "sequential"
)

// Defaults applied by FromProfile (Java YCSB's CoreWorkload defaults where
// YCSB has one).
const (
	DefaultRecords             = 1000    // YCSB recordcount
	DefaultValueSize           = 100     // YCSB fieldlength; header included
	DefaultDistribution        = Zipfian // as every YCSB core workload but D
	DefaultZipfianConstant     = 0.99    // YCSB ZipfianGenerator.ZIPFIAN_CONSTANT
	DefaultHotspotDataFraction = 0.2     // YCSB hotspotdatafraction
	DefaultHotspotOpFraction   = 0.8     // YCSB hotspotopnfraction
	DefaultMaxScanLength       = 100     // YCSB maxscanlength
	DefaultScanLengthDist      = Uniform // YCSB scanlengthdistribution
	// DefaultInsertHeadroom is the number of inserts tracked when the mix
	// has inserts (0 when it has none).
	DefaultInsertHeadroom = 100_000
)

// Limits enforced by Validate. They bound the memory of the precomputed key
// names (KeyLen bytes per key) and of per-key oracle state.
const (
	// MaxRecords is the largest record count.
	MaxRecords = 10_000_000
	// MaxCapacity is the largest Records + InsertHeadroom.
	MaxCapacity = 2 * MaxRecords
	// MaxValueSize is the largest value size in bytes.
	MaxValueSize = 16 << 20
	// MaxScanLengthCap is the largest max_scan_length accepted.
	MaxScanLengthCap = 1_000_000
)

// Sentinel errors wrapped by FieldError.Err, for callers that branch.
var (
	// ErrUnknown: a name (preset, distribution, op kind) that is not known.
	ErrUnknown = errors.New("unknown")
	// ErrOutOfRange: a number outside its allowed range.
	ErrOutOfRange = errors.New("out of range")
	// ErrDuplicate: the same op kind given twice (write and its alias update).
	ErrDuplicate = errors.New("duplicate")
	// ErrEmptyMix: no op kind has a positive proportion.
	ErrEmptyMix = errors.New("empty mix")
)

// Spec is a validated workload: what the generators draw. Plain data, safe
// to share read-only between goroutines.
type Spec struct {
	// Preset is the YCSB preset applied ("a"…"f"), "" if none.
	Preset string
	// Records is the initial record count: keys 0…Records-1 are loaded.
	Records int
	// ValueSize is bytes per value, the 32-byte header (HeaderSize) included.
	ValueSize int
	// Mix is the proportion of each op kind, indexed by op.Kind; FromProfile
	// makes it sum to 1 (the generator normalises any positive sum).
	Mix [op.NumKinds]float64
	// Distribution is the key chooser: uniform, zipfian, latest, hotspot or
	// sequential.
	Distribution string
	// ZipfianConstant θ of the zipfian and latest distributions, 0 < θ < 1.
	ZipfianConstant float64
	// HotspotDataFraction is the fraction of the initial records that is hot
	// (0 < f < 1); HotspotOpFraction the fraction of ops that go to the hot
	// set (0 < f ≤ 1).
	HotspotDataFraction, HotspotOpFraction float64
	// MaxScanLength is the longest scan in records (scans are 1…Max).
	MaxScanLength int
	// ScanLengthDistribution is uniform or zipfian (short scans favoured,
	// YCSB's ZipfianGenerator(1, max) with θ 0.99).
	ScanLengthDistribution string
	// InsertHeadroom is the number of inserts tracked beyond Records: key
	// indexes Records…Records+InsertHeadroom-1. Once it is used up inserts
	// become updates (Keyspace.NextInsert returns false).
	InsertHeadroom int
	// Shard is the part of a sharded run's key space this Spec covers
	// (ForShard); the zero value is the whole key space. Key indexes stay
	// local (0…Capacity-1); Keyspace.Key names local key j by its global
	// index Shard.Global(j).
	Shard Shard
}

// FieldError is one problem with one workload field. Field is the YAML path
// below the profile's `workload` key ("distribution", "mix.scan"), so a
// profile validator can find its line; Error() prefixes "workload.".
type FieldError struct {
	// Field is the YAML path relative to `workload`, e.g. "mix.update".
	Field string
	// Err is the problem; it wraps one of the sentinel errors above.
	Err error
}

// Error returns "workload.<field>: <problem>".
func (e FieldError) Error() string { return "workload." + e.Field + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e FieldError) Unwrap() error { return e.Err }

// presetSpecs are YCSB's workloads/workload[a-f] property files, with the
// CoreWorkload defaults they inherit (recordcount 1000, fieldlength 100,
// maxscanlength 100, scanlengthdistribution uniform).
var presetSpecs = map[string]struct {
	mix  map[op.Kind]float64
	dist string
}{
	"a": {map[op.Kind]float64{op.Read: 0.5, op.Write: 0.5}, Zipfian},
	"b": {map[op.Kind]float64{op.Read: 0.95, op.Write: 0.05}, Zipfian},
	"c": {map[op.Kind]float64{op.Read: 1}, Zipfian},
	"d": {map[op.Kind]float64{op.Read: 0.95, op.Insert: 0.05}, Latest},
	"e": {map[op.Kind]float64{op.Scan: 0.95, op.Insert: 0.05}, Zipfian},
	"f": {map[op.Kind]float64{op.Read: 0.5, op.RMW: 0.5}, Zipfian},
}

// Presets returns the preset names, "a" to "f" (YCSB core workloads A–F).
func Presets() []string {
	return []string{"a", "b", "c", "d", "e", "f"}
}

// Distributions returns the key distribution names accepted by Spec.
func Distributions() []string {
	return []string{Uniform, Zipfian, Latest, Hotspot, Sequential}
}

// scanLengthDistributions are the accepted ScanLengthDistribution values.
func scanLengthDistributions() []string { return []string{Uniform, Zipfian} }

// mixKeys are the accepted keys of a profile's mix, in message order.
func mixKeys() []string { return []string{"read", "write", "update", "insert", "scan", "rmw", "cas"} }

// FromProfile turns a profile's workload section (profile.Workload, an alias
// of Config) into a Spec: the preset first, then the explicit fields (a
// non-zero value overrides; an explicit mix replaces the preset's mix
// entirely), then defaults for whatever is still unset, then validation. It returns every problem found, one
// FieldError each, in a stable order; the Spec is meaningful only when the
// slice is empty. Safe for concurrent use.
func FromProfile(w Config) (Spec, []FieldError) {
	var (
		s    Spec
		errs []FieldError
	)
	hasPreset := false
	if w.Preset != "" {
		name := strings.ToLower(w.Preset)
		if p, ok := presetSpecs[name]; ok {
			hasPreset = true
			s.Preset = name
			s.Distribution = p.dist
			for k, v := range p.mix {
				s.Mix[k] = v
			}
		} else {
			errs = append(errs, FieldError{"preset", unknown(w.Preset, Presets())})
		}
	}
	if w.Records != 0 {
		s.Records = w.Records
	}
	if w.ValueSize != 0 {
		s.ValueSize = w.ValueSize
	}
	mixErrs := 0
	switch {
	case len(w.Mix) > 0:
		var es []FieldError
		s.Mix, es = parseMix(w.Mix)
		mixErrs = len(es)
		errs = append(errs, es...)
	case !hasPreset && w.Preset == "":
		errs = append(errs, FieldError{"mix", fmt.Errorf("%w: set a preset (a-f) or a mix", ErrEmptyMix)})
		mixErrs = 1
	case !hasPreset:
		mixErrs = 1 // the unknown preset was reported; no mix to check
	}
	if w.Distribution != "" {
		s.Distribution = w.Distribution
	}
	if w.ZipfianConstant != 0 {
		s.ZipfianConstant = w.ZipfianConstant
	}
	if w.HotspotDataFraction != 0 {
		s.HotspotDataFraction = w.HotspotDataFraction
	}
	if w.HotspotOpFraction != 0 {
		s.HotspotOpFraction = w.HotspotOpFraction
	}
	if w.MaxScanLength != 0 {
		s.MaxScanLength = w.MaxScanLength
	}
	if w.ScanLengthDistribution != "" {
		s.ScanLengthDistribution = w.ScanLengthDistribution
	}
	s = s.WithDefaults()
	for _, e := range s.Validate() {
		if mixErrs > 0 && (e.Field == "mix" || strings.HasPrefix(e.Field, "mix.")) {
			continue // already reported against the user's own mix keys
		}
		errs = append(errs, e)
	}
	if len(errs) == 0 {
		s.Mix = normaliseMix(s.Mix)
	}
	return s, errs
}

// WithDefaults returns s with every zero field set to its default. The
// insert headroom defaults to DefaultInsertHeadroom when the mix has
// inserts and to 0 otherwise.
func (s Spec) WithDefaults() Spec {
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setFloat := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	setString := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	setInt(&s.Records, DefaultRecords)
	setInt(&s.ValueSize, DefaultValueSize)
	setString(&s.Distribution, DefaultDistribution)
	setFloat(&s.ZipfianConstant, DefaultZipfianConstant)
	setFloat(&s.HotspotDataFraction, DefaultHotspotDataFraction)
	setFloat(&s.HotspotOpFraction, DefaultHotspotOpFraction)
	setInt(&s.MaxScanLength, DefaultMaxScanLength)
	setString(&s.ScanLengthDistribution, DefaultScanLengthDist)
	if s.Mix[op.Insert] > 0 {
		setInt(&s.InsertHeadroom, DefaultInsertHeadroom)
	}
	return s
}

// Validate reports every problem with s, one FieldError per field, in field
// order. A Spec built by hand should go through WithDefaults first.
func (s Spec) Validate() []FieldError {
	var errs []FieldError
	add := func(field string, err error) { errs = append(errs, FieldError{field, err}) }
	if s.Records < 1 || s.Records > MaxRecords {
		add("records", outOfRange(s.Records, fmt.Sprintf("1 to %d", MaxRecords)))
	}
	if s.ValueSize < HeaderSize || s.ValueSize > MaxValueSize {
		add("value_size", outOfRange(s.ValueSize,
			fmt.Sprintf("%d to %d; every value starts with a %d-byte header", HeaderSize, MaxValueSize, HeaderSize)))
	}
	var positive bool
	for k := range op.NumKinds {
		v := s.Mix[k]
		if !validProportion(v) {
			add("mix."+k.String(), outOfRange(v, "a finite number ≥ 0"))
		}
		positive = positive || v > 0
	}
	if !positive && !hasMixError(errs) {
		add("mix", fmt.Errorf("%w: no op kind has a proportion > 0", ErrEmptyMix))
	}
	if !slices.Contains(Distributions(), s.Distribution) {
		add("distribution", unknown(s.Distribution, Distributions()))
	}
	if !(s.ZipfianConstant > 0 && s.ZipfianConstant < 1) {
		add("zipfian_constant", outOfRange(s.ZipfianConstant, "0 < c < 1"))
	}
	if !(s.HotspotDataFraction > 0 && s.HotspotDataFraction < 1) {
		add("hotspot_data_fraction", outOfRange(s.HotspotDataFraction, "0 < f < 1"))
	}
	if !(s.HotspotOpFraction > 0 && s.HotspotOpFraction <= 1) {
		add("hotspot_op_fraction", outOfRange(s.HotspotOpFraction, "0 < f ≤ 1"))
	}
	if s.MaxScanLength < 1 || s.MaxScanLength > MaxScanLengthCap {
		add("max_scan_length", outOfRange(s.MaxScanLength, fmt.Sprintf("1 to %d", MaxScanLengthCap)))
	}
	if !slices.Contains(scanLengthDistributions(), s.ScanLengthDistribution) {
		add("scan_length_distribution", unknown(s.ScanLengthDistribution, scanLengthDistributions()))
	}
	if s.InsertHeadroom < 0 || s.InsertHeadroom > MaxCapacity-max(s.Records, 0) {
		add("insert_headroom", outOfRange(s.InsertHeadroom,
			fmt.Sprintf("0 to %d minus records", MaxCapacity)))
	}
	if err := s.Shard.Validate(); err != nil {
		add("shard", err)
	}
	return errs
}

// Capacity returns Records + InsertHeadroom: every key index a run can use.
func (s Spec) Capacity() int { return s.Records + s.InsertHeadroom }

func hasMixError(errs []FieldError) bool {
	for _, e := range errs {
		if strings.HasPrefix(e.Field, "mix.") {
			return true
		}
	}
	return false
}

func validProportion(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }

// parseMix reads a profile mix (kind name → proportion). Values are checked
// here, against the user's own key ("update" rather than "write").
func parseMix(m map[string]float64) ([op.NumKinds]float64, []FieldError) {
	var (
		mix  [op.NumKinds]float64
		errs []FieldError
		from [op.NumKinds]string // the key that set each kind
	)
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := m[name]
		field := "mix." + name
		k, ok := op.ParseKind(name)
		switch {
		case !ok:
			errs = append(errs, FieldError{field, unknown(name, mixKeys())})
		case from[k] != "":
			errs = append(errs, FieldError{field, fmt.Errorf("%w: mix.%s already sets %s (update is an alias of write)",
				ErrDuplicate, from[k], k)})
		case !validProportion(v):
			errs = append(errs, FieldError{field, outOfRange(v, "a finite number ≥ 0")})
		default:
			from[k] = name
			mix[k] = v
		}
	}
	if len(errs) == 0 && normaliseMix(mix) == ([op.NumKinds]float64{}) {
		errs = append(errs, FieldError{"mix", fmt.Errorf("%w: no op kind has a proportion > 0", ErrEmptyMix)})
	}
	return mix, errs
}

// normaliseMix scales valid proportions to sum to 1 (a mix that already
// sums to 1 is returned unchanged); an all-zero mix stays zero. A sum that
// overflows is avoided by scaling by the largest value first.
func normaliseMix(mix [op.NumKinds]float64) [op.NumKinds]float64 {
	var hi, sum float64
	for _, v := range mix {
		hi = max(hi, v)
		sum += v
	}
	if !(hi > 0) {
		return [op.NumKinds]float64{}
	}
	if math.IsInf(sum, 1) {
		sum = 0
		for i := range mix {
			mix[i] /= hi
			sum += mix[i]
		}
	}
	if sum != 1 {
		for i := range mix {
			mix[i] /= sum
		}
	}
	return mix
}

func unknown(got string, want []string) error {
	return fmt.Errorf("%w %q (want %s)", ErrUnknown, got, strings.Join(want, ", "))
}

func outOfRange[T int | float64](got T, want string) error {
	return fmt.Errorf("%v %w (want %s)", got, ErrOutOfRange, want)
}
