package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
	digest "github.com/opencontainers/go-digest"
)

// dockerfiles are the repository's Dockerfiles: the compose stack's image
// and the Kubernetes image (deploy/kubernetes/image).
var dockerfiles = []string{"Dockerfile", "deploy/kubernetes/image/Dockerfile"}

func readDockerfile(t *testing.T) []byte { return readDockerfileAt(t, "Dockerfile") }

func readDockerfileAt(t *testing.T, name string) []byte {
	t.Helper()
	dt, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return dt
}

// dockerfileStages parses the Dockerfile with BuildKit's parser and
// instruction parser (its parse-time lint rules reporting to t).
func dockerfileStages(t *testing.T) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	return dockerfileStagesAt(t, "Dockerfile")
}

func dockerfileStagesAt(t *testing.T, name string) ([]instructions.Stage, []instructions.ArgCommand) {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readDockerfileAt(t, name)))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: parser warning: %s", w.Short)
	}
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		t.Errorf("Dockerfile:%v: %s: %s", loc, rule, msg)
	}})
	stages, args, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages, args
}

// fakeRegistry answers BuildKit's base-image lookups without a network
// with the minimal image config of each base image (what the lint rules
// read: platform and environment), recording what was asked.
type fakeRegistry struct {
	mu   sync.Mutex
	refs []string
}

func (r *fakeRegistry) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	r.mu.Lock()
	r.refs = append(r.refs, ref)
	r.mu.Unlock()
	cfg, err := json.Marshal(map[string]any{
		"architecture": runtime.GOARCH, "os": "linux",
		"config": map[string]any{"Env": []string{"PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GOPATH=/go", "GOTOOLCHAIN=local"}},
	})
	return ref, digest.FromBytes(cfg), cfg, err
}

// TestDockerfileLint runs BuildKit's Dockerfile linter (every rule
// `docker build --check` runs) over each Dockerfile: no warning, no error.
func TestDockerfileLint(t *testing.T) {
	t.Parallel()
	for _, name := range dockerfiles {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			lintDockerfile(t, name)
		})
	}
}

func lintDockerfile(t *testing.T, name string) {
	dt := readDockerfileAt(t, name)
	reg := &fakeRegistry{}
	src := llb.NewSourceMap(nil, name, name, dt)
	src.Definition = &llb.Definition{} // the file is not an LLB source here
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{MetaResolver: reg, SourceMap: src})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error != nil {
		t.Errorf("Dockerfile does not build: %s", res.Error.Message)
	}
	for _, w := range res.Warnings {
		line := int32(0)
		if w.Location != nil && len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		t.Errorf("Dockerfile:%d: %s: %s (%s)", line, w.RuleName, w.Detail, w.URL)
	}
	if len(reg.refs) == 0 {
		t.Error("the linter resolved no base image: did it run?")
	}
	t.Logf("base images resolved: %v", reg.refs)
}

// TestDockerfileBasesPinned asserts that every base image of every
// Dockerfile names an exact release (major.minor.patch, after the
// Dockerfile's own ARG defaults), like the compose stack's images: a
// floating tag would build a different image next month.
func TestDockerfileBasesPinned(t *testing.T) {
	t.Parallel()
	for _, name := range dockerfiles {
		stages, metaArgs := dockerfileStagesAt(t, name)
		defaults := map[string]string{}
		for _, a := range metaArgs {
			for _, kv := range a.Args {
				if kv.Value != nil {
					defaults[kv.Key] = *kv.Value
				}
			}
		}
		for _, st := range stages {
			base := os.Expand(st.BaseName, func(k string) string { return defaults[k] })
			if base == "scratch" {
				continue
			}
			_, tag, ok := strings.Cut(base, ":")
			if !ok || !exactTag.MatchString(tag) {
				t.Errorf("%s: FROM %s (%s) is not pinned to an exact major.minor.patch release", name, st.BaseName, base)
			}
		}
	}
}

