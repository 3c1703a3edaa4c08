package impair

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fault kinds (Spec.Kind, Action.Kind).
const (
	KindLatency   = "latency"
	KindBandwidth = "bandwidth"
	KindPartition = "partition"
	KindDown      = "down"
	KindReset     = "reset"
	// KindPause stops a member's process (SIGSTOP, docker pause) until the
	// heal resumes it (SIGCONT, docker unpause): the classic gray failure.
	KindPause = "pause"
	// KindKill kills a member's process (SIGKILL, docker kill); the heal
	// starts it again with the same data and identity.
	KindKill = "kill"
	// KindClientClockSkew offsets the clock the writers of one write route
	// stamp their writes with (client-side write timestamps: Cassandra).
	KindClientClockSkew = "client_clock_skew"
)

// Fault classes: what a kind acts on, and so which backend applies it.
const (
	// ClassNetwork kinds act on links: the backend system.impairer chooses
	// (Toxiproxy, netem, …) applies them.
	ClassNetwork = "network"
	// ClassProcess kinds act on the members' processes: the process backend
	// (ProcessFactory) applies them, unless the chosen backend handles them
	// itself (KindsHandler).
	ClassProcess = "process"
	// ClassClient kinds act on pacbench's own clients (client_clock_skew):
	// the client-clock backend (ClientClockFactory) applies them.
	ClassClient = "client"
)

// Link sets an impairment may name (Spec.Links).
const (
	// LinksClient is the member's client link.
	LinksClient = "client"
	// LinksPeerOut is what the member sends to its peers: its peer link,
	// downstream only.
	LinksPeerOut = "peer_out"
	// LinksPeer is the member's peer link in both directions.
	LinksPeer = "peer"
	// LinksAll is the client and the peer link (the default).
	LinksAll = "all"
)

// Directions as Toxiproxy means them: downstream = proxy→client side (data
// flowing from the member out to whoever dialled it), upstream = toward the
// member; both = two actions per link.
const (
	Downstream    = "downstream"
	Upstream      = "upstream"
	DirectionBoth = "both"
)

// Role words name a member by its role, resolved at run time
// (Topology.Aliases).
const (
	RoleLeader    = "leader"
	RoleFollower  = "follower"
	RolePrimary   = "primary"
	RoleSecondary = "secondary"
)

// Spec keys: the YAML keys of a Spec, used in FieldError.Field and by
// CheckEnv.Written.
const (
	KeyKind      = "kind"
	KeyTarget    = "target"
	KeyMembers   = "members"
	KeyLinks     = "links"
	KeyDirection = "direction"
	KeyDelay     = "delay"
	KeyJitter    = "jitter"
	KeyRateKBps  = "rate_kbps"
	KeyLoss      = "loss"
	KeyOffset    = "offset"
)

// MaxDelay bounds a latency's delay and jitter: beyond it an impairment is
// no longer a delay but an outage (use partition).
const MaxDelay = time.Hour

// MaxClockOffset bounds a clock skew's offset, either way.
const MaxClockOffset = 24 * time.Hour

// kindDef is what one fault kind accepts.
type kindDef struct {
	name  string
	class string   // ClassNetwork (the zero value) or ClassProcess
	keys  []string // keys that apply besides kind
	links bool     // acts on a chosen link set (links, direction)
	cuts  bool     // takes its targets out of the cluster (a phase must leave one member in)
	check func(s Spec, has func(string) bool, add func(key, format string, args ...any))
}

