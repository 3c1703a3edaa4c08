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

func TestInfo(t *testing.T) {
	t.Parallel()
	d := etcd.New()
	info := d.Info()
	if d.Name() != "etcd" || info.Name != "etcd" || len(info.Levels) != 2 {
		t.Fatalf("Info = %+v", info)
	}
	// Every advertised level value validates; defaults are among the values.
	for _, dim := range info.Levels {
		if !slices.Contains(dim.Values, dim.Default) {
			t.Errorf("%s default %q not in %v", dim.Key, dim.Default, dim.Values)
		}
		for _, v := range dim.Values {
			if err := d.ValidateLevels(drivers.Levels{dim.Key: v}); err != nil {
				t.Errorf("advertised %s=%s rejected: %v", dim.Key, v, err)
			}
		}
	}
	for _, k := range op.Kinds() {
		if !slices.Contains(info.Ops, k.String()) {
			t.Errorf("op %s not advertised", k)
		}
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

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	dead := closedPort(t)
	tests := []struct {
		name string
		eps  func(t *testing.T) []string
	}{
		{"only endpoint dead", func(*testing.T) []string { return []string{dead} }},
		{"one of several dead", func(t *testing.T) []string { return append(etcdCluster(t).Endpoints()[:1:1], "http://"+dead) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			c, err := etcd.New().Open(t.Context(), drivers.Config{Endpoints: tc.eps(t), DialTimeout: time.Second})
			if err == nil {
				c.Close()
				t.Fatal("Open of an unreachable endpoint succeeded")
			}
			if !errors.Is(err, drivers.ErrUnreachable) || !strings.Contains(err.Error(), dead) {
				t.Errorf("Open = %v, want ErrUnreachable naming %s", err, dead)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("Open took %v with a 1s dial timeout", el)
			}
		})
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

func TestTopology(t *testing.T) {
	e := etcdCluster(t)
	c := open(t, nil)
	leader, followers := roles(t, c)
	if len(followers) != 2 {
		t.Fatalf("followers = %+v", followers)
	}
	var eps, names []string
	for _, m := range append(followers, leader) {
		eps = append(eps, m.Endpoint)
		names = append(names, m.Name)
	}
	slices.Sort(eps)
	slices.Sort(names)
	want := slices.Sorted(slices.Values(e.Endpoints()))
	if !slices.Equal(eps, want) {
		t.Errorf("member endpoints %v, want the proxied client URLs %v", eps, want)
	}
	if !slices.Equal(names, []string{"m1", "m2", "m3"}) {
		t.Errorf("member names %v", names)
	}
	clusterLeader, err := e.Leader(t.Context())
	if err != nil || clusterLeader != leader.Name {
		t.Errorf("cluster says leader %q (%v), driver says %q", clusterLeader, err, leader.Name)
	}
}

func TestCRUD(t *testing.T) {
	c := open(t, map[string]string{"pool": "2", "dial_timeout": "3s"})
	leader, followers := roles(t, c)
	ctx := t.Context()
	pre := fmt.Sprintf("crud-%d/", time.Now().UnixNano())
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

			v, err := s.Read(ctx, key)
			if err != nil || v.Found || v.Data != nil {
				t.Fatalf("Read(missing) = %+v, %v", v, err)
			}
			if err := s.Write(ctx, key, []byte("one")); err != nil {
				t.Fatal(err)
			}
			if err := s.Write(ctx, key, []byte("two")); err != nil {
				t.Fatal(err)
			}
			// A serializable read on a follower may briefly trail the write.
			deadline := time.Now().Add(5 * time.Second)
			for {
				v, err = s.Read(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				if string(v.Data) == "two" || tc.read == "linearizable" || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
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

			cas := s.(drivers.CASer)
			ck := key + "/cas"
			steps := []struct {
				prev, next string
				nilPrev    bool
				want       bool
			}{
				{"", "v1", true, true},    // create
				{"", "v2", true, false},   // already exists
				{"v1", "v2", false, true}, // matching value
				{"v1", "v3", false, false},
			}
			for j, st := range steps {
				var prev []byte
				if !st.nilPrev {
					prev = []byte(st.prev)
				}
				ok, err := cas.CAS(ctx, ck, prev, []byte(st.next))
				if err != nil || ok != st.want {
					t.Fatalf("CAS step %d = %v, %v; want %v", j, ok, err, st.want)
				}
			}
			v, err = s.Read(ctx, ck)
			if err != nil {
				t.Fatal(err)
			}
			if tc.read == "linearizable" && string(v.Data) != "v2" {
				t.Errorf("after CAS: %q, want v2", v.Data)
			}
		})
	}

	t.Run("scan", func(t *testing.T) {
		s := session(t, c, "linearizable", nil, nil)
		// '~' sorts after every other test key, so scans from here see only these.
		sp := fmt.Sprintf("~scan-%d/", time.Now().UnixNano())
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			if err := s.Write(ctx, sp+k, []byte(k)); err != nil {
				t.Fatal(err)
			}
		}
		sc := s.(drivers.Scanner)
		for _, tc := range []struct {
			start string
			n     int
			want  int
		}{{sp, 3, 3}, {sp + "c", 10, 3}, {sp + "a", 5, 5}, {sp + "f", 10, 0}} {
			n, err := sc.Scan(ctx, tc.start, tc.n)
			if err != nil || n != tc.want {
				t.Errorf("Scan(%q, %d) = %d, %v; want %d", tc.start, tc.n, n, err, tc.want)
			}
		}
	})

	t.Run("bad level", func(t *testing.T) {
		_, err := c.Session(ctx, drivers.SessionConfig{Levels: drivers.Levels{"read": "strong"}})
		if !errors.Is(err, drivers.ErrInvalidLevel) {
			t.Errorf("Session = %v, want ErrInvalidLevel", err)
		}
	})
}
