package impair

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/pacbench/pacbench/internal/redact"
)

// ToxicPrefix starts the name of every toxic pacbench creates, so Heal can
// recognise (and remove) leftovers of any run, including crashed ones.
const ToxicPrefix = "pacbench_"

// ErrToxiproxyAPI: the Toxiproxy HTTP API answered with an error status or
// could not be reached.
var ErrToxiproxyAPI = errors.New("toxiproxy api error")

// ToxiServer is an in-process Toxiproxy server (its HTTP API plus every proxy
// created through it). Safe for concurrent use.
type ToxiServer struct {
	api       *toxiproxy.ApiServer
	http      *http.Server
	url       string
	served    chan error
	closeOnce sync.Once
	closeErr  error
}

// StartToxiproxy runs an in-process Toxiproxy server with its HTTP API on
// addr (e.g. "127.0.0.1:0" for a free loopback port). The API is serving when
// StartToxiproxy returns. ctx bounds only the start-up; Close stops the
// server and every proxy.
func StartToxiproxy(ctx context.Context, addr string) (*ToxiServer, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("toxiproxy: listen %s: %w", addr, err)
	}
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	s := &ToxiServer{
		api: api,
		http: &http.Server{
			Handler:           api.Routes(),
			ReadHeaderTimeout: 10 * time.Second,
		},
		url:    "http://" + ln.Addr().String(),
		served: make(chan error, 1),
	}
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.served <- err
	}()
	return s, nil
}

// API returns the base URL of the HTTP API, "http://127.0.0.1:PORT".
func (s *ToxiServer) API() string { return s.url }

// Close stops the HTTP API and every proxy (closing their connections).
// Idempotent; safe to call concurrently.
func (s *ToxiServer) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.http.Shutdown(ctx)
		if serr := <-s.served; serr != nil {
			err = errors.Join(err, serr)
		}
		if cerr := s.api.Collection.Clear(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		if err != nil {
			s.closeErr = fmt.Errorf("toxiproxy: close: %w", err)
		}
	})
	return s.closeErr
}

// Toxiproxy is the impairment Backend acting through a Toxiproxy HTTP API,
// embedded (StartToxiproxy) or remote: the code path is the same. Safe for
// concurrent use.
//
// Action mapping: latency → "latency" toxic (delay and jitter rounded to
// whole milliseconds); bandwidth → "bandwidth" toxic; partition → "timeout"
// toxic with timeout 0 (a blackhole); reset → "reset_peer" toxic; down →
// the proxy is disabled (connections refused) until Clear. An action
// without a Direction acts on both directions. A peer action with From
// acts on the member's pair proxy PeerFrom[From] instead of its PeerProxy.
// Toxics are named with ToxicPrefix.
type Toxiproxy struct {
	api  string
	topo Topology
	hc   *http.Client
	opt  ToxiproxyOptions

	mu       sync.Mutex
	seq      int            // makes toxic names unique across Apply calls
	toxics   []appliedToxic // toxics this backend created and not yet removed
	disabled []string       // proxies this backend disabled and not yet re-enabled
}

type appliedToxic struct{ proxy, name, what string }

var _ Backend = (*Toxiproxy)(nil)

// ToxiproxyOptions configure a Toxiproxy backend. The zero value gives the
// documented defaults.
type ToxiproxyOptions struct {
	// Username and Password, when Password is set, are sent as HTTP basic
	// authentication (for an API behind an authenticating proxy). They are
	// never logged nor put in errors.
	Username, Password string
	// RequestTimeout bounds each API request (default 30s).
	RequestTimeout time.Duration
	// DryRun, when non-nil, makes the backend change nothing: every request
	// that would change the server is printed there instead (one line:
	// method, path, JSON body); Heal still reads the server's proxies.
	DryRun io.Writer
}

// NewToxiproxy returns the Backend acting through the Toxiproxy HTTP API at
// api ("http://host:port" or "host:port"). topo maps member names to their
// proxy names (MemberLinks.ClientProxy, PeerProxy).
func NewToxiproxy(api string, topo Topology) *Toxiproxy {
	return NewToxiproxyWithOptions(api, topo, ToxiproxyOptions{})
}

