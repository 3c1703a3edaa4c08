package impair

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Chaos Mesh kinds the chaosmesh backend creates (group chaos-mesh.org,
// version v1alpha1).
var (
	gvrNetworkChaos = schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "networkchaos"}
	gvrPodChaos     = schema.GroupVersionResource{Group: "chaos-mesh.org", Version: "v1alpha1", Resource: "podchaos"}
	chaosKinds      = map[schema.GroupVersionResource]string{gvrNetworkChaos: "NetworkChaos", gvrPodChaos: "PodChaos"}
)

// Labels and annotations on every object the chaosmesh backend creates.
const (
	// ChaosLabelManagedBy (= "pacbench") marks every pacbench object; heal
	// lists by it.
	ChaosLabelManagedBy = "app.kubernetes.io/managed-by"
	// ChaosLabelRunID carries the run id (made label-safe).
	ChaosLabelRunID = "pacbench.dev/run-id"
	// ChaosAnnotationRunID carries the run id verbatim.
	ChaosAnnotationRunID = "pacbench.dev/run-id"
	// ChaosAnnotationAction says, in pacbench's words, what the object does.
	ChaosAnnotationAction = "pacbench.dev/action"
	chaosManagedBy        = "pacbench"
)

// Bandwidth shaping parameters Chaos Mesh requires besides the rate
// (tbf: bytes that may wait in the queue, bucket size in bytes).
const (
	chaosBandwidthLimit  = 20 << 20
	chaosBandwidthBuffer = 10000
)

// chaosSelector is how one pod set is named in Chaos Mesh's PodSelector.
type chaosSelector struct {
	namespace string
	pod       string            // a pod name, or
	labels    map[string]string // equality label selector
}

// spec renders the selector as Chaos Mesh's {selector, mode: all}.
func (s chaosSelector) spec() map[string]any {
	sel := map[string]any{"namespaces": []any{s.namespace}}
	if s.pod != "" {
		sel["pods"] = map[string]any{s.namespace: []any{s.pod}}
	} else {
		ls := map[string]any{}
		for k, v := range s.labels {
			ls[k] = v
		}
		sel["labelSelectors"] = ls
	}
	return map[string]any{"selector": sel, "mode": "all"}
}

// String is "ns/pod" or "ns{k=v,…}".
func (s chaosSelector) String() string {
	if s.pod != "" {
		return s.namespace + "/" + s.pod
	}
	return s.namespace + "{" + labels.Set(s.labels).String() + "}"
}

// chaosObject is one object to create, with what it stands for.
type chaosObject struct {
	gvr  schema.GroupVersionResource
	obj  *unstructured.Unstructured
	what string
}

// String is "Kind namespace/name".
func (o chaosObject) String() string {
	return fmt.Sprintf("%s %s/%s", chaosKinds[o.gvr], o.obj.GetNamespace(), o.obj.GetName())
}

// chaosNamer names the objects of one run deterministically, so that
// shards of one run (same run id, same phase order) name the same object
// the same way.
type chaosNamer struct {
	runID, prefix, label string
}

// newChaosNamer derives names and labels from a run id ("" = "run").
func newChaosNamer(runID string) chaosNamer {
	if runID == "" {
		runID = "run"
	}
	sum := sha256.Sum256([]byte(runID))
	safe := dnsSafe(runID, 30)
	return chaosNamer{runID: runID, prefix: "pacbench-" + safe + "-" + hex.EncodeToString(sum[:3]), label: labelSafe(runID)}
}

// name is the name of object i of apply call n.
func (c chaosNamer) name(n, i int) string { return fmt.Sprintf("%s-%d-%d", c.prefix, n, i) }

// dnsSafe lowercases s and keeps [a-z0-9-], at most max characters, no
// leading or trailing '-' ("x" if nothing is left).
func dnsSafe(s string, max int) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	out = strings.Trim(out[:min(len(out), max)], "-")
	if out == "" {
		return "x"
	}
	return out
}