// kindDefs is the vocabulary of fault kinds, in documentation order.
var kindDefs = []kindDef{
	{name: KindLatency, keys: []string{KeyTarget, KeyLinks, KeyDirection, KeyDelay, KeyJitter, KeyLoss}, links: true, check: checkLatency},
	{name: KindBandwidth, keys: []string{KeyTarget, KeyLinks, KeyDirection, KeyRateKBps}, links: true, check: checkBandwidth},
	{name: KindPartition, keys: []string{KeyTarget, KeyMembers}, cuts: true},
	{name: KindDown, keys: []string{KeyTarget}, cuts: true},
	{name: KindReset, keys: []string{KeyTarget, KeyLinks, KeyDirection}, links: true},
	{name: KindPause, class: ClassProcess, keys: []string{KeyTarget, KeyMembers}, cuts: true},
	{name: KindKill, class: ClassProcess, keys: []string{KeyTarget, KeyMembers}, cuts: true},
	{name: KindNodeClockSkew, class: ClassProcess, keys: []string{KeyTarget, KeyMembers, KeyOffset}, check: checkOffset},
	{name: KindClientClockSkew, class: ClassClient, keys: []string{KeyTarget, KeyOffset}, check: checkOffset},
}

// specKeys lists every key of a Spec besides kind, in YAML order.
var specKeys = []string{KeyTarget, KeyMembers, KeyLinks, KeyDirection, KeyDelay, KeyJitter, KeyRateKBps, KeyLoss, KeyOffset}

// Kinds returns the fault kinds, in documentation order.
func Kinds() []string {
	out := make([]string, len(kindDefs))
	for i, k := range kindDefs {
		out[i] = k.name
	}
	return out
}

// LinkSets returns the link sets a Spec may name.
func LinkSets() []string { return []string{LinksClient, LinksPeerOut, LinksPeer, LinksAll} }

// Directions returns the directions a Spec may name.
func Directions() []string { return []string{Downstream, Upstream, DirectionBoth} }

// Roles returns the role words a target may be.
func Roles() []string { return []string{RoleLeader, RoleFollower, RolePrimary, RoleSecondary} }

// ClassOf returns the class of a fault kind (ClassNetwork, ClassProcess),
// "" for an unknown kind.
func ClassOf(kind string) string {
	k := kindOf(kind)
	switch {
	case k == nil:
		return ""
	case k.class == "":
		return ClassNetwork
	}
	return k.class
}

// KindsOf returns the fault kinds of a class, in documentation order.
func KindsOf(class string) []string {
	var out []string
	for _, k := range kindDefs {
		if ClassOf(k.name) == class {
			out = append(out, k.name)
		}
	}
	return out
}

func kindOf(name string) *kindDef {
	for i := range kindDefs {
		if kindDefs[i].name == name {
			return &kindDefs[i]
		}
	}
	return nil
}

// Duration is a time.Duration written as a Go duration string ("40ms") in
// YAML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String renders d as Go does ("1.5ms").
func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalText parses a Go duration string with a unit, or a bare 0.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want a number with a unit, e.g. 250ms, 10s, 1m30s)", b)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// MarshalJSON writes d as a JSON string ("40ms").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads what MarshalJSON writes.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"40ms\": %w", err)
	}
	return d.UnmarshalText([]byte(s))
}

// Spec is one fault of a phase, aimed at a link set of one or more members,
// as a profile writes it (package profile reuses it as profile.Impairment).
// Plain data: safe to share read-only.
type Spec struct {
	// Kind is latency, bandwidth, partition, down, reset (network),
	// pause, kill, node_clock_skew (process), or client_clock_skew
	// (pacbench's own writers).
	Kind string `yaml:"kind" json:"kind"`
	// Target is the member: a name, "leader", "follower", "primary",
	// "secondary". Partition, pause and kill may name several in Members
	// instead.
	Target string `yaml:"target" json:"target,omitempty"`
	// Members lists several targets (partition, pause, kill,
	// node_clock_skew).
	Members []string `yaml:"members" json:"members,omitempty"`
	// Links is the link set: "client" (client→member), "peer_out" (what the
	// member sends to its peers), "peer" (all the member's peer links), or
	// "all" (default). Partition and down act on every link.
	Links string `yaml:"links" json:"links,omitempty"`
	// Direction is "downstream" (from the member toward its peers or
	// clients, as Toxiproxy means it), "upstream" or "both". Default: client
	// and peer_out downstream, peer both.
	Direction string `yaml:"direction" json:"direction,omitempty"`
	// Delay and Jitter for latency (at most MaxDelay).
	Delay  Duration `yaml:"delay" json:"delay,omitempty"`
	Jitter Duration `yaml:"jitter" json:"jitter,omitempty"`
	// RateKBps for bandwidth, in KB/s.
	RateKBps int `yaml:"rate_kbps" json:"rate_kbps,omitempty"`
	// Loss is a packet-loss percentage in (0, 100] (backends that can drop
	// packets: netem).
	Loss float64 `yaml:"loss" json:"loss,omitempty"`
	// Offset of a clock skew: how far the skewed clock is ahead (positive)
	// or behind (negative), at most MaxClockOffset either way.
	Offset Duration `yaml:"offset" json:"offset,omitempty"`
	// Line is the source line of the impairment (0: unknown), not from YAML.
	Line int `yaml:"-" json:"-"`
}

