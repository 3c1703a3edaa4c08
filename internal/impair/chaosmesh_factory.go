package impair

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// Options of the chaosmesh backend (system.impairer.options).
const (
	chaosOptNamespace       = "namespace"
	chaosOptKubeconfig      = "kubeconfig"
	chaosOptContext         = "context"
	chaosOptClientSelector  = "client_selector"
	chaosOptClientNamespace = "client_namespace"
)

// Options of a member for the chaosmesh backend (system.nodes[].options):
// exactly one of pod and selector names the member's pod.
const (
	// ChaosMemberPod is the member's pod name.
	ChaosMemberPod = "pod"
	// ChaosMemberSelector is an equality label selector of the member's
	// pod(s), e.g. "app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-0".
	ChaosMemberSelector = "selector"
	// ChaosMemberNamespace is the member's namespace (default: the
	// backend's namespace option).
	ChaosMemberNamespace = "namespace"
)

const chaosDefaultNamespace = "pacbench"

// chaosDefaultClients selects the shard pods of deploy/kubernetes.
var chaosDefaultClients = map[string]string{"app.kubernetes.io/name": "pacbench", "app.kubernetes.io/component": "shard"}

// ChaosMeshFactory builds the chaosmesh backend.
type ChaosMeshFactory struct{}

var _ Factory = ChaosMeshFactory{}

// Info documents the kind and its options.
func (ChaosMeshFactory) Info() BackendInfo {
	return BackendInfo{
		Kind: BackendChaosMesh,
		Description: "Chaos Mesh objects (NetworkChaos, PodChaos) created and deleted through the Kubernetes API; " +
			"members named by system.nodes[].options pod or selector (and namespace)",
		Options: []Option{
			{Key: chaosOptNamespace, Default: chaosDefaultNamespace, Doc: "namespace the chaos objects are created in (and the default namespace of members)", Check: checkDNSLabel},
			{Key: chaosOptKubeconfig, Doc: "kubeconfig file (default: $KUBECONFIG, ~/.kube/config, else the in-cluster service account)", Check: checkNonEmpty},
			{Key: chaosOptContext, Doc: "kubeconfig context (default: its current context)", Check: checkNonEmpty},
			{Key: chaosOptClientSelector, Default: labels.Set(chaosDefaultClients).String(), Doc: "equality label selector of the pacbench pods (the far side of client links)", Check: checkSelector},
			{Key: chaosOptClientNamespace, Doc: "namespace of the pacbench pods (default: the namespace option)", Check: checkDNSLabel},
		},
	}
}

// CheckSetup refuses a local cluster and, when phases are impaired,
// requires every node to name its pod by exactly one of options.pod and
// options.selector.
func (ChaosMeshFactory) CheckSetup(s Setup) []SetupError {
	if s.Local {
		return []SetupError{{"impairer.kind", errors.New("chaosmesh acts on pods of a Kubernetes cluster; a local cluster uses the embedded Toxiproxy")}}
	}
	if !s.Impaired {
		return nil
	}
	var out []SetupError
	for i, m := range s.Topology.Members {
		for _, e := range checkChaosMember(m.Options) {
			e.Field = fmt.Sprintf("nodes[%d].options%s", i, e.Field)
			out = append(out, e)
		}
	}
	return out
}

// checkChaosMember vets one member's options; fields are relative
// (".pod", ".selector", "").
func checkChaosMember(o map[string]string) []SetupError {
	var out []SetupError
	known := []string{ChaosMemberPod, ChaosMemberSelector, ChaosMemberNamespace}
	for _, k := range slices.Sorted(maps.Keys(o)) {
		if !slices.Contains(known, k) {
			out = append(out, SetupError{"." + k, fmt.Errorf("unknown option for chaosmesh (want %s)", strings.Join(known, ", "))})
		}
	}
	pod, sel := o[ChaosMemberPod], o[ChaosMemberSelector]
	switch {
	case pod == "" && sel == "":
		out = append(out, SetupError{"", errors.New("chaosmesh needs the member's pod: set options.pod or options.selector")})
	case pod != "" && sel != "":
		out = append(out, SetupError{"", errors.New("set either options.pod or options.selector, not both")})
	case pod != "":
		if errs := validation.IsDNS1123Subdomain(pod); len(errs) > 0 {
			out = append(out, SetupError{"." + ChaosMemberPod, errors.New("not a pod name: " + strings.Join(errs, "; "))})
		}
	default:
		if err := checkSelector(sel); err != nil {
			out = append(out, SetupError{"." + ChaosMemberSelector, err})
		}
	}
	if ns, ok := o[ChaosMemberNamespace]; ok {
		if err := checkDNSLabel(ns); err != nil {
			out = append(out, SetupError{"." + ChaosMemberNamespace, err})
		}
	}
	return out
}

// HandledKinds returns the network kinds and kill (PodChaos pod-kill).
func (ChaosMeshFactory) HandledKinds() []string { return chaosKindsHandled() }

// HandledKinds returns the network kinds and kill (PodChaos pod-kill).
func (c *ChaosMesh) HandledKinds() []string { return chaosKindsHandled() }

func chaosKindsHandled() []string { return append(KindsOf(ClassNetwork), KindKill) }

// CheckSpec refuses what Chaos Mesh cannot do: resetting connections.
func (ChaosMeshFactory) CheckSpec(s Spec) []FieldError {
	if s.Kind == KindReset {
		return []FieldError{{Field: KeyKind, Err: Invalidf("chaosmesh cannot reset TCP connections (Chaos Mesh has no such action); use toxiproxy or netem")}}
	}
	return nil
}

// New builds the backend; it connects to the API server on first use
// (never in a dry run's Apply).
func (ChaosMeshFactory) New(c Config) (Backend, error) {
	o := ChaosMeshOptions{Namespace: c.Options[chaosOptNamespace], ClientNamespace: c.Options[chaosOptClientNamespace]}
	if v := c.Options[chaosOptClientSelector]; v != "" {
		m, err := labels.ConvertSelectorToLabelsMap(v)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", chaosOptClientSelector, err)
		}
		o.Clients = m
	}
	kubeconfig, kctx := c.Options[chaosOptKubeconfig], c.Options[chaosOptContext]
	o.Connect = func() (dynamic.Interface, error) { return connectKube(kubeconfig, kctx) }
	return NewChaosMesh(nil, c.Topology, c.RunID, o, c.DryRun), nil
}

// connectKube builds a dynamic client the way kubectl finds its cluster:
// the kubeconfig file (or $KUBECONFIG, ~/.kube/config) and context, else
// the in-cluster service account.
func connectKube(kubeconfig, context string) (dynamic.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes client config: %w", err)
	}
	cl, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return cl, nil
}

func checkDNSLabel(v string) error {
	if errs := validation.IsDNS1123Label(v); len(errs) > 0 {
		return errors.New("not a namespace name: " + strings.Join(errs, "; "))
	}
	return nil
}

func checkNonEmpty(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("must not be empty")
	}
	return nil
}

// checkSelector accepts an equality label selector with valid keys and
// values. Its messages do not repeat the value (Option.Check's contract).
func checkSelector(v string) error {
	const want = "want an equality label selector: key=value pairs separated by commas, e.g. app=cassandra,role=db"
	m, err := labels.ConvertSelectorToLabelsMap(v)
	if err != nil || len(m) == 0 {
		return errors.New(want)
	}
	for k, val := range m {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return errors.New("a label key: " + strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(val); len(errs) > 0 {
			return errors.New("a label value: " + strings.Join(errs, "; "))
		}
	}
	return nil
}
