package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
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

	"github.com/pacbench/pacbench/internal/registry"
	"github.com/pacbench/pacbench/profile"
)

// repoRoot is the repository root, relative to this package.
const repoRoot = ".."

// Database nodes of the stack, by system.
var (
	cassandraNodes = []string{"cassandra1", "cassandra2", "cassandra3"}
	mongoNodes     = []string{"mongo1", "mongo2", "mongo3"}
	etcdNodes      = []string{"etcd1", "etcd2", "etcd3"}
	allNodes       = slices.Concat(cassandraNodes, mongoNodes, etcdNodes)
)

// loadProject loads docker-compose.yml the way `docker compose` does
// (interpolation, normalisation, paths resolved against the repository).
func loadProject(t *testing.T) *types.Project {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithName("pacbench"),
		cli.WithResolvedPaths(true),
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
	p := loadProject(t)
	want := slices.Concat(allNodes, []string{"mongo-init", "toxiproxy", "prometheus", "grafana"})
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

func TestComposeHealthChecks(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	for _, name := range slices.Concat(allNodes, []string{"toxiproxy"}) {
		t.Run(name, func(t *testing.T) {
			hc := service(t, p, name).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 || hc.Test[0] == "NONE" {
				t.Fatalf("%s has no health check: %+v", name, hc)
			}
			if hc.Interval == nil || hc.Retries == nil {
				t.Errorf("%s health check lacks interval/retries", name)
			}
		})
	}
}

func TestComposeStartOrder(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	healthy := func(svc, dep string) {
		t.Helper()
		d, ok := service(t, p, svc).DependsOn[dep]
		if !ok {
			t.Errorf("%s must depend on %s", svc, dep)
			return
		}
		if d.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s depends on %s with condition %q, want %q", svc, dep, d.Condition, types.ServiceConditionHealthy)
		}
	}
	// Cassandra nodes bootstrap one after another.
	if deps := service(t, p, "cassandra1").DependsOn; len(deps) != 0 {
		t.Errorf("cassandra1 (the seed) must start first, depends on %v", slices.Collect(mapsKeys(deps)))
	}
	healthy("cassandra2", "cassandra1")
	healthy("cassandra3", "cassandra2")
	// The replica set is initiated once every member (and the proxies that
	// carry their peer traffic) is up.
	for _, m := range mongoNodes {
		healthy("mongo-init", m)
	}
	healthy("mongo-init", "toxiproxy")
	// etcd members peer through Toxiproxy.
	for _, e := range etcdNodes {
		healthy(e, "toxiproxy")
	}
	// The whole graph is acyclic and every dependency exists.
	order, err := startOrder(p)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, s := range order {
		pos[s] = i
	}
	if !(pos["cassandra1"] < pos["cassandra2"] && pos["cassandra2"] < pos["cassandra3"]) {
		t.Errorf("cassandra start order is %v", order)
	}
	if init := service(t, p, "mongo-init"); init.Restart != "no" && init.Restart != "" {
		t.Errorf("mongo-init is a one-shot job, restart=%q", init.Restart)
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
		deps := slices.Sorted(mapsKeys(s.DependsOn))
		for _, d := range deps {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, name)
		return nil
	}
	for _, n := range slices.Sorted(mapsKeys(p.Services)) {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func TestComposeNetemSidecars(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	for _, n := range allNodes {
		t.Run(n, func(t *testing.T) {
			s := service(t, p, "netem-"+n)
			if want := "pacbench-netem-" + n; s.ContainerName != want {
				t.Errorf("container_name = %q, want %q", s.ContainerName, want)
			}
			if !slices.Contains(s.CapAdd, "NET_ADMIN") {
				t.Errorf("cap_add = %v, want NET_ADMIN", s.CapAdd)
			}
			if want := "service:" + n; s.NetworkMode != want {
				t.Errorf("network_mode = %q, want %q (share the node's netns)", s.NetworkMode, want)
			}
			if len(s.Ports) != 0 {
				t.Errorf("a sidecar shares its node's netns and cannot publish ports: %v", s.Ports)
			}
			if _, ok := s.DependsOn[n]; !ok {
				t.Errorf("sidecar must depend on %s", n)
			}
		})
	}
}

func TestComposePortsLoopbackOnly(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	n := 0
	for name, s := range p.Services {
		for _, port := range s.Ports {
			n++
			if port.Published == "" {
				t.Errorf("%s: port %d published on a random host port", name, port.Target)
			}
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s: port %s:%d bound to %q, want 127.0.0.1", name, port.Published, port.Target, port.HostIP)
			}
		}
	}
	if n == 0 {
		t.Fatal("no published ports at all: the stack is unreachable from the host")
	}
}

// bindSources returns the host paths of s's bind mounts, by container path.
func bindSources(s types.ServiceConfig) map[string]string {
	out := map[string]string{}
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind {
			out[v.Target] = v.Source
		}
	}
	return out
}

