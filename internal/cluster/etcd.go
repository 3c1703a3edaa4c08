// Package cluster starts local database clusters for pacbench runs and
// tests. Today: a real etcd cluster whose members each run in their own OS
// process (a re-exec of the current binary, see MaybeRunMember) on loopback
// ports, with every client→member and member↔member link going through an
// embedded Toxiproxy so impairments act on real replication traffic. Peer
// connections go through one proxy per (member, dialer) pair, chosen by a
// router at the member's advertised peer URL (see ProxyTopology and
// peerRouter), so that a partition cuts connections in both directions.
package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/owner"
)

// Sentinel errors callers branch on.
var (
	// ErrUnknownMember: a member name the cluster does not have.
	ErrUnknownMember = errors.New("unknown cluster member")
	// ErrStartTimeout: the cluster did not elect a leader and become healthy
	// within EtcdOptions.StartTimeout.
	ErrStartTimeout = errors.New("cluster did not become healthy in time")
	// ErrMemberExited: a member process exited while the cluster started.
	ErrMemberExited = errors.New("cluster member exited")
)

// EtcdOptions configures StartEtcd. The zero value starts 3 members in a new
// temporary directory.
type EtcdOptions struct {
	// Members is the number of members (default 3); named m1, m2, ….
	Members int
	// Dir holds the members' data (Dir/<name>.etcd) and, unless Log is set,
	// their logs (Dir/<name>.log). Default: a new temporary directory, which
	// Stop removes; a caller-supplied Dir (empty or absent: members start a
	// new cluster) is left in place with the logs.
	Dir string
	// Exe is the binary re-executed for each member (default
	// os.Executable()), with Args; it must call MaybeRunMember first thing.
	Exe  string
	Args []string
	// Log receives the members' logs (zap, level error), interleaved by
	// line. Default: one file per member under Dir.
	Log io.Writer
	// StartTimeout bounds the start until a leader is elected and every
	// member answers through its proxy (default 30s).
	StartTimeout time.Duration
	// ToxiproxyAddr is where the embedded Toxiproxy API listens (default
	// 127.0.0.1:0).
	ToxiproxyAddr string
	// Abandon, when closed, makes Stop (and the teardown of a failed start)
	// stop waiting: the members left are killed at once instead of being
	// given StopGrace. Nil: never.
	Abandon <-chan struct{}
}

// Defaults.
const (
	DefaultMembers      = 3
	DefaultStartTimeout = 30 * time.Second
	// StopGrace is how long Stop waits after SIGTERM before SIGKILL.
	StopGrace = 10 * time.Second
	// loopback is the only address members and proxies bind.
	loopback = "127.0.0.1"
)

// Etcd is a running local etcd cluster. Its methods are safe for concurrent
// use.
type Etcd struct {
	dir      string
	ownDir   bool
	cleaned  []string // what StartEtcd removed of dead runs' clusters
	hurry    bool     // Stop kills at once (set before a failed start's Stop)
	abandon  <-chan struct{}
	toxi     *impair.ToxiServer
	members  []*member
	exe      string   // re-executed for each member (restarts too)
	args     []string // its arguments
	ownerMu  sync.Mutex
	stopped  atomic.Bool // set by Stop first: no Restart after it
	stopOnce sync.Once
	stopErr  error
}

// member is one member, its proxies and its current process.
type member struct {
	name        string
	clientURL   string // advertised = client proxy URL
	peerURL     string // advertised = peer router URL
	clientProxy string
	peerProxy   string            // unattributed peer connections
	peerFrom    map[string]string // dialer name → pair proxy name
	router      *peerRouter
	logPath     string // "" when logs go to EtcdOptions.Log

	config   memberConfig // what every start of the member runs with
	logFile  *os.File
	logw     io.Writer   // where the member's output goes
	stopping atomic.Bool // set by Stop before it signals the process
	mu       sync.Mutex  // serialises Kill, Pause, Resume, Restart and Stop's marking
	cur      atomic.Pointer[proc]
}

// proc is one run of a member's process (a restart makes a new one).
type proc struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	killed   atomic.Bool   // set by Kill before the process is reaped
	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // valid after exited is closed
	exitedAt time.Time     // valid after exited is closed
}

