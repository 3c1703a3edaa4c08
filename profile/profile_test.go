package profile_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/profile"
	"github.com/pacbench/pacbench/profiles"
)

var update = flag.Bool("update", false, "rewrite testdata/bad/*.golden from the current output")

// TestBadProfiles checks the exact problems reported for each bad profile
// against its golden file (go test ./profile -run TestBadProfiles -update
// rewrites them; review the diff).
func TestBadProfiles(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "bad", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad profiles: %v", err)
	}
	reg := fakeRegistry()
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			p, err := profile.Load(file, profile.Options{Registry: reg})
			if err == nil {
				t.Fatalf("Load accepted a bad profile: %+v", p)
			}
			if p != nil {
				t.Errorf("Load returned a profile with an error")
			}
			if !errors.Is(err, profile.ErrInvalid) {
				t.Errorf("error does not unwrap to ErrInvalid: %v", err)
			}
			var probs profile.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error is %T, want profile.Problems", err)
			}
			for _, pr := range probs {
				if pr.File != file || pr.Line < 1 {
					t.Errorf("problem without file:line: %+v", pr)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems differ from %s (-update to accept)\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestGoodProfiles parses every shipped profile (whatever profiles/*.yaml
// exist when the test runs) and the good test profiles, and plans them.
func TestGoodProfiles(t *testing.T) {
	t.Parallel()
	shipped, err := filepath.Glob(filepath.Join("..", "profiles", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	local, err := filepath.Glob(filepath.Join("testdata", "good", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := append(shipped, local...)
	if len(shipped) < 2 || len(local) == 0 {
		t.Fatalf("want the shipped and good test profiles, found %v", files)
	}
	reg := fakeRegistry()
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			p, err := profile.Load(file, profile.Options{Registry: reg})
			if err != nil {
				t.Fatalf("valid profile rejected:\n%v", err)
			}
			pl, err := p.Plan(profile.Overrides{})
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if len(pl.Scenarios) != len(p.Levels) || len(pl.Phases) != len(p.Phases) {
				t.Errorf("plan has %d scenarios and %d phases, profile %d and %d",
					len(pl.Scenarios), len(pl.Phases), len(p.Levels), len(p.Phases))
			}
		})
	}
}

// TestEmbedded checks that the embedded quickstart is the shipped file and
// that every embedded profile is one of the files on disk.
func TestEmbedded(t *testing.T) {
	t.Parallel()
	disk, err := os.ReadFile(filepath.Join("..", "profiles", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(profiles.Quickstart(), disk) {
		t.Error("profiles.Quickstart() differs from profiles/quickstart.yaml")
	}
	entries, err := profiles.FS.ReadDir(".")
	if err != nil || len(entries) < 2 {
		t.Fatalf("embedded profiles: %v, %v", entries, err)
	}
}

// TestQuickstart pins the built-in default: what `pacbench run` does with
// no profile.
func TestQuickstart(t *testing.T) {
	t.Parallel()
	p, err := profile.Parse("quickstart.yaml", profiles.Quickstart(), profile.Options{Registry: fakeRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	pl, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := []profile.Scenario{
		{Name: "linearizable", Levels: drivers.Levels{"read": "linearizable", "write": ""}},
		{Name: "serializable", Levels: drivers.Levels{"read": "serializable", "write": ""}},
	}
	if !reflect.DeepEqual(pl.Scenarios, want) {
		t.Errorf("scenarios = %+v, want %+v", pl.Scenarios, want)
	}
	var names []string
	for _, ph := range pl.Phases {
		names = append(names, ph.Name+"/"+ph.Duration.String())
	}
	if got := strings.Join(names, " "); got != "baseline/10s latency/10s partition/10s healed/10s" {
		t.Errorf("phases = %s", got)
	}
	lat := pl.Phases[1].Impairments
	if len(lat) != 1 || lat[0].Kind != "latency" || lat[0].Target != "leader" || lat[0].Links != "peer_out" ||
		lat[0].Delay.D() != 40*time.Millisecond || lat[0].Jitter.D() != 5*time.Millisecond || lat[0].Line != 16 {
		t.Errorf("latency phase impairments = %+v", lat)
	}
	if pl.Mode != profile.ModeSideBySide || pl.Seed != 1 || p.System.OpTimeout.D() != time.Second ||
		p.System.Members != 3 || !reflect.DeepEqual(p.Routes, profile.Routes{Read: "follower", Write: "leader"}) {
		t.Errorf("plan = %+v, system = %+v", pl, p.System)
	}
	if pl.Workload.Records != 100 || pl.Workload.ValueSize != 128 || pl.Workload.Distribution != "zipfian" {
		t.Errorf("workload = %+v", pl.Workload)
	}
}

const minimal = `
system: {driver: etcd, cluster: local}
workload: {preset: c}
levels:
  - {read: linearizable}
  - {read: serializable, write: default}
  - {name: named, read: serializable}
phases:
  - {duration: 5s}
  - {name: second, duration: 1m}
`

func TestDefaults(t *testing.T) {
	t.Parallel()
	p, err := profile.Parse("dir/my-profile.yaml", []byte(minimal), profile.Options{Registry: fakeRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"name from file", p.Name, "my-profile"},
		{"seed", p.Seed, int64(1)},
		{"mode", p.Mode, "side_by_side"},
		{"model", p.Load.Model, "closed"},
		{"workers", p.Load.Workers, 8},
		{"arrivals unset in closed loop", p.Load.Arrivals, ""},
		{"routes", p.Routes, profile.Routes{Read: "any", Write: "any"}},
		{"op timeout", p.System.OpTimeout.D(), 2 * time.Second},
		{"local members", p.System.Members, 3},
		{"impairer", p.System.Impairer.Kind, "toxiproxy"},
		{"scenario name from one value", p.Levels[0].Name, "linearizable"},
		{"scenario name from values in source order", p.Levels[1].Name, "serializable/default"},
		{"explicit scenario name", p.Levels[2].Name, "named"},
		{"phase name", p.Phases[0].Name, "phase1"},
		{"level line", p.Levels[1].Line, 6},
		{"phase line", p.Phases[1].Line, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}
	open, err := profile.Parse("o.yaml", []byte(minimal+"load: {model: open, rate: 100}\n"), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if open.Load.Arrivals != "uniform" {
		t.Errorf("open-loop arrivals default = %q, want uniform", open.Load.Arrivals)
	}
	imp, err := profile.Parse("i.yaml", []byte(minimal+`  - name: faults
    duration: 1s
    impairments:
      - {kind: reset, target: m1}
      - {kind: partition, target: m2}
`), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := imp.Phases[2].Impairments; got[0].Links != "all" || got[1].Links != "" {
		t.Errorf("links defaults: reset %q (want all), partition %q (want none)", got[0].Links, got[1].Links)
	}
}

func TestPlan(t *testing.T) {
	t.Parallel()
	base, err := profile.Parse("p.yaml", []byte(minimal+"seed: 7\nmode: sequential\n"), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		o         profile.Overrides
		durations []time.Duration
		seed      int64
	}{
		{"no overrides", profile.Overrides{}, []time.Duration{5 * time.Second, time.Minute}, 7},
		{"duration override", profile.Overrides{Duration: 2 * time.Second}, []time.Duration{2 * time.Second, 2 * time.Second}, 7},
		{"seed override", profile.Overrides{Seed: 42}, []time.Duration{5 * time.Second, time.Minute}, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pl, err := base.Plan(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			var durs []time.Duration
			for _, ph := range pl.Phases {
				durs = append(durs, ph.Duration.D())
			}
			if !reflect.DeepEqual(durs, tt.durations) {
				t.Errorf("phase durations = %v, want %v", durs, tt.durations)
			}
			if pl.Seed != tt.seed || pl.Profile.Seed != tt.seed {
				t.Errorf("seed = %d (profile as run %d), want %d", pl.Seed, pl.Profile.Seed, tt.seed)
			}
			var names []string
			for _, s := range pl.Scenarios {
				names = append(names, s.Name)
			}
			if got := strings.Join(names, ","); got != "linearizable,serializable/default,named" {
				t.Errorf("scenarios in order = %s", got)
			}
			if pl.Mode != profile.ModeSequential {
				t.Errorf("mode = %q", pl.Mode)
			}
			wantTotal := 3 * (tt.durations[0] + tt.durations[1])
			if pl.Duration() != wantTotal {
				t.Errorf("Duration() = %s, want %s (sequential: phases × scenarios)", pl.Duration(), wantTotal)
			}
			if !reflect.DeepEqual(pl.Phases, pl.Profile.Phases) {
				t.Errorf("plan phases and profile-as-run phases differ")
			}
		})
	}
	// The parsed profile is never modified by planning.
	if base.Seed != 7 || base.Phases[0].Duration.D() != 5*time.Second {
		t.Errorf("Plan modified its profile: seed %d, duration %s", base.Seed, base.Phases[0].Duration)
	}
	pl, err := base.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	pl.Scenarios[0].Levels["read"] = "changed"
	if base.Levels[0].Levels["read"] != "linearizable" {
		t.Error("plan levels alias the profile's map")
	}
	if _, err := base.Plan(profile.Overrides{Duration: -time.Second}); err == nil {
		t.Error("negative duration override accepted")
	}
}

// TestPlanCodeProfile plans a profile built in code: defaults are applied,
// and problems come back without lines.
func TestPlanCodeProfile(t *testing.T) {
	t.Parallel()
	p := &profile.Profile{
		System:   profile.System{Driver: "etcd", Cluster: "local"},
		Workload: profile.Workload{Preset: "a"},
		Levels:   []profile.LevelSet{{Levels: map[string]string{"write": "default", "read": "serializable"}}},
		Phases:   []profile.Phase{{Name: "only", Duration: profile.Duration(time.Second)}},
	}
	pl, err := p.Plan(profile.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Scenarios[0].Name != "serializable/default" || pl.Profile.Load.Workers != 8 || pl.Profile.System.Members != 3 {
		t.Errorf("plan = %+v; profile as run = %+v", pl.Scenarios, pl.Profile)
	}
	if p.Load.Workers != 0 {
		t.Error("Plan applied defaults to its receiver")
	}
	p.Phases[0].Duration = 0
	_, err = p.Plan(profile.Overrides{})
	if !errors.Is(err, profile.ErrInvalid) || !strings.Contains(err.Error(), "phases[0]: duration required") {
		t.Errorf("Plan of an invalid profile: %v", err)
	}
}

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"250ms", 250 * time.Millisecond, false},
		{"1m30s", 90 * time.Second, false},
		{"0", 0, false},
		{"10 seconds", 0, true},
		{"10", 0, true},
		{"[1]", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			var d profile.Duration
			err := yaml.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr || d.D() != tt.want {
				t.Fatalf("yaml %q → %s, %v", tt.in, d, err)
			}
			if tt.wantErr {
				return
			}
			j, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			var back profile.Duration
			if err := json.Unmarshal(j, &back); err != nil || back != d {
				t.Errorf("JSON round trip %s → %s → %s, %v", d, j, back, err)
			}
			y, err := yaml.Marshal(d)
			if err != nil || strings.TrimSpace(string(y)) != tt.want.String() {
				t.Errorf("yaml.Marshal = %q, %v", y, err)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	t.Parallel()
	ps := profile.Problems{
		{File: "f.yaml", Line: 9, Col: 3, Msg: "late"},
		{File: "f.yaml", Line: 2, Col: 5, Msg: "early"},
		{Msg: "no place"},
		{File: "f.yaml", Line: 2, Col: 1, Msg: "earliest on line"},
	}
	want := "no place\nf.yaml:2:1: earliest on line\nf.yaml:2:5: early\nf.yaml:9:3: late"
	if got := ps.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	if ps[0].Msg != "late" {
		t.Error("Error() reordered the receiver")
	}
	var err error = ps
	if !errors.Is(err, profile.ErrInvalid) {
		t.Error("Problems does not unwrap to ErrInvalid")
	}
	if got := (profile.Problem{File: "f", Line: 3, Msg: "m"}).String(); got != "f:3: m" {
		t.Errorf("String without column = %q", got)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := profile.Load(filepath.Join(t.TempDir(), "absent.yaml"), profile.Options{})
	if err == nil || errors.Is(err, profile.ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file: %v (want a wrapped not-exist error, not ErrInvalid)", err)
	}
}

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, failures
// must be Problems with positions, and whatever it accepts must plan.
func FuzzParse(f *testing.F) {
	for _, glob := range []string{"testdata/*/*.yaml", "../profiles/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("phases: [{impairments: [{kind: partition, members: [m1, m1]}]}]"))
	f.Add([]byte("system: {driver: etcd, cluster: local}\nworkload: {preset: a}\nload: {model: open, rate: 1e8, workers: 4096}\n" +
		"levels: [{read: linearizable}]\nphases: [{name: a, duration: 24h}]\nchecks: {ring_size: 1024, probes: [1m]}\n"))
	f.Add([]byte("system: {driver: etcd, cluster: local}\nworkload: {preset: a}\nload: {model: open, rate: .inf}\n# \x00\n"))
	reg := fakeRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := profile.Parse("fuzz.yaml", data, profile.Options{Registry: reg})
		if err != nil {
			var probs profile.Problems
			if !errors.As(err, &probs) || len(probs) == 0 || !errors.Is(err, profile.ErrInvalid) {
				t.Fatalf("error is not a non-empty Problems: %T %v", err, err)
			}
			for _, pr := range probs {
				if pr.Line < 1 {
					t.Fatalf("problem without a line: %+v", pr)
				}
			}
			return
		}
		pl, err := p.Plan(profile.Overrides{Duration: time.Second})
		if err != nil {
			t.Fatalf("Parse accepted a profile Plan rejects: %v\n%s", err, data)
		}
		checkBounded(t, p, data)
		if pl.Duration() <= 0 {
			t.Fatalf("--duration 1s plans to %v", pl.Duration())
		}
		if full, err := p.Plan(profile.Overrides{}); err != nil || full.Duration() <= 0 || full.Duration() > profile.MaxRunDuration {
			t.Fatalf("accepted profile plans to %v (%v), want (0, %s]\n%s", full.Duration(), err, profile.MaxRunDuration, data)
		}
	})
}