// NewToxiproxyWithOptions is NewToxiproxy with options.
func NewToxiproxyWithOptions(api string, topo Topology, o ToxiproxyOptions) *Toxiproxy {
	if api != "" && !strings.Contains(api, "://") {
		api = "http://" + api
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 30 * time.Second
	}
	return &Toxiproxy{
		api:  strings.TrimRight(api, "/"),
		topo: topo,
		hc:   &http.Client{Timeout: o.RequestTimeout},
		opt:  o,
	}
}

// Name returns "toxiproxy".
func (t *Toxiproxy) Name() string { return BackendToxiproxy }

// toxicSpec is the Toxiproxy API representation of a toxic.
type toxicSpec struct {
	Name       string         `json:"name"`
	Type       string         `json:"type"`
	Stream     string         `json:"stream"`
	Toxicity   float32        `json:"toxicity"`
	Attributes map[string]any `json:"attributes"`
}

// proxyState is the part of the API's proxy representation Heal needs.
type proxyState struct {
	Name    string      `json:"name"`
	Enabled bool        `json:"enabled"`
	Toxics  []toxicSpec `json:"toxics"`
}

// Apply adds the toxics (or disables the proxies) that actions describe, on
// top of what is active. It stops at the first error; whatever was applied
// before stays recorded so Clear removes it.
func (t *Toxiproxy) Apply(ctx context.Context, actions []Action) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	for i, a := range actions {
		proxy, err := t.proxyFor(a)
		if err != nil {
			return fmt.Errorf("toxiproxy: action %d: %w", i, err)
		}
		if a.Kind == KindDown {
			if err := t.change(ctx, http.MethodPatch, "/proxies/"+proxy, map[string]bool{"enabled": false}); err != nil {
				return fmt.Errorf("toxiproxy: action %d: disable %s: %w", i, proxy, err)
			}
			t.disabled = append(t.disabled, proxy)
			continue
		}
		typ, attrs, err := toxicFor(a)
		if err != nil {
			return fmt.Errorf("toxiproxy: action %d: %w", i, err)
		}
		dirs := []string{a.Direction}
		if a.Direction == "" {
			dirs = []string{Downstream, Upstream}
		}
		for _, dir := range dirs {
			if dir != Downstream && dir != Upstream {
				return fmt.Errorf("toxiproxy: action %d: %w: direction %q (want %s or %s)", i, ErrInvalid, dir, Downstream, Upstream)
			}
			spec := toxicSpec{
				Name:       fmt.Sprintf("%s%s_%s_%d_%d", ToxicPrefix, a.Kind, dir, t.seq, i),
				Type:       typ,
				Stream:     dir,
				Toxicity:   1,
				Attributes: attrs,
			}
			if err := t.change(ctx, http.MethodPost, "/proxies/"+proxy+"/toxics", spec); err != nil {
				return fmt.Errorf("toxiproxy: action %d: add %s toxic to %s: %w", i, typ, proxy, err)
			}
			what := Describe(a)
			if a.Direction == "" {
				what += " " + dir
			}
			t.toxics = append(t.toxics, appliedToxic{proxy: proxy, name: spec.Name, what: what})
		}
	}
	return nil
}

// proxyFor returns the proxy carrying a's link.
func (t *Toxiproxy) proxyFor(a Action) (string, error) {
	for _, m := range t.topo.Members {
		if m.Name != a.Member {
			continue
		}
		var p string
		switch a.Link {
		case LinkClient:
			p = m.ClientProxy
		case LinkPeer:
			p = m.PeerProxy
			if a.From != "" {
				p = m.PeerFrom[a.From]
			}
		default:
			return "", fmt.Errorf("%w: link kind %q of %s", ErrInvalid, a.Link, a.Member)
		}
		if p == "" && a.From != "" {
			return "", fmt.Errorf("%w: %s has no peer proxy for connections dialed by %s", ErrNoLink, a.Member, a.From)
		}
		if p == "" {
			return "", fmt.Errorf("%w: %s link of %s has no proxy", ErrNoLink, a.Link, a.Member)
		}
		return p, nil
	}
	return "", fmt.Errorf("%w: member %q", ErrUnknownTarget, a.Member)
}

