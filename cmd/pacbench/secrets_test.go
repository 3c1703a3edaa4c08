package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/testenv"
)

// The secret a hostile profile or environment carries, and its
// percent-encoded spelling.
const (
	secret        = "hunter2secret"
	secretEncoded = "hunter%32secret"
)

// leaks returns where (stdout, stderr, a file under dirs) the secret
// appears, in any spelling.
func leaks(t *testing.T, stdout, stderr string, dirs ...string) []string {
	t.Helper()
	var where []string
	has := func(s string) bool { return strings.Contains(s, secret) || strings.Contains(s, secretEncoded) }
	if has(stdout) {
		where = append(where, "stdout")
	}
	if has(stderr) {
		where = append(where, "stderr")
	}
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			if b, err := os.ReadFile(p); err == nil && has(string(b)) {
				where = append(where, p)
			}
			return nil
		})
	}
	return where
}

// TestCredentialsInURLsAreRefused: a URL holding credentials (with or
// without a scheme, percent-encoded, in the query) anywhere a profile
// names an address, or given to heal --toxiproxy, is refused as a usage
// error at its file:line, pointing to the *_env fields, and the secret
// appears nowhere: not on stdout or stderr, not in the results directory.
func TestCredentialsInURLsAreRefused(t *testing.T) {
	t.Parallel()
	forms := []struct{ name, url string }{
		{"scheme", "http://admin:" + secret + "@127.0.0.1:8474"},
		{"no scheme", "admin:" + secret + "@127.0.0.1:8474"},
		{"percent-encoded", "http://admin:" + secretEncoded + "@127.0.0.1:8474"},
		{"token as user", "http://" + secret + "@127.0.0.1:8474"},
		{"query", "http://127.0.0.1:8474/?password=" + secret},
		{"query token", "http://127.0.0.1:8474?x=1&access_token=" + secret},
	}
	fields := []struct {
		name, path, want string
		yaml             func(u string) string
	}{
		{"impairer api", "system.impairer.api", "username_env and password_env", func(u string) string {
			return fmt.Sprintf("endpoints: [\"127.0.0.1:2379\"]\n  impairer: {kind: toxiproxy, api: %q}", u)
		}},
		{"impairer options.api", "system.impairer.options.api", "username_env and password_env", func(u string) string {
			return fmt.Sprintf("endpoints: [\"127.0.0.1:2379\"]\n  impairer: {kind: toxiproxy, options: {api: %q}}", u)
		}},
		{"endpoint", "system.endpoints[0]", "credentials", func(u string) string {
			return fmt.Sprintf("endpoints: [%q]", u)
		}},
		{"node endpoint", "system.nodes[0].endpoint", "credentials", func(u string) string {
			return fmt.Sprintf("endpoints: [\"127.0.0.1:2379\"]\n  nodes: [{name: a, endpoint: %q}]", u)
		}},
	}
	for _, f := range fields {
		for _, form := range forms {
			t.Run(f.name+"/"+form.name, func(t *testing.T) {
				t.Parallel()
				prof := writeFile(t, "hostile.yaml", "system:\n  driver: etcd\n  "+f.yaml(form.url)+`
workload: {preset: b}
levels: [{read: serializable}]
phases: [{name: p, duration: 1s}]
`)
				out := t.TempDir()
				if code, stdout, _ := invoke(t, "validate", prof); strings.Count(stdout, prof+":") != 1 {
					t.Fatalf("want exactly one problem (exit %d):\n%s", code, stdout)
				}
				at := regexp.MustCompile(regexp.QuoteMeta(prof) + `:\d+:\d+: ` + regexp.QuoteMeta(f.path) + `: [^\n]*` + f.want)
				for _, args := range [][]string{
					{"validate", prof},
					{"run", "--profile", prof, "--out", out, "--metrics-addr", "off"},
					{"run", "--dry-run", "--profile", prof},
					{"heal", "--profile", prof, "--out", out},
				} {
					code, stdout, stderr := invoke(t, args...)
					if code != ExitUsage {
						t.Errorf("%s: exit %d, want 2\n%s\n%s", args[0], code, stdout, stderr)
					}
					if !at.MatchString(stdout + stderr) {
						t.Errorf("%s: no problem at file:line matching %s:\n%s\n%s", args[0], at, stdout, stderr)
					}
					if w := leaks(t, stdout, stderr, out); len(w) > 0 {
						t.Errorf("%s: the secret leaked to %q:\n%s\n%s", args[0], w, stdout, stderr)
					}
				}
				if ents, _ := os.ReadDir(out); len(ents) != 0 {
					t.Errorf("a refused run wrote %d entries in --out", len(ents))
				}
			})
		}
	}
	for _, form := range forms {
		t.Run("heal --toxiproxy/"+form.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := invoke(t, "heal", "--toxiproxy", form.url, "--out", t.TempDir())
			if code != ExitUsage || !strings.Contains(stderr, "--toxiproxy: holds credentials") {
				t.Errorf("exit %d, want 2 refusing the credentials\n%s\n%s", code, stdout, stderr)
			}
			if w := leaks(t, stdout, stderr); len(w) > 0 {
				t.Errorf("the secret leaked to %q", w)
			}
		})
	}
}

