package deploy

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"gopkg.in/yaml.v3"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

// projectName is the compose project name docker-compose.yml sets.
const projectName = "pacbench"

// Services of the stack, by role.
var (
	cassandraNodes = []string{"cassandra1", "cassandra2", "cassandra3"}
	mongoNodes     = []string{"mongo1", "mongo2", "mongo3"}
	etcdNodes      = []string{"etcd1", "etcd2", "etcd3"}
	allNodes       = slices.Concat(cassandraNodes, mongoNodes, etcdNodes)
	// longRunning are the services `up` keeps running that must report
	// health.
	longRunning = slices.Concat(allNodes, []string{"toxiproxy", "prometheus", "grafana"})
)

// loadProject loads docker-compose.yml the way `docker compose` does
// (interpolation, normalisation, paths resolved against the repository),
// with env as the only environment (never the developer's own .env or
// shell) and the compose profiles given.
func loadProject(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		kv = append(kv, k+"="+env[k])
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithResolvedPaths(true),
		cli.WithEnv(kv),
		cli.WithProfiles(profiles),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load docker-compose.yml: %v", err)
	}
	return p
}

// stack is the project with every compose profile enabled (pacbench too).
func stack(t *testing.T) *types.Project {
	t.Helper()
	return loadProject(t, nil, "pacbench")
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("service %q missing from docker-compose.yml", name)
	}
	return s
}

func TestComposeServicesPresent(t *testing.T) {
	t.Parallel()
	p := stack(t)
	if p.Name != projectName {
		t.Errorf("project name %q, want %q (the netem profiles name containers after it)", p.Name, projectName)
	}
	want := slices.Concat(longRunning, []string{"mongo-init", "pacbench"})
	for _, n := range allNodes {
		want = append(want, "netem-"+n)
	}
	for _, name := range want {
		if _, ok := p.Services[name]; !ok {
			t.Errorf("service %q missing", name)
		}
	}
	for name := range p.Services {
		if !slices.Contains(want, name) {
			t.Errorf("unexpected service %q: add it to this test's list (and to docs/compose.md)", name)
		}
	}
}

// TestComposeUpStartsNoRun: pacbench is in its own compose profile, so a
// plain `docker compose up` leaves it out; `docker compose run pacbench`
// enables it.
func TestComposeUpStartsNoRun(t *testing.T) {
	t.Parallel()
	p := loadProject(t, nil)
	if _, ok := p.Services["pacbench"]; ok {
		t.Fatal("`docker compose up` would start the pacbench service")
	}
	if !slices.Contains(p.DisabledServiceNames(), "pacbench") {
		t.Errorf("pacbench is not a disabled (profile) service: %v", p.DisabledServiceNames())
	}
	if got := service(t, stack(t), "pacbench").Profiles; !slices.Equal(got, []string{"pacbench"}) {
		t.Errorf("pacbench profiles = %v, want [pacbench]", got)
	}
	for name, s := range stack(t).Services {
		if name != "pacbench" && len(s.Profiles) > 0 {
			t.Errorf("%s is in profiles %v: `up` would not start it", name, s.Profiles)
		}
	}
}

