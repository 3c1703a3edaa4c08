// Package impair applies network impairments (latency, bandwidth,
// partitions, node down, resets) to the links of a deployment and heals them.
// Backends: Toxiproxy (embedded in-process or remote through its HTTP API)
// and netem/iptables through docker exec into NET_ADMIN sidecars.
//
// A Backend is safe for concurrent use; the runner applies one phase's
// actions at a time and must call Clear on every exit path.
package impair

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors callers branch on.
var (
	// ErrUnknownTarget: an impairment names a member or role the topology lacks.
	ErrUnknownTarget = errors.New("unknown impairment target")
	// ErrNoLink: the topology has no proxy/container for the link asked for.
	ErrNoLink = errors.New("no such link")
	// ErrInvalid: an impairment spec is malformed.
	ErrInvalid = errors.New("invalid impairment")
)

// Fault kinds.
const (
	KindLatency   = "latency"
	KindBandwidth = "bandwidth"
	KindPartition = "partition"
	KindDown      = "down"
	KindReset     = "reset"
)

// LinkKind names one link of a member.
type LinkKind string

// Link kinds.
const (
	// LinkClient is the client→member link (the member's client proxy).
	LinkClient LinkKind = "client"
	// LinkPeer is the member's peer link (its peer proxy): downstream is
	// what the member sends to its peers over streams they dialled.
	LinkPeer LinkKind = "peer"
)

// Directions as Toxiproxy means them: downstream = proxy→client side (data
// flowing from the member out to whoever dialled it), upstream = toward the
// member.
const (
	Downstream = "downstream"
	Upstream   = "upstream"
)

// MemberLinks is one member of a topology and the handles that reach its links.
type MemberLinks struct {
	// Name of the member.
	Name string `json:"name"`
	// Role at resolution time: leader, follower, primary, secondary, node.
	Role string `json:"role"`
	// ClientProxy is the Toxiproxy proxy name in front of its client port.
	ClientProxy string `json:"client_proxy,omitempty"`
	// PeerProxy is the Toxiproxy proxy name in front of its peer port.
	PeerProxy string `json:"peer_proxy,omitempty"`
	// Container is the netem sidecar sharing its network namespace.
	Container string `json:"container,omitempty"`
	// Address is its IP address on the deployment's network (iptables).
	Address string `json:"address,omitempty"`
	// Endpoint is its client address as pacbench dials it (used to match
	// driver-reported members to link names).
	Endpoint string `json:"endpoint,omitempty"`
}

// Topology lists members with their links, as resolved at run time.
type Topology struct {
	Members []MemberLinks `json:"members"`
	// Aliases map role words ("leader", "follower", "primary", "secondary")
	// to the member name they designate for the whole run (the runner fixes
	// "follower" to the read route's follower so impairments and routes
	// agree).
	Aliases map[string]string `json:"aliases,omitempty"`
}

// Action is one resolved fault on one link of one member.
type Action struct {
	// Kind is one of the Kind* constants.
	Kind string `json:"kind"`
	// Member is the resolved member name.
	Member string `json:"member"`
	// Link is which of its links.
	Link LinkKind `json:"link"`
	// Direction is Downstream or Upstream (partition/down: both directions
	// produce two actions, or the backend treats the whole link).
	Direction string `json:"direction,omitempty"`
	// Delay and Jitter for latency.
	Delay  time.Duration `json:"delay_ns,omitempty"`
	Jitter time.Duration `json:"jitter_ns,omitempty"`
	// RateKBps for bandwidth.
	RateKBps int `json:"rate_kbps,omitempty"`
	// Loss percentage (netem).
	Loss float64 `json:"loss,omitempty"`
	// Others lists the other members' addresses (netem/iptables partition).
	Others []string `json:"others,omitempty"`
}

// Backend applies and removes actions.
type Backend interface {
	// Name is "toxiproxy" or "netem".
	Name() string
	// Apply adds actions (on top of what is active). On error, whatever was
	// applied stays recorded so Clear removes it.
	Apply(ctx context.Context, actions []Action) error
	// Clear removes everything this backend applied (idempotent).
	Clear(ctx context.Context) error
	// Heal removes every impairment pacbench may have left behind on the
	// deployment, including from earlier crashed runs (idempotent).
	Heal(ctx context.Context) error
}
