package cluster

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// upstream is a fake proxy address recording what each accepted
// connection receives; it answers "ok" once it has read want bytes.
type upstream struct {
	ln  net.Listener
	got chan []byte
}

// newUpstream listens on loopback; want is how many bytes each connection
// must deliver before the upstream answers.
func newUpstream(t *testing.T, want int) *upstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{ln: ln, got: make(chan []byte, 4)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, want)
				_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
				n, _ := io.ReadFull(c, buf)
				u.got <- buf[:n]
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	return u
}

// TestPeerRouterAttribution: each connection reaches the proxy of the
// member its first request's X-PeerURLs names, whatever pieces the header
// arrives in; anything else reaches the fallback, bytes intact (plus
// "Connection: close" on a parsed HTTP request).
func TestPeerRouterAttribution(t *testing.T) {
	t.Parallel()
	stream := "GET /raft/stream/message/8e9e05c52164694d HTTP/1.1\r\nHost: 127.0.0.1:2380\r\n" +
		"X-Server-From: 91bc3c398fb3c146\r\nX-PeerURLs: http://127.0.0.1:1111\r\nX-Raft-To: 8e9e05c52164694d\r\n\r\n"
	pipeline := "POST /raft HTTP/1.1\r\nHost: 127.0.0.1:2380\r\nContent-Length: 4\r\n" +
		"X-PeerURLs: http://127.0.0.1:9999, http://127.0.0.1:2222\r\n\r\nbody"
	version := "GET /version HTTP/1.1\r\nHost: 127.0.0.1:2380\r\nUser-Agent: Go-http-client/1.1\r\n\r\n"
	unknown := strings.Replace(stream, "127.0.0.1:1111", "127.0.0.1:3333", 1)
	tests := []struct {
		name   string
		pieces []string // written with a pause between them
		to     string   // "a", "b" or "fallback"
		want   string   // bytes the upstream must receive
	}{
		{"stream of member a", []string{stream}, "a", stream},
		{"pipeline with body, second URL names b", []string{pipeline}, "b", pipeline},
		{"header in slow pieces, terminator split", []string{stream[:10], stream[10 : len(stream)-3], stream[len(stream)-3:]}, "a", stream},
		{"non-rafthttp request", []string{version}, "fallback", strings.Replace(version, "\r\n", "\r\nConnection: close\r\n", 1)},
		{"unknown peer URL", []string{unknown}, "fallback", strings.Replace(unknown, "\r\n", "\r\nConnection: close\r\n", 1)},
		{"header never completes", []string{"GET /raft/stream HTTP/1.1\r\nX-PeerURLs: http://127.0.0.1:1111\r\n"}, "fallback", "GET /raft/stream HTTP/1.1\r\nX-PeerURLs: http://127.0.0.1:1111\r\n"},
		{"not HTTP", []string{"\x16\x03\x01garbage\r\n\r\n"}, "fallback", "\x16\x03\x01garbage\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ups := map[string]*upstream{}
			for _, n := range []string{"a", "b", "fallback"} {
				ups[n] = newUpstream(t, len(tt.want))
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			r := &peerRouter{ln: ln, conns: map[net.Conn]struct{}{}, timeout: 500 * time.Millisecond,
				fallback: ups["fallback"].ln.Addr().String(),
				byDialer: map[string]string{"127.0.0.1:1111": ups["a"].ln.Addr().String(), "127.0.0.1:2222": ups["b"].ln.Addr().String()}}
			r.wg.Add(1)
			go r.serve()
			t.Cleanup(func() { r.Close() })

			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i, p := range tt.pieces {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				if _, err := io.WriteString(c, p); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case got := <-ups[tt.to].got:
				if !bytes.Equal(got, []byte(tt.want)) {
					t.Errorf("%s received %q, want %q", tt.to, got, tt.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s received nothing", tt.to)
			}
			// The answer flows back to the dialer.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			reply := make([]byte, 2)
			if _, err := io.ReadFull(c, reply); err != nil || string(reply) != "ok" {
				t.Errorf("reply %q, %v", reply, err)
			}
			for n, u := range ups {
				select {
				case got := <-u.got:
					if n != tt.to {
						t.Errorf("%s also received %q", n, got)
					}
				default:
				}
			}
		})
	}
}