func TestComposeMountsExist(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	root, _ := filepath.Abs(repoRoot)
	for name, s := range p.Services {
		for target, src := range bindSources(s) {
			if !strings.HasPrefix(src, root+string(filepath.Separator)) {
				t.Errorf("%s mounts %s from outside the repository", name, src)
			}
			if _, err := os.Stat(src); err != nil {
				t.Errorf("%s: mount %s -> %s: %v", name, src, target, err)
			}
		}
	}
	// Prometheus: its config, native histograms, the host gateway.
	prom := service(t, p, "prometheus")
	cfg := bindSources(prom)["/etc/prometheus/prometheus.yml"]
	if cfg == "" {
		t.Fatal("prometheus does not mount /etc/prometheus/prometheus.yml")
	}
	if !slices.Contains(prom.Command, "--enable-feature=native-histograms") {
		t.Errorf("prometheus command %v lacks --enable-feature=native-histograms", prom.Command)
	}
	if gw := prom.ExtraHosts["host.docker.internal"]; !slices.Contains(gw, "host-gateway") {
		t.Errorf("prometheus extra_hosts host.docker.internal = %v, want host-gateway", gw)
	}
	var pc struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, cfg, &pc)
	var found bool
	for _, sc := range pc.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			found = found || slices.Contains(st.Targets, "host.docker.internal:9464")
		}
	}
	if !found {
		t.Error("prometheus.yml does not scrape pacbench at host.docker.internal:9464")
	}

	// Grafana: provisioning and both dashboards.
	g := bindSources(service(t, p, "grafana"))
	prov := g["/etc/grafana/provisioning"]
	if prov == "" {
		t.Fatal("grafana does not mount /etc/grafana/provisioning")
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(prov, "datasources", "pacbench.yaml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "pacbench-prom" || ds.Datasources[0].Type != "prometheus" ||
		ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasource provisioning = %+v, want one prometheus datasource uid pacbench-prom at http://prometheus:9090", ds.Datasources)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(prov, "dashboards", "pacbench.yaml"), &dp)
	if len(dp.Providers) != 1 {
		t.Fatalf("dashboard providers = %+v", dp.Providers)
	}
	dir := dp.Providers[0].Options.Path
	for _, d := range []string{"pacbench-overview.json", "pacbench-consistency.json"} {
		src := g[dir+"/"+d]
		if src != filepath.Join(root, "dashboards", d) {
			t.Errorf("grafana mounts %q at %s/%s, want dashboards/%s", src, dir, d, d)
		}
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

// proxy is one entry of deploy/toxiproxy/toxiproxy.json.
type proxy struct {
	Name     string `json:"name"`
	Listen   string `json:"listen"`
	Upstream string `json:"upstream"`
	Enabled  bool   `json:"enabled"`
}

func loadProxies(t *testing.T) map[string]proxy {
	t.Helper()
	b, err := os.ReadFile("toxiproxy/toxiproxy.json")
	if err != nil {
		t.Fatal(err)
	}
	var list []proxy
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("toxiproxy.json: %v", err)
	}
	out := map[string]proxy{}
	for _, p := range list {
		if _, dup := out[p.Name]; dup {
			t.Errorf("proxy %q defined twice", p.Name)
		}
		out[p.Name] = p
	}
	return out
}

func port(t *testing.T, hostport string) int {
	t.Helper()
	_, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	n, err := strconv.Atoi(ps)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return n
}

// publishedTo maps container ports of s to the loopback host ports that
// publish them.
func publishedTo(t *testing.T, s types.ServiceConfig) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, p := range s.Ports {
		hp, err := strconv.Atoi(p.Published)
		if err != nil {
			t.Fatalf("published port %q: %v", p.Published, err)
		}
		out[int(p.Target)] = hp
	}
	return out
}

func TestToxiproxyProxies(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	proxies := loadProxies(t)
	tp := service(t, p, "toxiproxy")
	mounted := bindSources(tp)["/config/toxiproxy.json"]
	if abs, _ := filepath.Abs("toxiproxy/toxiproxy.json"); mounted != abs {
		t.Errorf("toxiproxy mounts %q, want %q", mounted, abs)
	}
	if !slices.Contains(tp.Command, "-config=/config/toxiproxy.json") {
		t.Errorf("toxiproxy command %v does not load the mounted config", tp.Command)
	}
	pub := publishedTo(t, tp)
	if pub[8474] != 8474 {
		t.Errorf("toxiproxy API must be published on 127.0.0.1:8474, got %d", pub[8474])
	}
	for _, px := range proxies {
		if !px.Enabled {
			t.Errorf("proxy %s disabled at start", px.Name)
		}
		node, link, ok := strings.Cut(px.Name, "-")
		if !ok || !slices.Contains(allNodes, node) || (link != "client" && link != "peer") {
			t.Errorf("proxy %q is not named <node>-client or <node>-peer", px.Name)
			continue
		}
		host, _, _ := net.SplitHostPort(px.Upstream)
		if host != node {
			t.Errorf("proxy %s upstream %s, want node %s", px.Name, px.Upstream, node)
		}
		if link == "client" {
			if _, ok := pub[port(t, px.Listen)]; !ok {
				t.Errorf("client proxy %s listens on %s, which toxiproxy does not publish", px.Name, px.Listen)
			}
		}
	}
	for _, n := range allNodes {
		if _, ok := proxies[n+"-client"]; !ok {
			t.Errorf("no client proxy %s-client", n)
		}
	}
}

func TestEtcdPeersThroughProxies(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	proxies := loadProxies(t)
	for _, n := range etcdNodes {
		t.Run(n, func(t *testing.T) {
			args := map[string]string{}
			for _, a := range service(t, p, n).Command {
				k, v, _ := strings.Cut(a, "=")
				args[k] = v
			}
			peer := proxies[n+"-peer"]
			want := fmt.Sprintf("http://toxiproxy:%d", port(t, peer.Listen))
			if got := args["--initial-advertise-peer-urls"]; got != want {
				t.Errorf("advertised peer URL %q, want %q (its peer proxy)", got, want)
			}
			if !strings.Contains(args["--initial-cluster"], n+"="+want) {
				t.Errorf("--initial-cluster %q lacks %s=%s", args["--initial-cluster"], n, want)
			}
			if lp := port(t, strings.TrimPrefix(args["--listen-peer-urls"], "http://")); lp != port(t, peer.Upstream) {
				t.Errorf("peer proxy upstream %s does not reach listen-peer-urls %s", peer.Upstream, args["--listen-peer-urls"])
			}
			client := proxies[n+"-client"]
			hostPort := publishedTo(t, service(t, p, "toxiproxy"))[port(t, client.Listen)]
			if want := fmt.Sprintf("http://127.0.0.1:%d", hostPort); args["--advertise-client-urls"] != want {
				t.Errorf("advertise-client-urls %q, want %q (the host view of its client proxy)", args["--advertise-client-urls"], want)
			}
		})
	}
}

func TestCassandraNativePortsMatchProxies(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	proxies := loadProxies(t)
	re := regexp.MustCompile(`-Dcassandra\.native_transport_port=(\d+)`)
	for _, n := range cassandraNodes {
		s := service(t, p, n)
		opts := s.Environment["JVM_EXTRA_OPTS"]
		if opts == nil {
			t.Errorf("%s: JVM_EXTRA_OPTS unset", n)
			continue
		}
		m := re.FindStringSubmatch(*opts)
		if m == nil {
			t.Errorf("%s: no native_transport_port in %q", n, *opts)
			continue
		}
		px := proxies[n+"-client"]
		if strconv.Itoa(port(t, px.Upstream)) != m[1] {
			t.Errorf("%s listens on %s but proxy %s goes to %s", n, m[1], px.Name, px.Upstream)
		}
		// Peers advertise 127.0.0.1:<native port>: the host must reach that
		// port through the same proxy.
		if hp := publishedTo(t, service(t, p, "toxiproxy"))[port(t, px.Listen)]; strconv.Itoa(hp) != m[1] {
			t.Errorf("%s advertises 127.0.0.1:%s, but its proxy is published on %d", n, m[1], hp)
		}
		if v := s.Environment["CASSANDRA_BROADCAST_RPC_ADDRESS"]; v == nil || *v != "127.0.0.1" {
			t.Errorf("%s: CASSANDRA_BROADCAST_RPC_ADDRESS must be 127.0.0.1", n)
		}
	}
}

func TestMongoMembersNamedByPeerProxies(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	proxies := loadProxies(t)
	b, err := os.ReadFile("mongo/init-replica-set.js")
	if err != nil {
		t.Fatal(err)
	}
	hosts := regexp.MustCompile(`host: "([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(hosts) != len(mongoNodes) {
		t.Fatalf("init script names %d members, want %d", len(hosts), len(mongoNodes))
	}
	tp := service(t, p, "toxiproxy")
	aliases := tp.Networks["pacbench"].Aliases
	pub := publishedTo(t, tp)
	for i, n := range mongoNodes {
		host, ps, _ := net.SplitHostPort(hosts[i][1])
		if !slices.Contains(aliases, host) {
			t.Errorf("member %s: %s is not a network alias of toxiproxy", n, host)
		}
		peer := proxies[n+"-peer"]
		if strconv.Itoa(port(t, peer.Listen)) != ps {
			t.Errorf("member %s named %s, but proxy %s listens on %s", n, hosts[i][1], peer.Name, peer.Listen)
		}
		// On the host the same name:port must reach the client proxy.
		client := proxies[n+"-client"]
		if strconv.Itoa(pub[port(t, client.Listen)]) != ps {
			t.Errorf("host port %s does not publish %s (%s)", ps, client.Name, client.Listen)
		}
	}
	if !slices.Contains(service(t, p, "mongo-init").Command, "/scripts/init-replica-set.js") {
		t.Error("mongo-init does not run the mounted init script")
	}
}

// composeNode is the part of a profile's system.nodes entry checked here.
type composeNode struct {
	Name        string `yaml:"name"`
	ClientProxy string `yaml:"client_proxy"`
	PeerProxy   string `yaml:"peer_proxy"`
	Container   string `yaml:"container"`
	Address     string `yaml:"address"`
}

// TestProfilesUseComposeNames checks every profile aimed at the compose
// stack (remote Toxiproxy API on 127.0.0.1:8474, or the netem backend)
// against the names docker-compose.yml defines.
func TestProfilesUseComposeNames(t *testing.T) {
	t.Parallel()
	p := loadProject(t)
	proxies := loadProxies(t)
	containers := map[string]bool{}
	for _, s := range p.Services {
		if s.ContainerName != "" {
			containers[s.ContainerName] = true
		}
	}
	addr := map[string]string{}
	for _, n := range allNodes {
		if nw := service(t, p, n).Networks["pacbench"]; nw != nil {
			addr[n] = nw.Ipv4Address
		}
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "profiles", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		var prof struct {
			System struct {
				Nodes    []composeNode `yaml:"nodes"`
				Impairer struct {
					Kind string `yaml:"kind"`
					API  string `yaml:"api"`
				} `yaml:"impairer"`
			} `yaml:"system"`
		}
		readYAML(t, f, &prof)
		imp := prof.System.Impairer
		if imp.API != "http://127.0.0.1:8474" && imp.Kind != "netem" {
			continue
		}
		if strings.HasSuffix(f, "-local.yaml") {
			continue // a loopback cluster of scripts/, which also serves Toxiproxy on 8474
		}
		checked++
		t.Run(filepath.Base(f), func(t *testing.T) {
			if len(prof.System.Nodes) == 0 {
				t.Fatal("a compose profile must list system.nodes")
			}
			for _, n := range prof.System.Nodes {
				if n.ClientProxy != "" && proxies[n.ClientProxy].Name == "" {
					t.Errorf("%s: client_proxy %q not in toxiproxy.json", n.Name, n.ClientProxy)
				}
				if n.PeerProxy != "" && proxies[n.PeerProxy].Name == "" {
					t.Errorf("%s: peer_proxy %q not in toxiproxy.json", n.Name, n.PeerProxy)
				}
				if n.Container != "" && !containers[n.Container] {
					t.Errorf("%s: container %q not in docker-compose.yml", n.Name, n.Container)
				}
				if n.Address != "" && addr[n.Name] != n.Address {
					t.Errorf("%s: address %q, compose gives %q", n.Name, n.Address, addr[n.Name])
				}
				if imp.Kind == "netem" && (n.Container == "" || n.Address == "") {
					t.Errorf("%s: the netem backend needs container and address", n.Name)
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no compose profile found in profiles/")
	}
}

// TestComposeProfilesValidate parses and plans every profile of profiles/
// with the built-in driver registry, as `pacbench validate` does.
func TestComposeProfilesValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot, "profiles", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles (%v)", err)
	}
	reg := registry.Default()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			p, err := profile.Load(f, profile.Options{Registry: reg})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.Plan(profile.Overrides{}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
