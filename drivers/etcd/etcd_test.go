package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/drivers/etcd"
	"github.com/pacbench/pacbench/op"
)

func TestValidateLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		levels drivers.Levels
		ok     bool
		msg    string // substring of the error
	}{
		{drivers.Levels{}, true, ""},
		{drivers.Levels{"read": "linearizable", "write": ""}, true, ""},
		{drivers.Levels{"read": "serializable", "write": "default"}, true, ""},
		{drivers.Levels{"read": "", "write": "default"}, true, ""},
		{drivers.Levels{"read": "eventual"}, false, `read="eventual" (allowed: linearizable, serializable)`},
		{drivers.Levels{"read": "Linearizable"}, false, "read="},
		{drivers.Levels{"write": "quorum"}, false, `write="quorum"`},
		{drivers.Levels{"read_concern": "majority"}, false, `unknown level key "read_concern"`},
	}
	d := etcd.New()
	for _, tc := range tests {
		t.Run(tc.levels.String(), func(t *testing.T) {
			err := d.ValidateLevels(tc.levels)
			if tc.ok {
				if err != nil {
					t.Fatalf("ValidateLevels = %v", err)
				}
				return
			}
			if !errors.Is(err, drivers.ErrInvalidLevel) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("ValidateLevels = %v, want ErrInvalidLevel mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestOpenRejectsOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts map[string]string
		want string
	}{
		{map[string]string{"keyspace": "x"}, `keyspace="x": unknown option`},
		{map[string]string{"pool": "0"}, `pool="0"`},
		{map[string]string{"pool": "many"}, `pool="many"`},
		{map[string]string{"dial_timeout": "5"}, `dial_timeout="5"`},
		{map[string]string{"dial_timeout": "-1s"}, `dial_timeout="-1s"`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			_, err := etcd.New().Open(t.Context(), drivers.Config{Endpoints: []string{"127.0.0.1:1"}, Options: tc.opts})
			if !errors.Is(err, drivers.ErrInvalidOption) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open = %v, want ErrInvalidOption mentioning %s", err, tc.want)
			}
		})
	}
}

func TestClassOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want op.Class
	}{
		{"nil", nil, op.OK},
		{"deadline", context.DeadlineExceeded, op.Timeout},
		{"wrapped deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), op.Timeout},
		{"request timed out", rpctypes.ErrTimeout, op.Timeout},
		{"timeout leader fail", rpctypes.ErrTimeoutDueToLeaderFail, op.Timeout},
		{"timeout connection lost", rpctypes.ErrTimeoutDueToConnectionLost, op.Timeout},
		{"server-side timeout from the wire", rpctypes.Error(rpctypes.ErrGRPCTimeout), op.Timeout},
		{"grpc deadline", status.Error(codes.DeadlineExceeded, "deadline"), op.Timeout},
		{"no leader", rpctypes.ErrNoLeader, op.Unavailable},
		{"no leader from the wire", rpctypes.Error(rpctypes.ErrGRPCNoLeader), op.Unavailable},
		{"leader changed", rpctypes.ErrLeaderChanged, op.Unavailable},
		{"not capable", rpctypes.ErrNotCapable, op.Unavailable},
		{"stopped", rpctypes.ErrStopped, op.Unavailable},
		{"grpc unavailable", status.Error(codes.Unavailable, "transport is closing"), op.Unavailable},
		{"connection refused", status.Error(codes.Unknown, "dial tcp 127.0.0.1:1: connect: connection refused"), op.Unavailable},
		{"compacted", rpctypes.ErrCompacted, op.Other},
		{"permission", rpctypes.ErrPermissionDenied, op.Other},
		{"canceled", context.Canceled, op.Other},
		{"plain", errors.New("boom"), op.Other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := etcd.ClassOf(tc.err); got != tc.want {
				t.Errorf("ClassOf(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestOpenUnreachable: Open checks every endpoint, so one dead endpoint
// among live ones fails Open, naming it (the kit checks a lone dead one).
func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	dead := closedPort(t)
	eps := append(etcdCluster(t).Endpoints()[:1:1], "http://"+dead)
	start := time.Now()
	c, err := etcd.New().Open(t.Context(), drivers.Config{Endpoints: eps, DialTimeout: time.Second})
	if err == nil {
		c.Close()
		t.Fatal("Open with an unreachable endpoint succeeded")
	}
	if !errors.Is(err, drivers.ErrUnreachable) || !strings.Contains(err.Error(), dead) {
		t.Errorf("Open = %v, want ErrUnreachable naming %s", err, dead)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("Open took %v with a 1s dial timeout", el)
	}
}

// roles returns the driver's view of the cluster: leader and followers.
func roles(t *testing.T, c drivers.Client) (leader drivers.Member, followers []drivers.Member) {
	t.Helper()
	ms, err := c.(drivers.Topologist).Topology(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		switch m.Role {
		case "leader":
			if leader.Name != "" {
				t.Fatalf("two leaders: %+v", ms)
			}
			leader = m
		case "follower":
			followers = append(followers, m)
		default:
			t.Fatalf("member %+v has role %q", m, m.Role)
		}
	}
	if leader.Name == "" {
		t.Fatalf("no leader in %+v", ms)
	}
	return leader, followers
}

func open(t *testing.T, opts map[string]string) drivers.Client {
	t.Helper()
	e := etcdCluster(t)
	c, err := etcd.New().Open(t.Context(), drivers.Config{Endpoints: e.Endpoints(), Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c
}

func session(t *testing.T, c drivers.Client, read string, readEPs, writeEPs []string) drivers.Session {
	t.Helper()
	s, err := c.Session(t.Context(), drivers.SessionConfig{
		Levels: drivers.Levels{"read": read, "write": ""}, ReadEndpoints: readEPs, WriteEndpoints: writeEPs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestTopology: the members are m1..m3 and the driver's leader is the
// cluster's (the kit checks that every endpoint is named).
func TestTopology(t *testing.T) {
	e := etcdCluster(t)
	c := open(t, nil)
	leader, followers := roles(t, c)
	names := []string{leader.Name}
	for _, f := range followers {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"m1", "m2", "m3"}) {
		t.Errorf("member names %v", names)
	}
	clusterLeader, err := e.Leader(t.Context())
	if err != nil || clusterLeader != leader.Name {
		t.Errorf("cluster says leader %q (%v), driver says %q", clusterLeader, err, leader.Name)
	}
}

// TestRoutes: sessions read and write through the members they are
// pinned to (or all of them), with pooled clients, at both read levels,
// and a read names the member that served it.
func TestRoutes(t *testing.T) {
	c := open(t, map[string]string{"pool": "2", "dial_timeout": "3s"})
	leader, followers := roles(t, c)
	ctx := t.Context()
	pre := fmt.Sprintf("routes-%d/", time.Now().UnixNano())
	tests := []struct {
		name            string
		read            string
		readEPs, writes []string
	}{
		{"spread linearizable", "linearizable", nil, nil},
		{"spread serializable", "serializable", nil, nil},
		{"follower reads, leader writes", "linearizable", []string{followers[0].Endpoint}, []string{leader.Endpoint}},
		{"pinned serializable", "serializable", []string{followers[1].Endpoint}, []string{followers[0].Endpoint}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := session(t, c, tc.read, tc.readEPs, tc.writes)
			key := fmt.Sprintf("%s%d", pre, i)
			if err := s.Write(ctx, key, []byte("two")); err != nil {
				t.Fatal(err)
			}
			// A serializable read on a follower may briefly trail the write.
			var v drivers.Value
			var err error
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				v, err = s.Read(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if string(v.Data) == "two" || tc.read == "linearizable" || time.Now().After(deadline) {
					break
				}
			}
			if !v.Found || string(v.Data) != "two" {
				t.Fatalf("Read = %+v, want two", v)
			}
			if tc.readEPs != nil && v.Server != tc.readEPs[0] {
				t.Errorf("Server = %q, want the pinned %q", v.Server, tc.readEPs[0])
			}
			if tc.readEPs == nil && !slices.Contains(etcdCluster(t).Endpoints(), v.Server) {
				t.Errorf("Server = %q, want one of the members", v.Server)
			}
		})
	}
}