// ApplyDefaults fills what the profile left out: the link set of latency,
// bandwidth and reset is "all". written reports whether a key was written
// (an explicit empty value is left for Validate to reject); nil means none
// was.
func (s *Spec) ApplyDefaults(written func(key string) bool) {
	k := kindOf(s.Kind)
	if k != nil && k.links && s.Links == "" && (written == nil || !written(KeyLinks)) {
		s.Links = LinksAll
	}
}

// targets returns Target then Members.
func (s Spec) targets() []string {
	out := slices.Clone(s.Members)
	if s.Target != "" {
		out = append([]string{s.Target}, out...)
	}
	return out
}

// setKey reports whether key holds a non-zero value.
func (s Spec) setKey(key string) bool {
	switch key {
	case KeyKind:
		return s.Kind != ""
	case KeyTarget:
		return s.Target != ""
	case KeyMembers:
		return len(s.Members) > 0
	case KeyLinks:
		return s.Links != ""
	case KeyDirection:
		return s.Direction != ""
	case KeyDelay:
		return s.Delay != 0
	case KeyJitter:
		return s.Jitter != 0
	case KeyRateKBps:
		return s.RateKBps != 0
	case KeyLoss:
		return s.Loss != 0
	case KeyOffset:
		return s.Offset != 0
	}
	return false
}

// FieldError is one problem with one impairment of a list.
type FieldError struct {
	// Index is the impairment's position in the list (0-based).
	Index int
	// Field is the key path inside the impairment ("delay", "members[1]"),
	// "" for the impairment as a whole.
	Field string
	// Err wraps ErrInvalid.
	Err error
}

// Error renders "impairment N: field: problem".
func (e FieldError) Error() string {
	where := fmt.Sprintf("impairment %d", e.Index+1)
	if e.Field != "" {
		where += ": " + e.Field
	}
	return where + ": " + e.Err.Error()
}

// Unwrap returns Err.
func (e FieldError) Unwrap() error { return e.Err }

// invalidError is a problem message that unwraps to ErrInvalid without
// repeating its text.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }
func (e *invalidError) Unwrap() error { return ErrInvalid }

// Invalidf returns an error with the formatted message that unwraps to
// ErrInvalid (for FieldError.Err and SetupError.Err).
func Invalidf(format string, args ...any) error {
	return &invalidError{msg: fmt.Sprintf(format, args...)}
}

// SpecChecker vets the specs a particular backend is asked to apply (what
// it cannot do, e.g. Toxiproxy cannot drop packets). Field paths are
// relative to the spec.
type SpecChecker interface {
	CheckSpec(s Spec) []FieldError
}

