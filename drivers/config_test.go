package drivers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pacbench/pacbench/drivers"
)

// checkingDriver is a toy driver with the ConfigChecker capability: it
// knows one option and accepts endpoints "host:port".
type checkingDriver struct{ plain }

func (checkingDriver) CheckOptions(m map[string]string) error {
	var n int
	s := drivers.NewOptionSet("toy")
	s.Int(&n, "n", 1, 1, 3, "")
	return s.Parse(m)
}

func (checkingDriver) CheckEndpoints(eps []string) error {
	return drivers.EachEndpoint("toy", eps, func(ep string) error {
		_, _, err := drivers.SplitHostPort(ep, 0)
		return err
	})
}

// plain is a toy driver without the capability.
type plain struct{}

func (plain) Name() string                        { return "toy" }
func (plain) Info() drivers.Info                  { return drivers.Info{Name: "toy"} }
func (plain) ValidateLevels(drivers.Levels) error { return nil }
func (plain) Open(context.Context, drivers.Config) (drivers.Client, error) {
	return nil, drivers.ErrUnsupported
}

func TestCheckConfig(t *testing.T) {
	t.Parallel()
	const secret = "hunter2"
	tests := []struct {
		name      string
		d         drivers.Driver
		cfg       drivers.Config
		endpoints []int    // indexes of the endpoints reported, in order
		options   []string // keys of the options reported, in order
		creds     []int    // indexes reported for carrying credentials
	}{
		{name: "all fine", d: checkingDriver{}, cfg: drivers.Config{Endpoints: []string{"a:1", "b:2"}, Options: map[string]string{"n": "2"}}},
		{name: "nil driver: only common checks", d: nil, cfg: drivers.Config{Endpoints: []string{"::::", "", "u:" + secret + "@h:1"}, Options: map[string]string{"zz": "1"}},
			endpoints: []int{1, 2}, creds: []int{2}},
		{name: "driver without the capability", d: plain{}, cfg: drivers.Config{Endpoints: []string{"::::"}}},
		{name: "indexes kept past refused endpoints", d: checkingDriver{}, cfg: drivers.Config{
			Endpoints: []string{"http://u:" + secret + "@h:1", "ok:1", "h:99999", " ", "h:0", "h?token=" + secret}},
			endpoints: []int{0, 3, 5, 2, 4}, creds: []int{0, 5}},
		{name: "options and endpoints together", d: checkingDriver{}, cfg: drivers.Config{
			Endpoints: []string{"nohost"}, Options: map[string]string{"n": "9", "m": "1"}},
			endpoints: []int{0}, options: []string{"m", "n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := drivers.CheckConfig(tt.d, tt.cfg)
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("the error repeats a secret: %v", err)
			}
			var eps, creds []int
			for _, ee := range drivers.EndpointErrors(err) {
				eps = append(eps, ee.Index)
				if errors.Is(ee, drivers.ErrEndpointCredentials) {
					creds = append(creds, ee.Index)
				}
				if !errors.Is(ee, drivers.ErrInvalidEndpoint) || strings.Contains(ee.Endpoint, secret) {
					t.Errorf("endpoint error %+v", ee)
				}
			}
			var opts []string
			for _, oe := range drivers.OptionErrors(err) {
				opts = append(opts, oe.Key)
			}
			if fmt.Sprint(eps) != fmt.Sprint(tt.endpoints) || fmt.Sprint(opts) != fmt.Sprint(tt.options) || fmt.Sprint(creds) != fmt.Sprint(tt.creds) {
				t.Fatalf("CheckConfig = %v:\nendpoints %v (credentials %v), options %v; want %v (%v), %v",
					err, eps, creds, opts, tt.endpoints, tt.creds, tt.options)
			}
			if (err == nil) != (len(tt.endpoints)+len(tt.options) == 0) {
				t.Fatalf("CheckConfig = %v", err)
			}
		})
	}
}

func TestSplitHostPort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		def     int
		host    string
		port    int
		wantErr string
	}{
		{"127.0.0.1:2379", 0, "127.0.0.1", 2379, ""},
		{"db-1.example.com:9042", 0, "db-1.example.com", 9042, ""},
		{"[::1]:27017", 0, "::1", 27017, ""},
		{"pacbench_mongo1:27011", 0, "pacbench_mongo1", 27011, ""},
		{"localhost", 9042, "localhost", 9042, ""},
		{"::1", 9042, "::1", 9042, ""},
		{"localhost", 0, "", 0, "want host:port"},
		{"::::", 0, "", 0, "want host:port"},
		{"::::", 9042, "", 0, "want host or host:port"},
		{"h:99999", 0, "", 0, `port "99999": want 1..65535`},
		{"h:0", 0, "", 0, `port "0"`},
		{"h:-1", 0, "", 0, `port "-1"`},
		{"h:http", 0, "", 0, `port "http"`},
		{":2379", 0, "", 0, "no host"},
		{"exa mple:1", 0, "", 0, `host "exa mple"`},
		{"-bad-:1", 0, "", 0, `host "-bad-"`},
		{"http://h:1", 0, "", 0, "without scheme"},
		{"h:1/x", 0, "", 0, "without scheme, path or query"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s default %d", tt.in, tt.def), func(t *testing.T) {
			t.Parallel()
			host, port, err := drivers.SplitHostPort(tt.in, tt.def)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("SplitHostPort(%q, %d) = %q, %d, %v; want an error mentioning %q", tt.in, tt.def, host, port, err, tt.wantErr)
				}
				return
			}
			if err != nil || host != tt.host || port != tt.port {
				t.Fatalf("SplitHostPort(%q, %d) = %q, %d, %v; want %q, %d", tt.in, tt.def, host, port, err, tt.host, tt.port)
			}
		})
	}
}

// FuzzSplitHostPort: whatever is accepted has a port in range and a host
// without separators; nothing panics.
func FuzzSplitHostPort(f *testing.F) {
	for _, s := range []string{"127.0.0.1:2379", "[::1]:1", "::::", "h", "h:99999", "a b:1", "[fe80::1%eth0]:80"} {
		f.Add(s, 0)
		f.Add(s, 9042)
	}
	f.Fuzz(func(t *testing.T, s string, def int) {
		def = max(0, def) % 65536
		host, port, err := drivers.SplitHostPort(s, def)
		if err != nil {
			return
		}
		if port < 1 || port > 65535 || host == "" || strings.ContainsAny(host, " /?#@") {
			t.Fatalf("SplitHostPort(%q, %d) accepted host %q port %d", s, def, host, port)
		}
	})
}
