package workloads

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/op"
)

// The presets are YCSB's workloads/workload[a-f] with CoreWorkload defaults.
func TestPresetsMatchYCSB(t *testing.T) {
	t.Parallel()
	type m = map[op.Kind]float64
	want := map[string]struct {
		mix  m
		dist string
	}{
		"a": {m{op.Read: 0.5, op.Write: 0.5}, Zipfian},
		"b": {m{op.Read: 0.95, op.Write: 0.05}, Zipfian},
		"c": {m{op.Read: 1}, Zipfian},
		"d": {m{op.Read: 0.95, op.Insert: 0.05}, Latest},
		"e": {m{op.Scan: 0.95, op.Insert: 0.05}, Zipfian},
		"f": {m{op.Read: 0.5, op.RMW: 0.5}, Zipfian},
	}
	if got := Presets(); !slices.Equal(got, []string{"a", "b", "c", "d", "e", "f"}) {
		t.Fatalf("Presets() = %v", got)
	}
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, p := range []string{name, strings.ToUpper(name)} {
				s, errs := FromProfile(Config{Preset: p})
				if len(errs) > 0 {
					t.Fatalf("FromProfile(preset %q): %v", p, errs)
				}
				w := want[name]
				for k := range op.NumKinds {
					if math.Abs(s.Mix[k]-w.mix[k]) > 1e-12 {
						t.Errorf("mix[%s] = %v, want %v", k, s.Mix[k], w.mix[k])
					}
				}
				headroom := 0
				if w.mix[op.Insert] > 0 {
					headroom = DefaultInsertHeadroom
				}
				wantSpec := Spec{
					Preset: name, Records: 1000, ValueSize: 100, Mix: s.Mix, Distribution: w.dist,
					ZipfianConstant: 0.99, HotspotDataFraction: 0.2, HotspotOpFraction: 0.8,
					MaxScanLength: 100, ScanLengthDistribution: Uniform, InsertHeadroom: headroom,
				}
				if s != wantSpec {
					t.Errorf("spec\n got %+v\nwant %+v", s, wantSpec)
				}
			}
		})
	}
}

func TestFromProfileOverrides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		in    Config
		check func(t *testing.T, s Spec)
	}{
		{"explicit mix replaces the preset's", Config{Preset: "d", Mix: map[string]float64{"read": 3, "update": 1}},
			func(t *testing.T, s Spec) {
				if s.Mix[op.Read] != 0.75 || s.Mix[op.Write] != 0.25 || s.Mix[op.Insert] != 0 {
					t.Errorf("mix %v, want read .75 write .25 only", s.Mix)
				}
				if s.Distribution != Latest || s.InsertHeadroom != 0 {
					t.Errorf("distribution %q headroom %d, want latest (from preset) and 0", s.Distribution, s.InsertHeadroom)
				}
			}},
		{"fields override the preset", Config{Preset: "e", Records: 5000, ValueSize: 64, Distribution: Uniform,
			MaxScanLength: 10, ScanLengthDistribution: Zipfian},
			func(t *testing.T, s Spec) {
				if s.Records != 5000 || s.ValueSize != 64 || s.Distribution != Uniform ||
					s.MaxScanLength != 10 || s.ScanLengthDistribution != Zipfian || s.Mix[op.Scan] != 0.95 {
					t.Errorf("spec %+v", s)
				}
			}},
		{"mix without preset gets defaults", Config{Mix: map[string]float64{"cas": 1}},
			func(t *testing.T, s Spec) {
				if s.Preset != "" || s.Distribution != Zipfian || s.Records != DefaultRecords || s.Mix[op.CAS] != 1 {
					t.Errorf("spec %+v", s)
				}
			}},
		{"hotspot parameters", Config{Preset: "a", Distribution: Hotspot, HotspotDataFraction: 0.1, HotspotOpFraction: 1},
			func(t *testing.T, s Spec) {
				if s.HotspotDataFraction != 0.1 || s.HotspotOpFraction != 1 || s.ZipfianConstant != 0.99 {
					t.Errorf("spec %+v", s)
				}
			}},
		{"huge proportions normalise", Config{Mix: map[string]float64{"read": math.MaxFloat64, "write": math.MaxFloat64}},
			func(t *testing.T, s Spec) {
				if s.Mix[op.Read] != 0.5 || s.Mix[op.Write] != 0.5 {
					t.Errorf("mix %v", s.Mix)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, errs := FromProfile(tc.in)
			if len(errs) > 0 {
				t.Fatalf("unexpected errors: %v", errs)
			}
			tc.check(t, s)
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("FromProfile result does not validate: %v", errs)
			}
		})
	}
}

func TestFromProfileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   Config
		want []string // Error() of each FieldError, in order
		is   []error  // the sentinel each wraps
		keys []string // optional: FieldError.Field of each
	}{
		{"unknown distribution", Config{Preset: "a", Distribution: "zipf"},
			[]string{`workload.distribution: unknown "zipf" (want uniform, zipfian, latest, hotspot, sequential)`},
			[]error{ErrUnknown}, []string{"distribution"}},
		{"unknown preset", Config{Preset: "g"},
			[]string{`workload.preset: unknown "g" (want a, b, c, d, e, f)`}, []error{ErrUnknown}, nil},
		{"no preset, no mix", Config{},
			[]string{`workload.mix: empty mix: set a preset (a-f) or a mix`}, []error{ErrEmptyMix}, nil},
		{"unknown kind and negative proportion", Config{Mix: map[string]float64{"read": 1, "scna": 0.1, "write": -0.5}},
			[]string{
				`workload.mix.scna: unknown "scna" (want read, write, update, insert, scan, rmw, cas)`,
				`workload.mix.write: -0.5 out of range (want a finite number ≥ 0)`,
			}, []error{ErrUnknown, ErrOutOfRange}, []string{"mix.scna", "mix.write"}},
		{"update alias duplicates write", Config{Mix: map[string]float64{"update": 1, "write": 1}},
			[]string{`workload.mix.write: duplicate: mix.update already sets write (update is an alias of write)`},
			[]error{ErrDuplicate}, nil},
		{"NaN and Inf proportions", Config{Mix: map[string]float64{"read": math.NaN(), "scan": math.Inf(1)}},
			[]string{
				`workload.mix.read: NaN out of range (want a finite number ≥ 0)`,
				`workload.mix.scan: +Inf out of range (want a finite number ≥ 0)`,
			}, []error{ErrOutOfRange, ErrOutOfRange}, nil},
		{"all-zero mix", Config{Preset: "a", Mix: map[string]float64{"read": 0}},
			[]string{`workload.mix: empty mix: no op kind has a proportion > 0`}, []error{ErrEmptyMix}, nil},
		{"every numeric field out of range", Config{
			Preset: "b", Records: -1, ValueSize: 16, ZipfianConstant: 1, HotspotDataFraction: 1.5,
			HotspotOpFraction: -0.1, MaxScanLength: -3, ScanLengthDistribution: "latest",
		}, []string{
			`workload.records: -1 out of range (want 1 to 10000000)`,
			`workload.value_size: 16 out of range (want 32 to 16777216; every value starts with a 32-byte header)`,
			`workload.zipfian_constant: 1 out of range (want 0 < c < 1)`,
			`workload.hotspot_data_fraction: 1.5 out of range (want 0 < f < 1)`,
			`workload.hotspot_op_fraction: -0.1 out of range (want 0 < f ≤ 1)`,
			`workload.max_scan_length: -3 out of range (want 1 to 1000000)`,
			`workload.scan_length_distribution: unknown "latest" (want uniform, zipfian)`,
		}, []error{ErrOutOfRange, ErrOutOfRange, ErrOutOfRange, ErrOutOfRange, ErrOutOfRange, ErrOutOfRange, ErrUnknown}, nil},
		{"too many records", Config{Preset: "c", Records: MaxRecords + 1},
			[]string{`workload.records: 10000001 out of range (want 1 to 10000000)`}, []error{ErrOutOfRange}, nil},
		{"unknown preset and bad distribution both reported", Config{Preset: "workloada", Distribution: "Zipfian"},
			[]string{
				`workload.preset: unknown "workloada" (want a, b, c, d, e, f)`,
				`workload.distribution: unknown "Zipfian" (want uniform, zipfian, latest, hotspot, sequential)`,
			}, []error{ErrUnknown, ErrUnknown}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, errs := FromProfile(tc.in)
			got := make([]string, len(errs))
			for i, e := range errs {
				got[i] = e.Error()
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("errors\n got %q\nwant %q", got, tc.want)
			}
			for i, e := range errs {
				if !errors.Is(e, tc.is[i]) {
					t.Errorf("error %d (%v) does not wrap %v", i, e, tc.is[i])
				}
				if tc.keys != nil && e.Field != tc.keys[i] {
					t.Errorf("error %d field %q, want %q", i, e.Field, tc.keys[i])
				}
			}
		})
	}
}

