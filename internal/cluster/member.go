package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

// MemberEnv is the environment variable that turns a re-executed binary into
// one etcd member: it holds the member's configuration as JSON. Set only by
// StartEtcd for its children.
const MemberEnv = "PACBENCH_ETCD_MEMBER"

// memberConfig is what a parent passes to one member process.
type memberConfig struct {
	Name            string `json:"name"`
	Dir             string `json:"dir"`
	ListenClient    string `json:"listen_client"`    // URL the member binds for clients
	ListenPeer      string `json:"listen_peer"`      // URL the member binds for peers
	AdvertiseClient string `json:"advertise_client"` // client proxy URL
	AdvertisePeer   string `json:"advertise_peer"`   // peer proxy URL
	InitialCluster  string `json:"initial_cluster"`  // name=proxied peer URL,…
	Token           string `json:"token"`
	ParentPID       int    `json:"parent_pid"`
}

// Member tuning for loopback clusters.
const (
	memberTickMs        = 100
	memberElectionMs    = 1000
	memberSnapshotCount = 1000
	memberCloseTimeout  = 10 * time.Second
	parentPollInterval  = 250 * time.Millisecond
)

// MaybeRunMember must be the first statement of main() and of TestMain in
// packages that start clusters. If MemberEnv is set it runs one embedded etcd
// member from that configuration and calls os.Exit when the member stops,
// when it receives SIGTERM (SIGINT is ignored: it is the parent's to
// handle), or when its parent dies (stdin closed or
// re-parented); otherwise it returns at once.
func MaybeRunMember() {
	raw, ok := os.LookupEnv(MemberEnv)
	if !ok {
		return
	}
	if err := runMember(raw); err != nil {
		fmt.Fprintf(os.Stderr, "pacbench etcd member: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runMember runs one member until it must stop.
func runMember(raw string) error {
	var mc memberConfig
	if err := json.Unmarshal([]byte(raw), &mc); err != nil {
		return fmt.Errorf("decode %s: %w", MemberEnv, err)
	}
	// Catch SIGTERM (the parent's stop) before starting so an early one is
	// not fatal mid-start. SIGINT is ignored: a Ctrl-C is for the parent,
	// which stops the members itself, one at a time, after healing.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	signal.Ignore(syscall.SIGINT)

	cfg, err := mc.embedConfig()
	if err != nil {
		return err
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start %s: %w", mc.Name, err)
	}

	parentGone := make(chan string, 2)
	go func() { // belt: the parent holds our stdin open for its lifetime
		_, _ = io.Copy(io.Discard, os.Stdin)
		parentGone <- "stdin closed"
	}()
	go func() { // braces: re-parented means the parent died
		for {
			time.Sleep(parentPollInterval)
			if os.Getppid() != mc.ParentPID {
				parentGone <- "parent exited"
				return
			}
		}
	}()

	var runErr error
	select {
	case err := <-e.Err():
		runErr = fmt.Errorf("%s stopped: %w", mc.Name, err)
	case <-e.Server.StopNotify():
		runErr = fmt.Errorf("%s: server stopped", mc.Name)
	case why := <-parentGone:
		// Nobody is left to wait for us: stop without ceremony.
		fmt.Fprintf(os.Stderr, "pacbench etcd member %s: %s, exiting\n", mc.Name, why)
		os.Exit(2)
	case <-sigs:
	}
	closed := make(chan struct{})
	go func() { e.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(memberCloseTimeout):
		return fmt.Errorf("%s: close timed out after %v", mc.Name, memberCloseTimeout)
	}
	return runErr
}

// embedConfig turns the parent's description into an embed configuration.
func (mc memberConfig) embedConfig() (*embed.Config, error) {
	urls := map[string]*url.URL{}
	for k, v := range map[string]string{
		"listen client": mc.ListenClient, "listen peer": mc.ListenPeer,
		"advertise client": mc.AdvertiseClient, "advertise peer": mc.AdvertisePeer,
	} {
		u, err := url.Parse(v)
		if err != nil {
			return nil, fmt.Errorf("%s url %q: %w", k, v, err)
		}
		urls[k] = u
	}
	cfg := embed.NewConfig()
	cfg.Name = mc.Name
	cfg.Dir = mc.Dir
	cfg.ListenClientUrls = []url.URL{*urls["listen client"]}
	cfg.ListenPeerUrls = []url.URL{*urls["listen peer"]}
	cfg.AdvertiseClientUrls = []url.URL{*urls["advertise client"]}
	cfg.AdvertisePeerUrls = []url.URL{*urls["advertise peer"]}
	cfg.InitialCluster = mc.InitialCluster
	cfg.InitialClusterToken = mc.Token
	cfg.ClusterState = embed.ClusterStateFlagNew
	cfg.TickMs = memberTickMs
	cfg.ElectionMs = memberElectionMs
	cfg.SnapshotCount = memberSnapshotCount
	cfg.Logger = "zap"
	cfg.LogLevel = "error"
	cfg.LogOutputs = []string{"stderr"}
	cfg.ListenMetricsUrls = nil
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("member %s config: %w", mc.Name, err)
	}
	return cfg, nil
}