// checkBounded fails if an accepted profile holds a number outside the
// documented bounds.
func checkBounded(t *testing.T, p *profile.Profile, data []byte) {
	t.Helper()
	l := p.Load
	sessions := l.Workers * max(len(p.Levels), 1)
	switch {
	case l.Workers < 1 || sessions > profile.MaxSessions:
		t.Fatalf("accepted %d workers × %d scenarios\n%s", l.Workers, len(p.Levels), data)
	case l.Model == profile.ModelOpen && !(l.Rate > 0 && l.Rate <= profile.MaxRate):
		t.Fatalf("accepted rate %v\n%s", l.Rate, data)
	case l.ThinkTime < 0 || l.ThinkTime.D() > profile.MaxThinkTime:
		t.Fatalf("accepted think time %v\n%s", l.ThinkTime, data)
	case p.Checks.RingSize < 0 || p.Checks.RingSize > profile.MaxRingSize:
		t.Fatalf("accepted ring size %d\n%s", p.Checks.RingSize, data)
	case p.System.OpTimeout <= 0 || p.System.OpTimeout.D() > profile.MaxOpTimeout:
		t.Fatalf("accepted op timeout %v\n%s", p.System.OpTimeout, data)
	}
	for _, d := range p.Checks.Probes {
		if d < 0 || d.D() > profile.MaxProbeDelay {
			t.Fatalf("accepted probe delay %v\n%s", d, data)
		}
	}
	for _, ph := range p.Phases {
		if ph.Duration <= 0 || ph.Duration.D() > profile.MaxPhaseDuration {
			t.Fatalf("accepted phase duration %v\n%s", ph.Duration, data)
		}
	}
}
