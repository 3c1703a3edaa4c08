package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pacbench/pacbench/internal/impair"
)

// Peer routing. Each member's advertised peer URL is a peerRouter: it
// peeks at the first HTTP request of every connection it accepts, tells
// from rafthttp's X-PeerURLs header (the sender's advertised peer URLs, set
// on stream and pipeline requests and snapshots) which member dialed it,
// and forwards the connection, peeked bytes first, to the Toxiproxy proxy
// of that (member, dialer) pair. A partition can then cut the connections a
// member dialed as well as those dialed to it (rafthttp streams are dialed
// by the receiver of the messages).
//
// A connection it cannot attribute (no X-PeerURLs naming a member: version
// probes, /raft/probing, lease forwarding; or a header that does not arrive
// whole within peekTimeout) goes to the member's own peer proxy. When that
// first request parses as HTTP, "Connection: close" is added to it so the
// dialer's HTTP transport does not reuse the connection for a later
// rafthttp request, which would then travel unattributed.

// Peek bounds.
const (
	// maxPeek bounds the peeked request header (rafthttp's are < 1 KiB).
	maxPeek = 64 << 10
	// peekTimeout bounds the wait for the first request's header.
	peekTimeout = 5 * time.Second
	// routeDialTimeout bounds the dial to the Toxiproxy proxy.
	routeDialTimeout = 5 * time.Second
)

// peerRouter accepts a member's peer connections and forwards each to the
// proxy of its dialer. Safe for concurrent use; Close stops it.
type peerRouter struct {
	ln       net.Listener
	fallback string            // proxy address for unattributed connections
	byDialer map[string]string // dialer's advertised peer host:port → proxy address
	timeout  time.Duration     // peek timeout

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serve accepts connections until the listener is closed.
func (r *peerRouter) serve() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if !r.track(c) {
			c.Close()
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer r.untrack(c)
			r.route(c)
		}()
	}
}

// track records c for Close; false once the router is closed.
func (r *peerRouter) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

// untrack closes c and forgets it.
func (r *peerRouter) untrack(c net.Conn) {
	c.Close()
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
}

// route peeks at c's first request header, picks the proxy and pipes c to it
// until either side closes.
func (r *peerRouter) route(c net.Conn) {
	timeout := r.timeout
	if timeout <= 0 {
		timeout = peekTimeout
	}
	head, complete := peekHead(c, maxPeek, timeout)
	target, ok := "", false
	if complete {
		target, ok = attribute(head, r.byDialer)
		if !ok {
			head = closeAfter(head)
		}
	}
	if !ok {
		target = r.fallback
	}
	up, err := net.DialTimeout("tcp", target, routeDialTimeout)
	if err != nil {
		return
	}
	defer up.Close()
	if _, err := up.Write(head); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done // one side ended: end both (the caller closes c)
	up.Close()
	c.Close()
	<-done
}

// Close stops accepting, closes every routed connection and waits for the
// router's goroutines. Idempotent.
func (r *peerRouter) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	err := r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// peekHead reads from c until the end of the first HTTP request header
// ("\r\n\r\n"), limit bytes, EOF, an error or timeout, whichever comes first.
// It returns what it read and whether the header is complete. c's read
// deadline is cleared before it returns.
func peekHead(c net.Conn, limit int, timeout time.Duration) ([]byte, bool) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, 0, 2048)
	chunk := make([]byte, 2048)
	for len(buf) < limit {
		n, err := c.Read(chunk[:min(len(chunk), limit-len(buf))])
		// Search from a little before the new bytes: the terminator may
		// straddle two reads.
		from := max(0, len(buf)-3)
		buf = append(buf, chunk[:n]...)
		if bytes.Contains(buf[from:], []byte("\r\n\r\n")) {
			return buf, true
		}
		if err != nil {
			return buf, false
		}
	}
	return buf, false
}

// attribute parses a complete request header and returns the proxy address
// byDialer maps its sender to (X-PeerURLs: comma-separated advertised peer
// URLs), or false when the request names no known member.
func attribute(head []byte, byDialer map[string]string) (string, bool) {
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		return "", false
	}
	for _, raw := range strings.Split(req.Header.Get("X-PeerURLs"), ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" {
			continue
		}
		if target, ok := byDialer[u.Host]; ok {
			return target, true
		}
	}
	return "", false
}

// closeAfter inserts "Connection: close" after the request line of a
// complete HTTP request header, so the server closes the connection after
// answering it. A header that does not parse is returned unchanged.
func closeAfter(head []byte) []byte {
	if _, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head))); err != nil {
		return head
	}
	i := bytes.Index(head, []byte("\r\n"))
	out := make([]byte, 0, len(head)+19)
	out = append(out, head[:i+2]...)
	out = append(out, "Connection: close\r\n"...)
	return append(out, head[i+2:]...)
}

// ProxyTopology is the proxy layout StartEtcd creates for n members m1…mn:
// "<m>-client" in front of each client port, and in front of each peer
// port "<m>-peer-from-<d>" for the connections member d dials to m plus
// "<m>-peer" for those the router cannot attribute. Endpoints and roles
// are left empty.
func ProxyTopology(n int) impair.Topology {
	t := impair.Topology{Members: make([]impair.MemberLinks, n)}
	for i := range n {
		name := fmt.Sprintf("m%d", i+1)
		from := make(map[string]string, n-1)
		for j := range n {
			if d := fmt.Sprintf("m%d", j+1); j != i {
				from[d] = name + "-peer-from-" + d
			}
		}
		t.Members[i] = impair.MemberLinks{Name: name, ClientProxy: name + "-client", PeerProxy: name + "-peer", PeerFrom: from}
	}
	return t
}

// routePeers creates every member's peer proxies (proxy returns a new
// proxy's listen address), points its router at them and starts the
// routers. configs give the members' peer listen and advertised URLs.
func (e *Etcd) routePeers(proxy func(name, upstream string) (string, error), configs []memberConfig) error {
	hostOf := func(raw string) string { return strings.TrimPrefix(raw, "http://") }
	for i, m := range e.members {
		upstream := hostOf(configs[i].ListenPeer)
		fallback, err := proxy(m.peerProxy, upstream)
		if err != nil {
			return err
		}
		byDialer := make(map[string]string, len(m.peerFrom))
		for j, d := range e.members {
			name, ok := m.peerFrom[d.name]
			if !ok {
				continue
			}
			addr, err := proxy(name, upstream)
			if err != nil {
				return err
			}
			byDialer[hostOf(configs[j].AdvertisePeer)] = addr
		}
		m.router.fallback, m.router.byDialer = fallback, byDialer
	}
	for _, m := range e.members {
		m.router.wg.Add(1)
		go m.router.serve()
	}
	return nil
}