// toxicFor maps a non-down action to a toxic type and its attributes.
func toxicFor(a Action) (string, map[string]any, error) {
	if a.Loss != 0 {
		return "", nil, fmt.Errorf("%w: toxiproxy cannot drop a fraction of packets (loss %.2f%%)", ErrInvalid, a.Loss)
	}
	switch a.Kind {
	case KindLatency:
		if a.Delay < 0 || a.Jitter < 0 {
			return "", nil, fmt.Errorf("%w: negative latency %v ± %v", ErrInvalid, a.Delay, a.Jitter)
		}
		return "latency", map[string]any{"latency": roundMs(a.Delay), "jitter": roundMs(a.Jitter)}, nil
	case KindBandwidth:
		if a.RateKBps <= 0 {
			return "", nil, fmt.Errorf("%w: bandwidth rate %d KB/s", ErrInvalid, a.RateKBps)
		}
		return "bandwidth", map[string]any{"rate": a.RateKBps}, nil
	case KindPartition:
		return "timeout", map[string]any{"timeout": 0}, nil
	case KindReset:
		return "reset_peer", map[string]any{"timeout": 0}, nil
	default:
		return "", nil, fmt.Errorf("%w: kind %q", ErrInvalid, a.Kind)
	}
}

// roundMs rounds d to whole milliseconds (Toxiproxy's unit), keeping any
// positive duration at least 1 ms.
func roundMs(d time.Duration) int64 {
	ms := d.Round(time.Millisecond).Milliseconds()
	if ms == 0 && d > 0 {
		ms = 1
	}
	return ms
}

// Clear removes every toxic this backend created and re-enables every proxy
// it disabled. Idempotent: what was removed is forgotten; what failed stays
// recorded (Pending) for the next Clear or Heal.
func (t *Toxiproxy) Clear(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	keep := t.toxics[:0]
	for _, x := range t.toxics {
		err := t.change(ctx, http.MethodDelete, "/proxies/"+x.proxy+"/toxics/"+x.name, nil)
		if err != nil && !errors.Is(err, errNotFound) {
			errs = append(errs, fmt.Errorf("remove %s from %s: %w", x.name, x.proxy, err))
			keep = append(keep, x)
		}
	}
	t.toxics = keep
	var still []string
	for _, p := range t.disabled {
		if err := t.change(ctx, http.MethodPatch, "/proxies/"+p, map[string]bool{"enabled": true}); err != nil && !errors.Is(err, errNotFound) {
			errs = append(errs, fmt.Errorf("enable %s: %w", p, err))
			still = append(still, p)
		}
	}
	t.disabled = still
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("toxiproxy: clear: %w", err)
	}
	return nil
}

// Pending lists the toxics this backend created and the proxies it
// disabled that are still in place as far as it knows.
func (t *Toxiproxy) Pending() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]string, 0, len(t.toxics)+len(t.disabled))
	for _, x := range t.toxics {
		out = append(out, fmt.Sprintf("toxic %s on proxy %s (%s)", x.name, x.proxy, x.what))
	}
	for _, p := range t.disabled {
		out = append(out, "proxy "+p+" disabled")
	}
	return out
}

