// Package impair owns pacbench's impairments: their specification (Spec,
// the vocabulary of kinds, link sets, directions and roles, and its
// validation, which package profile reuses), their resolution into actions
// on concrete links (Resolve), and the backends that apply and heal them,
// chosen by kind from an explicit Registry (Builtin: Toxiproxy, embedded
// in-process or remote through its HTTP API, and netem/iptables through
// docker exec into NET_ADMIN sidecars). Guard wraps a backend so that a
// heal can be abandoned (a second Ctrl-C) and reported honestly.
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

// LinkKind names one link of a member.
type LinkKind string

// Link kinds.
const (
	// LinkClient is the client→member link (the member's client proxy).
	LinkClient LinkKind = "client"
	// LinkPeer is the member's peer link (its peer proxy): downstream is
	// what the member sends to its peers over streams they dialled. With
	// pair proxies (MemberLinks.PeerFrom) it is every proxy carrying the
	// member's peer traffic, downstream what it sends (see Resolve).
	LinkPeer LinkKind = "peer"
)

// MemberLinks is one member of a topology and the handles that reach its links.
type MemberLinks struct {
	// Name of the member.
	Name string `json:"name"`
	// Role at resolution time: leader, follower, primary, secondary, node.
	Role string `json:"role"`
	// ClientProxy is the Toxiproxy proxy name in front of its client port.
	ClientProxy string `json:"client_proxy,omitempty"`
	// PeerProxy is the Toxiproxy proxy name in front of its peer port. With
	// PeerFrom set it carries only the peer connections that cannot be
	// attributed to a dialing member (e.g. version probes); alone (a remote
	// deployment's one proxy per node) it carries every connection to the
	// member, and then a partition cannot cut the connections the member
	// dialed itself (see Resolve).
	PeerProxy string `json:"peer_proxy,omitempty"`
	// PeerFrom maps a dialing member's name to the Toxiproxy proxy carrying
	// the peer connections that member dials to this one (pair proxies, as
	// the local cluster lays them out: "<member>-peer-from-<dialer>").
	// Downstream on such a proxy is what this member sends to the dialer,
	// upstream what the dialer sends to it. Nil: no pair proxies.
	PeerFrom map[string]string `json:"peer_from,omitempty"`
	// Container is the netem sidecar sharing its network namespace.
	Container string `json:"container,omitempty"`
	// Address is its IP address on the deployment's network (iptables).
	Address string `json:"address,omitempty"`
	// Endpoint is its client address as pacbench dials it (used to match
	// driver-reported members to link names).
	Endpoint string `json:"endpoint,omitempty"`
	// Options are backend-specific settings of the member
	// (system.nodes[].options; chaosmesh: pod, selector, namespace).
	Options map[string]string `json:"options,omitempty"`
	// Process says how to reach its process for the process faults (nil:
	// through the deployment's own Processes, e.g. the local cluster's).
	Process *ProcessSpec `json:"process,omitempty"`
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

// Action is one resolved fault on one link (network kinds) or on the
// process (process kinds: no link) of one member.
type Action struct {
	// Kind is one of the Kind* constants.
	Kind string `json:"kind"`
	// Member is the resolved member name.
	Member string `json:"member"`
	// Link is which of its links ("" for the process kinds).
	Link LinkKind `json:"link,omitempty"`
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
	// Offset of a clock skew (client_clock_skew).
	Offset time.Duration `json:"offset_ns,omitempty"`
	// Others lists the other members' addresses (netem/iptables partition).
	Others []string `json:"others,omitempty"`
	// Peers names the members on the other side of a partition (backends
	// that select members by name, e.g. chaosmesh).
	Peers []string `json:"peers,omitempty"`
	// From, on a peer link of a topology with pair proxies, names the
	// dialing member: the action acts on Member's proxy PeerFrom[From]
	// instead of its PeerProxy. Empty otherwise.
	From string `json:"from,omitempty"`
}

// Backend applies and removes actions. Implementations are safe for
// concurrent use; the runner applies one phase's actions at a time and
// calls Clear on every exit path.
type Backend interface {
	// Name is the backend's kind ("toxiproxy", "netem").
	Name() string
	// Apply adds actions (on top of what is active). On error, whatever was
	// applied stays recorded so Clear removes it.
	Apply(ctx context.Context, actions []Action) error
	// Clear removes everything this backend applied (idempotent). What it
	// could not remove stays recorded (Pending) for the next Clear.
	Clear(ctx context.Context) error
	// Pending lists what this backend applied and has not removed, one
	// human line per toxic, rule or qdisc (empty when nothing is left).
	Pending() []string
	// Heal removes every impairment pacbench may have left behind on the
	// deployment, including from earlier crashed runs (idempotent), and
	// says what it removed and what it could not.
	Heal(ctx context.Context) (HealReport, error)
}

// HealReport says what a Heal found. In a dry run, Removed is what it
// would remove and nothing is changed.
type HealReport struct {
	// Removed lists what was removed (or would be, in a dry run).
	Removed []string `json:"removed,omitempty"`
	// Left lists what was found and could not be removed.
	Left []string `json:"left,omitempty"`
}
