package kubecheck

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	_ "k8s.io/kubernetes/pkg/apis/batch/install" // register batch in legacyscheme
	_ "k8s.io/kubernetes/pkg/apis/core/install"  // register core in legacyscheme
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"  // register rbac in legacyscheme
	"k8s.io/kubernetes/pkg/registry/batch/job"
	"k8s.io/kubernetes/pkg/registry/core/configmap"
	"k8s.io/kubernetes/pkg/registry/core/namespace"
	"k8s.io/kubernetes/pkg/registry/core/persistentvolumeclaim"
	"k8s.io/kubernetes/pkg/registry/core/pod"
	"k8s.io/kubernetes/pkg/registry/core/serviceaccount"
	"k8s.io/kubernetes/pkg/registry/rbac/role"
	"k8s.io/kubernetes/pkg/registry/rbac/rolebinding"
)

// builtin is how the API server creates one built-in kind: its registry
// strategy and its resource name (for the request info declarative
// validation reads).
type builtin struct {
	strategy rest.RESTCreateStrategy
	resource string
}

// builtins lists the built-in kinds pacbench's manifests use. A kind not
// here is refused by Check, so a new kind in a manifest must be added (and
// is then validated like the API server would).
var builtins = map[schema.GroupKind]builtin{
	{Group: "", Kind: "Namespace"}:                            {namespace.Strategy, "namespaces"},
	{Group: "", Kind: "ServiceAccount"}:                       {serviceaccount.Strategy, "serviceaccounts"},
	{Group: "", Kind: "ConfigMap"}:                            {configmap.Strategy, "configmaps"},
	{Group: "", Kind: "PersistentVolumeClaim"}:                {persistentvolumeclaim.Strategy, "persistentvolumeclaims"},
	{Group: "", Kind: "Pod"}:                                  {pod.Strategy, "pods"},
	{Group: "batch", Kind: "Job"}:                             {job.Strategy, "jobs"},
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}:        {role.Strategy, "roles"},
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}: {rolebinding.Strategy, "rolebindings"},
}

// warnings collects the API server's warnings for one request.
type warnings struct {
	mu   sync.Mutex
	list []string
}

// AddWarning implements warning.Recorder.
func (w *warnings) AddWarning(_, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.list = append(w.list, text)
}

// checkBuiltin runs o through what the API server does on create: default
// the versioned object, convert it to the internal version, then
// rest.BeforeCreate with the kind's registry strategy (PrepareForCreate,
// Validate, declarative validation, object-meta validation). A warning the
// API server would return is an error too.
func checkBuiltin(o Object) error {
	b, ok := builtins[o.GVK.GroupKind()]
	if !ok {
		return fmt.Errorf("%s: kind %s is not validated by kubecheck (add it to builtins)", o, o.GVK.GroupKind())
	}
	versioned := o.Typed.DeepCopyObject()
	legacyscheme.Scheme.Default(versioned)
	internal, err := legacyscheme.Scheme.ConvertToVersion(versioned,
		schema.GroupVersion{Group: o.GVK.Group, Version: runtime.APIVersionInternal})
	if err != nil {
		return fmt.Errorf("%s: convert to internal version: %w", o, err)
	}
	m, err := meta.Accessor(internal)
	if err != nil {
		return fmt.Errorf("%s: object meta: %w", o, err)
	}
	rest.FillObjectMetaSystemFields(m)
	ns := m.GetNamespace()
	if b.strategy.NamespaceScoped() && ns == "" {
		return fmt.Errorf("%s: namespaced kind without a namespace", o)
	}
	w := &warnings{}
	ctx := genericapirequest.WithNamespace(context.Background(), ns)
	ctx = genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "create", APIGroup: o.GVK.Group, APIVersion: o.GVK.Version,
		Namespace: ns, Resource: b.resource, Name: m.GetName(),
	})
	ctx = warning.WithWarningRecorder(ctx, w)
	if err := rest.BeforeCreate(b.strategy, ctx, internal); err != nil {
		return fmt.Errorf("%s: the API server would refuse it: %w", o, err)
	}
	if len(w.list) > 0 {
		return fmt.Errorf("%s: the API server would warn: %s", o, strings.Join(w.list, "; "))
	}
	return nil
}