// TestDockerfileImage checks what the image is: multi-stage, a static
// binary, a scratch final stage with CA certificates, a numeric non-root
// user, the exec-form entrypoint, and a Go toolchain at least go.mod's.
func TestDockerfileImage(t *testing.T) {
	t.Parallel()
	stages, metaArgs := dockerfileStages(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages: want a build stage and a small final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if final.BaseName != "scratch" && !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want scratch or distroless/static", final.BaseName)
	}
	// The toolchain version.
	goVersion := ""
	for _, a := range metaArgs {
		for _, kv := range a.Args {
			if kv.Key == "GO_VERSION" && kv.Value != nil {
				goVersion = *kv.Value
			}
		}
	}
	if build.BaseName != "golang:${GO_VERSION}" || goVersion == "" {
		t.Errorf("build stage FROM %s with GO_VERSION %q, want golang:${GO_VERSION} with a default", build.BaseName, goVersion)
	} else if !versionAtLeast(goVersion, goModGo(t)) {
		t.Errorf("GO_VERSION %s is older than go.mod's go %s", goVersion, goModGo(t))
	}
	static := false
	for _, c := range build.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			line := strings.Join(r.CmdLine, " ")
			static = static || strings.Contains(line, "CGO_ENABLED=0") && strings.Contains(line, "go build") && strings.Contains(line, "./cmd/pacbench")
		}
	}
	if !static {
		t.Error("no RUN builds ./cmd/pacbench with CGO_ENABLED=0")
	}
	var user, workdir string
	var entrypoint []string
	certs := false
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.UserCommand:
			user = c.User
		case *instructions.WorkdirCommand:
			workdir = c.Path
		case *instructions.EntrypointCommand:
			if !c.PrependShell {
				entrypoint = c.CmdLine
			}
		case *instructions.CopyCommand:
			certs = certs || slices.Contains(c.SourcePaths, "/etc/ssl/certs/ca-certificates.crt")
		case *instructions.RunCommand:
			t.Errorf("RUN %v in the final stage (scratch has no shell)", c.CmdLine)
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final USER %q, want a numeric non-root uid (Kubernetes runAsNonRoot checks it)", user)
	}
	if !certs {
		t.Error("the final stage has no CA certificates")
	}
	if !slices.Equal(entrypoint, []string{"/usr/local/bin/pacbench"}) {
		t.Errorf("ENTRYPOINT %v, want the exec form [\"/usr/local/bin/pacbench\"]", entrypoint)
	}
	if workdir != dockerfileWorkdir(t) {
		t.Errorf("WORKDIR %q", workdir)
	}
}

// dockerfileWorkdir returns the final stage's WORKDIR.
func dockerfileWorkdir(t *testing.T) string {
	t.Helper()
	res, err := parser.Parse(bytes.NewReader(readDockerfile(t)))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	wd := ""
	for _, c := range stages[len(stages)-1].Commands {
		if w, ok := c.(*instructions.WorkdirCommand); ok {
			wd = w.Path
		}
	}
	if !filepath.IsAbs(wd) {
		t.Fatalf("final stage WORKDIR %q is not absolute", wd)
	}
	return wd
}

// goModGo returns go.mod's go directive.
func goModGo(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go ([0-9.]+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	return string(m[1])
}

// versionAtLeast compares dotted numeric versions.
func versionAtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < max(len(a), len(b)); i++ {
		x, y := 0, 0
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		if i < len(b) {
			y, _ = strconv.Atoi(b[i])
		}
		if x != y {
			return x > y
		}
	}
	return true
}

// buildContext returns the repository's files (slash paths) that
// .dockerignore lets into the image's build context, matched with the
// matcher Docker and BuildKit use.
func buildContext(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		rel = filepath.ToSlash(rel)
		excluded, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			return err
		}
		if !excluded {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestDockerBuildContext: the build context holds no results, secrets or
// VCS data, and `go build ./cmd/pacbench` (static, as in the Dockerfile)
// succeeds from a copy of exactly the files it holds.
func TestDockerBuildContext(t *testing.T) {
	t.Parallel()
	files := buildContext(t)
	for _, f := range files {
		for _, bad := range []string{"results/", ".env", ".git", "docs/", "scripts/", "deploy/"} {
			if strings.HasPrefix(f, bad) {
				t.Errorf("%s is in the build context", f)
			}
		}
		if strings.HasSuffix(f, "_test.go") {
			t.Errorf("test file %s is in the build context", f)
		}
	}
	if !slices.Contains(files, "go.mod") || !slices.Contains(files, "profiles/quickstart.yaml") {
		t.Fatalf("the build context lacks go.mod or the profiles: %d files", len(files))
	}
	dir := t.TempDir()
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", filepath.Join(t.TempDir(), "pacbench"), "./cmd/pacbench")
	cmd.Dir = dir
	// Offline: everything must come from go.mod/go.sum and the module cache.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/pacbench from the build context (%d files): %v\n%s", len(files), err, out)
	}
	t.Logf("build context: %d files", len(files))
}