// proc returns the member's current process (nil before it started).
func (m *member) proc() *proc { return m.cur.Load() }

// running reports whether p is a process that has not exited.
func (p *proc) running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// StartEtcd starts a local etcd cluster and returns when a leader is elected
// and every member answers a linearizable read through its client proxy.
// On failure everything started is torn down. ctx bounds the start.
func StartEtcd(ctx context.Context, o EtcdOptions) (_ *Etcd, err error) {
	if o.Members == 0 {
		o.Members = DefaultMembers
	}
	if o.Members < 0 {
		return nil, fmt.Errorf("etcd cluster: %d members", o.Members)
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.ToxiproxyAddr == "" {
		o.ToxiproxyAddr = net.JoinHostPort(loopback, "0")
	}
	if o.Exe == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("etcd cluster: find executable: %w", err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
	defer cancel()

	e := &Etcd{dir: o.Dir, abandon: o.Abandon, exe: o.Exe, args: o.Args}
	if e.dir == "" {
		// First clean what SIGKILLed runs left, then tag the new directory
		// with its owner so the next run can tell if it is left behind.
		e.cleaned, _ = CleanStale("", false)
		if e.dir, err = os.MkdirTemp("", TempPattern); err != nil {
			return nil, fmt.Errorf("etcd cluster: data dir: %w", err)
		}
		e.ownDir = true
		if err := writeOwner(e.dir, nil); err != nil {
			_ = os.RemoveAll(e.dir)
			return nil, fmt.Errorf("etcd cluster: %w", err)
		}
	} else if err := os.MkdirAll(e.dir, 0o755); err != nil {
		return nil, fmt.Errorf("etcd cluster: data dir: %w", err)
	}
	defer func() {
		if err != nil {
			// A cluster that never came up holds nothing worth a graceful
			// stop: kill its members at once (a member still starting may
			// take StopGrace to honour SIGTERM).
			e.hurry = true
			err = errors.Join(err, e.Stop())
		}
	}()

	if e.toxi, err = impair.StartToxiproxy(ctx, o.ToxiproxyAddr); err != nil {
		return nil, fmt.Errorf("etcd cluster: %w", err)
	}
	configs, held, err := e.plan(o.Members)
	if err != nil {
		return nil, fmt.Errorf("etcd cluster: %w", err)
	}
	for _, l := range held { // free the member ports just before the members bind them
		l.Close()
	}
	var logw io.Writer
	if o.Log != nil {
		logw = &lockedWriter{w: o.Log}
	}
	for i, m := range e.members {
		if err := m.start(o.Exe, o.Args, configs[i], logw); err != nil {
			return nil, fmt.Errorf("etcd cluster: start %s: %w", m.name, err)
		}
	}
	if err := e.tagOwners(); err != nil {
		return nil, fmt.Errorf("etcd cluster: %w", err)
	}
	if err := e.waitHealthy(ctx); err != nil {
		return nil, fmt.Errorf("etcd cluster: %w", err)
	}
	return e, nil
}

// plan reserves loopback ports, creates the proxies and returns each member's
// configuration plus the listeners holding the member ports.
func (e *Etcd) plan(n int) ([]memberConfig, []net.Listener, error) {
	tc := toxiclient.NewClient(e.toxi.API())
	var held []net.Listener
	reserve := func() (string, error) {
		l, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
		if err != nil {
			return "", fmt.Errorf("reserve port: %w", err)
		}
		held = append(held, l)
		return l.Addr().String(), nil
	}
	// Proxies on ports outside the ephemeral range: `down` closes a
	// proxy's listener and the heal binds the same port again.
	proxy := func(name, upstream string) (string, error) {
		addr, err := impair.ListenStable(loopback, func(addr string) error {
			_, err := tc.CreateProxy(name, addr, upstream)
			return err
		})
		if err != nil {
			return "", fmt.Errorf("create proxy %s: %w", name, err)
		}
		return addr, nil
	}
	fail := func(err error) ([]memberConfig, []net.Listener, error) {
		for _, l := range held {
			l.Close()
		}
		return nil, nil, err
	}
	configs := make([]memberConfig, n)
	var initial []string
	topo := ProxyTopology(n)
	for i := range n {
		name := topo.Members[i].Name
		lc, err := reserve()
		if err != nil {
			return fail(err)
		}
		lp, err := reserve()
		if err != nil {
			return fail(err)
		}
		links := topo.Members[i]
		m := &member{name: name, clientProxy: links.ClientProxy, peerProxy: links.PeerProxy, peerFrom: links.PeerFrom}
		pc, err := proxy(m.clientProxy, lc)
		if err != nil {
			return fail(err)
		}
		rl, err := net.Listen("tcp", net.JoinHostPort(loopback, "0"))
		if err != nil {
			return fail(fmt.Errorf("peer router of %s: %w", name, err))
		}
		m.router = &peerRouter{ln: rl, conns: map[net.Conn]struct{}{}}
		m.clientURL, m.peerURL = "http://"+pc, "http://"+rl.Addr().String()
		e.members = append(e.members, m)
		initial = append(initial, name+"="+m.peerURL)
		configs[i] = memberConfig{
			Name:            name,
			Dir:             filepath.Join(e.dir, name+".etcd"),
			ListenClient:    "http://" + lc,
			ListenPeer:      "http://" + lp,
			AdvertiseClient: m.clientURL,
			AdvertisePeer:   m.peerURL,
			Token:           filepath.Base(e.dir),
			ParentPID:       os.Getpid(),
		}
	}
	for i := range configs {
		configs[i].InitialCluster = strings.Join(initial, ",")
	}
	if err := e.routePeers(proxy, configs); err != nil {
		return fail(err)
	}
	return configs, held, nil
}

// tagOwners records this process and the members' current processes in
// the owner file of a directory StartEtcd created (see CleanStale).
func (e *Etcd) tagOwners() error {
	if !e.ownDir {
		return nil
	}
	e.ownerMu.Lock()
	defer e.ownerMu.Unlock()
	var procs []owner.Proc
	for _, m := range e.members {
		if p := m.proc(); p != nil {
			procs = append(procs, owner.Of(p.cmd.Process.Pid))
		}
	}
	return writeOwner(e.dir, procs)
}

// start launches the member process for the first time.
func (m *member) start(exe string, args []string, mc memberConfig, logw io.Writer) error {
	m.config = mc
	if logw == nil {
		m.logPath = filepath.Join(filepath.Dir(mc.Dir), m.name+".log")
		f, err := os.Create(m.logPath)
		if err != nil {
			return fmt.Errorf("log file: %w", err)
		}
		m.logFile, logw = f, f
	}
	m.logw = logw
	return m.spawn(exe, args)
}

// spawn starts a process of the member from its configuration and makes
// it the current one.
func (m *member) spawn(exe string, args []string) error {
	raw, err := json.Marshal(m.config)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), MemberEnv+"="+string(raw))
	// Its own process group: a terminal Ctrl-C (SIGINT to the foreground
	// group) reaches pacbench only, which stops the members one at a time
	// after healing and writing results. Were they in pacbench's group, all
	// members would close at once, each waiting for a leader transfer to a
	// peer that is itself shutting down, while the run's clients retry
	// against them (a 7 s exit instead of 2 s).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	cmd.Stdout, cmd.Stderr = m.logw, m.logw
	p := &proc{cmd: cmd, exited: make(chan struct{})}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return fmt.Errorf("stdin pipe: %w", err)
	}
	// Pdeathsig fires when the *thread* that forked the child exits: fork
	// from a locked thread so the runtime cannot retire it mid-start.
	runtime.LockOSThread()
	err = cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		p.stdin.Close()
		return fmt.Errorf("exec %s: %w", exe, err)
	}
	go func() {
		p.waitErr = cmd.Wait()
		p.exitedAt = time.Now()
		close(p.exited)
	}()
	m.cur.Store(p)
	return nil
}

