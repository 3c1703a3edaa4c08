package cluster_test

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/pacbench/pacbench/internal/cluster"
	"github.com/pacbench/pacbench/internal/testenv"
)

// TestMembersIgnoreInterrupt: members run in their own process groups (a
// terminal Ctrl-C reaches pacbench only) and ignore SIGINT (only their
// parent's SIGTERM, or its death, stops them), so that pacbench can heal,
// write results and stop them one at a time.
func TestMembersIgnoreInterrupt(t *testing.T) {
	testenv.Short(t)
	e, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	own := syscall.Getpgrp()
	for name, pid := range e.PIDs() {
		pg, err := syscall.Getpgid(pid)
		if err != nil {
			t.Fatal(err)
		}
		if pg == own || pg != pid {
			t.Errorf("member %s (pid %d) is in process group %d (pacbench's: %d), want its own", name, pid, pg, own)
		}
		if err := syscall.Kill(pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	for name, pid := range e.PIDs() {
		if !alive(pid) {
			t.Errorf("member %s exited on SIGINT", name)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.Leader(ctx); err != nil {
		t.Errorf("cluster unhealthy after SIGINT to its members: %v", err)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
}

// TestDied: members that exit on their own are listed with how they
// exited; members stopped through Kill or Stop are not.
func TestDied(t *testing.T) {
	testenv.Short(t)
	e, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{Members: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	if d := e.Died(); len(d) != 0 {
		t.Fatalf("Died before anything happened: %+v", d)
	}
	pids := e.PIDs()
	cases := []struct {
		member string
		do     func() error
		want   string // "" = not listed
	}{
		{"m1", func() error { return syscall.Kill(pids["m1"], syscall.SIGKILL) }, "signal: killed"},
		{"m2", func() error { return syscall.Kill(pids["m2"], syscall.SIGTERM) }, "exited"},
		{"m3", func() error { return e.Kill("m3") }, ""},
	}
	for _, c := range cases {
		if err := c.do(); err != nil {
			t.Fatalf("%s: %v", c.member, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(e.Died()) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	got := map[string]cluster.MemberDeath{}
	for _, d := range e.Died() {
		got[d.Name] = d
	}
	for _, c := range cases {
		d, listed := got[c.member]
		switch {
		case c.want == "" && listed:
			t.Errorf("%s listed after Kill: %+v", c.member, d)
		case c.want != "" && (!listed || d.Err != c.want || d.PID != pids[c.member] || d.At.IsZero()):
			t.Errorf("%s: %+v (listed %v), want error %q", c.member, d, listed, c.want)
		}
	}
	_ = e.Stop()
	if n := len(e.Died()); n != 2 {
		t.Errorf("after Stop: %d listed, want the same 2", n)
	}
}

// TestFailedStartKillsAtOnce: a start that fails (here: it cannot be
// healthy within its timeout) kills the members it started at once rather
// than waiting up to StopGrace for members still starting, and removes its
// data directory.
func TestFailedStartKillsAtOnce(t *testing.T) {
	testenv.Short(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	start := time.Now()
	_, err := cluster.StartEtcd(context.Background(), cluster.EtcdOptions{StartTimeout: 150 * time.Millisecond})
	took := time.Since(start)
	if !errors.Is(err, cluster.ErrStartTimeout) {
		t.Fatalf("StartEtcd = %v, want ErrStartTimeout", err)
	}
	t.Logf("failed start torn down in %s", took.Round(time.Millisecond))
	if took > cluster.StopGrace/2 {
		t.Errorf("failed start took %s: members were not killed at once", took)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("left in the temp dir: %v", left)
	}
}