// Image references: registry/name:tag with an exact version, optionally
// @sha256:digest.
var (
	imageRef = regexp.MustCompile(`^([a-z0-9.-]+(?::[0-9]+)?/)?([a-z0-9._/-]+):([A-Za-z0-9._-]+)(@sha256:[0-9a-f]{64})?$`)
	exactTag = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+$`)
	// Projects whose releases have two components (netshoot: v0.13).
	twoPartReleases = map[string]bool{"nicolaka/netshoot": true}
	twoPartTag      = regexp.MustCompile(`^v?[0-9]+\.[0-9]+$`)
)

// imageVersion splits a pinned image reference into name and tag.
func imageVersion(t *testing.T, ref string) (name, tag string) {
	t.Helper()
	m := imageRef.FindStringSubmatch(ref)
	if m == nil {
		t.Fatalf("image %q is not registry/name:tag[@sha256:digest]", ref)
	}
	return m[1] + m[2], m[3]
}

func TestComposeImagesPinned(t *testing.T) {
	t.Parallel()
	p := stack(t)
	images := map[string]string{} // image name -> tag
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		s := p.Services[name]
		if s.Build != nil {
			// Built from this checkout, never pulled.
			if s.PullPolicy != types.PullPolicyBuild {
				t.Errorf("%s is built here: pull_policy must be build (never pull a same-named image), got %q", name, s.PullPolicy)
			}
			if strings.Contains(strings.Split(s.Image, ":")[0], "/") {
				t.Errorf("%s: a locally built image must not look like a registry image: %q", name, s.Image)
			}
			continue
		}
		img, tag := imageVersion(t, s.Image)
		short := strings.TrimPrefix(img, "docker.io/")
		switch {
		case tag == "latest":
			t.Errorf("%s: image %s floats (latest)", name, s.Image)
		case twoPartReleases[short] && !twoPartTag.MatchString(tag):
			t.Errorf("%s: image %s is not an exact release", name, s.Image)
		case !twoPartReleases[short] && !exactTag.MatchString(tag):
			t.Errorf("%s: image %s is not pinned to an exact major.minor.patch version", name, s.Image)
		}
		images[short] = tag
	}
	// Cross-checks with what the rest of the repository runs.
	want := map[string]string{
		"cassandra":                    shellDefault(t, filepath.Join(repoRoot, "scripts", "cassandra.sh"), "PACBENCH_CASSANDRA_VERSION"),
		"gcr.io/etcd-development/etcd": goModVersion(t, "go.etcd.io/etcd/server/v3"),
		"ghcr.io/shopify/toxiproxy":    strings.TrimPrefix(goModVersion(t, "github.com/Shopify/toxiproxy/v2"), "v"),
		"mongo":                        "",
		"nicolaka/netshoot":            "",
		"prom/prometheus":              "",
		"grafana/grafana":              "",
	}
	for img, v := range want {
		got, ok := images[img]
		switch {
		case !ok:
			t.Errorf("no service runs %s", img)
		case v != "" && got != v:
			t.Errorf("%s:%s, want %s (the version the rest of the repository uses)", img, got, v)
		}
	}
	if tag := images["prom/prometheus"]; !strings.HasPrefix(tag, "v3.") {
		t.Errorf("prom/prometheus:%s, want a 3.x", tag)
	}
	if tag := images["mongo"]; !strings.HasPrefix(tag, "8.0.") {
		t.Errorf("mongo:%s, want an 8.0 patch release (the driver tests use 8.0)", tag)
	}
}

// shellDefault returns the default of ${name:-default} in a shell script.
func shellDefault(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\$\{` + name + `:-([^}]+)\}`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s has no default for %s", path, name)
	}
	return string(m[1])
}

// goModVersion returns the version go.mod requires of module.
func goModVersion(t *testing.T, module string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "require "))
		if len(fields) >= 2 && fields[0] == module {
			return fields[1]
		}
	}
	t.Fatalf("go.mod does not require %s", module)
	return ""
}

func TestComposeNoFixedNames(t *testing.T) {
	t.Parallel()
	p := stack(t)
	for name, s := range p.Services {
		if s.ContainerName != "" {
			t.Errorf("%s has the fixed container_name %q (clashes with other stacks)", name, s.ContainerName)
		}
	}
	for name, n := range p.Networks {
		if n.Name != projectName+"_"+name {
			t.Errorf("network %s is named %q, want the project-scoped %s_%s", name, n.Name, projectName, name)
		}
	}
}

// composeVar is one ${NAME:-default} of docker-compose.yml.
var composeVar = regexp.MustCompile(`\$\{([A-Z0-9_]+):-([^}]*)\}`)