// labelSafe makes s a valid label value: [A-Za-z0-9._-], at most 63, alphanumeric at both ends.
func labelSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	out = out[:min(len(out), 63)]
	out = strings.TrimFunc(out, func(r rune) bool { return r == '.' || r == '_' || r == '-' })
	if out == "" {
		return "x"
	}
	return out
}

// newChaos returns an object of kind gvr with pacbench's labels.
func (c chaosNamer) newChaos(gvr schema.GroupVersionResource, namespace, name, what string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"spec": spec}}
	u.SetAPIVersion(gvr.GroupVersion().String())
	u.SetKind(chaosKinds[gvr])
	u.SetNamespace(namespace)
	u.SetName(name)
	u.SetLabels(map[string]string{ChaosLabelManagedBy: chaosManagedBy, ChaosLabelRunID: c.label})
	u.SetAnnotations(map[string]string{ChaosAnnotationRunID: c.runID, ChaosAnnotationAction: what})
	return u
}

// chaosDirection maps a direction of a member's link to Chaos Mesh's, with
// the member as the selector and the far side as the target: downstream
// (what the member sends) is "to", upstream (what it receives) "from".
func chaosDirection(d string) string {
	switch d {
	case Upstream:
		return "from"
	case DirectionBoth:
		return "both"
	}
	return "to"
}

// mergeDirections folds pairs of actions that differ only in direction
// (downstream + upstream) into one action with DirectionBoth, keeping the
// order of first appearance.
func mergeDirections(actions []Action) []Action {
	var out []Action
	for _, a := range actions {
		i := slices.IndexFunc(out, func(b Action) bool {
			if b.Direction == a.Direction || b.Direction == DirectionBoth || a.Direction == "" || b.Direction == "" {
				return false
			}
			c := b
			c.Direction = a.Direction
			return slices.Equal(c.Others, a.Others) && slices.Equal(c.Peers, a.Peers) &&
				c.Kind == a.Kind && c.Member == a.Member && c.Link == a.Link && c.Delay == a.Delay &&
				c.Jitter == a.Jitter && c.RateKBps == a.RateKBps && c.Loss == a.Loss
		})
		if i >= 0 {
			out[i].Direction = DirectionBoth
			continue
		}
		out = append(out, a)
	}
	return out
}

// tcSpec is the NetworkChaos action and its parameters for a latency or
// bandwidth action.
func tcSpec(a Action) (map[string]any, error) {
	switch a.Kind {
	case KindLatency:
		delay := map[string]any{"latency": msString(a.Delay), "jitter": msString(a.Jitter), "correlation": "0"}
		loss := map[string]any{"loss": strconv.FormatFloat(a.Loss, 'f', -1, 64), "correlation": "0"}
		switch {
		case a.Loss > 0 && a.Delay > 0:
			return map[string]any{"action": "netem", "delay": delay, "loss": loss}, nil
		case a.Loss > 0:
			return map[string]any{"action": "loss", "loss": loss}, nil
		}
		return map[string]any{"action": "delay", "delay": delay}, nil
	case KindBandwidth:
		return map[string]any{"action": "bandwidth", "bandwidth": map[string]any{
			"rate":   strconv.Itoa(a.RateKBps*8) + "kbps",
			"limit":  int64(chaosBandwidthLimit),
			"buffer": int64(chaosBandwidthBuffer),
		}}, nil
	case KindPartition:
		return map[string]any{"action": "partition"}, nil
	}
	return nil, Invalidf("chaosmesh: no NetworkChaos for %s", a.Kind)
}

// msString renders a duration the way Chaos Mesh's webhook parses it.
func msString(d time.Duration) string {
	if d == 0 {
		return "0ms"
	}
	return d.String()
}

