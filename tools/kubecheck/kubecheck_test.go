package kubecheck

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// repoRoot is the pacbench repository, relative to this package.
const repoRoot = "../.."

// kustomizations are the directories users `kubectl apply -k`.
var kustomizations = []string{"deploy/kubernetes/base", "deploy/kubernetes/overlays/example", "deploy/kubernetes/results-reader"}

// buildChecked builds a kustomization and runs every object through
// Decode and Check, failing the test on any problem.
func buildChecked(t *testing.T, dir string) []Object {
	t.Helper()
	docs, err := Build(filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatal(err)
	}
	var objs []Object
	for _, d := range docs {
		o, err := Decode(d)
		if err != nil {
			t.Fatalf("%s: %v\n%s", dir, err, d)
		}
		if err := Check(o); err != nil {
			t.Errorf("%s: %v", dir, err)
		}
		objs = append(objs, o)
	}
	return objs
}

func TestKustomizationsValidate(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizations {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			objs := buildChecked(t, dir)
			if len(objs) == 0 {
				t.Fatal("built no objects")
			}
			for _, o := range objs {
				t.Logf("ok %s", o)
			}
		})
	}
}

// find returns the single object of a kind and name.
func find[T any](t *testing.T, objs []Object, kind, name string) T {
	t.Helper()
	for _, o := range objs {
		if o.GVK.Kind == kind && (o.Name == name || strings.HasPrefix(o.Name, name+"-")) {
			v, ok := o.Typed.(T)
			if !ok {
				t.Fatalf("%s is %T", o, o.Typed)
			}
			return v
		}
	}
	t.Fatalf("no %s %s in %v", kind, name, objs)
	var zero T
	return zero
}

func TestShardsThenMerge(t *testing.T) {
	t.Parallel()
	for _, dir := range []string{"deploy/kubernetes/base", "deploy/kubernetes/overlays/example"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			checkShardsThenMerge(t, buildChecked(t, dir))
		})
	}
}

// checkShardsThenMerge checks the run the objects describe: an Indexed Job
// of PACBENCH_SHARDS shards, each `pacbench run --shard I/N --start-at …`,
// then a merge of their results directories.
func checkShardsThenMerge(t *testing.T, objs []Object) {
	t.Helper()
	run := find[*corev1.ConfigMap](t, objs, "ConfigMap", "pacbench-run")
	shards := find[*batchv1.Job](t, objs, "Job", "pacbench-shards")
	merge := find[*batchv1.Job](t, objs, "Job", "pacbench-merge")

	n := run.Data["PACBENCH_SHARDS"]
	if shards.Spec.CompletionMode == nil || *shards.Spec.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("shards job completionMode = %v, want Indexed", shards.Spec.CompletionMode)
	}
	for what, p := range map[string]*int32{"completions": shards.Spec.Completions, "parallelism": shards.Spec.Parallelism} {
		if p == nil {
			t.Errorf("shards job %s unset, want PACBENCH_SHARDS = %s", what, n)
		} else if strconv.Itoa(int(*p)) != n {
			t.Errorf("shards job %s = %d, want PACBENCH_SHARDS = %s", what, *p, n)
		}
	}
	c := shards.Spec.Template.Spec.Containers[0]
	for _, want := range []string{"run", "--shard=$(JOB_COMPLETION_INDEX)/$(PACBENCH_SHARDS)",
		"--start-at=$(PACBENCH_START_AT)", "--run-id=$(PACBENCH_RUN_ID)", "--profile=/etc/pacbench/profile.yaml"} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("shard args %q lack %q", c.Args, want)
		}
	}
	mc := merge.Spec.Template.Spec.Containers[0]
	if got := strings.Join(mc.Args, " "); !strings.Contains(got, "pacbench merge ") || !strings.Contains(got, " -o ") {
		t.Errorf("merge container runs %q, want pacbench merge DIR… -o DIR", got)
	}
	// Both jobs mount the same results claim; shards mount the profile.
	claim := func(j *batchv1.Job) string {
		for _, v := range j.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				return v.PersistentVolumeClaim.ClaimName
			}
		}
		return ""
	}
	if claim(shards) == "" || claim(shards) != claim(merge) {
		t.Errorf("results claims: shards %q, merge %q", claim(shards), claim(merge))
	}
	find[*corev1.PersistentVolumeClaim](t, objs, "PersistentVolumeClaim", claim(shards))
	profile := find[*corev1.ConfigMap](t, objs, "ConfigMap", "pacbench-profile")
	if _, ok := profile.Data["profile.yaml"]; !ok {
		t.Errorf("profile ConfigMap has keys %v, want profile.yaml", keys(profile.Data))
	}
	mounted := false
	for _, v := range shards.Spec.Template.Spec.Volumes {
		mounted = mounted || (v.ConfigMap != nil && v.ConfigMap.Name == profile.Name)
	}
	if !mounted {
		t.Errorf("shards do not mount the profile ConfigMap %s", profile.Name)
	}
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestBaseEveryContainerRequestsResources(t *testing.T) {
	t.Parallel()
	for _, dir := range kustomizations {
		for _, o := range buildChecked(t, dir) {
			_, spec, ok := podTemplate(o)
			if !ok {
				continue
			}
			for _, c := range slices.Concat(spec.InitContainers, spec.Containers) {
				r := c.Resources.Requests
				if r.Cpu().IsZero() || r.Memory().IsZero() {
					t.Errorf("%s container %s: requests %v, want cpu and memory", o, c.Name, r)
				}
				if c.Resources.Limits.Memory().IsZero() {
					t.Errorf("%s container %s: no memory limit", o, c.Name)
				}
			}
		}
	}
}