// composeDefaults returns every variable docker-compose.yml uses with its
// default, failing on a variable used with two different defaults or
// without one.
func composeDefaults(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`).FindAllSubmatch(b, -1) {
		if !strings.HasPrefix(string(m[1]), "PACBENCH_") {
			t.Errorf("docker-compose.yml uses $%s: variables must be PACBENCH_* with a default", m[1])
		}
	}
	out := map[string]string{}
	for _, m := range composeVar.FindAllStringSubmatch(string(b), -1) {
		if d, seen := out[m[1]]; seen && d != m[2] {
			t.Errorf("%s has two defaults: %q and %q", m[1], d, m[2])
		}
		out[m[1]] = m[2]
	}
	if n := strings.Count(string(b), "${"); n != len(composeVar.FindAllString(string(b), -1)) {
		t.Errorf("docker-compose.yml has %d ${…} but only %d with a default", n, len(composeVar.FindAllString(string(b), -1)))
	}
	return out
}

// envExample reads .env.example's NAME=value lines.
func envExample(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example:%d: not NAME=value: %q", i+1, line)
			continue
		}
		out[k] = v
	}
	return out
}

// TestComposeEnvExample: .env.example lists every variable with the same
// default as docker-compose.yml, and loading the stack with it changes
// nothing.
func TestComposeEnvExample(t *testing.T) {
	t.Parallel()
	defaults, example := composeDefaults(t), envExample(t)
	if !maps.Equal(defaults, example) {
		for k, v := range defaults {
			if example[k] != v {
				t.Errorf(".env.example: %s=%q, docker-compose.yml's default is %q", k, example[k], v)
			}
		}
		for k := range example {
			if _, ok := defaults[k]; !ok {
				t.Errorf(".env.example sets %s, which docker-compose.yml does not use", k)
			}
		}
	}
	a, err := yaml.Marshal(stack(t))
	if err != nil {
		t.Fatal(err)
	}
	b, err := yaml.Marshal(loadProject(t, example, "pacbench"))
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("loading docker-compose.yml with .env.example gives another project than its defaults")
	}
}

// TestComposePortsLoopbackOverridable: every published port is bound to
// 127.0.0.1 and comes from a .env variable: overriding all of them moves
// every published port, and only to the values given.
func TestComposePortsLoopbackOverridable(t *testing.T) {
	t.Parallel()
	defaults := composeDefaults(t)
	override := map[string]string{}
	want := map[string]bool{}
	for i, k := range slices.Sorted(maps.Keys(defaults)) {
		if strings.HasSuffix(k, "_PORT") {
			v := strconv.Itoa(41000 + i)
			override[k], want[v] = v, true
		}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{{"defaults", nil}, {"overridden", override}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := loadProject(t, tc.env, "pacbench")
			got := map[string]bool{}
			for name, s := range p.Services {
				for _, port := range s.Ports {
					if port.HostIP != "127.0.0.1" {
						t.Errorf("%s: port %s:%d bound to %q, want 127.0.0.1", name, port.Published, port.Target, port.HostIP)
					}
					if port.Published == "" {
						t.Errorf("%s: port %d published on a random host port", name, port.Target)
					}
					if got[port.Published] {
						t.Errorf("%s: host port %s published twice", name, port.Published)
					}
					got[port.Published] = true
				}
			}
			want := want
			if tc.env == nil {
				want = map[string]bool{}
				for k, v := range defaults {
					if strings.HasSuffix(k, "_PORT") {
						want[v] = true
					}
				}
			}
			if !maps.Equal(got, want) {
				t.Errorf("the stack publishes %v, want exactly the *_PORT values %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
		})
	}
}

// TestComposeSubnetOverridable: the databases' subnet and every fixed
// address in it follow PACBENCH_SUBNET_PREFIX.
func TestComposeSubnetOverridable(t *testing.T) {
	t.Parallel()
	for _, prefix := range []string{"172.28.0", "10.99.7"} {
		t.Run(prefix, func(t *testing.T) {
			t.Parallel()
			p := loadProject(t, map[string]string{"PACBENCH_SUBNET_PREFIX": prefix}, "pacbench")
			cfg := p.Networks["pacbench"].Ipam.Config
			if len(cfg) != 1 || cfg[0].Subnet != prefix+".0/24" {
				t.Fatalf("pacbench network ipam %+v, want subnet %s.0/24", cfg, prefix)
			}
			subnet := netip.MustParsePrefix(cfg[0].Subnet)
			fixed := 0
			for name, s := range p.Services {
				for net, sn := range s.Networks {
					if sn == nil || sn.Ipv4Address == "" {
						continue
					}
					fixed++
					if a, err := netip.ParseAddr(sn.Ipv4Address); err != nil || net != "pacbench" || !subnet.Contains(a) {
						t.Errorf("%s: fixed address %s on %s outside %s", name, sn.Ipv4Address, net, subnet)
					}
				}
			}
			if fixed != len(allNodes) {
				t.Errorf("%d fixed addresses, want one per database node (%d)", fixed, len(allNodes))
			}
			seeds := *service(t, p, "cassandra1").Environment["CASSANDRA_SEEDS"]
			for _, n := range cassandraNodes {
				if addr := service(t, p, n).Networks["pacbench"].Ipv4Address; !slices.Contains(strings.Split(seeds, ","), addr) {
					t.Errorf("CASSANDRA_SEEDS %q lacks %s (%s)", seeds, n, addr)
				}
			}
			if c := p.Networks["clients"].Ipam.Config; len(c) != 0 {
				t.Errorf("the clients network fixes its subnet %+v: let Docker pick a free one", c)
			}
		})
	}
}

// memoryLimit returns s's memory limit in bytes (0: none).
func memoryLimit(s types.ServiceConfig) int64 {
	if s.Deploy == nil || s.Deploy.Resources.Limits == nil {
		return 0
	}
	return int64(s.Deploy.Resources.Limits.MemoryBytes)
}

// parseSize parses 512M, 1G, 256m style sizes (binary units) into bytes.
func parseSize(t *testing.T, s string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^([0-9]+)([kKmMgG])?$`).FindStringSubmatch(strings.TrimSuffix(strings.TrimSuffix(s, "iB"), "B"))
	if m == nil {
		t.Fatalf("size %q", s)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n << map[string]int{"": 0, "k": 10, "m": 20, "g": 30}[strings.ToLower(m[2])]
}

