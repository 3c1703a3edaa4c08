package profile_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/profile"
)

// TestParseSweepValues: the three syntaxes and every error.
func TestParseSweepValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "250..4000x5", want: "250 500 1000 2000 4000"},
		{in: "500..8000x8", want: "500 743 1104 1641 2438 3623 5384 8000"},
		{in: "1.0..2x3", want: "1 1.414213562 2"},
		{in: "1..3x10", want: "1 2 3"}, // integers: rounded, repeats dropped
		{in: "500..2000+500", want: "500 1000 1500 2000"},
		{in: "500..1900+500", want: "500 1000 1500"},
		{in: "0.5..1.5+0.5", want: "0.5 1 1.5"},
		{in: "0..10+5", want: "0 5 10"},
		{in: "ONE,QUORUM, ALL", want: "ONE QUORUM ALL"},
		{in: "7", want: "7"},
		{in: "1..10", err: "want A..BxN"},
		{in: "1..10y3", err: "want A..BxN"},
		{in: "10..1x3", err: "want numbers A < B"},
		{in: "0..10x3", err: "A > 0 for x"},
		{in: "a..10x3", err: "want numbers"},
		{in: "1..inf+1", err: "want numbers"},
		{in: "1..10x1", err: "the count after x must be an integer in [2, 100]"},
		{in: "1..10x101", err: "the count after x"},
		{in: "1..10xz", err: "the count after x"},
		{in: "1..10+0", err: "the step after + must be > 0"},
		{in: "1..1000+1", err: "at most 100 values"},
		{in: "1..10+-1", err: "the step after +"},
		{in: "a,,b", err: "empty value in the list"},
		{in: "", err: "empty value"},
		{in: strings.Repeat("a,", 100) + "a", err: "101 values, at most 100"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := profile.ParseSweepValues(tc.in)
			if tc.err != "" {
				if err == nil || !errors.Is(err, profile.ErrBadSweep) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseSweepValues(%q) = %v, %v; want ErrBadSweep with %q", tc.in, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// Floats compare at 10 digits.
			var short []string
			for _, v := range got {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					v = strconv.FormatFloat(f, 'g', 10, 64)
				}
				short = append(short, v)
			}
			if s := strings.Join(short, " "); s != tc.want {
				t.Errorf("ParseSweepValues(%q) = %s, want %s", tc.in, s, tc.want)
			}
		})
	}
}

// TestSweepFlag: --sweep PATH=VALUES.
func TestSweepFlag(t *testing.T) {
	t.Parallel()
	path, vs, err := profile.ParseSweepFlag("load.rate=10..40x3")
	if err != nil || path != "load.rate" || strings.Join(vs, ",") != "10,20,40" {
		t.Errorf("got %q %v %v", path, vs, err)
	}
	for _, s := range []string{"load.rate", "=1,2", "load..rate=1,2", "levels[x].read=ONE", "load.rate=1..2"} {
		if _, _, err := profile.ParseSweepFlag(s); !errors.Is(err, profile.ErrBadSweep) {
			t.Errorf("ParseSweepFlag(%q): %v, want ErrBadSweep", s, err)
		}
	}
}

// TestSweepSection: the profile's sweep section is validated with
// file:line, and a warm-up phase is inserted and recognised.
func TestSweepSection(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ sweep, err string }{
		{"sweep: {param: load.rate, values: 250..4000x5, knee_p99: 20ms, knee_op: read, warmup: 2s}", ""},
		{"sweep: {param: '', values: 1,2}", "f.yaml:11:9: sweep.param: want the path of a profile field"},
		{"sweep: {param: 'load..rate', values: 1,2}", "sweep.param: want the path"},
		{"sweep: {param: load.rate, values: 1..2}", "f.yaml:11:27: sweep.values: bad sweep"},
		{"sweep: {param: load.rate, values: 1,2, knee_p99: -1s}", "sweep.knee_p99: must be positive"},
		{"sweep: {param: load.rate, values: 1,2, warmup: -1s}", "sweep.warmup"},
		{"sweep: {param: load.rate, values: 1,2, wamup: 1s}", "wamup"},
	} {
		t.Run(tc.sweep, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Parse("f.yaml", []byte(base+"mode: side_by_side\n"+tc.sweep+"\n"), profile.Options{})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Parse: %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w, err := p.WithWarmup(p.Sweep.Warmup.D())
			if err != nil {
				t.Fatal(err)
			}
			if len(w.Phases) != 3 || !w.Phases[0].Warmup || w.Phases[0].Duration.D() != 2*time.Second || len(p.Phases) != 2 {
				t.Fatalf("WithWarmup: %+v (original %d phases)", w.Phases, len(p.Phases))
			}
			if got := w.WarmupPhases(); len(got) != 1 || got[0] != profile.WarmupPhase {
				t.Errorf("WarmupPhases = %v", got)
			}
			if _, err := w.WithWarmup(time.Second); err == nil {
				t.Error("a second warm-up phase was inserted")
			}
			// --duration leaves the warm-up's own duration alone.
			pl, err := w.Plan(profile.Overrides{Duration: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if d := pl.Profile.Phases[0].Duration.D(); d != 2*time.Second {
				t.Errorf("--duration changed the warm-up to %s", d)
			}
		})
	}
	_, err := profile.Parse("f.yaml", []byte(strings.Replace(base, "name: baseline", "name: warmup", 1)+"sweep: {param: load.rate, values: 1,2, warmup: 1s}\n"), profile.Options{})
	if err == nil || !strings.Contains(err.Error(), `phases[0].name: "warmup" is the phase sweep.warmup inserts`) {
		t.Errorf("a phase named warmup beside sweep.warmup: %v", err)
	}
}

// FuzzSweepValues: ParseSweepValues never panics; what it accepts is a
// non-empty list of at most MaxSweepValues non-empty values, ascending
// for ranges.
func FuzzSweepValues(f *testing.F) {
	for _, s := range []string{"250..4000x5", "500..2000+500", "a,b", "1..2x100", "0.1..0.2+0.0001", "1e308..1.7e308x3", "-5..5+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vs, err := profile.ParseSweepValues(s)
		if err != nil {
			if !errors.Is(err, profile.ErrBadSweep) {
				t.Fatalf("%q: %v, not ErrBadSweep", s, err)
			}
			return
		}
		if len(vs) == 0 || len(vs) > profile.MaxSweepValues {
			t.Fatalf("%q: %d values", s, len(vs))
		}
		prev := -1.0
		for i, v := range vs {
			if v == "" {
				t.Fatalf("%q: empty value %d", s, i)
			}
			if !strings.Contains(s, "..") {
				continue
			}
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || (i > 0 && !(x > prev)) {
				t.Fatalf("%q: values %v not ascending numbers", s, vs)
			}
			prev = x
		}
	})
}
