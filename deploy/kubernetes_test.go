package deploy

import (
	"path/filepath"
	"testing"

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
	f := filepath.Join(repoRoot, "deploy", "kubernetes", "base", "profile.yaml")
	p, err := profile.Load(f, profile.Options{Registry: registry.Default()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Plan(profile.Overrides{}); err != nil {
		t.Fatal(err)
	}
}
