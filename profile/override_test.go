package profile_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/profile"
)

// base is a valid profile the override tests start from (line numbers
// matter: messages about the file's own values point at them).
const base = `system: {driver: cassandra, endpoints: [127.0.0.1:9042]}
workload: {records: 100, value_size: 64, mix: {read: 0.5, write: 0.5}, distribution: uniform}
load: {model: open, rate: 500, workers: 4}
levels:
  - {name: one, read: ONE, write: ONE}
  - {name: quorum, read: QUORUM, write: QUORUM}
phases:
  - {name: baseline, duration: 10s}
  - {name: healed, duration: 10s}
`

func mustOverrides(t *testing.T, specs ...string) []profile.Override {
	t.Helper()
	var out []profile.Override
	for _, s := range specs {
		ov, err := profile.ParseOverride(s)
		if err != nil {
			t.Fatalf("ParseOverride(%q): %v", s, err)
		}
		out = append(out, ov)
	}
	return out
}

// TestOverridesApply: each kind of path sets what it names, with the
// value's type taken from the field.
func TestOverridesApply(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		set  []string
		yml  string // profile (default base)
		want func(p *profile.Profile) bool
	}{
		{"number", []string{"load.rate=2000"}, "", func(p *profile.Profile) bool { return p.Load.Rate == 2000 }},
		{"nested int", []string{"workload.records=100000"}, "", func(p *profile.Profile) bool { return p.Workload.Records == 100000 }},
		{"list split at commas", []string{"system.endpoints=a:1, b:2"}, "",
			func(p *profile.Profile) bool { return reflect.DeepEqual(p.System.Endpoints, []string{"a:1", "b:2"}) }},
		{"level by index", []string{"levels[0].read=QUORUM"}, "",
			func(p *profile.Profile) bool {
				return p.Levels[0].Levels["read"] == "QUORUM" && p.Levels[1].Name == "quorum"
			}},
		{"duration by index", []string{"phases[1].duration=5s"}, "",
			func(p *profile.Profile) bool {
				return p.Phases[1].Duration.D() == 5*time.Second && p.Phases[0].Duration.D() == 10*time.Second
			}},
		{"append an item", []string{"phases[2].name=extra", "phases[2].duration=1s"}, "",
			func(p *profile.Profile) bool { return len(p.Phases) == 3 && p.Phases[2].Name == "extra" }},
		{"absent section is created", []string{"checks.ring_size=32"}, "",
			func(p *profile.Profile) bool { return p.Checks.RingSize == 32 }},
		{"map key", []string{"system.options.pool_size=2"}, "",
			func(p *profile.Profile) bool { return p.System.Options["pool_size"] == "2" }},
		{"flow mapping", []string{"load={model: closed, workers: 3}"}, "",
			func(p *profile.Profile) bool {
				return p.Load.Model == "closed" && p.Load.Workers == 3 && p.Load.Rate == 0
			}},
		{"flow list", []string{"phases=[{name: only, duration: 2s}]"}, "",
			func(p *profile.Profile) bool { return len(p.Phases) == 1 && p.Phases[0].Name == "only" }},
		{"later wins", []string{"load.rate=1", "load.rate=7"}, "", func(p *profile.Profile) bool { return p.Load.Rate == 7 }},
		{"empty list", []string{"checks.probes="}, "", func(p *profile.Profile) bool { return len(p.Checks.Probes) == 0 }},
		{"an alias is copied, its anchor kept", []string{"phases[1].duration=3s", "phases[1].name=healed"},
			strings.Replace(base, "  - {name: baseline, duration: 10s}\n  - {name: healed, duration: 10s}",
				"  - &p {name: baseline, duration: 10s}\n  - *p", 1),
			func(p *profile.Profile) bool {
				return len(p.Phases) == 2 && p.Phases[0].Duration.D() == 10*time.Second && p.Phases[1].Duration.D() == 3*time.Second
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yml := base
			if tc.yml != "" {
				yml = tc.yml
			}
			p, err := profile.Parse("x.yaml", []byte(yml), profile.Options{Registry: fakeRegistry(), Set: mustOverrides(t, tc.set...)})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tc.want(p) {
				t.Errorf("profile after %v: %+v", tc.set, p)
			}
			if len(p.Overrides) != len(tc.set) {
				t.Errorf("recorded overrides %q, want %q", p.Overrides, tc.set)
			}
		})
	}
}

