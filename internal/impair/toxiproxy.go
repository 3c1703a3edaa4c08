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
	"strings"
	"sync"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
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
// without a Direction acts on both directions. Toxics are named with
// ToxicPrefix.
type Toxiproxy struct {
	api  string
	topo Topology
	hc   *http.Client

	mu       sync.Mutex
	seq      int            // makes toxic names unique across Apply calls
	toxics   []appliedToxic // toxics this backend created and not yet removed
	disabled []string       // proxies this backend disabled and not yet re-enabled
}

type appliedToxic struct{ proxy, name string }

var _ Backend = (*Toxiproxy)(nil)

// NewToxiproxy returns the Backend acting through the Toxiproxy HTTP API at
// api ("http://host:port" or "host:port"). topo maps member names to their
// proxy names (MemberLinks.ClientProxy, PeerProxy).
func NewToxiproxy(api string, topo Topology) *Toxiproxy {
	if !strings.Contains(api, "://") {
		api = "http://" + api
	}
	return &Toxiproxy{
		api:  strings.TrimRight(api, "/"),
		topo: topo,
		hc:   &http.Client{Timeout: 30 * time.Second},
	}
}

// Name returns "toxiproxy".
func (t *Toxiproxy) Name() string { return "toxiproxy" }

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
			if err := t.setEnabled(ctx, proxy, false); err != nil {
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
			if err := t.call(ctx, http.MethodPost, "/proxies/"+proxy+"/toxics", spec, nil); err != nil {
				return fmt.Errorf("toxiproxy: action %d: add %s toxic to %s: %w", i, typ, proxy, err)
			}
			t.toxics = append(t.toxics, appliedToxic{proxy: proxy, name: spec.Name})
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
		default:
			return "", fmt.Errorf("%w: link kind %q of %s", ErrInvalid, a.Link, a.Member)
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
// recorded for the next Clear or Heal.
func (t *Toxiproxy) Clear(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	keep := t.toxics[:0]
	for _, x := range t.toxics {
		err := t.call(ctx, http.MethodDelete, "/proxies/"+x.proxy+"/toxics/"+x.name, nil, nil)
		if err != nil && !errors.Is(err, errNotFound) {
			errs = append(errs, fmt.Errorf("remove %s from %s: %w", x.name, x.proxy, err))
			keep = append(keep, x)
		}
	}
	t.toxics = keep
	var still []string
	for _, p := range t.disabled {
		if err := t.setEnabled(ctx, p, true); err != nil && !errors.Is(err, errNotFound) {
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

// Heal removes every toxic whose name starts with ToxicPrefix and re-enables
// disabled proxies, on the proxies the topology lists (on every proxy of the
// server when the topology lists none), whoever created them. It also
// forgets what this backend recorded.
func (t *Toxiproxy) Heal(ctx context.Context) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var proxies map[string]proxyState
	if err := t.call(ctx, http.MethodGet, "/proxies", nil, &proxies); err != nil {
		return fmt.Errorf("toxiproxy: heal: list proxies: %w", err)
	}
	scope := t.proxyNames()
	var errs []error
	for name, p := range proxies {
		if len(scope) > 0 && !scope[name] {
			continue
		}
		for _, x := range p.Toxics {
			if !strings.HasPrefix(x.Name, ToxicPrefix) {
				continue
			}
			err := t.call(ctx, http.MethodDelete, "/proxies/"+name+"/toxics/"+x.Name, nil, nil)
			if err != nil && !errors.Is(err, errNotFound) {
				errs = append(errs, fmt.Errorf("remove %s from %s: %w", x.Name, name, err))
			}
		}
		if !p.Enabled {
			if err := t.setEnabled(ctx, name, true); err != nil {
				errs = append(errs, fmt.Errorf("enable %s: %w", name, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("toxiproxy: heal: %w", err)
	}
	t.toxics, t.disabled = nil, nil
	return nil
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
	}
	return set
}

func (t *Toxiproxy) setEnabled(ctx context.Context, proxy string, enabled bool) error {
	return t.call(ctx, http.MethodPatch, "/proxies/"+proxy, map[string]bool{"enabled": enabled}, nil)
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
	req, err := http.NewRequestWithContext(ctx, method, t.api+path, rd)
	if err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrToxiproxyAPI, method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "pacbench")
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