// Heal removes every toxic whose name starts with ToxicPrefix and re-enables
// disabled proxies, on the proxies the topology lists (on every proxy of the
// server when the topology lists none), whoever created them, and forgets
// what this backend recorded. The report lists each toxic and proxy it
// fixed (in a dry run: would fix) and those it could not. If the proxies
// cannot even be listed, Left says so.
func (t *Toxiproxy) Heal(ctx context.Context) (HealReport, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var rep HealReport
	var proxies map[string]proxyState
	if err := t.call(ctx, http.MethodGet, "/proxies", nil, &proxies); err != nil {
		rep.Left = append(rep.Left, "unknown: the proxies could not be listed")
		return rep, fmt.Errorf("toxiproxy: heal: list proxies: %w", err)
	}
	scope := t.proxyNames()
	names := make([]string, 0, len(proxies))
	for name := range proxies {
		names = append(names, name)
	}
	sort.Strings(names)
	var errs []error
	for _, name := range names {
		p := proxies[name]
		if len(scope) > 0 && !scope[name] {
			continue
		}
		for _, x := range p.Toxics {
			if !strings.HasPrefix(x.Name, ToxicPrefix) {
				continue
			}
			what := fmt.Sprintf("toxic %s (%s %s) on proxy %s", x.Name, x.Type, x.Stream, name)
			err := t.change(ctx, http.MethodDelete, "/proxies/"+name+"/toxics/"+x.Name, nil)
			if err != nil && !errors.Is(err, errNotFound) {
				errs = append(errs, fmt.Errorf("remove %s from %s: %w", x.Name, name, err))
				rep.Left = append(rep.Left, what)
				continue
			}
			rep.Removed = append(rep.Removed, what)
		}
		if !p.Enabled {
			what := "proxy " + name + " disabled"
			if err := t.change(ctx, http.MethodPatch, "/proxies/"+name, map[string]bool{"enabled": true}); err != nil {
				errs = append(errs, fmt.Errorf("enable %s: %w", name, err))
				rep.Left = append(rep.Left, what)
				continue
			}
			rep.Removed = append(rep.Removed, what)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return rep, fmt.Errorf("toxiproxy: heal: %w", err)
	}
	t.toxics, t.disabled = nil, nil
	return rep, nil
}

// proxyNames returns the set of proxies the topology names.
func (t *Toxiproxy) proxyNames() map[string]bool {
	set := map[string]bool{}
	for _, m := range t.topo.Members {
		for _, p := range []string{m.ClientProxy, m.PeerProxy} {
			if p != "" {
				set[p] = true
			}
		}
		for _, p := range m.PeerFrom {
			set[p] = true
		}
	}
	return set
}

// change sends one request that changes the server, or, in a dry run,
// prints it instead.
func (t *Toxiproxy) change(ctx context.Context, method, path string, body any) error {
	if t.opt.DryRun == nil {
		return t.call(ctx, method, path, body, nil)
	}
	line := method + " " + path
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		line += " " + string(b)
	}
	if _, err := io.WriteString(t.opt.DryRun, "toxiproxy: "+line+"\n"); err != nil {
		return fmt.Errorf("dry run: %w", err)
	}
	return nil
}

// errNotFound marks a 404 from the API (proxy or toxic already gone).
var errNotFound = errors.New("not found")

// call sends one API request with a JSON body (nil: none) and decodes the
// JSON answer into out (nil: discard).
func (t *Toxiproxy) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	if t.api == "" {
		return fmt.Errorf("%w: %s %s: no API URL configured", ErrToxiproxyAPI, method, path)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.api+path, rd)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrToxiproxyAPI, method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pacbench")
	if t.opt.Password != "" {
		req.SetBasicAuth(t.opt.Username, t.opt.Password)
	}
	resp, err := t.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrToxiproxyAPI, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%w: %s %s: read answer: %w", ErrToxiproxyAPI, method, path, err)
	}
	if resp.StatusCode == http.StatusNotFound {
		return fmt.Errorf("%w: %s %s: %w: %s", ErrToxiproxyAPI, method, path, errNotFound, apiMessage(data))
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("%w: %s %s: status %d: %s", ErrToxiproxyAPI, method, path, resp.StatusCode, apiMessage(data))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%w: %s %s: decode answer: %w", ErrToxiproxyAPI, method, path, err)
		}
	}
	return nil
}

// apiMessage extracts the "error" field of an API error body.
func apiMessage(data []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		return e.Error
	}
	return strings.TrimSpace(string(data))
}

// BackendToxiproxy is the Toxiproxy backend's kind.
const BackendToxiproxy = "toxiproxy"

