package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/internal/report"
)

// TestOverridesCLI: -p on run and validate. Bad overrides are usage errors
// (exit 2) naming the path, found before anything starts; validate -p
// prints the profile after them; a run records them, the variables its
// ${…} expanded and the profile as run in manifest.json.
func TestOverridesCLI(t *testing.T) {
	t.Parallel()
	prof := filepath.Join(t.TempDir(), "env.yaml")
	yml := `
name: env
system: {driver: fake, endpoints: ["fake://1"]}
workload: {records: 20, value_size: 64, mix: {read: 0.7, write: 0.3}, distribution: uniform}
load:
  model: closed
  workers: ${WORKERS:-2}
levels: [{name: a, read: stale}, {name: b, read: fresh}]
phases: [{name: p1, duration: 300ms}]
`
	if err := os.WriteFile(prof, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		out     []string // on stdout
		errText []string // on stderr
	}{
		{"validate prints the profile after overrides", []string{"validate", "-p", "load.workers=3", "-p", "phases[0].duration=2s", prof}, 0,
			[]string{"env.yaml: ok — fake, 2 scenarios × 1 phases (2s)", "after load.workers=3 phases[0].duration=2s", "    workers: 3", "      duration: 2s"}, nil},
		{"validate without -p prints no profile", []string{"validate", prof}, 0, []string{"ok — fake"}, nil},
		{"validate notes a pool too small for rate × op_timeout", []string{"validate", "-p", "load.model=open", "-p", "load.rate=100", prof}, 0,
			[]string{"note: load: at most 2 workers for 100 ops/s", "keep rate × timeout = 200 busy", "set load.max_workers ≥ 200"}, nil},
		{"unknown path", []string{"validate", "-p", "load.wrkers=3", prof}, 2,
			[]string{`env.yaml: override -p load.wrkers=3: load.wrkers: unknown path: load has no key "wrkers" (did you mean "workers"?)`}, nil},
		{"bad value", []string{"validate", "-p", "load.workers=many", prof}, 2,
			[]string{`override -p load.workers=many: load.workers: want an integer, got "many"`}, nil},
		{"malformed", []string{"validate", "-p", "load.workers", prof}, 2, nil, []string{`-p: bad override "load.workers": want PATH=VALUE`}},
		{"run: unknown path before anything starts", []string{"run", "--profile", prof, "-p", "levels[7].read=x", "--out", "OUT", "--metrics-addr", "off"}, 2,
			nil, []string{"override -p levels[7].read=x: levels[7].read: index out of range: levels has 2 items"}},
		{"run: malformed", []string{"run", "--profile", prof, "-p", "=x", "--out", "OUT"}, 2, nil, []string{`path "": empty`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := t.TempDir()
			args := append([]string(nil), tc.args...)
			for i := range args {
				if args[i] == "OUT" {
					args[i] = out
				}
			}
			code, stdout, stderr := invokeEnv(t, fakeEnv(context.Background(), nil), args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.out {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.errText {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if entries, _ := os.ReadDir(out); code == 2 && len(entries) != 0 {
				t.Errorf("a usage error wrote %v", entries)
			}
		})
	}
	t.Run("run records overrides and env", func(t *testing.T) {
		t.Parallel()
		out := t.TempDir()
		env := fakeEnv(context.Background(), nil)
		env.LookupEnv = func(k string) (string, bool) {
			if k == "WORKERS" {
				return "3", true
			}
			return "", false
		}
		code, _, stderr := invokeEnv(t, env, "run", "--profile", prof, "-p", "phases[0].duration=200ms", "-p", "levels[1].read=stale",
			"--out", out, "--run-id", "r", "--metrics-addr", "off", "--quiet")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		b, err := os.ReadFile(filepath.Join(out, "r", "manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		var man report.Manifest
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		if want := []string{"phases[0].duration=200ms", "levels[1].read=stale"}; !reflect.DeepEqual(man.Overrides, want) {
			t.Errorf("manifest overrides %q, want %q", man.Overrides, want)
		}
		if want := map[string]string{"WORKERS": "environment"}; !reflect.DeepEqual(man.Env, want) {
			t.Errorf("manifest env %v, want %v", man.Env, want)
		}
		p := man.Profile
		if p.Load.Workers != 3 || p.Phases[0].Duration.D().String() != "200ms" || p.Levels[1].Levels["read"] != "stale" {
			t.Errorf("profile as run: workers %d, phase %s, levels %v", p.Load.Workers, p.Phases[0].Duration, p.Levels)
		}
	})
}
