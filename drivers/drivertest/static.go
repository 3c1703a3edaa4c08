package drivertest

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
)

// Static checks what a driver promises without a server: its Info, the
// level validation round trip, its option declarations and endpoint
// checks, and Open of an endpoint nobody serves. Call it from a unit test
// of every driver.
func Static(t *testing.T, d drivers.Driver) {
	t.Run("info", func(t *testing.T) { staticInfo(t, d) })
	t.Run("levels", func(t *testing.T) { staticLevels(t, d) })
	t.Run("options", func(t *testing.T) { staticOptions(t, d) })
	t.Run("endpoints", func(t *testing.T) { staticEndpoints(t, d) })
	t.Run("unreachable", func(t *testing.T) { staticUnreachable(t, d) })
}

func staticInfo(t *testing.T, d drivers.Driver) {
	info := d.Info()
	if d.Name() == "" || info.Name != d.Name() {
		t.Errorf("Name %q, Info().Name %q: want the same non-empty registry name", d.Name(), info.Name)
	}
	if len(info.Levels) == 0 || len(info.Ops) == 0 {
		t.Errorf("Info lists %d level dimensions and ops %v: want some of each", len(info.Levels), info.Ops)
	}
	known := make([]string, 0, op.NumKinds)
	for _, k := range op.Kinds() {
		known = append(known, k.String())
	}
	for _, o := range info.Ops {
		if !slices.Contains(known, o) {
			t.Errorf("Info advertises op %q (known: %v)", o, known)
		}
	}
	if !slices.Contains(info.Ops, op.Read.String()) || !slices.Contains(info.Ops, op.Write.String()) {
		t.Errorf("Info.Ops %v lacks read or write", info.Ops)
	}
}

// staticLevels: every advertised value is accepted, alone or with one
// other dimension at an advertised value (some values need another, such
// as MongoDB's snapshot reads and w=majority); defaults are advertised
// values; junk values and unknown dimensions wrap ErrInvalidLevel.
func staticLevels(t *testing.T, d drivers.Driver) {
	dims := d.Info().Levels
	if err := d.ValidateLevels(drivers.Levels{}); err != nil {
		t.Errorf("the empty level set (driver defaults) is rejected: %v", err)
	}
	for _, dim := range dims {
		if dim.Default != "" && len(dim.Values) > 0 && !slices.Contains(dim.Values, dim.Default) {
			t.Errorf("%s: default %q is not among the values %v", dim.Key, dim.Default, dim.Values)
		}
		for _, v := range dim.Values {
			if !usable(d, dims, dim.Key, v) {
				t.Errorf("advertised %s=%s is rejected alone and with every other advertised value: %v",
					dim.Key, v, d.ValidateLevels(drivers.Levels{dim.Key: v}))
			}
		}
		if len(dim.Values) > 0 {
			err := d.ValidateLevels(drivers.Levels{dim.Key: "no-such-level"})
			if !errors.Is(err, drivers.ErrInvalidLevel) || !strings.Contains(err.Error(), dim.Key) {
				t.Errorf("%s=no-such-level: %v, want ErrInvalidLevel naming %s", dim.Key, err, dim.Key)
			}
		}
	}
	err := d.ValidateLevels(drivers.Levels{"no_such_dimension": "x"})
	if !errors.Is(err, drivers.ErrInvalidLevel) || !strings.Contains(err.Error(), "no_such_dimension") {
		t.Errorf("unknown dimension: %v, want ErrInvalidLevel naming it", err)
	}
}

// usable reports whether key=v validates alone or with one other
// dimension at one of its advertised values.
func usable(d drivers.Driver, dims []drivers.LevelDim, key, v string) bool {
	if d.ValidateLevels(drivers.Levels{key: v}) == nil {
		return true
	}
	for _, other := range dims {
		for _, ov := range other.Values {
			if other.Key != key && d.ValidateLevels(drivers.Levels{key: v, other.Key: ov}) == nil {
				return true
			}
		}
	}
	return false
}

