package deploy

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/bench"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/registry"
	"github.com/pacbench/pacbench/profile"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// composeProfile matches the shipped profiles aimed at the compose stack.
var composeProfile = regexp.MustCompile(`^(compose-.*|drill-.*|cassandra-compose|mongodb-concerns)\.yaml$`)

// composeProfiles returns the paths of the shipped compose profiles.
func composeProfiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "profiles", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if composeProfile.MatchString(filepath.Base(f)) {
			out = append(out, f)
		}
	}
	if len(out) < 6 {
		t.Fatalf("only %d compose profiles in profiles/: %v", len(out), out)
	}
	return out
}

// loadShipped parses and validates a profile as `pacbench validate` does.
func loadShipped(t *testing.T, path string) *profile.Profile {
	t.Helper()
	p, err := profile.Load(path, profile.Options{Registry: registry.Default()})
	if err != nil {
		t.Fatalf("pacbench validate %s: %v", path, err)
	}
	if _, err := p.Plan(profile.Overrides{}); err != nil {
		t.Fatalf("plan %s: %v", path, err)
	}
	return p
}

// TestComposeProfilesValidate: every shipped profile (the compose ones
// and the others) validates and plans with the built-in drivers.
func TestComposeProfilesValidate(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join(repoRoot, "profiles", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles (%v)", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			loadShipped(t, f)
		})
	}
}

// TestProfilesUseComposeNames checks every compose profile against the
// names docker-compose.yml defines: profiles run inside the stack (their
// Toxiproxy API is http://toxiproxy:8474) dial names that resolve on the
// clients network and reach the node's client proxy; netem profiles run on
// the host and dial the published loopback ports of the client proxies.
// Both name the sidecars and addresses compose gives the nodes.
func TestProfilesUseComposeNames(t *testing.T) {
	t.Parallel()
	p := stack(t)
	proxies := loadProxies(t, p)
	tp := service(t, p, "toxiproxy")
	pub := publishedTo(t, tp)
	for _, f := range composeProfiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			prof := loadShipped(t, f)
			sys := prof.System
			netem := sys.Impairer.Kind == profile.ImpairerNetem
			if !netem && sys.Impairer.API != "http://toxiproxy:8474" {
				t.Fatalf("impairer api %q: in-stack profiles use http://toxiproxy:8474", sys.Impairer.API)
			}
			if len(sys.Nodes) == 0 {
				t.Fatal("a compose profile must list system.nodes")
			}
			var eps []string
			for _, n := range sys.Nodes {
				eps = append(eps, n.Endpoint)
				px, ok := proxies[n.ClientProxy]
				if !ok || n.ClientProxy != n.Name+"-client" {
					t.Errorf("%s: client_proxy %q, want %s-client from the toxiproxy config", n.Name, n.ClientProxy, n.Name)
					continue
				}
				if n.PeerProxy != "" && n.PeerProxy != n.Name+"-peer" {
					t.Errorf("%s: peer_proxy %q, want %s-peer", n.Name, n.PeerProxy, n.Name)
				}
				if _, ok := proxies[n.PeerProxy]; n.PeerProxy != "" && !ok {
					t.Errorf("%s: peer_proxy %q not in the toxiproxy config", n.Name, n.PeerProxy)
				}
				if n.Container != sidecarContainer(n.Name) {
					t.Errorf("%s: container %q, compose names its sidecar %q", n.Name, n.Container, sidecarContainer(n.Name))
				}
				if want := service(t, p, n.Name).Networks["pacbench"].Ipv4Address; n.Address != want {
					t.Errorf("%s: address %q, compose gives %q", n.Name, n.Address, want)
				}
				host, port := splitHostPort(t, n.Endpoint)
				lh, lp := splitHostPort(t, px.Listen)
				if netem {
					if host != "127.0.0.1" || pub[lp] != port {
						t.Errorf("%s: endpoint %s, want 127.0.0.1:%d (the host port of %s)", n.Name, n.Endpoint, pub[lp], px.Name)
					}
					continue
				}
				// Inside the stack the name must be toxiproxy's on the clients
				// network, and the proxy must listen there.
				onClients := aliases(tp, "clients")
				if port != lp || !slices.Contains(onClients, host) ||
					lh != "0.0.0.0" && (!slices.Contains(onClients, lh) || slices.Contains(aliases(tp, "pacbench"), lh)) {
					t.Errorf("%s: endpoint %s does not reach %s (listening on %s) from the clients network", n.Name, n.Endpoint, px.Name, px.Listen)
				}
			}
			if !slices.Equal(sys.Endpoints, eps) {
				t.Errorf("endpoints %v, want the nodes' %v", sys.Endpoints, eps)
			}
		})
	}
}

// TestComposeProfilesDryRunGolden: `pacbench run --dry-run` of every
// compose profile prints exactly the golden commands (for netem: the
// preflight and each phase's docker exec tc/iptables lines and their heal).
func TestComposeProfilesDryRunGolden(t *testing.T) {
	t.Parallel()
	for _, f := range composeProfiles(t) {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			if err := bench.DryRun(loadShipped(t, f), impair.Builtin(), &out); err != nil {
				t.Fatalf("dry run: %v", err)
			}
			golden := filepath.Join("testdata", "dryrun", name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./deploy -run DryRunGolden -update writes it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("%s differs (-update to accept):\n--- got\n%s--- want\n%s", golden, out.Bytes(), want)
			}
			if strings.Contains(out.String(), "docker exec") {
				for _, n := range loadShipped(t, f).System.Nodes {
					if strings.Contains(out.String(), n.Container) {
						return
					}
				}
				t.Error("the commands name no sidecar of the profile")
			}
		})
	}
}

// TestDryRunNamesOnlyComposeContainers: every container a dry run execs
// into is a sidecar compose creates.
func TestDryRunNamesOnlyComposeContainers(t *testing.T) {
	t.Parallel()
	p := stack(t)
	exists := map[string]bool{}
	for name, s := range p.Services {
		if s.NetworkMode != "" {
			exists[projectName+"-"+name+"-1"] = true
		}
	}
	re := regexp.MustCompile(`docker exec (\S+) `)
	n := 0
	for _, f := range composeProfiles(t) {
		var out bytes.Buffer
		if err := bench.DryRun(loadShipped(t, f), impair.Builtin(), &out); err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(out.String(), -1) {
			n++
			if !exists[m[1]] {
				t.Errorf("%s: docker exec into %s, which compose does not create", filepath.Base(f), m[1])
			}
		}
	}
	if n == 0 {
		t.Error("no compose profile uses the netem sidecars")
	}
	t.Logf("%d docker exec commands checked", n)
}