func TestBaseMonitoringAndDashboards(t *testing.T) {
	t.Parallel()
	objs := buildChecked(t, "deploy/kubernetes/base")
	pm := find[*monitoringv1.PodMonitor](t, objs, "PodMonitor", "pacbench")
	shards := find[*batchv1.Job](t, objs, "Job", "pacbench-shards")
	tmpl := shards.Spec.Template
	for k, v := range pm.Spec.Selector.MatchLabels {
		if tmpl.Labels[k] != v {
			t.Errorf("PodMonitor selects %s=%s; shard pods have %s=%q", k, v, k, tmpl.Labels[k])
		}
	}
	ports := map[string]bool{}
	for _, c := range tmpl.Spec.Containers {
		for _, p := range c.Ports {
			ports[p.Name] = true
		}
	}
	for _, ep := range pm.Spec.PodMetricsEndpoints {
		if ep.Port == nil || !ports[*ep.Port] {
			t.Errorf("PodMonitor endpoint port %v is not a shard container port (%v)", ep.Port, keys(ports))
		}
	}

	dash := find[*corev1.ConfigMap](t, objs, "ConfigMap", "pacbench-dashboards")
	if dash.Labels["grafana_dashboard"] != "1" {
		t.Errorf("dashboards ConfigMap labels %v, want grafana_dashboard=1 (Grafana's sidecar)", dash.Labels)
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "dashboards", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("dashboards: %v %v", files, err)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := dash.Data[filepath.Base(f)]; !ok {
			t.Errorf("dashboards/%s is not in the ConfigMap: list it in dashboards/kustomization.yaml", filepath.Base(f))
		} else if got != string(want) {
			t.Errorf("dashboards/%s differs in the ConfigMap", filepath.Base(f))
		}
	}
	ds := find[*corev1.ConfigMap](t, objs, "ConfigMap", "pacbench-grafana-datasource")
	if ds.Labels["grafana_datasource"] != "1" || !strings.Contains(ds.Data["pacbench-datasource.yaml"], "uid: pacbench-prom") {
		t.Errorf("datasource ConfigMap: labels %v, data %v", ds.Labels, ds.Data)
	}
}

