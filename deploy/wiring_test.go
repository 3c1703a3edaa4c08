package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/prometheus/common/model"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
)

// loadProxies decodes Toxiproxy's proxy list (the toxiproxy config of
// docker-compose.yml, interpolated) into Toxiproxy's own Proxy type,
// rejecting fields Toxiproxy does not know.
func loadProxies(t *testing.T, p *types.Project) map[string]*toxiproxy.Proxy {
	t.Helper()
	cfg, ok := p.Configs["toxiproxy"]
	if !ok || cfg.Content == "" {
		t.Fatal("docker-compose.yml has no inline toxiproxy config")
	}
	dec := json.NewDecoder(strings.NewReader(cfg.Content))
	dec.DisallowUnknownFields()
	var list []*toxiproxy.Proxy
	if err := dec.Decode(&list); err != nil {
		t.Fatalf("toxiproxy config: %v", err)
	}
	out := map[string]*toxiproxy.Proxy{}
	for _, px := range list {
		if _, dup := out[px.Name]; dup {
			t.Errorf("proxy %q defined twice", px.Name)
		}
		out[px.Name] = px
	}
	return out
}

// proxyOrder returns the proxy names in config order.
func proxyOrder(t *testing.T, p *types.Project) []string {
	t.Helper()
	var list []struct{ Name string }
	if err := json.Unmarshal([]byte(p.Configs["toxiproxy"].Content), &list); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, x := range list {
		out = append(out, x.Name)
	}
	return out
}

