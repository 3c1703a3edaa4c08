package profile_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/profile"
)

// boundsProfile builds a one-line-per-section profile; over replaces or
// adds sections. It returns the YAML and the line of each section.
func boundsProfile(over map[string]string) (string, map[string]int) {
	sections := map[string]string{
		"system":   "system: {driver: etcd, cluster: local}",
		"workload": "workload: {preset: a}",
		"levels":   "levels: [{read: linearizable}]",
		"phases":   "phases: [{name: a, duration: 1s}]",
	}
	for k, v := range over {
		sections[k] = v
	}
	var b strings.Builder
	lines := map[string]int{}
	for _, k := range []string{"system", "workload", "load", "levels", "mode", "phases", "checks", "tail"} {
		if v, ok := sections[k]; ok {
			lines[k] = len(lines) + 1
			b.WriteString(v + "\n")
		}
	}
	return b.String(), lines
}

// TestBounds: absurd and non-finite numbers are validation errors naming
// the field at its line; values at the bounds are accepted.
func TestBounds(t *testing.T) {
	t.Parallel()
	sixPhases := func(d string) string {
		ps := make([]string, 8)
		for i := range ps {
			ps[i] = fmt.Sprintf("{name: p%d, duration: %s}", i, d)
		}
		return "phases: [" + strings.Join(ps, ", ") + "]"
	}
	cases := []struct {
		name string
		over map[string]string
		at   string   // section whose line the problem must be on ("" = valid)
		want []string // substrings of the problem
	}{
		// workers
		{"workers zero", map[string]string{"load": "load: {workers: 0}"}, "load", []string{"load.workers: must be ≥ 1"}},
		{"workers negative", map[string]string{"load": "load: {workers: -4}"}, "load", []string{"load.workers: must be ≥ 1, got -4"}},
		{"workers a billion", map[string]string{"load": "load: {workers: 1000000000}"}, "load", []string{"load.workers: at most 4096, got 1000000000"}},
		{"workers above the bound", map[string]string{"load": "load: {workers: 4097}"}, "load", []string{"at most 4096"}},
		{"workers × scenarios", map[string]string{"load": "load: {workers: 2000}", "levels": "levels: [{read: linearizable}, {read: serializable}, {name: x, read: linearizable}]"},
			"load", []string{"2000 workers × 3 scenarios = 6000 sessions; at most 4096"}},
		{"workers × value size", map[string]string{"load": "load: {workers: 2000}", "workload": "workload: {preset: a, value_size: 1048576}"},
			"load", []string{"of write buffers; at most 1024 MiB"}},
		{"workers at the bound", map[string]string{"load": "load: {workers: 4096}"}, "", nil},
		// rate
		{"rate +inf", map[string]string{"load": "load: {model: open, rate: .inf}"}, "load", []string{"load.rate: want a finite target rate in ops/s, got +Inf"}},
		{"rate -inf", map[string]string{"load": "load: {model: open, rate: -.inf}"}, "load", []string{"load.rate: want a finite target rate", "-Inf"}},
		{"rate nan", map[string]string{"load": "load: {model: open, rate: .nan}"}, "load", []string{"load.rate: want a finite target rate in ops/s, got NaN"}},
		{"rate negative", map[string]string{"load": "load: {model: open, rate: -5}"}, "load", []string{"load.rate: open loop needs a target rate > 0 (ops/s), got -5"}},
		{"rate 1e300", map[string]string{"load": "load: {model: open, rate: 1e300}"}, "load", []string{"load.rate: at most 1e+08 ops/s per scenario, got 1e+300"}},
		{"rate above the bound", map[string]string{"load": "load: {model: open, rate: 100000001}"}, "load", []string{"load.rate: at most 1e+08"}},
		{"rate at the bound", map[string]string{"load": "load: {model: open, rate: 1e8}"}, "", nil},
		{"rate not a number", map[string]string{"load": "load: {model: open, rate: fast}"}, "load", []string{"load.rate: want a number"}},
		// durations
		{"phase above the bound", map[string]string{"phases": "phases: [{name: a, duration: 25h}]"}, "phases", []string{"phases[0].duration: at most 24h0m0s, got 25h0m0s"}},
		{"phase overflowing", map[string]string{"phases": "phases: [{name: a, duration: 2000000h}, {name: b, duration: 2000000h}]"},
			"phases", []string{"phases[0].duration: at most 24h0m0s", "phases[1].duration: at most 24h0m0s"}},
		{"phase not a duration", map[string]string{"phases": "phases: [{name: a, duration: 1e300s}]"}, "phases", []string{`invalid duration "1e300s"`}},
		{"run above the bound", map[string]string{"phases": sixPhases("24h")}, "phases", []string{"phases: the phases last 192h0m0s; at most 168h0m0s"}},
		{"run at the bound", map[string]string{"phases": sixPhases("21h")}, "", nil},
		{"sequential run above the bound", map[string]string{"mode": "mode: sequential", "phases": "phases: [{name: a, duration: 24h}, {name: b, duration: 24h}, {name: c, duration: 24h}]",
			"levels": "levels: [{read: linearizable}, {read: serializable}, {name: x, read: linearizable}]"},
			"phases", []string{"the phases × 3 scenarios (sequential) last 216h0m0s"}},
		{"think time negative", map[string]string{"load": "load: {think_time: -1ms}"}, "load", []string{"load.think_time: must not be negative, got -1ms"}},
		{"think time above the bound", map[string]string{"load": "load: {think_time: 2h}"}, "load", []string{"load.think_time: at most 1h0m0s, got 2h0m0s"}},
		{"op timeout zero", map[string]string{"system": "system: {driver: etcd, cluster: local, op_timeout: 0s}"}, "system", []string{"system.op_timeout: must be > 0, got 0s"}},
		{"op timeout above the bound", map[string]string{"system": "system: {driver: etcd, cluster: local, op_timeout: 11m}"}, "system", []string{"system.op_timeout: at most 10m0s, got 11m0s"}},
		{"check timeout above the bound", map[string]string{"checks": "checks: {check_timeout: 90m}"}, "checks", []string{"checks.check_timeout: at most 1h0m0s"}},
		// sizes and counts
		{"value size 1e300", map[string]string{"workload": "workload: {preset: a, value_size: 1e300}"}, "workload", []string{`workload.value_size: want an integer, got "1e300"`}},
		{"value size inf", map[string]string{"workload": "workload: {preset: a, value_size: .inf}"}, "workload", []string{`workload.value_size: want an integer, got ".inf"`}},
		{"value size above the bound", map[string]string{"workload": "workload: {preset: a, value_size: 16777217}"}, "workload", []string{"workload.value_size: 16777217 out of range"}},
		{"value size below the header", map[string]string{"workload": "workload: {preset: a, value_size: 8}"}, "workload", []string{"workload.value_size: 8 out of range"}},
		{"records 1e300", map[string]string{"workload": "workload: {preset: a, records: 1e300}"}, "workload", []string{`workload.records: want an integer, got "1e300"`}},
		{"records negative", map[string]string{"workload": "workload: {preset: a, records: -1}"}, "workload", []string{"workload.records: -1 out of range"}},
		{"records above the bound", map[string]string{"workload": "workload: {preset: a, records: 10000001}"}, "workload", []string{"workload.records: 10000001 out of range"}},
		{"mix nan", map[string]string{"workload": "workload: {mix: {read: .nan}}"}, "workload", []string{"workload.mix.read: NaN out of range"}},
		{"ring size negative", map[string]string{"checks": "checks: {ring_size: -1}"}, "checks", []string{"checks.ring_size: must not be negative, got -1"}},
		{"ring size above the bound", map[string]string{"checks": "checks: {ring_size: 1000000000}"}, "checks", []string{"checks.ring_size: at most 1024, got 1000000000"}},
		{"ring size at the bound", map[string]string{"checks": "checks: {ring_size: 1024}"}, "", nil},
		{"probe delay negative", map[string]string{"checks": "checks: {probes: [1ms, -5ms]}"}, "checks", []string{"checks.probes[1]: must not be negative"}},
		{"probe delay above the bound", map[string]string{"checks": "checks: {probes: [1ms, 100000h]}"}, "checks", []string{"checks.probes[1]: at most 1m0s, got 100000h0m0s"}},
		{"too many probes", map[string]string{"checks": "checks: {probes: [" + strings.Repeat("1ms, ", 32) + "1ms]}"}, "checks", []string{"checks.probes: at most 32 delays, got 33"}},
		{"linearizable keys above the bound", map[string]string{"checks": "checks: {linearizable_keys: 100000000}"}, "checks", []string{"checks.linearizable_keys: at most 1000"}},
		{"max history above the bound", map[string]string{"checks": "checks: {max_history: 1000000000000}"}, "checks", []string{"checks.max_history: at most 1000000"}},
		// characters the YAML reader rejects are reported at their line
		{"NUL in a comment", map[string]string{"tail": "# a\x00b"}, "tail", []string{"control character U+0000 is not allowed"}},
		{"NUL in a value", map[string]string{"levels": "levels: [{read: linear\x00izable}]"}, "levels", []string{"control character U+0000"}},
		{"escape character", map[string]string{"workload": "workload: {preset: \x1b}"}, "workload", []string{"control character U+001B"}},
		{"invalid UTF-8", map[string]string{"tail": "# \xff"}, "tail", []string{"invalid UTF-8 byte 0xFF"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yml, lines := boundsProfile(tc.over)
			p, err := profile.Parse("b.yaml", []byte(yml), profile.Options{Registry: fakeRegistry()})
			if tc.at == "" {
				if err != nil {
					t.Fatalf("valid profile rejected: %v\n%s", err, yml)
				}
				if _, err := p.Plan(profile.Overrides{}); err != nil {
					t.Fatalf("valid profile does not plan: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, profile.ErrInvalid) {
				t.Fatalf("Parse = %v, want Problems\n%s", err, yml)
			}
			msg := err.Error()
			prefix := fmt.Sprintf("b.yaml:%d:", lines[tc.at])
			for _, w := range tc.want {
				found := false
				for _, line := range strings.Split(msg, "\n") {
					found = found || (strings.HasPrefix(line, prefix) && strings.Contains(line, w))
				}
				if !found {
					t.Errorf("no problem %q at %s in:\n%s", w, prefix, msg)
				}
			}
		})
	}
}

// TestPlanOverrideBounds: --duration is bounded like the profile's own
// durations (no overflowing totals).
func TestPlanOverrideBounds(t *testing.T) {
	t.Parallel()
	yml, _ := boundsProfile(map[string]string{"phases": "phases: [{name: a, duration: 1s}, {name: b, duration: 1s}]"})
	p, err := profile.Parse("b.yaml", []byte(yml), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{25 * time.Hour, "phases[0].duration: at most 24h0m0s"},
		{time.Duration(1<<62) + 1, "phases[0].duration: at most 24h0m0s"},
		{-time.Second, "negative duration"},
	} {
		pl, err := p.Plan(profile.Overrides{Duration: tc.d})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Plan(--duration %s) = %v, %v; want an error containing %q", tc.d, pl, err, tc.want)
		}
	}
	pl, err := p.Plan(profile.Overrides{Duration: 24 * time.Hour})
	if err != nil || pl.Duration() != 48*time.Hour {
		t.Errorf("Plan(--duration 24h) = %v, %v; want 48h in total", pl, err)
	}
}
