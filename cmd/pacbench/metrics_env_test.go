package main

import (
	"bytes"
	"context"
	"os"
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
			var out, errb bytes.Buffer
			exe, _ := os.Executable()
			getenv := func(k string) string {
				if k == metricsAddrEnv {
					return "127.0.0.1:notaport"
				}
				return ""
			}
			args := append([]string{"run", "--profile", "testdata/unreachable.yaml", "--out", t.TempDir()}, tc.args...)
			code := Main(args, Env{Stdout: &out, Stderr: &errb, Getenv: getenv, Context: context.Background(), Exe: exe})
			if code != tc.code || !strings.Contains(errb.String(), tc.wantErr) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s", code, tc.code, tc.wantErr, errb.String())
			}
			if tc.args != nil && strings.Contains(errb.String(), "notaport") {
				t.Errorf("the environment was used despite --metrics-addr:\n%s", errb.String())
			}
		})
	}
}
