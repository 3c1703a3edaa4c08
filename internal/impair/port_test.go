package impair

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"testing"
)

func TestListenStable(t *testing.T) {
	t.Parallel()
	lo, hi := stableRange()
	errOther := errors.New("toxiproxy: 409 proxy already exists")
	tests := []struct {
		name    string
		taken   int   // calls answering "in use" first
		other   error // returned instead, at once
		wantErr error
		calls   int
	}{
		{name: "first port free", calls: 1},
		{name: "EADDRINUSE then free", taken: 3, calls: 4},
		{name: "every port taken", taken: 1001, calls: 64, wantErr: syscall.EADDRINUSE}, // the 64th: EADDRINUSE
		{name: "other error returned at once", other: errOther, calls: 1, wantErr: errOther},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			calls := 0
			addr, err := ListenStable("127.0.0.1", func(addr string) error {
				calls++
				_, p, _ := net.SplitHostPort(addr)
				if n, _ := strconv.Atoi(p); n < lo || n >= hi {
					t.Errorf("port %d outside %d–%d", n, lo, hi-1)
				}
				switch {
				case tc.other != nil:
					return tc.other
				case calls <= tc.taken && calls%2 == 0 && calls != 64:
					return fmt.Errorf("listen tcp %s: bind: address already in use", addr)
				case calls <= tc.taken:
					return fmt.Errorf("listen: %w", syscall.EADDRINUSE)
				}
				return nil
			})
			if calls != tc.calls || !errors.Is(err, tc.wantErr) || (err == nil) != (addr != "") {
				t.Errorf("ListenStable = %q, %v after %d calls; want %d calls, error %v", addr, err, calls, tc.calls, tc.wantErr)
			}
		})
	}
	// A real listener: the port is below the ephemeral range and bound.
	var l net.Listener
	addr, err := ListenStable("127.0.0.1", func(addr string) (err error) { l, err = net.Listen("tcp", addr); return err })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Addr().String() != addr {
		t.Errorf("bound %s, returned %s", l.Addr(), addr)
	}
}