// memberSelector is how member name is selected (its pod or selector
// options; namespace default the backend's).
func (c *ChaosMesh) memberSelector(name string) (chaosSelector, error) {
	i := slices.IndexFunc(c.topo.Members, func(m MemberLinks) bool { return m.Name == name })
	if i < 0 {
		return chaosSelector{}, fmt.Errorf("%w: %q", ErrUnknownTarget, name)
	}
	o := c.topo.Members[i].Options
	s := chaosSelector{namespace: o[ChaosMemberNamespace], pod: o[ChaosMemberPod]}
	if s.namespace == "" {
		s.namespace = c.o.Namespace
	}
	if v := o[ChaosMemberSelector]; v != "" {
		m, err := labels.ConvertSelectorToLabelsMap(v)
		if err != nil {
			return s, fmt.Errorf("%w: member %s: selector: %v", ErrInvalid, name, err)
		}
		s.labels = m
	}
	if s.pod == "" && len(s.labels) == 0 {
		return s, fmt.Errorf("%w: member %s has neither options.pod nor options.selector", ErrNoLink, name)
	}
	return s, nil
}

// farSide lists the selectors on the other end of a's link: the pacbench
// pods for a client link, the other members (a partition's Peers) for a
// peer link.
func (c *ChaosMesh) farSide(a Action) ([]chaosSelector, error) {
	if a.Link == LinkClient {
		return []chaosSelector{{namespace: c.o.ClientNamespace, labels: c.o.Clients}}, nil
	}
	peers := a.Peers // a partition: the members on the other side
	if a.Kind != KindPartition {
		for _, m := range c.topo.Members {
			if m.Name != a.Member {
				peers = append(peers, m.Name)
			}
		}
	}
	out := make([]chaosSelector, 0, len(peers))
	for _, p := range peers {
		s, err := c.memberSelector(p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no peers to impair", ErrNoLink, a.Member)
	}
	return out, nil
}

// objectsFor builds the objects of one Apply call (number n): a PodChaos
// pod-failure per member that is down, a PodChaos pod-kill per member
// killed, and a NetworkChaos per action and far-side pod set (the two
// directions of a link merged into "both").
func (c *ChaosMesh) objectsFor(actions []Action, n int) ([]chaosObject, error) {
	var out []chaosObject
	var down []string
	add := func(gvr schema.GroupVersionResource, ns, what string, spec map[string]any) {
		out = append(out, chaosObject{gvr: gvr, what: what, obj: c.namer.newChaos(gvr, ns, c.namer.name(n, len(out)), what, spec)})
	}
	for _, a := range mergeDirections(actions) {
		sel, err := c.memberSelector(a.Member)
		if err != nil {
			return nil, err
		}
		if action, ok := podActions[a.Kind]; ok {
			if !slices.Contains(down, a.Kind+" "+a.Member) {
				down = append(down, a.Kind+" "+a.Member)
				spec := sel.spec()
				spec["action"] = action
				add(gvrPodChaos, c.o.Namespace, a.Kind+" "+a.Member+" ("+action+")", spec)
			}
			continue
		}
		far, err := c.farSide(a)
		if err != nil {
			return nil, err
		}
		for _, t := range far {
			spec, err := tcSpec(a)
			if err != nil {
				return nil, err
			}
			maps.Copy(spec, sel.spec())
			spec["direction"] = chaosDirection(a.Direction)
			spec["target"] = t.spec()
			add(gvrNetworkChaos, c.o.Namespace, chaosWhat(a, t), spec)
		}
	}
	return out, nil
}

// podActions are the kinds a PodChaos carries out, with its action: down
// is pod-failure (the pod stays unavailable until the object is deleted);
// kill is pod-kill (the pod is killed once and its controller — the
// StatefulSet — starts it again at once: the restart does not wait for
// the heal, which deletes the object).
var podActions = map[string]string{KindDown: "pod-failure", KindKill: "pod-kill"}

// chaosWhat describes one NetworkChaos in pacbench's words.
func chaosWhat(a Action, far chaosSelector) string {
	d := a
	d.Others = nil
	return Describe(d) + " (far side " + far.String() + ")"
}