// TestComposeMemoryFits8GB: every service has a memory limit, the limits
// add up to what a Docker VM of 8 GB can give (leaving 0.5 GiB for the VM
// itself), and heaps and caches fit inside their container's limit.
func TestComposeMemoryFits8GB(t *testing.T) {
	t.Parallel()
	p := stack(t)
	var sum int64
	for _, name := range slices.Sorted(maps.Keys(p.Services)) {
		lim := memoryLimit(p.Services[name])
		if lim <= 0 {
			t.Errorf("%s has no memory limit", name)
		}
		sum += lim
	}
	const budget = 7<<30 + 512<<20
	t.Logf("memory limits add up to %.2f GiB (budget %.2f GiB)", float64(sum)/(1<<30), float64(budget)/(1<<30))
	if sum > budget {
		t.Errorf("memory limits add up to %.2f GiB, more than the %.2f GiB an 8 GB Docker VM leaves", float64(sum)/(1<<30), float64(budget)/(1<<30))
	}
	for _, n := range cassandraNodes {
		s := service(t, p, n)
		heap := parseSize(t, *s.Environment["MAX_HEAP_SIZE"])
		direct := parseSize(t, regexp.MustCompile(`-XX:MaxDirectMemorySize=(\S+)`).FindStringSubmatch(*s.Environment["JVM_EXTRA_OPTS"])[1])
		if lim := memoryLimit(s); heap+direct > lim*4/5 {
			t.Errorf("%s: heap %d MiB + direct memory %d MiB leave less than a fifth of its %d MiB limit for the rest of the JVM",
				n, heap>>20, direct>>20, lim>>20)
		}
	}
	for _, n := range mongoNodes {
		s := service(t, p, n)
		i := slices.Index(s.Command, "--wiredTigerCacheSizeGB")
		if i < 0 {
			t.Fatalf("%s: no --wiredTigerCacheSizeGB in %v (mongod would size its cache from the host's memory)", n, s.Command)
		}
		gb, err := strconv.ParseFloat(s.Command[i+1], 64)
		if err != nil {
			t.Fatal(err)
		}
		if cache := int64(gb * (1 << 30)); cache > memoryLimit(s)*3/5 {
			t.Errorf("%s: WiredTiger cache %d MiB over 60%% of its %d MiB limit", n, cache>>20, memoryLimit(s)>>20)
		}
	}
	for _, n := range etcdNodes {
		s := service(t, p, n)
		if g := s.Environment["GOMEMLIMIT"]; g == nil || parseSize(t, *g) >= memoryLimit(s) {
			t.Errorf("%s: GOMEMLIMIT must be set below its memory limit", n)
		}
	}
}

