package cluster_test

import (
	"context"
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
