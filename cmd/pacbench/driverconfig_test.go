package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestValidateDriverConfig: driver options (unknown key, bad value) and
// endpoints (syntax, port range, credentials with or without a scheme) are
// usage errors (exit 2) at file:line, from `pacbench validate` and from
// `pacbench run` before anything starts, checked by each driver's own
// rules through the registry. No password ever reaches the output.
func TestValidateDriverConfig(t *testing.T) {
	t.Parallel()
	const secret = "hunter2"
	cases := []struct {
		name, driver, level string
		system              string // YAML lines under system: (endpoints, options, nodes)
		line, msg           string // the problem: msg at file:line (system: is line 1, driver: line 2)
	}{
		{"etcd unknown option", "etcd", "read: linearizable", "  cluster: local\n  options: {bogus: \"1\"}\n",
			"4", "system.options.bogus: unknown option for driver etcd (known: dial_timeout, pool)"},
		{"etcd bad pool", "etcd", "read: linearizable", "  cluster: local\n  options:\n    pool: \"0\"\n",
			"5", `system.options.pool: want an integer in 1..1024, got "0"`},
		{"etcd bad dial timeout", "etcd", "read: linearizable", "  cluster: local\n  options: {dial_timeout: \"5\"}\n",
			"4", `system.options.dial_timeout: want a positive Go duration such as 5s or 500ms, got "5"`},
		{"cassandra bad speculative", "cassandra", "read: ONE", "  endpoints: [127.0.0.1:9042]\n  options: {speculative: \"2\"}\n",
			"4", `system.options.speculative: want "off" or "N@DELAY"`},
		{"cassandra unknown option", "cassandra", "read: ONE", "  endpoints: [127.0.0.1:9042]\n  options: {consistency: ONE}\n",
			"4", "system.options.consistency: unknown option for driver cassandra (known: keyspace"},
		{"mongodb bad pool", "mongodb", "w: \"1\"", "  endpoints: [127.0.0.1:27017]\n  options: {pool_size: many}\n",
			"4", `system.options.pool_size: want an integer in 1..1024, got "many"`},
		{"etcd colons", "etcd", "read: linearizable", "  endpoints: [\"::::\"]\n",
			"3", `system.endpoints[0]: "::::": want host:port or http(s)://host:port`},
		{"etcd port range", "etcd", "read: linearizable", "  endpoints: [127.0.0.1:2379, 127.0.0.1:99999]\n",
			"3", `system.endpoints[1]: "127.0.0.1:99999": port "99999": want 1..65535`},
		{"cassandra port range", "cassandra", "read: ONE", "  endpoints:\n    - 127.0.0.1:99999\n",
			"4", `system.endpoints[0]: "127.0.0.1:99999": port "99999": want 1..65535`},
		{"mongodb URI port range", "mongodb", "w: \"1\"", "  endpoints: [\"mongodb://127.0.0.1:99999/\"]\n",
			"3", "port must be in the range [1, 65535]"},
		{"mongodb node endpoint", "mongodb", "w: \"1\"", "  endpoints: [127.0.0.1:27017]\n  nodes:\n    - {name: m1, endpoint: \"::::\"}\n",
			"5", `system.nodes[0].endpoint: "::::"`},
		{"credentials without scheme", "etcd", "read: linearizable", "  endpoints: [\"root:" + secret + "@127.0.0.1:2379\"]\n",
			"3", "system.endpoints[0]: carries credentials; name environment variables in system.credentials.username_env / password_env instead"},
		{"credentials in a URL", "etcd", "read: linearizable", "  endpoints: [\"http://root:" + secret + "@127.0.0.1:2379\"]\n",
			"3", "system.endpoints[0]: carries credentials"},
		{"credentials in a mongodb URI", "mongodb", "w: \"1\"", "  endpoints: [\"mongodb://root:" + secret + "@127.0.0.1:27017/?authSource=admin\"]\n",
			"3", "system.endpoints[0]: carries credentials"},
		{"credentials for cassandra", "cassandra", "read: ONE", "  endpoints: [127.0.0.1:9042, \"cassandra:" + secret + "@127.0.0.1:9043\"]\n",
			"3", "system.endpoints[1]: carries credentials"},
		{"credentials percent-encoded", "cassandra", "read: ONE", "  endpoints: [\"cassandra:" + secret + "%40127.0.0.1:9042\"]\n",
			"3", "system.endpoints[0]: carries credentials"},
		{"credentials in a node endpoint", "cassandra", "read: ONE", "  endpoints: [127.0.0.1:9042]\n  nodes:\n    - {name: c1, endpoint: \"u:" + secret + "@127.0.0.1:9042\"}\n",
			"5", "system.nodes[0].endpoint: carries credentials"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			body := "system:\n  driver: " + tc.driver + "\n" + tc.system +
				"workload: {preset: c, records: 10}\nlevels: [{" + tc.level + "}]\nphases: [{name: a, duration: 1s}]\n"
			file := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			line := tc.line
			code, out, errs := invoke(t, "validate", file)
			if code != 2 || !hasProblem(out, file, line, tc.msg) || strings.Contains(out+errs, secret) {
				t.Errorf("validate: exit %d, want 2 and %q at %s:%s, no %q, in:\n%s%s", code, tc.msg, file, line, secret, out, errs)
			}
			code, out, errs = invoke(t, "run", "--profile", file, "--out", t.TempDir(), "--metrics-addr", "off")
			if code != 2 || !hasProblem(errs, file, line, tc.msg) || strings.Contains(out+errs, secret) || strings.Contains(errs, "starting local") {
				t.Errorf("run: exit %d, want 2 and %q at %s:%s before anything starts, no %q, in:\n%s%s", code, tc.msg, file, line, secret, out, errs)
			}
		})
	}
}
