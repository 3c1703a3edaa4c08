package drivers

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/pacbench/pacbench/internal/redact"
)

// Sentinel errors of endpoint checks.
var (
	// ErrInvalidEndpoint: an endpoint that cannot be dialled as written (bad
	// syntax, port out of range) or that carries credentials. Every
	// *EndpointError wraps it.
	ErrInvalidEndpoint = errors.New("invalid endpoint")
	// ErrEndpointCredentials: the endpoint carries credentials (user info
	// such as user:password@, or a secret query parameter); they belong in
	// Config.Credentials (an *EndpointError's Err).
	ErrEndpointCredentials = errors.New("carries credentials (pass them as Config.Credentials, never in an address)")
)

// EndpointError is one bad endpoint. It wraps ErrInvalidEndpoint and Err.
// Neither Endpoint nor the message ever holds the credentials of an
// endpoint that carries some: they are redacted.
type EndpointError struct {
	// Driver is the registry name of the driver that rejected it ("" when
	// checked without a driver).
	Driver string
	// Index is the endpoint's position in the list checked.
	Index int
	// Endpoint is the endpoint as written, with credentials redacted.
	Endpoint string
	// Err says what is wrong.
	Err error
}

// Error renders "driver: invalid endpoint "ep": problem".
func (e *EndpointError) Error() string {
	prefix := ""
	if e.Driver != "" {
		prefix = e.Driver + ": "
	}
	return fmt.Sprintf("%s%v %q: %v", prefix, ErrInvalidEndpoint, e.Endpoint, e.Err)
}

// Unwrap returns ErrInvalidEndpoint and Err.
func (e *EndpointError) Unwrap() []error { return []error{ErrInvalidEndpoint, e.Err} }

// ConfigChecker is an optional Driver capability: check system options and
// endpoints without connecting, so that a profile is refused before
// anything starts. Implementations are stateless and safe for concurrent
// use; Open applies the same checks.
type ConfigChecker interface {
	// CheckOptions returns every problem with opts, *OptionError values
	// joined (errors.Join), or nil.
	CheckOptions(opts map[string]string) error
	// CheckEndpoints returns every problem with eps as Config.Endpoints
	// would hold them, *EndpointError values (Index into eps) joined, or
	// nil. It is only given endpoints that are non-empty and carry no
	// credentials.
	CheckEndpoints(eps []string) error
}

// CheckConfig checks cfg's options and endpoints against d without
// connecting: first what every driver refuses (an empty endpoint, an
// endpoint carrying credentials), then, when d implements ConfigChecker,
// what d refuses. d may be nil (only the former). It returns every
// problem, *OptionError and *EndpointError values joined, or nil.
func CheckConfig(d Driver, cfg Config) error {
	name := ""
	if d != nil {
		name = d.Name()
	}
	var errs []error
	// Only endpoints that passed the common checks reach the driver; keep
	// their original indexes.
	var rest []string
	var index []int
	for i, ep := range cfg.Endpoints {
		var err error
		switch {
		case strings.TrimSpace(ep) == "":
			err = errors.New("empty endpoint")
		case redact.HasCredentials(ep):
			err = ErrEndpointCredentials
		}
		if err != nil {
			errs = append(errs, &EndpointError{Driver: name, Index: i, Endpoint: RedactEndpoint(ep), Err: err})
			continue
		}
		rest = append(rest, ep)
		index = append(index, i)
	}
	cc, ok := d.(ConfigChecker)
	if !ok {
		return errors.Join(errs...)
	}
	errs = append(errs, cc.CheckOptions(cfg.Options))
	for _, ee := range EndpointErrors(cc.CheckEndpoints(rest)) {
		if ee.Index >= 0 && ee.Index < len(index) {
			ee.Index = index[ee.Index]
		}
		errs = append(errs, ee)
	}
	return errors.Join(errs...)
}

// EachEndpoint applies check to every endpoint of eps and returns its
// failures as *EndpointError values (driver, index, redacted endpoint)
// joined, or nil: the usual body of ConfigChecker.CheckEndpoints.
func EachEndpoint(driver string, eps []string, check func(ep string) error) error {
	var errs []error
	for i, ep := range eps {
		if err := check(ep); err != nil {
			errs = append(errs, &EndpointError{Driver: driver, Index: i, Endpoint: RedactEndpoint(ep), Err: err})
		}
	}
	return errors.Join(errs...)
}

// EndpointErrors returns the *EndpointError values in err, in order.
func EndpointErrors(err error) []*EndpointError {
	var out []*EndpointError
	walk(err, func(e error) bool {
		if ee, ok := e.(*EndpointError); ok {
			out = append(out, ee)
			return true
		}
		return false
	})
	return out
}

// RedactEndpoint returns ep with any credentials it carries (user info, a
// secret query parameter) masked, for errors and logs.
func RedactEndpoint(ep string) string { return redact.URL(ep) }

// RedactEndpoints is RedactEndpoint over a list, joined by ",".
func RedactEndpoints(eps []string) string {
	out := make([]string, len(eps))
	for i, ep := range eps {
		out[i] = RedactEndpoint(ep)
	}
	return strings.Join(out, ",")
}

// hostRe matches a DNS name or IPv4 literal as an endpoint host.
var hostRe = regexp.MustCompile(`^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$`)

// SplitHostPort parses "host:port", "[ipv6]:port" or, when defaultPort is
// not 0, a bare "host" or IPv6 literal, and checks the host's syntax and
// that the port is in 1..65535. Errors say what was wanted and do not
// repeat the input.
func SplitHostPort(hostport string, defaultPort int) (host string, port int, err error) {
	want := "host:port"
	if defaultPort != 0 {
		want = "host or host:port"
	}
	host, ps, err := net.SplitHostPort(hostport)
	switch {
	case strings.ContainsAny(hostport, "/?#"):
		return "", 0, fmt.Errorf("want %s, without scheme, path or query", want)
	case err != nil && defaultPort != 0 && (!strings.Contains(hostport, ":") || net.ParseIP(hostport) != nil):
		host, port = hostport, defaultPort
	case err != nil:
		return "", 0, fmt.Errorf("want %s (an IPv6 address in brackets: [::1]:port)", want)
	default:
		n, perr := strconv.Atoi(ps)
		if perr != nil || n < 1 || n > 65535 {
			return "", 0, fmt.Errorf("port %q: want 1..65535", ps)
		}
		port = n
	}
	if host == "" {
		return "", 0, errors.New("no host")
	}
	if net.ParseIP(host) == nil && !hostRe.MatchString(host) {
		return "", 0, fmt.Errorf("host %q: want a host name or IP address", host)
	}
	return host, port, nil
}
