package kubecheck

import (
	chaosv1alpha1 "github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
)

// typedScheme knows the versioned Go types of every kind pacbench's
// manifests and impairment objects use. Built once, read-only afterwards.
var typedScheme = newTypedScheme()

func newTypedScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		monitoringv1.AddToScheme,
		chaosv1alpha1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // a programming error: the schemes do not conflict
		}
	}
	return s
}
