package threshold

import (
	"reflect"
	"strings"
	"testing"
)

var testNames = Names{Scenarios: []string{"linearizable", "serializable"}, Phases: []string{"baseline", "latency", "partition", "healed"}}

func TestCompile(t *testing.T) {
	t.Parallel()
	cat := Builtin()
	for _, tc := range []struct {
		in    string
		scope Scope
		op    string
		path  []string
		unit  Unit
		limit any
	}{
		{"read.p99 < 20ms", ScopeOp, "read", []string{"latency_ms", "p99"}, UnitMs, 20.0},
		{"write.max < 1.5s", ScopeOp, "write", []string{"latency_ms", "max"}, UnitMs, 1500.0},
		{"read.p50 < 250us", ScopeOp, "read", []string{"latency_ms", "p50"}, UnitMs, 0.25},
		{"read.p50 < 2", ScopeOp, "read", []string{"latency_ms", "p50"}, UnitMs, 2.0},
		{"update.service.p99 < 1m", ScopeOp, "write", []string{"service_ms", "p99"}, UnitMs, 60000.0},
		{"availability(partition) >= 0.99", ScopePhase, "", []string{"availability"}, UnitRatio, 0.99},
		{"read.availability >= 99.5%", ScopeOp, "read", []string{"availability"}, UnitRatio, 0.995},
		{"stale_ratio(baseline) < 0.01", ScopePhase, "", []string{"ops", "read", "staleness", "stale_ratio"}, UnitRatio, 0.01},
		{"read.stale_ratio < 0.01", ScopeOp, "read", []string{"staleness", "stale_ratio"}, UnitRatio, 0.01},
		{"read.staleness.ms.p99 < 50ms", ScopeOp, "read", []string{"staleness", "ms", "p99"}, UnitMs, 50.0},
		{"read.staleness.versions.max <= 3", ScopeOp, "read", []string{"staleness", "versions", "max"}, UnitCount, 3.0},
		{"linearizable == true", ScopePhase, "", []string{"linearizable"}, UnitBool, true},
		{"session.ryw_violations == 0", ScopePhase, "", []string{"session", "ryw_violations"}, UnitCount, 0.0},
		{"kept_up == true", ScopeScenario, "", []string{"load", "kept_up"}, UnitBool, true},
		{"serializable: pacelc.else == EL", ScopeScenario, "", []string{"pacelc", "else"}, UnitVerdict, "EL"},
		{"read.errors.timeout <= 10", ScopeOp, "read", []string{"errors", "timeout"}, UnitCount, 10.0},
		{"read.throughput > 100", ScopeOp, "read", []string{"throughput_ops"}, UnitRate, 100.0},
		{"consistent_after(healed) < 50ms", ScopePhase, "", []string{"consistent_after_ms"}, UnitMs, 50.0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			th, err := cat.Compile(tc.in, "test", testNames)
			if err != nil {
				t.Fatal(err)
			}
			m := th.Metric
			if m.Scope != tc.scope || m.Op != tc.op || !reflect.DeepEqual(m.Path, tc.path) || m.Unit != tc.unit {
				t.Errorf("metric %+v, want scope %d op %q path %v unit %s", m, tc.scope, tc.op, tc.path, tc.unit)
			}
			if f, ok := tc.limit.(float64); ok {
				if g, _ := th.Limit.(float64); g < f*(1-1e-12) || g > f*(1+1e-12) {
					t.Errorf("limit %v, want %v", th.Limit, tc.limit)
				}
			} else if th.Limit != tc.limit {
				t.Errorf("limit %v, want %v", th.Limit, tc.limit)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	cat := Builtin()
	for _, tc := range []struct {
		in, want string
		col      int
	}{
		{"raed.p99 < 20ms", `unknown metric "raed.p99"`, 1},
		{"read.p98 < 20ms", `read has no metric "p98"`, 1},
		{"p99 < 20ms", "p99 is per op kind: write read.p99", 1},
		{"write.staleness.stale_ratio < 0.1", "measured for read only", 1},
		{"read.p99 < 20%", "is a duration", 12},
		{"read.p99 < true", "is a number (ms), not true", 12},
		{"availability >= 99", "did you mean 99%?", 17},
		{"availability >= 2ms", "is a fraction: write 0.99 or 99%", 17},
		{"availability >= -0.1", "outside it", 17},
		{"linearizable == 1", "is true or false, not 1", 17},
		{"linearizable < true", "compare it with == or !=", 14},
		{"pacelc.partition == PX", "is one of PA, PC, not PX", 21},
		{"kept_up(baseline) == true", "takes no phases", 8},
		{"read.count > 5ms", "a plain number, without a unit", 14},
		{"read.p99 < 1e999", "out of range", 12},
		{"cassandra: read.p99 < 1", "no scenario cassandra (scenarios: linearizable, serializable)", 1},
		{"read.p99(baseline, parttion) < 1", `no phase parttion (phases: baseline, latency, partition, healed)`, 20},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			_, err := cat.Compile(tc.in, "test", testNames)
			wantError(t, "Compile", tc.in, err, tc.col, tc.want)
		})
	}
}

func TestCatalogNames(t *testing.T) {
	t.Parallel()
	names := Builtin().Names()
	for _, want := range []string{"<op>.p99", "<op>.service.p999", "availability", "<op>.availability", "linearizable",
		"kept_up", "pacelc.partition", "stale_ratio", "read.stale_ratio", "read.staleness.ms.p99", "session.ryw_violations",
		"<op>.errors.timeout"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("Names() lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if strings.Contains(n, "visibility") {
			t.Errorf("Names() has a bucket list: %s", n)
		}
	}
}