// TestOverrideErrors: every way an override can be wrong is an error that
// names the override and the path.
func TestOverrideErrors(t *testing.T) {
	t.Parallel()
	syntax := []struct{ in, want string }{
		{"load.rate", `want PATH=VALUE`},
		{"=5", `path "": empty`},
		{strings.Repeat("a", profile.MaxPathLen+1) + "=1", `at most 512`},
		{"levels[0=1", `unclosed [`},
		{"levels[x]=1", `index [x] is not a list index`},
		{"levels[-1]=1", `index [-1]`},
		{"levels[01]=1", `index [01]`},
		{"levels[+1]=1", `index [+1]`},
		{"levels[]=1", `index []`},
		{"levels[1000000]=1", `index [1000000]`},
		{"[0]=1", `starts with an index`},
		{".load=1", `starts with '.'`},
		{"load.=1", `ends with '.'`},
		{"load..rate=1", `character '.' at byte 5`},
		{"load.ra te=1", `want '.' or '[' after "load.ra"`},
		{"levels[0]read=1", `want '.' or '[' after "levels[0]"`},
		{"load.rate=" + strings.Repeat("9", profile.MaxSize+1), `value of`},
	}
	for _, tc := range syntax {
		t.Run("syntax "+tc.in[:min(len(tc.in), 20)], func(t *testing.T) {
			t.Parallel()
			_, err := profile.ParseOverride(tc.in)
			if !errors.Is(err, profile.ErrBadOverride) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseOverride(%q) = %v, want ErrBadOverride containing %q", tc.in, err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		set  []string
		yml  string
		want string // the whole problem line
	}{
		{"unknown top key", []string{"lod.rate=1"}, "", `x.yaml: override -p lod.rate=1: lod.rate: unknown path: the profile has no key "lod" (did you mean "load"?)`},
		{"unknown nested key", []string{"load.rat=1"}, "", `x.yaml: override -p load.rat=1: load.rat: unknown path: load has no key "rat" (did you mean "rate"?)`},
		{"unknown key, no suggestion", []string{"load.zzzzzzzz=1"}, "", `load has no key "zzzzzzzz" (known: arrivals, max_workers, model, options, rate, think_time, workers)`},
		{"key of a scalar", []string{"load.rate.x=1"}, "", `override -p load.rate.x=1: load.rate.x: unknown path: load.rate is a single value (it has no key "x")`},
		{"key of a duration", []string{"phases[0].duration.s=1"}, "", `phases[0].duration is a single value`},
		{"index of a mapping", []string{"load[0]=1"}, "", `override -p load[0]=1: load[0]: unknown path: load is not a list`},
		{"index out of range", []string{"levels[5].read=ONE"}, "", `override -p levels[5].read=ONE: levels[5].read: index out of range: levels has 2 items (an index up to 2 sets or appends one)`},
		{"not a list in the file", []string{"levels[0].read=ONE"}, strings.Replace(base, "levels:\n", "levels: nope\nx:\n", 1),
			`levels is "nope" in the file, not a list`},
		{"not a mapping in the file", []string{"load.rate=1"}, strings.Replace(base, "load: {model: open, rate: 500, workers: 4}", "load: [1]", 1),
			`override -p load.rate=1: load.rate: cannot set: load is a list in the file, not a mapping`},
		{"bad flow YAML", []string{"load={model: open"}, "", `override -p load={model: open: load: value is not YAML flow syntax`},
		{"bad value type", []string{"load.rate=abc"}, "", `x.yaml: override -p load.rate=abc: load.rate: want a number, got "abc"`},
		{"value out of bounds", []string{"load.rate=1e9"}, "", `x.yaml: override -p load.rate=1e9: load.rate: at most 1e+08 ops/s per scenario, got 1e+09`},
		{"bad level", []string{"levels[1].read=TWELVE"}, "", `x.yaml:6:5: levels[1]: cassandra: invalid level: read "TWELVE" (want ONE, TWO, THREE, QUORUM, ALL, LOCAL_ONE, LOCAL_QUORUM, EACH_QUORUM, SERIAL, LOCAL_SERIAL) (with override -p levels[1].read=TWELVE)`},
		{"bad duration", []string{"phases[1].duration=soon"}, "", `override -p phases[1].duration=soon: phases[1].duration: invalid duration "soon"`},
		{"key only another model reads", []string{"load.model=closed"}, "", `x.yaml:3:21: load.rate: only applies to model: open, stages (not to closed)`},
		{"problem inside a flow value", []string{"load={model: open, workers: 0, rate: 5}"}, "", `override -p load={model: open, workers: 0, rate: 5}: load.workers: must be ≥ 1, got 0`},
		{"duplicate name names the override", []string{"phases[1].name=baseline"}, "", `phases[1].name: duplicate phase name "baseline" (first at line 8)`},
		{"missing field in an appended item", []string{"phases[2].name=x"}, "", `override -p phases[2].name=x: phases[2]: duration required`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yml := base
			if tc.yml != "" {
				yml = tc.yml
			}
			_, err := profile.Parse("x.yaml", []byte(yml), profile.Options{Registry: fakeRegistry(), Set: mustOverrides(t, tc.set...)})
			if !errors.Is(err, profile.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse with %v:\n%v\nwant ErrInvalid containing:\n%s", tc.set, err, tc.want)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		t.Parallel()
		ovs := make([]profile.Override, profile.MaxOverrides+1)
		for i := range ovs {
			ovs[i] = profile.Override{Path: "load.rate", Value: "1"}
		}
		_, err := profile.Parse("x.yaml", []byte(base), profile.Options{Set: ovs})
		if err == nil || !strings.Contains(err.Error(), "257 overrides, at most 256") {
			t.Errorf("Parse with 257 overrides: %v", err)
		}
	})
	t.Run("problems carry the override", func(t *testing.T) {
		t.Parallel()
		_, err := profile.Parse("x.yaml", []byte(base), profile.Options{Set: []profile.Override{{Path: "load.rate", Value: "x", Source: "--sweep load.rate=x"}}})
		var probs profile.Problems
		if !errors.As(err, &probs) || len(probs) != 1 || probs[0].Override != "--sweep load.rate=x" || probs[0].Line != 0 {
			t.Errorf("problems %+v, want one naming --sweep load.rate=x without a line", probs)
		}
	})
}

// TestEnvExpansion: ${NAME} and ${NAME:-default} in values, $$ escapes,
// and every failure at its file:line.
func TestEnvExpansion(t *testing.T) {
	t.Parallel()
	env := map[string]string{"RATE": "2000", "EMPTY": "", "HOST": "10.0.0.1", "NAME": "run-a"}
	// load in block style: line 3 load:, line 4 model, line 5 rate (value at column 9)
	base := strings.Replace(base, "load: {model: open, rate: 500, workers: 4}", "load:\n  model: open\n  rate: 500\n  workers: 4", 1)
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		name, old, new string
		want           func(p *profile.Profile) bool
		used           map[string]string
	}{
		{"number from the environment", "rate: 500", "rate: ${RATE}", func(p *profile.Profile) bool { return p.Load.Rate == 2000 },
			map[string]string{"RATE": profile.EnvFromEnvironment}},
		{"default when unset", "rate: 500", "rate: ${UNSET:-750}", func(p *profile.Profile) bool { return p.Load.Rate == 750 },
			map[string]string{"UNSET": profile.EnvFromDefault}},
		{"default when empty", "rate: 500", "rate: ${EMPTY:-751}", func(p *profile.Profile) bool { return p.Load.Rate == 751 },
			map[string]string{"EMPTY": profile.EnvFromDefault}},
		{"two in one value", "name: one,", "name: '${NAME}-${UNSET:-x}',", func(p *profile.Profile) bool { return p.Levels[0].Name == "run-a-x" }, nil},
		{"$$ is a literal $", "name: one,", "name: 'a$${NAME}$$',", func(p *profile.Profile) bool { return p.Levels[0].Name == "a${NAME}$" }, nil},
		{"lone $ stays", "name: one,", "name: $a$,", func(p *profile.Profile) bool { return p.Levels[0].Name == "$a$" }, nil},
		{"quoted in flow syntax", "name: one,", `name: "${RATE}",`, func(p *profile.Profile) bool { return p.Levels[0].Name == "2000" }, nil},
		{"quoted number in flow syntax", "  rate: 500", `  rate: "${RATE}"`, func(p *profile.Profile) bool { return p.Load.Rate == 2000 }, nil},
		{"in flow syntax", "[127.0.0.1:9042]", `["${HOST}:1"]`, func(p *profile.Profile) bool { return p.System.Endpoints[0] == "10.0.0.1:1" }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			yml := strings.Replace(base, tc.old, tc.new, 1)
			p, err := profile.Parse("x.yaml", []byte(yml), profile.Options{Registry: fakeRegistry(), LookupEnv: lookup})
			if err != nil {
				t.Fatalf("Parse:\n%s\n%v", yml, err)
			}
			if !tc.want(p) {
				t.Errorf("profile: %+v", p)
			}
			if tc.used != nil && !reflect.DeepEqual(p.Env, tc.used) {
				t.Errorf("recorded env %v, want %v", p.Env, tc.used)
			}
		})
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unset", "rate: 500", "rate: ${UNSET}", `x.yaml:5:9: load.rate: ${UNSET}: environment variable UNSET is not set (give a default: ${UNSET:-value})`},
		{"unset without a lookup", "rate: 500", "rate: ${RATE}", `x.yaml:5:9: load.rate: ${RATE}: environment variable RATE is not set`},
		{"unterminated", "rate: 500", "rate: ${RATE", `x.yaml:5:9: load.rate: unterminated ${ at byte 0`},
		{"bad name", "rate: 500", "rate: ${1X}", `x.yaml:5:9: load.rate: ${1X}: "1X" is not a variable name`},
		{"empty name", "rate: 500", "rate: ${:-5}", `load.rate: ${:-5}: "" is not a variable name`},
		{"number check after expansion", "rate: 500", "rate: ${HOST}", `x.yaml:5:9: load.rate: want a number, got "10.0.0.1"`},
		{"in a list", "[127.0.0.1:9042]", "[a, '${NOPE}']", `x.yaml:1:44: system.endpoints[1]: ${NOPE}: environment variable NOPE is not set`},
	} {
		t.Run("error "+tc.name, func(t *testing.T) {
			t.Parallel()
			yml := strings.Replace(base, tc.old, tc.new, 1)
			o := profile.Options{Registry: fakeRegistry(), LookupEnv: lookup}
			if tc.name == "unset without a lookup" {
				o.LookupEnv = nil
			}
			_, err := profile.Parse("x.yaml", []byte(yml), o)
			if !errors.Is(err, profile.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse:\n%v\nwant ErrInvalid containing\n%s", err, tc.want)
			}
		})
	}
	t.Run("overrides are not expanded", func(t *testing.T) {
		t.Parallel()
		p, err := profile.Parse("x.yaml", []byte(base), profile.Options{LookupEnv: lookup, Set: mustOverrides(t, "levels[0].name=${RATE}")})
		if err != nil {
			t.Fatal(err)
		}
		if p.Levels[0].Name != "${RATE}" {
			t.Errorf("override value expanded to %q; the shell expands the command line", p.Levels[0].Name)
		}
	})
}

// FuzzOverride: ParseOverride never panics, and a path it accepts renders
// back to itself and applies to any profile without panicking.
func FuzzOverride(f *testing.F) {
	for _, s := range []string{"load.rate=1", "levels[0].read=ONE", "system.endpoints=a,b", "phases[1].duration=5s",
		"load={model: open}", "a[0][1].b=", "x=[", "levels[2].name=x", "[", "a.[0]=1", "load.rate=${X}"} {
		f.Add(s, base)
	}
	f.Fuzz(func(t *testing.T, s, yml string) {
		ov, err := profile.ParseOverride(s)
		if err != nil {
			if !errors.Is(err, profile.ErrBadOverride) {
				t.Fatalf("ParseOverride(%q): %v, not ErrBadOverride", s, err)
			}
			return
		}
		if ov.Path+"="+ov.Value != s {
			t.Fatalf("ParseOverride(%q) = %+v", s, ov)
		}
		_, err = profile.Parse("f.yaml", []byte(yml), profile.Options{Set: []profile.Override{ov}})
		var probs profile.Problems
		if err != nil && !errors.As(err, &probs) {
			t.Fatalf("Parse error %T %v", err, err)
		}
	})
}

// TestYAMLRoundTrip: the profile validate -p prints parses back to the
// same profile, for every shipped profile.
func TestYAMLRoundTrip(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob(filepath.Join("..", "profiles", "*.yaml"))
	for _, file := range append(files, filepath.Join("testdata", "good", "full.yaml")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			p, err := profile.Load(file, profile.Options{LookupEnv: func(string) (string, bool) { return "", false }})
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back, err := profile.Parse(file, b, profile.Options{})
			if err != nil {
				t.Fatalf("printed profile does not parse:\n%s\n%v", b, err)
			}
			clearLines(p)
			clearLines(back)
			if !reflect.DeepEqual(exported(p), exported(back)) {
				t.Errorf("round trip differs:\n%+v\n%+v\n%s", p, back, b)
			}
		})
	}
}

// clearLines zeroes the source lines (not part of the profile's meaning).
// exported is the profile's exported fields (what YAML and JSON carry),
// without what Parse keeps for itself (the registries it checked against).
func exported(p *profile.Profile) map[string]any {
	v := reflect.ValueOf(p).Elem()
	out := map[string]any{}
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.IsExported() {
			out[f.Name] = v.Field(i).Interface()
		}
	}
	return out
}

func clearLines(p *profile.Profile) {
	for i := range p.Levels {
		p.Levels[i].Line = 0
	}
	for i := range p.Phases {
		p.Phases[i].Line = 0
		for j := range p.Phases[i].Impairments {
			p.Phases[i].Impairments[j].Line = 0
		}
		if f := p.Phases[i].Faults; f != nil {
			for j := range f.From {
				f.From[j].Line = 0
			}
		}
	}
}
