package kubecheck

import (
	"fmt"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// podTemplate returns the pod metadata and spec an object runs, if it runs
// pods (Pod, Job).
func podTemplate(o Object) (*metav1.ObjectMeta, *corev1.PodSpec, bool) {
	switch t := o.Typed.(type) {
	case *corev1.Pod:
		return &t.ObjectMeta, &t.Spec, true
	case *batchv1.Job:
		return &t.Spec.Template.ObjectMeta, &t.Spec.Template.Spec, true
	}
	return nil, nil, false
}

// checkPodSecurity evaluates the pods an object runs against the Pod
// Security Standards' restricted level (latest version) with the same
// evaluator Pod Security Admission uses: non-root, no privilege escalation,
// no privileged containers, every capability dropped, a seccomp profile, no
// host namespaces or host paths.
func checkPodSecurity(o Object) error {
	m, spec, ok := podTemplate(o)
	if !ok {
		return nil
	}
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return fmt.Errorf("pod security evaluator: %w", err)
	}
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	agg := policy.AggregateCheckResults(ev.EvaluatePod(lv, m, spec))
	if !agg.Allowed {
		return fmt.Errorf("%s: violates PodSecurity %q: %s", o, "restricted:latest", agg.ForbiddenDetail())
	}
	return nil
}