// CheckEnv is what validating a phase's impairments knows about its
// surroundings. The zero value checks the specs alone.
type CheckEnv struct {
	// Members are the member names targets may use besides role words;
	// nil: not known before the run (any name is accepted).
	Members []string
	// Written reports whether key of the i-th spec was written in the
	// profile; nil: a key counts as written when its field is non-zero.
	Written func(i int, key string) bool
	// Backend, if set, vets each spec of a kind it handles (see Handles)
	// against the chosen backend.
	Backend SpecChecker
	// Processes, if set, says whose processes the process backend can
	// reach, for the process kinds Backend does not handle; nil: not known
	// (any target is accepted).
	Processes *ProcessReach
	// ClientClocks, if set, says what client_clock_skew may aim at; nil:
	// not known (any target is accepted).
	ClientClocks *ClientClockReach
}

// Validate reports every problem with one phase's impairments, in order:
// kinds and their keys, targets (against env.Members when known), link sets
// and directions, amounts, a phase that would isolate every known member,
// and what env.Backend cannot do. Each FieldError wraps ErrInvalid. Pure:
// safe for concurrent use.
func Validate(specs []Spec, env CheckEnv) []FieldError {
	var out []FieldError
	cut := isolation{}
	for i, s := range specs {
		has := func(key string) bool {
			if env.Written != nil {
				return env.Written(i, key)
			}
			return s.setKey(key)
		}
		add := func(key, format string, args ...any) {
			out = append(out, FieldError{Index: i, Field: key, Err: Invalidf(format, args...)})
		}
		if !checkSpec(s, env, has, add) {
			continue
		}
		if kindOf(s.Kind).cuts {
			for _, t := range s.targets() {
				if t != "" {
					cut.add(t)
				}
			}
			if n := len(env.Members); n > 0 && cut.all(n) {
				verb := "isolate"
				if ClassOf(s.Kind) == ClassProcess {
					verb = "stop or isolate"
				}
				add("", "%s would %s every member of the %d-member cluster (%s); leave at least one member out",
					s.Kind, verb, n, strings.Join(append(slices.Clone(cut.names), cut.roles...), ", "))
			}
		}
		switch {
		case env.Backend != nil && (Handles(env.Backend, s.Kind) || ClassOf(s.Kind) == ClassNetwork):
			for _, fe := range env.Backend.CheckSpec(s) {
				fe.Index = i
				out = append(out, fe)
			}
		case ClassOf(s.Kind) == ClassProcess && env.Processes != nil:
			env.Processes.check(s, env.Members, add)
		case ClassOf(s.Kind) == ClassClient && env.ClientClocks != nil:
			env.ClientClocks.check(s, add)
		}
	}
	return out
}

// checkSpec checks one spec; false when its kind is missing or unknown
// (nothing else is checked then).
func checkSpec(s Spec, env CheckEnv, has func(string) bool, add func(key, format string, args ...any)) bool {
	if s.Kind == "" && !has(KeyKind) {
		add("", "kind required (want %s)", strings.Join(Kinds(), ", "))
		return false
	}
	k := kindOf(s.Kind)
	if k == nil {
		add(KeyKind, "unknown value %q (want %s)", s.Kind, strings.Join(Kinds(), ", "))
		return false
	}
	for _, key := range specKeys {
		if has(key) && !slices.Contains(k.keys, key) {
			add(key, "does not apply to kind %s", s.Kind)
		}
	}
	checkTargets(s, env.Members, add)
	if k.links {
		checkLinks(s, has, add)
	}
	if k.check != nil {
		k.check(s, has, add)
	}
	return true
}

// checkTargets checks Target and Members (their union).
func checkTargets(s Spec, members []string, add func(key, format string, args ...any)) {
	targets := s.targets()
	if len(targets) == 0 {
		want := "target required"
		if s.Kind == KindPartition {
			want = "target (or members) required"
		}
		add("", "%s: a member name or %s", want, strings.Join(Roles(), ", "))
	}
	for i, t := range targets {
		key := targetKey(s, i)
		switch {
		case t == "":
			add(key, "empty member name")
		case slices.Index(targets, t) < i:
			add(key, "member %q listed twice", t)
		case slices.Contains(Roles(), t) || members == nil || slices.Contains(members, t):
		default:
			add(key, "unknown member %q (want %s)", t, strings.Join(append(Roles(), members...), ", "))
		}
	}
}

