package impair

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"
)

// chaosTopo is a 3-node Cassandra StatefulSet: two members named by pod,
// one by label selector, in namespace db.
func chaosTopo() Topology {
	return Topology{Members: []MemberLinks{
		{Name: "cassandra-0", Options: map[string]string{ChaosMemberPod: "cassandra-0", ChaosMemberNamespace: "db"}},
		{Name: "cassandra-1", Options: map[string]string{ChaosMemberPod: "cassandra-1", ChaosMemberNamespace: "db"}},
		{Name: "cassandra-2", Options: map[string]string{ChaosMemberSelector: "app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2", ChaosMemberNamespace: "db"}},
	}, Aliases: map[string]string{RoleLeader: "cassandra-0", RoleFollower: "cassandra-2"}}
}

// chaosGoldenCases are the phase specifications whose Chaos Mesh objects
// are kept as golden files (testdata/chaosmesh/<name>.yaml); tools/kubecheck
// validates every one against Chaos Mesh's own types and webhook.
var chaosGoldenCases = []struct {
	name  string
	specs []Spec
}{
	{"latency-peer-out", []Spec{{Kind: KindLatency, Target: "leader", Links: LinksPeerOut, Delay: Duration(40 * time.Millisecond), Jitter: Duration(5 * time.Millisecond)}}},
	{"latency-loss-peer-both", []Spec{{Kind: KindLatency, Target: "cassandra-2", Links: LinksPeer, Delay: Duration(20 * time.Millisecond), Loss: 2.5}}},
	{"loss-client-upstream", []Spec{{Kind: KindLatency, Target: "cassandra-1", Links: LinksClient, Direction: Upstream, Loss: 10}}},
	{"bandwidth-all", []Spec{{Kind: KindBandwidth, Target: "follower", Links: LinksAll, RateKBps: 125}}},
	{"partition-one", []Spec{{Kind: KindPartition, Target: "cassandra-2"}}},
	{"partition-two", []Spec{{Kind: KindPartition, Target: "cassandra-0", Members: []string{"cassandra-1"}}}},
	{"down", []Spec{{Kind: KindDown, Target: "cassandra-1"}}},
	{"kill", []Spec{{Kind: KindKill, Target: "cassandra-2"}}},
}

// dryRunObjects renders the objects of specs as the dry run prints them.
func dryRunObjects(t *testing.T, specs []Spec) string {
	t.Helper()
	for i := range specs {
		specs[i].ApplyDefaults(nil)
	}
	acts, err := Resolve(specs, chaosTopo())
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	b := NewChaosMesh(nil, chaosTopo(), "golden-run", ChaosMeshOptions{}, &out)
	if err := b.Apply(context.Background(), acts); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestChaosMeshGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range chaosGoldenCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := dryRunObjects(t, slices.Clone(tc.specs))
			path := filepath.Join("testdata", "chaosmesh", tc.name+".yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("objects differ from %s (go test -update rewrites it):\n%s", path, got)
			}
		})
	}
}

