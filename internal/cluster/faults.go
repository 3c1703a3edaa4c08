package cluster

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/owner"
)

// ErrNotRunning: a member has no running process to act on.
var ErrNotRunning = errors.New("cluster member not running")

// Pause stops one member's process (SIGSTOP) and returns once the kernel
// shows it stopped: it keeps its connections and its place in the cluster
// but answers nothing (the classic gray failure). Resume continues it;
// Stop continues paused members before stopping them.
func (e *Etcd) Pause(name string) error {
	return e.signal("pause", name, syscall.SIGSTOP, true)
}

// Resume continues a paused member (SIGCONT); a member that is not paused
// is left as it is.
func (e *Etcd) Resume(name string) error {
	return e.signal("resume", name, syscall.SIGCONT, false)
}

// signal sends sig to the member's running process; wantStopped waits
// (up to 5 s) until /proc shows the process stopped (or not).
func (e *Etcd) signal(op, name string, sig syscall.Signal, wantStopped bool) error {
	m, err := e.member(op, name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.proc()
	if !p.running() {
		return fmt.Errorf("etcd cluster: %s %s: %w", op, name, ErrNotRunning)
	}
	pid := p.cmd.Process.Pid
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("etcd cluster: %s %s (pid %d): %w", op, name, pid, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for owner.Stopped(pid) != wantStopped && p.running() {
		if time.Now().After(deadline) {
			return fmt.Errorf("etcd cluster: %s %s: pid %d still in state %q after 5s", op, name, pid, owner.State(pid))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

// Restart starts a killed (or dead) member again with the same data
// directory, name and addresses, so that it rejoins the cluster as itself,
// and returns once it serves a linearizable read through its client proxy
// (it has caught up with the leader) or ctx ends. A member that runs is
// left alone. No restart once Stop has begun.
func (e *Etcd) Restart(ctx context.Context, name string) error {
	m, err := e.member("restart", name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	if e.stopped.Load() {
		m.mu.Unlock()
		return fmt.Errorf("etcd cluster: restart %s: the cluster is stopping", name)
	}
	if m.proc().running() {
		m.mu.Unlock()
		return nil
	}
	err = m.spawn(e.exe, e.args)
	m.mu.Unlock()
	if err != nil {
		return fmt.Errorf("etcd cluster: restart %s: %w", name, err)
	}
	if err := e.tagOwners(); err != nil {
		return fmt.Errorf("etcd cluster: restart %s: %w", name, err)
	}
	if err := e.waitMember(ctx, m); err != nil {
		return fmt.Errorf("etcd cluster: restart %s: %w", name, err)
	}
	return nil
}

// waitMember polls m through its client proxy until it serves a
// linearizable read, its process exits, or ctx ends.
func (e *Etcd) waitMember(ctx context.Context, m *member) error {
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{m.clientURL}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return fmt.Errorf("health client: %w", err)
	}
	defer c.Close()
	p := m.proc()
	var last error
	for {
		if !p.running() {
			return fmt.Errorf("%w: %v%s", ErrMemberExited, p.waitErr, m.logTail())
		}
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, last = c.Get(rctx, "pacbench/health")
		cancel()
		if last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not serving: %w (last read: %w)", ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Processes returns the members as impair.Processes (pause, resume, kill
// and restart by member name) for the process backend.
func (e *Etcd) Processes() impair.Processes { return etcdProcesses{e} }

// etcdProcesses adapts Etcd to impair.Processes.
type etcdProcesses struct{ e *Etcd }

func (p etcdProcesses) Pause(_ context.Context, m string) error  { return p.e.Pause(m) }
func (p etcdProcesses) Resume(_ context.Context, m string) error { return p.e.Resume(m) }
func (p etcdProcesses) Kill(_ context.Context, m string) error   { return p.e.Kill(m) }
func (p etcdProcesses) Restart(ctx context.Context, m string) error {
	return p.e.Restart(ctx, m)
}