// TestCredentialsFromEnvironmentDoNotLeak: a run that authenticates to a
// remote toxiproxy-server with a password from the environment (the
// options' *_env fields) applies and heals its impairment, and the
// password appears nowhere: stdout, stderr, the results directory,
// /metrics — also when the API then fails.
func TestCredentialsFromEnvironmentDoNotLeak(t *testing.T) {
	testenv.Short(t)
	c, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop() })
	for _, kill := range []bool{false, true} {
		t.Run(fmt.Sprintf("api fails %v", kill), func(t *testing.T) {
			f := newStuckFixture(t, c, "2s")
			b, err := os.ReadFile(f.profile)
			if err != nil {
				t.Fatal(err)
			}
			withAuth := strings.Replace(string(b), "impairer: {kind: toxiproxy, api: ", "impairer: {kind: toxiproxy, options: {username_env: PB_TOXI_USER, password_env: PB_TOXI_PASS, api: ", 1)
			withAuth = strings.Replace(withAuth, "}\n  op_timeout", "}}\n  op_timeout", 1)
			if err := os.WriteFile(f.profile, []byte(withAuth), 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			p := startPacbench(t, []string{"PB_TOXI_USER=admin", "PB_TOXI_PASS=" + secret},
				"run", "--profile", f.profile, "--out", out, "--run-id", "r", "--metrics-addr", "127.0.0.1:0", "--linger", "5s", "--heal-timeout", "2s")
			p.waitFor(t, "impairment: latency", 30*time.Second)
			if kill {
				_ = f.srv.cmd.Process.Kill()
			}
			p.waitFor(t, "keeping /metrics up", 60*time.Second)
			metrics := scrape(t, p.stderr.String())
			code, _ := p.wait(t, 30*time.Second)
			stderr := p.stderr.String()
			if want := map[bool]int{false: 0, true: ExitRun}[kill]; code != want {
				t.Fatalf("exit %d, want %d\n%s", code, want, stderr)
			}
			if w := leaks(t, p.stdout.String(), stderr+metrics, out); len(w) > 0 {
				t.Errorf("the password leaked to %q", w)
			}
			if !kill && countToxics(t, f.srv.api) != 0 {
				t.Errorf("toxics left after an authenticated run")
			}
		})
	}
}

// scrape fetches the /metrics the run announced on stderr.
func scrape(t *testing.T, stderr string) string {
	t.Helper()
	m := regexp.MustCompile(`metrics on (http://\S+/metrics)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no metrics address on stderr:\n%s", stderr)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
