package profile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/metrics"
)

// Defaults applied by Parse (and by Plan to profiles built in code).
const (
	DefaultSeed      = 1                 // seed when the profile gives none (or 0)
	DefaultMode      = ModeSideBySide    // levels run together inside the same phases
	DefaultModel     = ModelClosed       // closed-loop load
	DefaultWorkers   = 8                 // workers (sessions) per scenario
	DefaultRoute     = RouteAny          // the driver's own routing
	DefaultOpTimeout = 2 * time.Second   // bound on each op
	DefaultMembers   = 3                 // members of a local cluster
	DefaultImpairer  = ImpairerToxiproxy // impairment backend
	DefaultArrivals  = ArrivalsUniform   // open-loop arrival process
	DefaultLinks     = impair.LinksAll   // link set of latency, bandwidth and reset
)

// MaxSize is the largest profile Parse reads, in bytes.
const MaxSize = 1 << 20

// Values of the enumerated profile fields.
const (
	ModeSideBySide = "side_by_side" // mode: all levels inside the same phases, sharing the load
	ModeSequential = "sequential"   // mode: each level runs the whole phase list alone

	ModelClosed = "closed" // load.model: N workers, each waiting for its op
	ModelOpen   = "open"   // load.model: a target rate, latency from the intended start

	ArrivalsUniform = "uniform" // load.arrivals: evenly spaced
	ArrivalsPoisson = "poisson" // load.arrivals: exponential inter-arrival times

	RouteAny = "any" // routes.*: the driver's own routing

	ClusterLocal = "local" // system.cluster: pacbench starts an embedded etcd cluster

	ImpairerToxiproxy = impair.BackendToxiproxy // system.impairer.kind: Toxiproxy (embedded or remote)
	ImpairerNetem     = impair.BackendNetem     // system.impairer.kind: tc netem / iptables in sidecars
)

// Options configure Parse and Load. The zero value is usable: it parses and
// validates everything except driver names and levels.
type Options struct {
	// Registry holds the drivers used to check system.driver and each level
	// set (through Driver.ValidateLevels). Nil skips those checks.
	Registry *drivers.Registry
	// Impairers holds the impairment backends used to check
	// system.impairer (kind and options) and what each impairment asks of
	// the chosen backend. Nil: the built-in backends (impair.Builtin).
	Impairers *impair.Registry
	// LoadModels holds the load models used to check load.model and the
	// keys and options each model reads. Nil: the built-in models
	// (load.Builtin: closed, open, stages, ramp).
	LoadModels *load.Registry
	// Checks are the checks whose fields thresholds may name. Nil: the
	// built-in checks.
	Checks *metrics.Checks
	// Set are command-line overrides (-p PATH=VALUE), applied in order to
	// the YAML after ${…} expansion and before decoding: their values are
	// validated like the file's, each problem naming its override.
	Set []Override
	// LookupEnv resolves ${NAME} references in the profile's values
	// (os.LookupEnv in the CLI). Nil: no variable is set, so only
	// ${NAME:-default} references expand.
	LookupEnv func(string) (string, bool)
}

// Load reads and parses the profile at path (see Parse). A read failure is
// returned wrapped, not as Problems.
func Load(path string, o Options) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: read: %w", err)
	}
	return Parse(path, data, o)
}

// Parse decodes a profile from YAML, applies defaults and validates it. file
// names the source in problems. On failure the error is Problems (every
// problem found, each with file:line:col, sorted by line), which unwraps to
// ErrInvalid; the profile is then nil. Parse never panics, whatever data
// holds. Safe for concurrent use.
func Parse(file string, data []byte, o Options) (*Profile, error) {
	c := newChecker(file)
	if len(data) > MaxSize {
		c.addAt(pos{1, 1}, "", fmt.Sprintf("profile too large (%d bytes; at most %d)", len(data), MaxSize))
		return nil, c.result()
	}
	root := c.parseYAML(data)
	if root == nil {
		return nil, c.result()
	}
	env := c.expandTree(root, o.LookupEnv)
	c.overrides = o.Set
	c.applyOverrides(root, o.Set)
	if err := c.result(); err != nil {
		return nil, err // what was meant is unknown: decoding would only add consequences
	}
	p := &Profile{Env: env}
	for _, ov := range o.Set {
		p.Overrides = append(p.Overrides, ov.Path+"="+ov.Value)
	}
	d := &decoder{c: c}
	d.value(root, reflect.ValueOf(p).Elem(), "")
	if d.full {
		return nil, c.result()
	}
	p.applyDefaults(file, c.has)
	if o.Impairers == nil {
		o.Impairers = impair.Builtin()
	}
	if o.LoadModels == nil {
		o.LoadModels = load.Builtin()
	}
	c.validate(p, o)
	if err := c.result(); err != nil {
		return nil, err
	}
	o.Set = nil
	p.checkedWith = o
	p.resolvePaths(file)
	return p, nil
}

