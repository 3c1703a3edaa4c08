package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/registry"
	"github.com/pacbench/pacbench/profile"
)

// TestKubernetesProfileValidates parses and plans the profile the
// Kubernetes base ships in its ConfigMap (deploy/kubernetes/base), as
// `pacbench validate` does. The manifests themselves are validated by the
// tools/kubecheck module (kustomize, k8s.io/api, the API server's
// validation, Pod Security, Chaos Mesh's webhook).
func TestKubernetesProfileValidates(t *testing.T) {
	t.Parallel()
	p := loadKubernetesProfile(t)
	if _, err := p.Plan(profile.Overrides{}); err != nil {
		t.Fatal(err)
	}
}

// TestKubernetesProfileDryRun runs `pacbench run --dry-run`'s code on the
// Kubernetes profile: the chaosmesh backend prints the Chaos Mesh objects
// of each phase (their validity against Chaos Mesh's types and webhook is
// tools/kubecheck's job, on the backend's golden files).
func TestKubernetesProfileDryRun(t *testing.T) {
	t.Parallel()
	p := loadKubernetesProfile(t)
	var out strings.Builder
	if err := bench.DryRun(p, nil, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"kind: NetworkChaos", "action: delay", "latency: 40ms", "direction: from", "action: partition", "direction: both",
		"statefulset.kubernetes.io/pod-name: cassandra-2", "app.kubernetes.io/managed-by: pacbench",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run lacks %q:\n%s", want, got)
		}
	}
}

// loadKubernetesProfile loads the base's profile with the built-in registries.
func loadKubernetesProfile(t *testing.T) *profile.Profile {
	t.Helper()
	f := filepath.Join(repoRoot, "deploy", "kubernetes", "base", "profile.yaml")
	p, err := profile.Load(f, profile.Options{Registry: registry.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKubernetesKillDryRun: a kill in a Chaos Mesh profile is a PodChaos
// pod-kill from the chaosmesh backend (validated like the others in
// tools/kubecheck), not a process signal: nothing on this host is asked
// for the member's pid.
func TestKubernetesKillDryRun(t *testing.T) {
	t.Parallel()
	f := filepath.Join(repoRoot, "deploy", "kubernetes", "base", "profile.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b) + "  - name: killed\n    duration: 30s\n    impairments:\n      - {kind: kill, target: cassandra-1}\n"
	p, err := profile.Parse(f, []byte(text), profile.Options{Registry: registry.Default()})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := bench.DryRun(p, nil, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"kind: PodChaos", "action: pod-kill", "kill cassandra-1 (pod-kill)"} {
		if !strings.Contains(got, want) {
			t.Errorf("dry run lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "SIGKILL") || strings.Contains(got, "kill -") {
		t.Errorf("dry run signals a process:\n%s", got)
	}
}