// waitHealthy polls every member through its client proxy until all agree
// on a leader and serve a linearizable read.
func (e *Etcd) waitHealthy(ctx context.Context) error {
	clients := make([]*clientv3.Client, len(e.members))
	defer func() {
		for _, c := range clients {
			if c != nil {
				c.Close()
			}
		}
	}()
	for i, m := range e.members {
		c, err := clientv3.New(clientv3.Config{
			Endpoints:   []string{m.clientURL},
			DialTimeout: time.Second,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			return fmt.Errorf("health client for %s: %w", m.name, err)
		}
		clients[i] = c
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		for _, m := range e.members {
			if p := m.proc(); !p.running() {
				return fmt.Errorf("%w: %s: %v%s", ErrMemberExited, m.name, p.waitErr, m.logTail())
			}
		}
		if last = e.healthyOnce(ctx, clients); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w (last check: %w)%s", ErrStartTimeout, ctx.Err(), last, e.members[0].logTail())
		case <-tick.C:
		}
	}
}

// healthyOnce runs one round of health checks.
func (e *Etcd) healthyOnce(ctx context.Context, clients []*clientv3.Client) error {
	var leader uint64
	for i, m := range e.members {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		st, err := clients[i].Status(cctx, m.clientURL)
		if err == nil {
			_, err = clients[i].Get(cctx, "pacbench/health")
		}
		cancel()
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", m.name, err)
		case st.Leader == 0:
			return fmt.Errorf("%s: no leader", m.name)
		case leader != 0 && st.Leader != leader:
			return fmt.Errorf("%s: leader %x, others %x", m.name, st.Leader, leader)
		}
		leader = st.Leader
	}
	return nil
}