// resolvePaths makes the relative program paths of the nodes' process
// commands absolute against the profile's directory (once validated), so
// that the profile runs the same from any working directory.
func (p *Profile) resolvePaths(file string) {
	for i, n := range p.System.Nodes {
		if n.Process != nil && file != "" {
			r := n.Process.Resolve(filepath.Dir(file))
			p.System.Nodes[i].Process = &r
		}
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// parseYAML returns the root node of the only document in data, or nil
// after recording why not. A panic in the YAML library becomes a problem.
func (c *checker) parseYAML(data []byte) (root *yaml.Node) {
	defer func() {
		if r := recover(); r != nil {
			root = nil
			c.addAt(pos{1, 1}, "", fmt.Sprintf("YAML parser failed: %v", r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			c.addAt(pos{1, 1}, "", "empty profile")
		} else {
			c.yamlError(err, data)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err == nil && (len(next.Content) == 0 || isNull(next.Content[0])):
		// a trailing "---" (an empty document) is harmless
	case err != nil:
		c.yamlError(err, data)
		return nil
	default:
		c.addAt(nodePos(&next), "", "a profile is one YAML document; remove the second one (---)")
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		c.addAt(pos{1, 1}, "", "empty profile")
		return nil
	}
	root = doc.Content[0]
	c.pos[""] = nodePos(root)
	return root
}

// yamlError turns a YAML syntax error into a problem at its line. The YAML
// reader reports bad characters (NUL and other control characters, invalid
// UTF-8) without a position: those are located in data.
func (c *checker) yamlError(err error, data []byte) {
	msg := err.Error()
	p := pos{1, 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			p.line = n
		}
		p.col = 0
		msg = msg[len(m[0]):]
	} else if bp, what, ok := badCharacter(data); ok {
		c.addAt(bp, "", "YAML syntax: "+what+" (a profile is UTF-8 text)")
		return
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	c.addAt(p, "", "YAML syntax: "+msg)
}

// badCharacter finds the first character of data that the YAML reader
// rejects (YAML 1.2's printable set, UTF-8 only) and returns its 1-based
// line and column (in characters) and a description. Input starting with a
// UTF-16 byte order mark is not UTF-8 and is not searched.
func badCharacter(data []byte) (pos, string, bool) {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return pos{}, "", false
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return pos{line, col}, fmt.Sprintf("invalid UTF-8 byte 0x%02X", data[i]), true
		case !yamlPrintable(r):
			return pos{line, col}, fmt.Sprintf("control character %U is not allowed", r), true
		case r == '\n':
			line, col = line+1, 1
		default:
			col++
		}
		i += size
	}
	return pos{}, "", false
}

// yamlPrintable is YAML 1.2's c-printable set, as yaml.v3's reader checks it.
func yamlPrintable(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D || (r >= 0x20 && r <= 0x7E) || r == 0x85 ||
		(r >= 0xA0 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// applyDefaults fills what the file left out. present reports whether a key
// path was written in the file, so that an explicit zero is left for the
// validator to reject rather than silently defaulted. Idempotent.
func (p *Profile) applyDefaults(file string, present func(string) bool) {
	if p.Name == "" {
		base := filepath.Base(file)
		p.Name = strings.TrimSuffix(base, filepath.Ext(base))
		if file == "" || p.Name == "" || p.Name == "." {
			p.Name = "profile"
		}
	}
	if p.Seed == 0 {
		p.Seed = DefaultSeed
	}
	setString := func(path string, s *string, v string) {
		if *s == "" && !present(path) {
			*s = v
		}
	}
	setString("mode", &p.Mode, DefaultMode)
	setString("load.model", &p.Load.Model, DefaultModel)
	if p.Load.Model == ModelOpen {
		setString("load.arrivals", &p.Load.Arrivals, DefaultArrivals)
	}
	setString("routes.read", &p.Routes.Read, DefaultRoute)
	setString("routes.write", &p.Routes.Write, DefaultRoute)
	setString("system.impairer.kind", &p.System.Impairer.Kind, DefaultImpairer)
	if p.Load.Workers == 0 && !present("load.workers") {
		p.Load.Workers = DefaultWorkers
	}
	if p.System.OpTimeout == 0 && !present("system.op_timeout") {
		p.System.OpTimeout = Duration(DefaultOpTimeout)
	}
	if p.System.Cluster == ClusterLocal && p.System.Members == 0 && !present("system.members") {
		p.System.Members = DefaultMembers
	}
	for i := range p.Phases {
		ph := &p.Phases[i]
		if ph.Name == "" && !present(fmt.Sprintf("phases[%d].name", i)) {
			ph.Name = fmt.Sprintf("phase%d", i+1)
		}
		for j := range ph.Impairments {
			ipath := fmt.Sprintf("phases[%d].impairments[%d]", i, j)
			ph.Impairments[j].ApplyDefaults(func(key string) bool { return present(ipath + "." + key) })
		}
	}
	for i := range p.Levels {
		if p.Levels[i].Name == "" {
			p.Levels[i].Name = levelName(p.Levels[i].Levels)
		}
	}
}

// levelName names a level set built in code (no source order): its
// non-empty values in key order, joined with "/".
func levelName(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k, v := range l {
		if v != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	vals := make([]string, len(keys))
	for i, k := range keys {
		vals[i] = l[k]
	}
	return strings.Join(vals, "/")
}