// Toxiproxy backend options (system.impairer.options).
const (
	toxiOptUsernameEnv = "username_env"
	toxiOptPasswordEnv = "password_env"
	toxiOptTimeout     = "request_timeout"
)

// ToxiproxyFactory builds Toxiproxy backends (kind "toxiproxy"). Stateless.
type ToxiproxyFactory struct{}

var _ Factory = ToxiproxyFactory{}

// Info documents the kind and its options.
func (ToxiproxyFactory) Info() BackendInfo {
	return BackendInfo{
		Kind: BackendToxiproxy,
		Description: "Toxiproxy through its HTTP API: the embedded in-process server of a local cluster, " +
			"or a remote server whose proxies system.nodes name (client_proxy, peer_proxy)",
		Options: []Option{
			{Key: OptionAPI, Doc: "remote Toxiproxy API URL, e.g. http://127.0.0.1:8474 (required for impairments on an existing deployment; never with credentials: use username_env/password_env)", Check: checkAPIURL},
			{Key: toxiOptUsernameEnv, Doc: "environment variable holding the API's basic-auth user name", Check: checkEnvName},
			{Key: toxiOptPasswordEnv, Doc: "environment variable holding the API's basic-auth password", Check: checkEnvName},
			{Key: toxiOptTimeout, Default: "30s", Doc: "bound on each API request (a duration, at most 10m)", Check: checkRequestTimeout},
		},
	}
}

// CheckSetup requires an API URL for impairments on an existing deployment
// and refuses one for a local cluster (its embedded Toxiproxy carries the
// links).
func (ToxiproxyFactory) CheckSetup(s Setup) []SetupError {
	api := s.Options[OptionAPI]
	switch {
	case s.Local && api != "":
		return []SetupError{{"impairer.api", errors.New("not used with cluster: local (the embedded Toxiproxy carries its links)")}}
	case !s.Local && s.Impaired && api == "":
		return []SetupError{{"impairer.api", errors.New("impairments on an existing deployment need a Toxiproxy API URL (or impairer kind: netem)")}}
	}
	return nil
}

// CheckSpec refuses packet loss (Toxiproxy cannot drop packets).
func (ToxiproxyFactory) CheckSpec(s Spec) []FieldError {
	if s.Loss != 0 {
		return []FieldError{{Field: KeyLoss, Err: Invalidf("packet loss needs impairer kind: netem (Toxiproxy cannot drop packets)")}}
	}
	return nil
}

// New builds the backend. Without an API URL only a dry run is possible.
func (ToxiproxyFactory) New(c Config) (Backend, error) {
	o := ToxiproxyOptions{DryRun: c.DryRun, Username: c.getenv(c.Options[toxiOptUsernameEnv]), Password: c.getenv(c.Options[toxiOptPasswordEnv])}
	if v := c.Options[toxiOptTimeout]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", toxiOptTimeout, err)
		}
		o.RequestTimeout = d
	}
	api := c.Options[OptionAPI]
	if api == "" && c.DryRun == nil {
		return nil, errors.New("no Toxiproxy API URL (option api)")
	}
	if err := checkAPIURL(api); api != "" && err != nil {
		return nil, fmt.Errorf("option api: %w", err)
	}
	return NewToxiproxyWithOptions(api, c.Topology, o), nil
}

// checkAPIURL accepts an http(s) URL with a host and no credentials. The
// error never repeats the value.
func checkAPIURL(v string) error {
	if redact.HasCredentials(v) {
		return errors.New("holds credentials; name environment variables in system.impairer.options.username_env and password_env instead")
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want a Toxiproxy API URL such as http://127.0.0.1:8474 (scheme http or https, and a host)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("port out of range 1-65535")
		}
	}
	return nil
}

// checkEnvName accepts an environment variable name (not a secret itself).
func checkEnvName(v string) error {
	if !envNameRE.MatchString(v) {
		return errors.New("must name an environment variable (e.g. TOXIPROXY_PASSWORD), not hold the secret itself")
	}
	return nil
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func checkRequestTimeout(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > 10*time.Minute {
		return errors.New("want a duration in (0, 10m], e.g. 30s")
	}
	return nil
}