func TestValidateHandBuiltSpec(t *testing.T) {
	t.Parallel()
	s := Spec{Mix: [op.NumKinds]float64{op.Read: 1}}.WithDefaults()
	if errs := s.Validate(); len(errs) != 0 {
		t.Fatalf("defaults do not validate: %v", errs)
	}
	s.InsertHeadroom = MaxCapacity
	errs := s.Validate()
	if len(errs) != 1 || errs[0].Field != "insert_headroom" || !errors.Is(errs[0], ErrOutOfRange) {
		t.Fatalf("headroom beyond capacity: %v", errs)
	}
	if got := (Spec{Records: 10, InsertHeadroom: 5}).Capacity(); got != 15 {
		t.Fatalf("Capacity() = %d, want 15", got)
	}
}

// FromProfile never panics, and whatever it accepts builds a working
// keyspace and generator.
func FuzzFromProfile(f *testing.F) {
	f.Add("a", 0, 0, "", 0.0, 0.0, 0.0, 0, "", "read", 1.0, "scan", 0.5)
	f.Add("e", 10, 40, "latest", 0.5, 0.3, 0.9, 5, "zipfian", "insert", 0.2, "update", 0.1)
	f.Add("", -1, 1<<30, "hotspot", 2.0, -1.0, 1.0, 1<<30, "x", "bogus", math.NaN(), "write", math.Inf(1))
	f.Add("z", 1, 32, "sequential", 1e-300, 1e-9, 1e-9, 1, "uniform", "cas", 1e308, "rmw", 1e308)
	f.Fuzz(func(t *testing.T, preset string, records, valueSize int, dist string, zc, hd, ho float64,
		maxScan int, scanDist, k1 string, v1 float64, k2 string, v2 float64) {
		cfg := Config{
			Preset: preset, Records: records, ValueSize: valueSize, Distribution: dist,
			ZipfianConstant: zc, HotspotDataFraction: hd, HotspotOpFraction: ho,
			MaxScanLength: maxScan, ScanLengthDistribution: scanDist,
		}
		if k1 != "" || k2 != "" {
			cfg.Mix = map[string]float64{k1: v1, k2: v2}
		}
		s, errs := FromProfile(cfg)
		for _, e := range errs {
			if e.Field == "" || e.Err == nil || !strings.HasPrefix(e.Error(), "workload.") {
				t.Fatalf("malformed FieldError %#v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		if v := s.Validate(); len(v) > 0 {
			t.Fatalf("accepted spec does not validate: %v", v)
		}
		var sum float64
		for _, p := range s.Mix {
			sum += p
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("mix sums to %v", sum)
		}
		if s.Capacity() > 20_000 || s.MaxScanLength > 20_000 {
			return // keep each fuzz input cheap
		}
		ks := NewKeyspace(s)
		g := NewGenerator(s, ks, int64(records))
		for range 200 {
			o := g.Next()
			if o.Key >= ks.Limit() || o.Kind >= op.NumKinds || s.Mix[o.Kind] == 0 && o.Kind != op.Write {
				t.Fatalf("bad op %+v (limit %d, mix %v)", o, ks.Limit(), s.Mix)
			}
			if (o.Kind == op.Scan) != (o.ScanLen > 0) || o.ScanLen > s.MaxScanLength {
				t.Fatalf("bad scan length in %+v", o)
			}
		}
	})
}