// targetKey is the key path of the i-th of s.targets(): "target" or
// "members[j]".
func targetKey(s Spec, i int) string {
	if j := i - (len(s.targets()) - len(s.Members)); j >= 0 {
		return fmt.Sprintf("%s[%d]", KeyMembers, j)
	}
	return KeyTarget
}

// checkLinks checks the link set and direction of a link kind.
func checkLinks(s Spec, has func(string) bool, add func(key, format string, args ...any)) {
	linksOK := s.Links == "" && !has(KeyLinks) || slices.Contains(LinkSets(), s.Links)
	if !linksOK {
		add(KeyLinks, "unknown value %q (want %s)", s.Links, strings.Join(LinkSets(), ", "))
	}
	if !has(KeyDirection) && s.Direction == "" {
		return
	}
	switch {
	case !slices.Contains(Directions(), s.Direction):
		add(KeyDirection, "unknown value %q (want %s)", s.Direction, strings.Join(Directions(), ", "))
	case s.Links == LinksPeerOut && s.Direction != Downstream:
		add(KeyDirection, "links peer_out is downstream only, got direction %q (use links: peer)", s.Direction)
	}
}

func checkLatency(s Spec, has func(string) bool, add func(key, format string, args ...any)) {
	switch {
	case s.Delay < 0:
		add(KeyDelay, "must not be negative, got %s", s.Delay)
	case s.Delay > Duration(MaxDelay):
		add(KeyDelay, "at most %s, got %s (a longer delay is an outage: use kind partition)", MaxDelay, s.Delay)
	case s.Delay == 0 && !(s.Loss > 0):
		add(KeyDelay, "latency needs a delay > 0 (e.g. delay: 40ms), or a loss with netem")
	}
	switch {
	case s.Jitter < 0:
		add(KeyJitter, "must not be negative, got %s", s.Jitter)
	case s.Jitter > Duration(MaxDelay):
		add(KeyJitter, "at most %s, got %s", MaxDelay, s.Jitter)
	}
	if (has(KeyLoss) || s.Loss != 0) && !(s.Loss > 0 && s.Loss <= 100) {
		add(KeyLoss, "want a percentage in (0, 100], got %v", s.Loss)
	}
}

func checkOffset(s Spec, _ func(string) bool, add func(key, format string, args ...any)) {
	switch {
	case s.Offset == 0:
		add(KeyOffset, "%s needs an offset ≠ 0 (e.g. offset: -500ms: the clock is half a second behind)", s.Kind)
	case s.Offset.D() > MaxClockOffset || s.Offset.D() < -MaxClockOffset:
		add(KeyOffset, "at most %s either way, got %s", MaxClockOffset, s.Offset)
	}
}

func checkBandwidth(s Spec, _ func(string) bool, add func(key, format string, args ...any)) {
	if s.RateKBps <= 0 {
		add(KeyRateKBps, "bandwidth needs rate_kbps > 0, got %d", s.RateKBps)
	}
}

// isolation accumulates the members a phase partitions or takes down.
type isolation struct {
	names []string // distinct member names
	roles []string // distinct role classes ("leader", "follower")
}

// roleClass maps role words that designate the same member to one class.
func roleClass(r string) string {
	if r == RoleLeader || r == RolePrimary {
		return RoleLeader
	}
	return RoleFollower
}

func (c *isolation) add(target string) {
	if slices.Contains(Roles(), target) {
		if rc := roleClass(target); !slices.Contains(c.roles, rc) {
			c.roles = append(c.roles, rc)
		}
		return
	}
	if !slices.Contains(c.names, target) {
		c.names = append(c.names, target)
	}
}

// all reports whether the isolated set surely covers all n members: every
// member by name, or (names absent) as many role classes as members. A mix
// of names and roles may or may not overlap and is left to run time.
func (c *isolation) all(n int) bool {
	return len(c.names) >= n || (len(c.names) == 0 && len(c.roles) >= n)
}
