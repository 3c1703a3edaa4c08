package impair

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// BackendChaosMesh is the Chaos Mesh backend's kind.
const BackendChaosMesh = "chaosmesh"

// ChaosMesh applies impairments as Chaos Mesh objects through the
// Kubernetes API: NetworkChaos for latency (delay, jitter, loss),
// bandwidth and partition; PodChaos (pod-failure) for down. Every object is
// labelled app.kubernetes.io/managed-by=pacbench and with the run id, and
// named deterministically from the run id, so that the shards of one run
// create each object once (a shard finding it already created by another
// shard of the same run treats it as applied). Safe for concurrent use.
type ChaosMesh struct {
	o      ChaosMeshOptions
	topo   Topology
	namer  chaosNamer
	dryRun io.Writer

	mu      sync.Mutex
	client  dynamic.Interface
	applies int           // Apply calls so far (names objects)
	applied []chaosObject // created (or found created by a sibling shard), not yet deleted
}

// ChaosMeshOptions configure the chaosmesh backend. The zero value is
// usable with a client given to NewChaosMesh.
type ChaosMeshOptions struct {
	// Namespace the chaos objects are created in (default "pacbench", the
	// namespace of deploy/kubernetes); also the default namespace of members
	// and clients.
	Namespace string
	// Clients selects the pacbench pods (the far side of "client" links);
	// default app.kubernetes.io/name=pacbench,app.kubernetes.io/component=shard.
	Clients map[string]string
	// ClientNamespace is the clients' namespace (default Namespace).
	ClientNamespace string
	// Connect builds the Kubernetes client on first use (kubeconfig or
	// in-cluster config); nil with a client given to NewChaosMesh.
	Connect func() (dynamic.Interface, error)
}

// NewChaosMesh returns a chaosmesh backend over topo (members named by
// their pod or selector options) that talks to the API through client (nil:
// o.Connect on first use). dryRun non-nil prints the objects' YAML and
// changes nothing. runID names and labels the objects.
func NewChaosMesh(client dynamic.Interface, topo Topology, runID string, o ChaosMeshOptions, dryRun io.Writer) *ChaosMesh {
	if o.Namespace == "" {
		o.Namespace = chaosDefaultNamespace
	}
	if o.ClientNamespace == "" {
		o.ClientNamespace = o.Namespace
	}
	if len(o.Clients) == 0 {
		o.Clients = maps.Clone(chaosDefaultClients)
	}
	return &ChaosMesh{o: o, topo: topo, namer: newChaosNamer(runID), dryRun: dryRun, client: client}
}

var _ Backend = (*ChaosMesh)(nil)

// Name is "chaosmesh".
func (c *ChaosMesh) Name() string { return BackendChaosMesh }

// conn returns the API client, connecting on first use. Callers hold c.mu.
func (c *ChaosMesh) conn() (dynamic.Interface, error) {
	if c.client != nil {
		return c.client, nil
	}
	if c.o.Connect == nil {
		return nil, errors.New("chaosmesh: no Kubernetes client")
	}
	cl, err := c.o.Connect()
	if err != nil {
		return nil, fmt.Errorf("chaosmesh: connect: %w", err)
	}
	c.client = cl
	return cl, nil
}

// Apply creates the Chaos Mesh objects of actions (one phase). An object
// that already exists with this run's label was created by a sibling shard
// and counts as applied; one of another run is an error. What was created
// stays recorded for Clear, also on error. In a dry run it prints each
// object's YAML instead.
func (c *ChaosMesh) Apply(ctx context.Context, actions []Action) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applies++
	objs, err := c.objectsFor(actions, c.applies)
	if err != nil {
		return err
	}
	if c.dryRun != nil {
		for _, o := range objs {
			y, err := yaml.Marshal(o.obj.Object)
			if err != nil {
				return fmt.Errorf("chaosmesh: %s: %w", o, err)
			}
			fmt.Fprintf(c.dryRun, "---\n# %s: %s\n%s", o, o.what, y)
		}
		return nil
	}
	cl, err := c.conn()
	if err != nil {
		return err
	}
	for _, o := range objs {
		_, err := cl.Resource(o.gvr).Namespace(o.obj.GetNamespace()).Create(ctx, o.obj, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			err = c.checkSibling(ctx, cl, o)
		}
		if err != nil {
			return fmt.Errorf("chaosmesh: create %s (%s): %w", o, o.what, err)
		}
		c.applied = append(c.applied, o)
	}
	return nil
}