func TestComposeHealthChecks(t *testing.T) {
	t.Parallel()
	p := stack(t)
	for _, name := range longRunning {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
				t.Fatalf("%s has no health check: %+v", name, hc)
			}
			if hc.Interval == nil || hc.Retries == nil || hc.Timeout == nil {
				t.Errorf("%s health check lacks interval/timeout/retries", name)
			}
		})
	}
	for _, n := range cassandraNodes {
		s := service(t, p, n)
		port := nativePort(t, s)
		if test := strings.Join(s.HealthCheck.Test, " "); !strings.HasSuffix(test, "/dev/tcp/127.0.0.1/"+port) {
			t.Errorf("%s: health check %q does not probe its native port %s", n, test, port)
		}
	}
}

// nativePort returns the native (CQL) port a Cassandra service listens on.
func nativePort(t *testing.T, s types.ServiceConfig) string {
	t.Helper()
	opts := s.Environment["JVM_EXTRA_OPTS"]
	if opts == nil {
		t.Fatalf("%s: JVM_EXTRA_OPTS unset", s.Name)
	}
	m := regexp.MustCompile(`-Dcassandra\.native_transport_port=(\d+)`).FindStringSubmatch(*opts)
	if m == nil {
		t.Fatalf("%s: no native_transport_port in %q", s.Name, *opts)
	}
	return m[1]
}

// TestComposeStartOrder: `docker compose run pacbench` starts only after
// every database is healthy (MongoDB: after its replica set has a
// primary), through depends_on conditions chained without a gap.
func TestComposeStartOrder(t *testing.T) {
	t.Parallel()
	p := stack(t)
	cond := func(svc, dep, want string) {
		t.Helper()
		d, ok := service(t, p, svc).DependsOn[dep]
		if !ok {
			t.Errorf("%s must depend on %s", svc, dep)
			return
		}
		if d.Condition != want {
			t.Errorf("%s depends on %s with condition %q, want %q", svc, dep, d.Condition, want)
		}
	}
	for _, d := range slices.Concat(cassandraNodes, etcdNodes, []string{"toxiproxy", "prometheus"}) {
		cond("pacbench", d, types.ServiceConditionHealthy)
	}
	cond("pacbench", "mongo-init", types.ServiceConditionCompletedSuccessfully)
	for _, m := range mongoNodes {
		cond("mongo-init", m, types.ServiceConditionHealthy)
	}
	cond("mongo-init", "toxiproxy", types.ServiceConditionHealthy) // member traffic crosses it
	for _, e := range etcdNodes {
		cond(e, "toxiproxy", types.ServiceConditionHealthy) // peers through it
	}
	cond("grafana", "prometheus", types.ServiceConditionHealthy)
	if init := service(t, p, "mongo-init"); init.Restart != "no" && init.Restart != "" {
		t.Errorf("mongo-init is a one-shot job, restart=%q", init.Restart)
	}
	// Every database node is reached from pacbench through healthy or
	// completed conditions only.
	reached := map[string]bool{}
	var walk func(string)
	walk = func(name string) {
		for dep, d := range service(t, p, name).DependsOn {
			if reached[dep] || (d.Condition != types.ServiceConditionHealthy && d.Condition != types.ServiceConditionCompletedSuccessfully) {
				continue
			}
			reached[dep] = true
			walk(dep)
		}
	}
	walk("pacbench")
	for _, n := range allNodes {
		if !reached[n] {
			t.Errorf("pacbench can start before %s is healthy", n)
		}
	}
	if _, err := startOrder(p); err != nil {
		t.Fatal(err)
	}
}

