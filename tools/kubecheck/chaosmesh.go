package kubecheck

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// chaosWebhook is the method set Chaos Mesh's v1alpha1 kinds implement
// for their admission webhook (controller-runtime's custom defaulter and
// validator).
type chaosWebhook interface {
	Default(ctx context.Context, obj runtime.Object) error
	ValidateCreate(ctx context.Context, obj runtime.Object) (admission.Warnings, error)
}

// checkChaos runs a chaos-mesh.org object through Chaos Mesh's own webhook
// logic, as its admission webhook does on create: the type's defaulter,
// then its create validator. A warning is an error too.
func checkChaos(o Object) error {
	obj := o.Typed.DeepCopyObject()
	w, ok := obj.(chaosWebhook)
	if !ok {
		return fmt.Errorf("%s: %T has no Chaos Mesh webhook", o, o.Typed)
	}
	ctx := context.Background()
	if err := w.Default(ctx, obj); err != nil {
		return fmt.Errorf("%s: Chaos Mesh's defaulter: %w", o, err)
	}
	warns, err := w.ValidateCreate(ctx, obj)
	if err != nil {
		return fmt.Errorf("%s: Chaos Mesh's webhook would refuse it: %w", o, err)
	}
	if len(warns) > 0 {
		return fmt.Errorf("%s: Chaos Mesh's webhook would warn: %s", o, strings.Join(warns, "; "))
	}
	return nil
}