func TestBaseRBACOnlyChaosMesh(t *testing.T) {
	t.Parallel()
	objs := buildChecked(t, "deploy/kubernetes/base")
	role := find[*rbacv1.Role](t, objs, "Role", "pacbench-chaos")
	for _, r := range role.Rules {
		if !slices.Equal(r.APIGroups, []string{"chaos-mesh.org"}) {
			t.Errorf("role rule groups %v, want only chaos-mesh.org", r.APIGroups)
		}
		for _, res := range r.Resources {
			if !slices.Contains([]string{"networkchaos", "podchaos", "timechaos"}, res) {
				t.Errorf("role grants %s, not a kind the chaosmesh backend creates", res)
			}
		}
		if slices.Contains(r.Verbs, "*") || slices.Contains(r.Resources, "*") {
			t.Errorf("role rule %v has a wildcard", r)
		}
	}
	rb := find[*rbacv1.RoleBinding](t, objs, "RoleBinding", "pacbench-chaos")
	shards := find[*batchv1.Job](t, objs, "Job", "pacbench-shards")
	sa := shards.Spec.Template.Spec.ServiceAccountName
	if rb.RoleRef.Name != role.Name || len(rb.Subjects) != 1 || rb.Subjects[0].Name != sa {
		t.Errorf("role binding %v does not bind role %s to the shards' service account %s", rb, role.Name, sa)
	}
	find[*corev1.ServiceAccount](t, objs, "ServiceAccount", sa)
}

// TestValidationRejects proves each validation layer can fail: mutations of
// the built shard Job that the real code must refuse.
func TestValidationRejects(t *testing.T) {
	t.Parallel()
	docs, err := Build(filepath.Join(repoRoot, "deploy/kubernetes/base"))
	if err != nil {
		t.Fatal(err)
	}
	var job []byte
	for _, d := range docs {
		if strings.Contains(string(d), "name: pacbench-shards\n") && strings.Contains(string(d), "kind: Job") {
			job = d
		}
	}
	if job == nil {
		t.Fatal("no shard job built")
	}
	cases := []struct {
		name   string
		mutate func(m map[string]any)
		want   string
		strict bool
	}{
		{"unknown field", func(m map[string]any) { spec(m)["completionsMode"] = "Indexed" }, "unknown field", true},
		{"privileged container", func(m map[string]any) { container(m)["securityContext"].(map[string]any)["privileged"] = true }, "privileged", false},
		{"runs as root", func(m map[string]any) { podSpec(m)["securityContext"].(map[string]any)["runAsUser"] = 0 }, "runAsUser=0", false},
		{"capability added", func(m map[string]any) {
			container(m)["securityContext"].(map[string]any)["capabilities"] = map[string]any{"drop": []any{"ALL"}, "add": []any{"NET_ADMIN"}}
		}, "NET_ADMIN", false},
		{"indexed without completions", func(m map[string]any) { delete(spec(m), "completions") }, "completions", false},
		{"restart always", func(m map[string]any) { podSpec(m)["restartPolicy"] = "Always" }, "restartPolicy", false},
		{"bad label", func(m map[string]any) { objMeta(m)["labels"].(map[string]any)["app.kubernetes.io/name"] = "-x-" }, "metadata.labels", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var m map[string]any
			if err := sigsyaml.Unmarshal(job, &m); err != nil {
				t.Fatal(err)
			}
			tc.mutate(m)
			doc, err := sigsyaml.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			expectRejected(t, doc, tc.strict, tc.want)
		})
	}
}

func objMeta(m map[string]any) map[string]any { return m["metadata"].(map[string]any) }
func spec(m map[string]any) map[string]any    { return m["spec"].(map[string]any) }
func podSpec(m map[string]any) map[string]any {
	return spec(m)["template"].(map[string]any)["spec"].(map[string]any)
}
func container(m map[string]any) map[string]any {
	return podSpec(m)["containers"].([]any)[0].(map[string]any)
}

// expectRejected asserts that doc is refused: by strict decoding (strict)
// or else by Check, with an error mentioning want.
func expectRejected(t *testing.T, doc []byte, strict bool, want string) {
	t.Helper()
	o, err := Decode(doc)
	if strict {
		if !errors.Is(err, ErrStrict) || !strings.Contains(err.Error(), want) {
			t.Fatalf("Decode = %v, want a strict error about %q", err, want)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	err = Check(o)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Check = %v, want an error about %q", err, want)
	}
	t.Log(err)
}