// startOrder returns the services in an order compatible with depends_on,
// or an error on a cycle or a missing dependency.
func startOrder(p *types.Project) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string, []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("depends_on cycle: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		s, ok := p.Services[name]
		if !ok {
			return fmt.Errorf("%s depends on missing service %s", strings.Join(path, " -> "), name)
		}
		state[name] = 1
		for _, d := range slices.Sorted(maps.Keys(s.DependsOn)) {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, n := range slices.Sorted(maps.Keys(p.Services)) {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// sidecarContainer is the container name compose gives the netem sidecar
// of node (<project>-<service>-<index>, docker/compose getContainerName).
func sidecarContainer(node string) string {
	return projectName + "-netem-" + node + "-1"
}

func TestComposeNetemSidecars(t *testing.T) {
	t.Parallel()
	p := stack(t)
	for _, n := range allNodes {
		t.Run(n, func(t *testing.T) {
			s := service(t, p, "netem-"+n)
			if !slices.Contains(s.CapAdd, "NET_ADMIN") {
				t.Errorf("cap_add = %v, want NET_ADMIN", s.CapAdd)
			}
			if want := "service:" + n; s.NetworkMode != want {
				t.Errorf("network_mode = %q, want %q (share the node's netns)", s.NetworkMode, want)
			}
			if len(s.Ports) != 0 {
				t.Errorf("a sidecar shares its node's netns and cannot publish ports: %v", s.Ports)
			}
			if d, ok := s.DependsOn[n]; !ok || !d.Restart {
				t.Errorf("sidecar must depend on %s with restart: true (a restarted node gets a new netns): %+v", n, s.DependsOn)
			}
			if s.User != "" && s.User != "root" && s.User != "0" {
				t.Errorf("tc and iptables need root in the sidecar, user %q", s.User)
			}
		})
	}
}

// bindSources returns the host paths of s's bind mounts, by container path.
func bindSources(s types.ServiceConfig) map[string]types.ServiceVolumeConfig {
	out := map[string]types.ServiceVolumeConfig{}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind {
			out[v.Target] = v
		}
	}
	return out
}

func TestComposeMountsExist(t *testing.T) {
	t.Parallel()
	p := stack(t)
	root, _ := filepath.Abs(repoRoot)
	for name, s := range p.Services {
		for target, v := range bindSources(s) {
			if !strings.HasPrefix(v.Source, root+string(filepath.Separator)) {
				t.Errorf("%s mounts %s from outside the repository", name, v.Source)
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: mount %s -> %s: %v", name, v.Source, target, err)
			}
			if !v.ReadOnly && !(name == "pacbench" && target == "/work/results") {
				t.Errorf("%s mounts %s read-write", name, v.Source)
			}
		}
	}
}

// TestComposePacbenchService: the pacbench service runs the image built
// from ./Dockerfile inside the clients network, as a non-root user, with
// results in the bind-mounted results/ and /metrics on the container's
// interfaces.
func TestComposePacbenchService(t *testing.T) {
	t.Parallel()
	p := stack(t)
	s := service(t, p, "pacbench")
	root, _ := filepath.Abs(repoRoot)
	if s.Build == nil || s.Build.Context != root || cmp.Or(s.Build.Dockerfile, "Dockerfile") != "Dockerfile" {
		t.Errorf("build = %+v, want ./Dockerfile", s.Build)
	}
	if len(s.Command) != 0 {
		t.Errorf("command %v: `docker compose run pacbench ARGS` passes the arguments to the image's entrypoint", s.Command)
	}
	if addr := s.Environment["PACBENCH_METRICS_ADDR"]; addr == nil || *addr != "0.0.0.0:9464" {
		t.Errorf("PACBENCH_METRICS_ADDR = %v, want 0.0.0.0:9464 (Prometheus scrapes pacbench:9464)", addr)
	}
	uid, _, _ := strings.Cut(s.User, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("user %q, want a numeric non-root uid", s.User)
	}
	if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("want read_only, cap_drop ALL, no-new-privileges: read_only=%v cap_drop=%v security_opt=%v", s.ReadOnly, s.CapDrop, s.SecurityOpt)
	}
	workdir := dockerfileWorkdir(t)
	mounts := bindSources(s)
	for target, src := range map[string]string{workdir + "/results": "results", workdir + "/profiles": "profiles"} {
		if v, ok := mounts[target]; !ok || v.Source != filepath.Join(root, src) {
			t.Errorf("%s must be ./%s bind-mounted (pacbench runs in %s): %+v", target, src, workdir, mounts)
		}
	}
	if _, ok := s.Networks["clients"]; !ok || len(s.Networks) != 1 {
		t.Errorf("pacbench networks %v, want only clients (it reaches the databases through Toxiproxy)", slices.Collect(maps.Keys(s.Networks)))
	}
	if s.Init == nil || !*s.Init {
		t.Error("pacbench needs init: true (it re-executes itself for local clusters; zombies must be reaped)")
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