func splitHostPort(t *testing.T, hostport string) (string, int) {
	t.Helper()
	h, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	n, err := strconv.Atoi(ps)
	if err != nil {
		t.Fatalf("%q: %v", hostport, err)
	}
	return h, n
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

// aliases returns the names s has on network net (service name included).
func aliases(s types.ServiceConfig, net string) []string {
	sn, ok := s.Networks[net]
	if !ok {
		return nil
	}
	out := []string{s.Name}
	if sn != nil {
		out = append(out, sn.Aliases...)
	}
	return out
}

func TestToxiproxyConfig(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{nil, {"PACBENCH_CASSANDRA2_PORT": "19043"}} {
		t.Run(fmt.Sprint(env), func(t *testing.T) {
			t.Parallel()
			p := loadProject(t, env, "pacbench")
			proxies := loadProxies(t, p)
			tp := service(t, p, "toxiproxy")
			if len(tp.Configs) != 1 || tp.Configs[0].Source != "toxiproxy" || !slices.Contains(tp.Command, "-config="+tp.Configs[0].Target) {
				t.Errorf("toxiproxy must load the toxiproxy config it is given: configs %+v, command %v", tp.Configs, tp.Command)
			}
			pub := publishedTo(t, tp)
			if _, ok := pub[8474]; !ok {
				t.Errorf("toxiproxy API (8474) is not published: %v", pub)
			}
			for _, px := range proxies {
				node, link, ok := strings.Cut(px.Name, "-")
				if !ok || !slices.Contains(allNodes, node) || (link != "client" && link != "peer") {
					t.Errorf("proxy %q is not named <node>-client or <node>-peer", px.Name)
					continue
				}
				if host, _ := splitHostPort(t, px.Upstream); host != node {
					t.Errorf("proxy %s upstream %s, want node %s", px.Name, px.Upstream, node)
				}
				host, port := splitHostPort(t, px.Listen)
				switch {
				case host == "0.0.0.0":
				case slices.Contains(aliases(tp, "pacbench"), host) && !slices.Contains(aliases(tp, "clients"), host):
				case slices.Contains(aliases(tp, "clients"), host) && !slices.Contains(aliases(tp, "pacbench"), host):
				default:
					t.Errorf("proxy %s listens on %q: neither 0.0.0.0 nor a name toxiproxy has on exactly one network", px.Name, host)
				}
				if link == "client" && !strings.HasPrefix(node, "mongo") {
					if _, ok := pub[port]; !ok {
						t.Errorf("client proxy %s listens on %s, which toxiproxy does not publish", px.Name, px.Listen)
					}
				}
			}
			for _, n := range allNodes {
				if _, ok := proxies[n+"-client"]; !ok {
					t.Errorf("no client proxy %s-client", n)
				}
			}
			// Toxiproxy creates the proxies in order and stops at the first
			// failure: the health check must ask for the last one.
			order := proxyOrder(t, p)
			if hc := tp.HealthCheck.Test; hc[len(hc)-1] != order[len(order)-1] || !slices.Contains(hc, "inspect") {
				t.Errorf("toxiproxy health check %v, want `toxiproxy-cli inspect %s` (the last proxy)", hc, order[len(order)-1])
			}
		})
	}
}

func TestEtcdPeersThroughProxies(t *testing.T) {
	t.Parallel()
	p := stack(t)
	proxies := loadProxies(t, p)
	for _, n := range etcdNodes {
		t.Run(n, func(t *testing.T) {
			args := map[string]string{}
			for _, a := range service(t, p, n).Command {
				k, v, _ := strings.Cut(a, "=")
				args[k] = v
			}
			_, peerPort := splitHostPort(t, proxies[n+"-peer"].Listen)
			want := fmt.Sprintf("http://toxiproxy:%d", peerPort)
			if got := args["--initial-advertise-peer-urls"]; got != want {
				t.Errorf("advertised peer URL %q, want %q (its peer proxy)", got, want)
			}
			if !strings.Contains(args["--initial-cluster"], n+"="+want) {
				t.Errorf("--initial-cluster %q lacks %s=%s", args["--initial-cluster"], n, want)
			}
			_, lp := splitHostPort(t, strings.TrimPrefix(args["--listen-peer-urls"], "http://"))
			if _, up := splitHostPort(t, proxies[n+"-peer"].Upstream); lp != up {
				t.Errorf("peer proxy upstream %s does not reach listen-peer-urls %s", proxies[n+"-peer"].Upstream, args["--listen-peer-urls"])
			}
			_, cp := splitHostPort(t, proxies[n+"-client"].Listen)
			if want := fmt.Sprintf("http://toxiproxy:%d", cp); args["--advertise-client-urls"] != want {
				t.Errorf("advertise-client-urls %q, want %q (its client proxy, as the stack's clients dial it)", args["--advertise-client-urls"], want)
			}
			if _, ok := service(t, p, n).Networks["clients"]; ok {
				t.Errorf("%s is on the clients network: clients must reach it only through Toxiproxy", n)
			}
		})
	}
}

// TestCassandraStartsTogether: every node is a seed with one fixed token
// and does not bootstrap, so the three start at once (no depends_on chain)
// and the ring is the same on every start.
func TestCassandraStartsTogether(t *testing.T) {
	t.Parallel()
	for _, env := range []map[string]string{nil, {"PACBENCH_CASSANDRA1_PORT": "19042", "PACBENCH_CASSANDRA3_PORT": "19044"}} {
		t.Run(fmt.Sprint(env), func(t *testing.T) {
			t.Parallel()
			p := loadProject(t, env, "pacbench")
			proxies := loadProxies(t, p)
			pub := publishedTo(t, service(t, p, "toxiproxy"))
			tokens := map[string]string{}
			for _, n := range cassandraNodes {
				s := service(t, p, n)
				opts := *s.Environment["JVM_EXTRA_OPTS"]
				tok := regexp.MustCompile(`-Dcassandra\.initial_token=(-?\d+)`).FindStringSubmatch(opts)
				if tok == nil || !strings.Contains(opts, "-Dcassandra.auto_bootstrap=false") {
					t.Fatalf("%s: JVM_EXTRA_OPTS %q lacks initial_token and auto_bootstrap=false", n, opts)
				}
				if _, err := strconv.ParseInt(tok[1], 10, 64); err != nil {
					t.Errorf("%s: token %s is not a Murmur3 token: %v", n, tok[1], err)
				}
				if other, dup := tokens[tok[1]]; dup {
					t.Errorf("%s and %s own the same token %s", n, other, tok[1])
				}
				tokens[tok[1]] = n
				if v := s.Environment["CASSANDRA_NUM_TOKENS"]; v == nil || *v != "1" {
					t.Errorf("%s: CASSANDRA_NUM_TOKENS must be 1 with one initial token", n)
				}
				for dep := range s.DependsOn {
					if slices.Contains(cassandraNodes, dep) {
						t.Errorf("%s waits for %s: without bootstrap the nodes start together", n, dep)
					}
				}
				// Peers advertise 127.0.0.1:<native port>: the host must reach
				// that port through the node's proxy.
				port := nativePort(t, s)
				px := proxies[n+"-client"]
				if _, up := splitHostPort(t, px.Upstream); strconv.Itoa(up) != port {
					t.Errorf("%s listens on %s but proxy %s goes to %s", n, port, px.Name, px.Upstream)
				}
				if _, lp := splitHostPort(t, px.Listen); strconv.Itoa(pub[lp]) != port {
					t.Errorf("%s advertises 127.0.0.1:%s, but its proxy is published on %d", n, port, pub[lp])
				}
				if v := s.Environment["CASSANDRA_BROADCAST_RPC_ADDRESS"]; v == nil || *v != "127.0.0.1" {
					t.Errorf("%s: CASSANDRA_BROADCAST_RPC_ADDRESS must be 127.0.0.1", n)
				}
			}
		})
	}
}

// TestMongoMembersNamedByProxies: members are named pacbench-mongoN:2701N;
// on the databases' network that is Toxiproxy's peer proxy, on the clients
// network the same name:port is the client proxy.
func TestMongoMembersNamedByProxies(t *testing.T) {
	t.Parallel()
	p := stack(t)
	proxies := loadProxies(t, p)
	b, err := os.ReadFile("mongo/init-replica-set.js")
	if err != nil {
		t.Fatal(err)
	}
	hosts := regexp.MustCompile(`host: "([^"]+)"`).FindAllStringSubmatch(string(b), -1)
	if len(hosts) != len(mongoNodes) {
		t.Fatalf("init script names %d members, want %d", len(hosts), len(mongoNodes))
	}
	tp := service(t, p, "toxiproxy")
	for i, n := range mongoNodes {
		host, port := splitHostPort(t, hosts[i][1])
		for _, c := range []struct{ net, proxy string }{{"pacbench", n + "-peer"}, {"clients", n + "-client"}} {
			if !slices.Contains(aliases(tp, c.net), host) {
				t.Errorf("member %s: %s is not a name of toxiproxy on the %s network", n, host, c.net)
			}
			lh, lp := splitHostPort(t, proxies[c.proxy].Listen)
			if lp != port || !slices.Contains(aliases(tp, c.net), lh) || slices.Contains(aliases(tp, otherNet(c.net)), lh) {
				t.Errorf("proxy %s listens on %s, want port %d on toxiproxy's %s-network address only", c.proxy, proxies[c.proxy].Listen, port, c.net)
			}
		}
		if nets := slices.Sorted(maps.Keys(service(t, p, n).Networks)); !slices.Equal(nets, []string{"pacbench"}) {
			t.Errorf("member %s is on %v: only on the pacbench network do member names reach the peer proxies", n, nets)
		}
	}
	if _, ok := service(t, p, "pacbench").Networks["pacbench"]; ok {
		t.Error("pacbench is on the databases' network, where member names reach the peer proxies")
	}
	if init := service(t, p, "mongo-init"); !slices.Contains(init.Command, "/scripts/init-replica-set.js") {
		t.Error("mongo-init does not run the mounted init script")
	}
}

func otherNet(n string) string {
	if n == "pacbench" {
		return "clients"
	}
	return "pacbench"
}

// TestPrometheusConfig loads deploy/prometheus/prometheus.yml with the
// config loader of the Prometheus release the stack runs (3.5) and checks
// that it scrapes the pacbench service where the service serves /metrics.
func TestPrometheusConfig(t *testing.T) {
	t.Parallel()
	p := stack(t)
	prom := service(t, p, "prometheus")
	cfgMount, ok := bindSources(prom)["/etc/prometheus/prometheus.yml"]
	if !ok || !slices.Contains(prom.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Fatal("prometheus does not run with the mounted /etc/prometheus/prometheus.yml")
	}
	if !slices.Contains(prom.Command, "--enable-feature=native-histograms") {
		t.Errorf("prometheus command %v lacks --enable-feature=native-histograms", prom.Command)
	}
	cfg, err := promconfig.LoadFile(cfgMount.Source, false, nil)
	if err != nil {
		t.Fatalf("Prometheus rejects its config: %v", err)
	}
	targets := map[string]*promconfig.ScrapeConfig{}
	for _, sc := range cfg.ScrapeConfigs {
		for _, d := range sc.ServiceDiscoveryConfigs {
			static, ok := d.(discovery.StaticConfig)
			if !ok {
				continue
			}
			for _, g := range static {
				for _, tg := range g.Targets {
					targets[string(tg[model.AddressLabel])] = sc
				}
			}
		}
	}
	pb := service(t, p, "pacbench")
	_, port := splitHostPort(t, *pb.Environment["PACBENCH_METRICS_ADDR"])
	inStack := fmt.Sprintf("pacbench:%d", port)
	sc, ok := targets[inStack]
	if !ok {
		t.Fatalf("prometheus.yml does not scrape the pacbench service at %s (targets %v)", inStack, slices.Sorted(maps.Keys(targets)))
	}
	if !sc.AlwaysScrapeClassicHistogramsEnabled() {
		t.Errorf("job %s does not keep classic buckets (the dashboards query both forms)", sc.JobName)
	}
	shared := false
	for n := range pb.Networks {
		_, on := prom.Networks[n]
		shared = shared || on
	}
	if !shared {
		t.Error("prometheus and pacbench share no network: the service name would not resolve")
	}
	if _, ok := targets["host.docker.internal:9464"]; !ok {
		t.Error("prometheus.yml does not scrape a pacbench on the host (host.docker.internal:9464)")
	}
	if gw := prom.ExtraHosts["host.docker.internal"]; !slices.Contains(gw, "host-gateway") {
		t.Errorf("prometheus extra_hosts host.docker.internal = %v, want host-gateway", gw)
	}
}

func TestGrafanaProvisioning(t *testing.T) {
	t.Parallel()
	p := stack(t)
	root, _ := filepath.Abs(repoRoot)
	g := bindSources(service(t, p, "grafana"))
	prov, ok := g["/etc/grafana/provisioning"]
	if !ok {
		t.Fatal("grafana does not mount /etc/grafana/provisioning")
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(prov.Source, "datasources", "pacbench.yaml"), &ds)
	promPort := 9090
	if len(ds.Datasources) != 1 || ds.Datasources[0].UID != "pacbench-prom" || ds.Datasources[0].Type != "prometheus" ||
		ds.Datasources[0].URL != fmt.Sprintf("http://prometheus:%d", promPort) {
		t.Errorf("datasource provisioning = %+v, want one prometheus datasource uid pacbench-prom at http://prometheus:%d", ds.Datasources, promPort)
	}
	if _, ok := publishedTo(t, service(t, p, "prometheus"))[promPort]; !ok {
		t.Errorf("prometheus does not serve on container port %d", promPort)
	}
	var dp struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(prov.Source, "dashboards", "pacbench.yaml"), &dp)
	if len(dp.Providers) != 1 {
		t.Fatalf("dashboard providers = %+v", dp.Providers)
	}
	dir := dp.Providers[0].Options.Path
	for _, d := range []string{"pacbench-overview.json", "pacbench-consistency.json"} {
		if src := g[dir+"/"+d]; src.Source != filepath.Join(root, "dashboards", d) {
			t.Errorf("grafana mounts %q at %s/%s, want dashboards/%s", src.Source, dir, d, d)
		}
		b, err := os.ReadFile(filepath.Join(root, "dashboards", d))
		// The dashboards choose their datasource by variable (importable
		// anywhere); on this stack it falls back to the provisioned default.
		if err != nil || !json.Valid(b) || !bytes.Contains(b, []byte(`"uid": "${datasource}"`)) {
			t.Errorf("dashboards/%s: not JSON using the datasource variable (%v)", d, err)
		}
	}
}
