package main

import (
	"context"
	"strings"
	"testing"
)

// TestMetricsAddrFromEnvironment: PACBENCH_METRICS_ADDR replaces the
// loopback default of --metrics-addr (the compose service sets it), and an
// explicit --metrics-addr wins over it.
func TestMetricsAddrFromEnvironment(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		// A bad address from the environment is a usage error naming it.
		{"environment used", nil, 2, "$PACBENCH_METRICS_ADDR"},
		// With the flag given, the environment is ignored and the run gets
		// as far as the unreachable database.
		{"flag wins", []string{"--metrics-addr", "off"}, 1, "127.0.0.1:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string {
				if k == metricsAddrEnv {
					return "127.0.0.1:notaport"
				}
				return ""
			}
			args := append([]string{"run", "--profile", "testdata/unreachable.yaml", "--out", t.TempDir()}, tc.args...)
			code, _, stderr := invokeEnv(t, Env{Getenv: getenv, Context: context.Background()}, args...)
			if code != tc.code || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s", code, tc.code, tc.wantErr, stderr)
			}
			if tc.args != nil && strings.Contains(stderr, "notaport") {
				t.Errorf("the environment was used despite --metrics-addr:\n%s", stderr)
			}
		})
	}
}