// logTail returns the last lines of the member's log file, for errors.
func (m *member) logTail() string {
	if m.logPath == "" {
		return ""
	}
	b, err := os.ReadFile(m.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	const max = 2048
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "\n" + m.name + " log tail:\n" + string(bytes.TrimSpace(b))
}

// Endpoints returns the members' client URLs as clients should dial them
// (through the client proxies), in member order.
func (e *Etcd) Endpoints() []string {
	out := make([]string, len(e.members))
	for i, m := range e.members {
		out[i] = m.clientURL
	}
	return out
}

// Topology returns the members (m1, m2, …) with their proxy names
// (ProxyTopology) and client endpoints; roles are left empty (resolve them
// with the driver's topology at run time).
func (e *Etcd) Topology() impair.Topology {
	t := ProxyTopology(len(e.members))
	for i, m := range e.members {
		t.Members[i].Endpoint = m.clientURL
	}
	return t
}

// ToxiproxyAPI returns the embedded Toxiproxy's API URL.
func (e *Etcd) ToxiproxyAPI() string { return e.toxi.API() }

// Cleaned says what StartEtcd removed of the clusters SIGKILLed runs left
// (see CleanStale), one line each.
func (e *Etcd) Cleaned() []string { return e.cleaned }

// Dir returns the cluster's data directory.
func (e *Etcd) Dir() string { return e.dir }

// PIDs returns the member process ids by member name (for tests and
// diagnostics).
func (e *Etcd) PIDs() map[string]int {
	out := make(map[string]int, len(e.members))
	for _, m := range e.members {
		if p := m.proc(); p != nil {
			out[m.name] = p.cmd.Process.Pid
		}
	}
	return out
}

// Leader returns the name of the member the majority of reachable members
// currently follow, asking each member through its client proxy.
func (e *Etcd) Leader(ctx context.Context) (string, error) {
	c, err := clientv3.New(clientv3.Config{Endpoints: e.Endpoints(), DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		return "", fmt.Errorf("etcd cluster: leader: %w", err)
	}
	defer c.Close()
	votes := map[uint64]int{}
	ids := map[uint64]string{}
	var last error
	for _, m := range e.members {
		st, err := c.Status(ctx, m.clientURL)
		if err != nil {
			last = err
			continue
		}
		ids[st.Header.MemberId] = m.name
		if st.Leader != 0 {
			votes[st.Leader]++
		}
	}
	for id, n := range votes {
		if n*2 > len(e.members) {
			if name, ok := ids[id]; ok {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("etcd cluster: no majority leader (last error: %v)", last)
}

// MemberDeath is a member process that exited on its own (crashed, or was
// killed by someone else) while the cluster ran: neither Stop nor Kill
// asked it to.
type MemberDeath struct {
	// Name and PID of the member.
	Name string
	PID  int
	// At is when its exit was seen (wall clock, monotonic reading kept).
	At time.Time
	// Err is how it exited ("signal: killed", "exit status 1"), with the
	// tail of its log when it has one.
	Err string
}

// Died lists, in member order, the members that exited on their own so
// far (see MemberDeath). Safe for concurrent use.
func (e *Etcd) Died() []MemberDeath {
	var out []MemberDeath
	for _, m := range e.members {
		p := m.proc()
		if p == nil || p.running() || p.killed.Load() || m.stopping.Load() {
			continue
		}
		why := "exited"
		if p.waitErr != nil {
			why = p.waitErr.Error()
		}
		out = append(out, MemberDeath{Name: m.name, PID: p.cmd.Process.Pid, At: p.exitedAt, Err: why})
	}
	return out
}

// Kill sends SIGKILL to one member and waits until its process is reaped.
// A killed member is not a death (Died); Restart starts it again.
func (e *Etcd) Kill(name string) error {
	m, err := e.member("kill", name)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.proc()
	if p == nil {
		return fmt.Errorf("etcd cluster: kill %s: not started", name)
	}
	p.killed.Store(true)
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("etcd cluster: kill %s: %w", name, err)
	}
	<-p.exited
	return nil
}

// member returns the member named name (op names the caller in errors).
func (e *Etcd) member(op, name string) (*member, error) {
	i := slices.IndexFunc(e.members, func(m *member) bool { return m.name == name })
	if i < 0 {
		return nil, fmt.Errorf("etcd cluster: %s %q: %w", op, name, ErrUnknownMember)
	}
	return e.members[i], nil
}

// Stop stops every member (SIGTERM one after the other; SIGKILL for those
// left when StopGrace has elapsed or EtcdOptions.Abandon closes), stops the
// embedded Toxiproxy and removes the data directory if StartEtcd created
// it. Idempotent.
func (e *Etcd) Stop() error {
	e.stopOnce.Do(func() {
		e.stopped.Store(true)
		var errs []error
		// One member at a time: a leader told to stop hands leadership to a
		// live peer, which is quick; stopping all at once makes it wait for
		// a transferee that is itself shutting down.
		grace := time.NewTimer(StopGrace)
		defer grace.Stop()
		expired := e.hurry
		procs := make([]*proc, len(e.members))
		for i, m := range e.members { // those already dead stay listed by Died
			m.mu.Lock() // no Restart from here on
			if p := m.proc(); p.running() {
				m.stopping.Store(true)
				// A paused member must run to handle SIGTERM.
				_ = p.cmd.Process.Signal(syscall.SIGCONT)
			}
			procs[i] = m.proc()
			m.mu.Unlock()
		}
		for i, m := range e.members {
			p := procs[i]
			if p == nil {
				continue
			}
			if !expired {
				_ = p.cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-p.exited:
					if p.waitErr != nil && !p.killed.Load() {
						errs = append(errs, fmt.Errorf("member %s: %w%s", m.name, p.waitErr, m.logTail()))
					}
				case <-grace.C:
					expired = true
				case <-e.abandon:
					expired = true
				}
			}
			if expired {
				_ = p.cmd.Process.Signal(syscall.SIGKILL)
				<-p.exited
			}
			p.stdin.Close()
		}
		for _, m := range e.members {
			if m.logFile != nil {
				m.logFile.Close()
			}
			if m.router != nil {
				if err := m.router.Close(); err != nil {
					errs = append(errs, fmt.Errorf("peer router of %s: %w", m.name, err))
				}
			}
		}
		if e.toxi != nil {
			if err := e.toxi.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if e.ownDir {
			if err := os.RemoveAll(e.dir); err != nil {
				errs = append(errs, fmt.Errorf("remove %s: %w", e.dir, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			e.stopErr = fmt.Errorf("etcd cluster: stop: %w", err)
		}
	})
	return e.stopErr
}

// lockedWriter serialises writes from several member log pipes.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