// TestChaosMeshObjectShape checks what the objects mean, beyond the golden
// text: selectors, directions, targets and labels.
func TestChaosMeshObjectShape(t *testing.T) {
	t.Parallel()
	b := NewChaosMesh(nil, chaosTopo(), "run/1 of x", ChaosMeshOptions{}, nil)
	cases := []struct {
		name  string
		specs []Spec
		want  []string // kind action direction member→far, one per object
	}{
		{"peer_out is what the leader sends to each peer", []Spec{{Kind: KindLatency, Target: "leader", Links: LinksPeerOut, Delay: Duration(time.Millisecond)}},
			[]string{"NetworkChaos delay to db/cassandra-0→db/cassandra-1", "NetworkChaos delay to db/cassandra-0→db{app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2}"}},
		{"peer both directions merge into one object per peer", []Spec{{Kind: KindLatency, Target: "cassandra-1", Links: LinksPeer, Delay: Duration(time.Millisecond)}},
			[]string{"NetworkChaos delay both db/cassandra-1→db/cassandra-0", "NetworkChaos delay both db/cassandra-1→db{app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2}"}},
		{"client upstream is from the pacbench pods", []Spec{{Kind: KindBandwidth, Target: "cassandra-0", Links: LinksClient, Direction: Upstream, RateKBps: 10}},
			[]string{"NetworkChaos bandwidth from db/cassandra-0→pacbench{app.kubernetes.io/component=shard,app.kubernetes.io/name=pacbench}"}},
		{"partition isolates from the other side only", []Spec{{Kind: KindPartition, Target: "cassandra-0", Members: []string{"cassandra-1"}}},
			[]string{"NetworkChaos partition both db/cassandra-0→db{app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2}", "NetworkChaos partition both db/cassandra-1→db{app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2}"}},
		{"down is one pod-failure", []Spec{{Kind: KindDown, Target: "cassandra-2"}},
			[]string{"PodChaos pod-failure  db{app=cassandra,statefulset.kubernetes.io/pod-name=cassandra-2}→"}},
		{"kill is one pod-kill per member", []Spec{{Kind: KindKill, Target: "cassandra-0", Members: []string{"cassandra-1"}}},
			[]string{"PodChaos pod-kill  db/cassandra-0→", "PodChaos pod-kill  db/cassandra-1→"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acts, err := Resolve(tc.specs, chaosTopo())
			if err != nil {
				t.Fatal(err)
			}
			objs, err := b.objectsFor(acts, 1)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range objs {
				got = append(got, shape(t, o.obj))
				if l := o.obj.GetLabels(); l[ChaosLabelManagedBy] != "pacbench" || l[ChaosLabelRunID] != "run_1_of_x" {
					t.Errorf("%s labels %v", o, l)
				}
				if o.obj.GetAnnotations()[ChaosAnnotationRunID] != "run/1 of x" || o.obj.GetNamespace() != "pacbench" {
					t.Errorf("%s: annotations %v, namespace %s", o, o.obj.GetAnnotations(), o.obj.GetNamespace())
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("objects\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// shape summarises an object as "Kind action direction selector→target".
func shape(t *testing.T, u *unstructured.Unstructured) string {
	t.Helper()
	action, _, _ := unstructured.NestedString(u.Object, "spec", "action")
	dir, _, _ := unstructured.NestedString(u.Object, "spec", "direction")
	sel := func(path ...string) string {
		m, ok, _ := unstructured.NestedMap(u.Object, path...)
		if !ok {
			return ""
		}
		ns := m["namespaces"].([]any)[0].(string)
		if pods, ok := m["pods"].(map[string]any); ok {
			return ns + "/" + pods[ns].([]any)[0].(string)
		}
		ls := m["labelSelectors"].(map[string]any)
		var kv []string
		for k, v := range ls {
			kv = append(kv, k+"="+v.(string))
		}
		slices.Sort(kv)
		return ns + "{" + strings.Join(kv, ",") + "}"
	}
	return u.GetKind() + " " + action + " " + dir + " " + sel("spec", "selector") + "→" + sel("spec", "target", "selector")
}

// fakeChaosClient is client-go's fake dynamic client knowing the Chaos
// Mesh list kinds.
func fakeChaosClient() *dynamicfake.FakeDynamicClient {
	return dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{gvrNetworkChaos: "NetworkChaosList", gvrPodChaos: "PodChaosList"})
}

func listChaos(t *testing.T, cl *dynamicfake.FakeDynamicClient) []string {
	t.Helper()
	var out []string
	for _, gvr := range []schema.GroupVersionResource{gvrNetworkChaos, gvrPodChaos} {
		l, err := cl.Resource(gvr).Namespace("pacbench").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			out = append(out, it.GetName())
		}
	}
	slices.Sort(out)
	return out
}

func TestChaosMeshApplyClearShards(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := fakeChaosClient()
	acts, err := Resolve([]Spec{{Kind: KindPartition, Target: "cassandra-2"}, {Kind: KindDown, Target: "cassandra-0"}}, chaosTopo())
	if err != nil {
		t.Fatal(err)
	}
	shard0 := NewChaosMesh(cl, chaosTopo(), "run-1", ChaosMeshOptions{}, nil)
	shard1 := NewChaosMesh(cl, chaosTopo(), "run-1", ChaosMeshOptions{}, nil)
	other := NewChaosMesh(cl, chaosTopo(), "run-2", ChaosMeshOptions{}, nil)
	if err := shard0.Apply(ctx, acts); err != nil {
		t.Fatal(err)
	}
	created := listChaos(t, cl)
	if len(created) != 3 { // 2 NetworkChaos (one per peer) + 1 PodChaos
		t.Fatalf("created %v, want 3 objects", created)
	}
	if err := shard1.Apply(ctx, acts); err != nil {
		t.Fatalf("sibling shard: %v", err)
	}
	if got := listChaos(t, cl); !slices.Equal(got, created) {
		t.Errorf("after the sibling shard: %v, want %v", got, created)
	}
	// Another run's backend must not adopt run-1's objects (names differ,
	// so force a clash by reusing run-1's namer).
	other.namer = shard0.namer
	other.namer.runID = "run-2"
	if err := other.Apply(ctx, acts); err == nil || !strings.Contains(err.Error(), `belongs to run "run-1"`) {
		t.Errorf("other run's Apply = %v, want a clash error", err)
	}
	if len(shard0.Pending()) != 3 {
		t.Errorf("pending %v", shard0.Pending())
	}
	if err := shard0.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if got := listChaos(t, cl); len(got) != 0 {
		t.Errorf("after Clear: %v", got)
	}
	if err := shard1.Clear(ctx); err != nil {
		t.Errorf("sibling Clear after the objects are gone: %v", err)
	}
	if p := slices.Concat(shard0.Pending(), shard1.Pending()); len(p) != 0 {
		t.Errorf("pending after Clear: %v", p)
	}
}

func TestChaosMeshClearFailureStaysPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := fakeChaosClient()
	b := NewChaosMesh(cl, chaosTopo(), "run-1", ChaosMeshOptions{}, nil)
	acts, _ := Resolve([]Spec{{Kind: KindDown, Target: "cassandra-1"}}, chaosTopo())
	if err := b.Apply(ctx, acts); err != nil {
		t.Fatal(err)
	}
	cl.PrependReactor("delete", "podchaos", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("apiserver unavailable")
	})
	if err := b.Clear(ctx); err == nil || !strings.Contains(err.Error(), "apiserver unavailable") {
		t.Fatalf("Clear = %v, want the delete error", err)
	}
	if p := b.Pending(); len(p) != 1 || !strings.Contains(p[0], "PodChaos pacbench/") {
		t.Fatalf("pending %v, want the PodChaos", p)
	}
	cl.ReactionChain = cl.ReactionChain[1:]
	if err := b.Clear(ctx); err != nil || len(b.Pending()) != 0 || len(listChaos(t, cl)) != 0 {
		t.Fatalf("second Clear = %v, pending %v, left %v", err, b.Pending(), listChaos(t, cl))
	}
}

func TestChaosMeshApplyFailureRecordsWhatWasCreated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cl := fakeChaosClient()
	n := 0
	cl.PrependReactor("create", "networkchaos", func(k8stesting.Action) (bool, runtime.Object, error) {
		n++
		if n == 2 {
			return true, nil, errors.New("admission webhook denied")
		}
		return false, nil, nil
	})
	b := NewChaosMesh(cl, chaosTopo(), "run-1", ChaosMeshOptions{}, nil)
	acts, _ := Resolve([]Spec{{Kind: KindLatency, Target: "cassandra-0", Links: LinksPeer, Delay: Duration(time.Millisecond)}}, chaosTopo())
	if err := b.Apply(ctx, acts); err == nil || !strings.Contains(err.Error(), "admission webhook denied") {
		t.Fatalf("Apply = %v", err)
	}
	if len(b.Pending()) != 1 || len(listChaos(t, cl)) != 1 {
		t.Fatalf("pending %v, created %v: want the first object recorded", b.Pending(), listChaos(t, cl))
	}
	if err := b.Clear(ctx); err != nil || len(listChaos(t, cl)) != 0 {
		t.Fatalf("Clear = %v, left %v", err, listChaos(t, cl))
	}
}

func TestChaosMeshHeal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	leftover := NewChaosMesh(nil, chaosTopo(), "killed-run", ChaosMeshOptions{}, nil)
	acts, _ := Resolve([]Spec{{Kind: KindPartition, Target: "cassandra-1"}}, chaosTopo())
	objs, err := leftover.objectsFor(acts, 1)
	if err != nil {
		t.Fatal(err)
	}
	foreign := &unstructured.Unstructured{}
	foreign.SetAPIVersion("chaos-mesh.org/v1alpha1")
	foreign.SetKind("NetworkChaos")
	foreign.SetNamespace("pacbench")
	foreign.SetName("someone-elses")
	// Created through the client: seeding the fake's tracker would file
	// them under a guessed plural ("networkchaoses").
	cl := fakeChaosClient()
	for _, o := range append(objs, chaosObject{gvr: gvrNetworkChaos, obj: foreign}) {
		if _, err := cl.Resource(o.gvr).Namespace("pacbench").Create(ctx, o.obj, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var dry bytes.Buffer
	rep, err := NewChaosMesh(cl, chaosTopo(), "", ChaosMeshOptions{}, &dry).Heal(ctx)
	if err != nil || len(rep.Removed) != 2 || len(rep.Left) != 0 {
		t.Fatalf("dry-run heal = %+v, %v; want 2 to remove", rep, err)
	}
	if got := listChaos(t, cl); len(got) != 3 {
		t.Fatalf("dry-run heal deleted something: %v", got)
	}
	rep, err = NewChaosMesh(cl, chaosTopo(), "", ChaosMeshOptions{}, nil).Heal(ctx)
	if err != nil || len(rep.Removed) != 2 || !strings.Contains(rep.Removed[0], "run killed-run") {
		t.Fatalf("heal = %+v, %v", rep, err)
	}
	if got := listChaos(t, cl); !slices.Equal(got, []string{"someone-elses"}) {
		t.Fatalf("after heal: %v, want only the object pacbench did not make", got)
	}
}

func TestChaosMeshCheck(t *testing.T) {
	t.Parallel()
	reg := Builtin()
	spec := BackendSpec{Kind: BackendChaosMesh, Options: map[string]string{}}
	member := func(o map[string]string) Setup {
		return Setup{Impaired: true, Topology: Topology{Members: []MemberLinks{{Name: "a", Options: o}}}}
	}
	cases := []struct {
		name  string
		opts  map[string]string
		setup Setup
		want  []string // substrings of the errors, in order ("" = none)
	}{
		{"pod", nil, member(map[string]string{"pod": "cassandra-0"}), nil},
		{"selector and namespace", nil, member(map[string]string{"selector": "app=db,role=x", "namespace": "db"}), nil},
		{"not impaired needs nothing", nil, Setup{}, nil},
		{"neither", nil, member(nil), []string{"nodes[0].options: chaosmesh needs the member's pod"}},
		{"both", nil, member(map[string]string{"pod": "p", "selector": "a=b"}), []string{"either options.pod or options.selector"}},
		{"bad pod", nil, member(map[string]string{"pod": "Not_A_Pod"}), []string{"nodes[0].options.pod: not a pod name"}},
		{"set-based selector", nil, member(map[string]string{"selector": "app in (a,b)"}), []string{"nodes[0].options.selector: want an equality label selector"}},
		{"unknown member option", nil, member(map[string]string{"pod": "p", "container": "x"}), []string{"nodes[0].options.container: unknown option"}},
		{"bad namespace option", map[string]string{"namespace": "Bad NS"}, Setup{}, []string{"impairer.options.namespace: not a namespace name"}},
		{"bad client selector", map[string]string{"client_selector": "=x"}, Setup{}, []string{"impairer.options.client_selector"}},
		{"local cluster", nil, Setup{Local: true}, []string{"impairer.kind: chaosmesh acts on pods"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := spec
			s.Options = tc.opts
			errs := reg.Check(s, tc.setup)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d: %q", errs, len(tc.want), tc.want)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("error %q, want %q", e, tc.want[i])
				}
			}
		})
	}
	if fe := (ChaosMeshFactory{}).CheckSpec(Spec{Kind: KindReset, Target: "a"}); len(fe) != 1 || !strings.Contains(fe[0].Error(), "cannot reset") {
		t.Errorf("reset: %v", fe)
	}
	for _, k := range []string{KindLatency, KindBandwidth, KindPartition, KindDown} {
		if fe := (ChaosMeshFactory{}).CheckSpec(Spec{Kind: k}); len(fe) != 0 {
			t.Errorf("%s: %v", k, fe)
		}
	}
}
