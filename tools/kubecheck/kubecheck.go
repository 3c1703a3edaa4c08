// Package kubecheck validates pacbench's Kubernetes artefacts with the real
// projects' own code, not with hand-written checks:
//
//   - kustomizations are built with kustomize's Go API (krusty), exactly as
//     `kubectl apply -k` builds them (load restrictions: root only);
//   - every object is decoded strictly into its Go type (k8s.io/api,
//     the Prometheus operator's monitoring/v1, Chaos Mesh's v1alpha1):
//     unknown or duplicate fields are errors;
//   - built-in kinds then go through the API server's create path: its
//     defaulting, conversion to the internal version and the registry
//     strategy's PrepareForCreate and Validate (rest.BeforeCreate, from
//     k8s.io/apiserver and k8s.io/kubernetes/pkg/registry);
//   - pod templates are evaluated against the Pod Security Standards'
//     restricted level with the pod-security-admission library;
//   - Chaos Mesh objects go through Chaos Mesh's own webhook: Default and
//     ValidateCreate.
//
// It is a separate Go module (tools/kubecheck) so that these heavy
// dependencies stay out of pacbench's own module; scripts/test.sh runs its
// tests. Everything here is stateless; the functions are safe for
// concurrent use.
package kubecheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"
)

// Object is one decoded Kubernetes object.
type Object struct {
	// GVK is the object's apiVersion and kind.
	GVK schema.GroupVersionKind
	// Name and Namespace are from its metadata.
	Name, Namespace string
	// YAML is the object as built or read.
	YAML []byte
	// Typed is the strictly decoded object (a pointer to its Go type).
	Typed runtime.Object
}

// String names the object as kubectl does (Kind/namespace/name).
func (o Object) String() string {
	if o.Namespace == "" {
		return o.GVK.Kind + "/" + o.Name
	}
	return o.GVK.Kind + "/" + o.Namespace + "/" + o.Name
}

// ErrStrict marks a strict-decoding failure (unknown or duplicate field).
var ErrStrict = errors.New("strict decoding")

// Build runs kustomize on the kustomization in dir with kubectl's default
// options and returns the built objects as YAML documents, in kustomize's
// output order.
func Build(dir string) ([][]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out [][]byte
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("kustomize build %s: %s: %w", dir, r.CurId(), err)
		}
		out = append(out, y)
	}
	return out, nil
}

// SplitYAML splits a multi-document YAML stream into its non-empty documents.
func SplitYAML(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("split yaml: %w", err)
		}
		var v any
		if err := sigsyaml.Unmarshal(d, &v); err != nil {
			return nil, fmt.Errorf("split yaml: %w", err)
		}
		if v != nil { // a document of comments only is no object
			docs = append(docs, d)
		}
	}
}

// Decode decodes one YAML document strictly into its registered Go type:
// an unknown field, a duplicate field or a wrong type is an error wrapping
// ErrStrict; a kind no scheme knows is an error too.
func Decode(doc []byte) (Object, error) {
	s := json.NewSerializerWithOptions(json.DefaultMetaFactory, typedScheme, typedScheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	obj, gvk, err := s.Decode(doc, nil, nil)
	if err != nil {
		if runtime.IsStrictDecodingError(err) {
			return Object{}, fmt.Errorf("%w: %v", ErrStrict, err)
		}
		return Object{}, fmt.Errorf("decode: %w", err)
	}
	o := Object{GVK: *gvk, YAML: doc, Typed: obj}
	if m, ok := obj.(interface {
		GetName() string
		GetNamespace() string
	}); ok {
		o.Name, o.Namespace = m.GetName(), m.GetNamespace()
	}
	return o, nil
}

// Check validates one decoded object with the validation that applies to
// its kind: the API server's create path for built-in kinds (plus the
// restricted Pod Security level for anything with a pod template), Chaos
// Mesh's webhook for chaos-mesh.org kinds. Prometheus operator kinds have
// no validation code of their own beyond their types: strict decoding is
// their check. A kind none of these knows is an error.
func Check(o Object) error {
	switch o.GVK.Group {
	case "monitoring.coreos.com":
		return nil
	case "chaos-mesh.org":
		return checkChaos(o)
	}
	if err := checkBuiltin(o); err != nil {
		return err
	}
	return checkPodSecurity(o)
}