// staticOptions: the driver checks options offline (drivers.ConfigChecker);
// every documented default is accepted; an unknown key is refused with
// ErrInvalidOption and ErrUnknownOption, by CheckOptions and by Open.
func staticOptions(t *testing.T, d drivers.Driver) {
	cc, ok := d.(drivers.ConfigChecker)
	if !ok {
		t.Fatalf("driver %T does not implement drivers.ConfigChecker", d)
	}
	defaults := map[string]string{}
	for _, o := range d.Info().Options {
		if o.Key == "" || o.Doc == "" || o.Type == "" {
			t.Errorf("option %+v lacks a key, type or doc", o)
		}
		if o.Default != "" {
			defaults[o.Key] = o.Default
		}
	}
	if err := cc.CheckOptions(defaults); err != nil {
		t.Errorf("documented defaults %v rejected: %v", defaults, err)
	}
	bad := map[string]string{"no_such_option": "1"}
	err := cc.CheckOptions(bad)
	if oes := drivers.OptionErrors(err); len(oes) != 1 || oes[0].Key != "no_such_option" || !errors.Is(err, drivers.ErrUnknownOption) {
		t.Errorf("CheckOptions(%v) = %v, want one *OptionError for no_such_option wrapping ErrUnknownOption", bad, err)
	}
	_, err = d.Open(opCtx(t, 10*time.Second), drivers.Config{Endpoints: []string{closedAddr(t)}, Options: bad, DialTimeout: time.Second})
	if !errors.Is(err, drivers.ErrInvalidOption) {
		t.Errorf("Open with an unknown option: %v, want ErrInvalidOption", err)
	}
}

// staticEndpoints: malformed endpoints and ports out of range are refused
// by CheckConfig; an endpoint carrying credentials is refused by
// CheckConfig and by Open, and the secret appears in neither error.
func staticEndpoints(t *testing.T, d drivers.Driver) {
	for _, ep := range []string{"::::", "127.0.0.1:99999", "127.0.0.1:0", "exa mple:1"} {
		err := drivers.CheckConfig(d, drivers.Config{Endpoints: []string{ep}})
		if ees := drivers.EndpointErrors(err); len(ees) != 1 || ees[0].Index != 0 || !errors.Is(err, drivers.ErrInvalidEndpoint) {
			t.Errorf("endpoint %q: %v, want one *EndpointError wrapping ErrInvalidEndpoint", ep, err)
		}
	}
	const secret = "s3cr3t-pw"
	for _, ep := range []string{"user:" + secret + "@127.0.0.1:1", "http://user:" + secret + "@127.0.0.1:1", "127.0.0.1:1/?password=" + secret} {
		err := drivers.CheckConfig(d, drivers.Config{Endpoints: []string{ep}})
		if !errors.Is(err, drivers.ErrEndpointCredentials) || strings.Contains(err.Error(), secret) {
			t.Errorf("CheckConfig of an endpoint with credentials: %v, want ErrEndpointCredentials without the secret", err)
		}
		_, err = d.Open(opCtx(t, 10*time.Second), drivers.Config{Endpoints: []string{ep}, DialTimeout: time.Second})
		if !errors.Is(err, drivers.ErrInvalidEndpoint) || strings.Contains(err.Error(), secret) {
			t.Errorf("Open of an endpoint with credentials: %v, want ErrInvalidEndpoint without the secret", err)
		}
	}
}

// staticUnreachable: Open of an endpoint nobody serves fails, within a
// bound, wrapping ErrUnreachable and naming the endpoint.
func staticUnreachable(t *testing.T, d drivers.Driver) {
	dead := closedAddr(t)
	start := time.Now()
	c, err := d.Open(opCtx(t, 30*time.Second), drivers.Config{Endpoints: []string{dead}, DialTimeout: time.Second})
	if err == nil {
		c.Close()
		t.Fatalf("Open of %s (nothing listens) succeeded", dead)
	}
	if !errors.Is(err, drivers.ErrUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Errorf("Open of %s: %v, want ErrUnreachable naming the endpoint", dead, err)
	}
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("Open took %v with a 1s dial timeout", took)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
