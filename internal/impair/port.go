package impair

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ListenStable finds a listen address on host for a listener that must bind
// its port again later — a Toxiproxy proxy that `down` disables (closing its
// listener) and the heal re-enables listens on the same port. A port-0
// listener gets a port from the kernel's ephemeral range, the range outgoing
// connections and other port-0 listeners are also given ports from, so
// while the proxy is down the port can be taken and the heal then fails
// with "address already in use". ListenStable picks ports below that range
// instead, at random, and calls listen(addr) until one binds: listen must
// bind addr and return an error mentioning "address already in use" (or
// wrapping EADDRINUSE) when the port is taken; any other error is returned.
// It tries at most 64 ports. Safe for concurrent use.
func ListenStable(host string, listen func(addr string) error) (string, error) {
	lo, hi := stableRange()
	var last error
	for range 64 {
		addr := net.JoinHostPort(host, strconv.Itoa(lo+rand.IntN(hi-lo)))
		err := listen(addr)
		if err == nil {
			return addr, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) && !strings.Contains(err.Error(), "address already in use") {
			return "", err
		}
		last = err
	}
	return "", fmt.Errorf("no free port in %d–%d on %s: %w", lo, hi-1, host, last)
}

// stableRange is [lo, hi): the 12,000 ports below the ephemeral range
// (net.ipv4.ip_local_port_range, default 32768–60999), never below 1024.
func stableRange() (lo, hi int) {
	hi = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				hi = n
			}
		}
	}
	lo = max(hi-12000, 1024)
	return lo, hi
}