// checkSibling accepts an existing object only if this run created it.
func (c *ChaosMesh) checkSibling(ctx context.Context, cl dynamic.Interface, o chaosObject) error {
	got, err := cl.Resource(o.gvr).Namespace(o.obj.GetNamespace()).Get(ctx, o.obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	if got.GetAnnotations()[ChaosAnnotationRunID] != c.namer.runID {
		return fmt.Errorf("already exists and belongs to run %q, not this one (pacbench heal --profile removes leftovers)", got.GetAnnotations()[ChaosAnnotationRunID])
	}
	return nil
}

// Clear deletes every object Apply recorded; one already gone counts as
// deleted. What could not be deleted stays recorded (Pending).
func (c *ChaosMesh) Clear(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dryRun != nil {
		for _, o := range c.applied {
			fmt.Fprintf(c.dryRun, "# delete %s\n", o)
		}
		c.applied = nil
		return nil
	}
	if len(c.applied) == 0 {
		return nil
	}
	cl, err := c.conn()
	if err != nil {
		return err
	}
	var errs []error
	var keep []chaosObject
	for _, o := range c.applied {
		err := cl.Resource(o.gvr).Namespace(o.obj.GetNamespace()).Delete(ctx, o.obj.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", o, err))
			keep = append(keep, o)
		}
	}
	c.applied = keep
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("chaosmesh: clear: %w", err)
	}
	return nil
}

// Pending lists the objects applied and not yet deleted.
func (c *ChaosMesh) Pending() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, len(c.applied))
	for i, o := range c.applied {
		out[i] = fmt.Sprintf("%s (%s)", o, o.what)
	}
	return out
}

// Heal deletes every Chaos Mesh object labelled managed-by=pacbench in the
// backend's namespace, of any run (leftovers of killed runs included). In
// a dry run it lists them and deletes nothing.
func (c *ChaosMesh) Heal(ctx context.Context) (HealReport, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var rep HealReport
	cl, err := c.conn()
	if err != nil {
		return rep, err
	}
	sel := metav1.ListOptions{LabelSelector: ChaosLabelManagedBy + "=" + chaosManagedBy}
	var errs []error
	for _, gvr := range []schema.GroupVersionResource{gvrNetworkChaos, gvrPodChaos} {
		res := cl.Resource(gvr).Namespace(c.o.Namespace)
		list, err := res.List(ctx, sel)
		if err != nil {
			errs = append(errs, fmt.Errorf("list %s in %s: %w", gvr.Resource, c.o.Namespace, err))
			rep.Left = append(rep.Left, fmt.Sprintf("%s in namespace %s (could not list them)", chaosKinds[gvr], c.o.Namespace))
			continue
		}
		for _, it := range list.Items {
			line := fmt.Sprintf("%s %s/%s (run %s: %s)", chaosKinds[gvr], it.GetNamespace(), it.GetName(),
				it.GetAnnotations()[ChaosAnnotationRunID], it.GetAnnotations()[ChaosAnnotationAction])
			if c.dryRun != nil {
				rep.Removed = append(rep.Removed, line)
				continue
			}
			if err := res.Delete(ctx, it.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("delete %s/%s: %w", it.GetNamespace(), it.GetName(), err))
				rep.Left = append(rep.Left, line)
				continue
			}
			rep.Removed = append(rep.Removed, line)
		}
	}
	if c.dryRun == nil {
		c.applied = slices.DeleteFunc(c.applied, func(o chaosObject) bool {
			return !slices.ContainsFunc(rep.Left, func(l string) bool { return strings.HasPrefix(l, o.String()+" ") })
		})
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("chaosmesh: heal: %w", err)
	}
	return rep, nil
}
