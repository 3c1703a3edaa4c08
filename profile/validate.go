package profile

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/internal/impair"
	"github.com/pacbench/pacbench/internal/load"
	"github.com/pacbench/pacbench/internal/redact"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

var (
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// maxLocalMembers bounds a local cluster (each member is an OS process).
const maxLocalMembers = 9

// checker collects problems with their positions. Not safe for concurrent
// use; one per Parse or Plan.
type checker struct {
	file  string
	pos   map[string]pos        // key path → position of the key (or list item)
	exprs map[string]*yaml.Node // thresholds[i] → its expression's scalar node
	bad   map[string]bool       // paths that failed to decode
	probs Problems
	// overrides are the -p settings applied (their nodes' lines are
	// overrideLine(k)).
	overrides []Override
}

// newChecker returns an empty checker for file.
func newChecker(file string) *checker {
	return &checker{file: file, pos: map[string]pos{}, bad: map[string]bool{}, exprs: map[string]*yaml.Node{}}
}

// suppressed reports whether a validation problem about path would only be
// a consequence of a decoding problem: path, an ancestor of it or a direct
// child of it failed to decode.
func (c *checker) suppressed(path string) bool {
	for q := path; ; q = parent(q) {
		if c.bad[q] {
			return true
		}
		if q == "" {
			break
		}
	}
	for b := range c.bad {
		if b != "" && parent(b) == path {
			return true
		}
	}
	return false
}

// has reports whether the key path was written in the file.
func (c *checker) has(path string) bool {
	_, ok := c.pos[path]
	return ok
}

// parent strips the last path element: "a.b[2].c" → "a.b[2]" → "a.b" → "a" → "".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// at is the position of path, or of its nearest written ancestor.
func (c *checker) at(path string) pos {
	for {
		if p, ok := c.pos[path]; ok {
			return p
		}
		if path == "" {
			return pos{}
		}
		path = parent(path)
	}
}

// addAt records msg about path at p. A negative line is an override's
// (overrideLine): the problem names the override instead of a line.
func (c *checker) addAt(p pos, path, msg string) {
	if path != "" {
		msg = path + ": " + msg
	}
	pr := Problem{File: c.file, Line: p.line, Col: p.col, Msg: msg}
	if p.line < 0 {
		pr.Line, pr.Col, pr.Override = 0, 0, c.overrideText(-p.line-1)
	}
	c.probs = append(c.probs, pr)
}

// overrideText is how override k was written ("-p load.rate=abc").
func (c *checker) overrideText(k int) string {
	if k < len(c.overrides) {
		return c.overrides[k].String()
	}
	return fmt.Sprintf("#%d", k+1)
}

// lineRef refers to a source line in a message: "line 12", or "an
// override" for what a -p setting wrote.
func lineRef(line int) string {
	if line < 0 {
		return "an override"
	}
	return fmt.Sprintf("line %d", line)
}

// add records a problem about path at its position (or its ancestor's).
// When that position is the file's but an override set something below
// path, the message says so.
func (c *checker) add(path, format string, args ...any) {
	if c.suppressed(path) {
		return
	}
	p, msg := c.at(path), fmt.Sprintf(format, args...)
	if p.line >= 0 {
		for _, ov := range c.overrides {
			if path != "" && (strings.HasPrefix(ov.Path, path+".") || strings.HasPrefix(ov.Path, path+"[")) {
				msg += fmt.Sprintf(" (with override %s)", ov)
			}
		}
	}
	c.addAt(p, path, msg)
}

// result returns the sorted problems as an error, or nil.
func (c *checker) result() error {
	if len(c.probs) == 0 {
		return nil
	}
	ps := append(Problems(nil), c.probs...)
	ps.sort()
	return ps
}

// oneOf checks that the value at path is one of allowed.
func (c *checker) oneOf(path, value string, allowed []string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	c.add(path, "unknown value %q (want %s)", value, strings.Join(allowed, ", "))
	return false
}

// validate checks a decoded profile (with defaults applied).
func (c *checker) validate(p *Profile, o Options) {
	drv := c.system(p, o)
	spec, _ := c.workload(p, drv)
	c.load(p, spec.ValueSize, o.LoadModels)
	c.routes(p)
	c.levels(p, drv)
	c.oneOf("mode", p.Mode, []string{ModeSideBySide, ModeSequential})
	c.phases(p, o.Impairers, clientClocks(p, drv))
	c.checks(p.Checks)
	c.thresholds(p, o)
	c.shard(p, spec)
	c.sweep(p)
}

// shard checks the shard ("I/N"): well formed, and a run that can be
// split that many ways (one worker and one record per shard at least, a
// deployment that every shard reaches).
func (c *checker) shard(p *Profile, spec workloads.Spec) {
	if p.Shard == "" {
		return
	}
	sh, err := workloads.ParseShard(p.Shard)
	if err != nil {
		c.add("shard", "%v", err)
		return
	}
	if p.System.Cluster == ClusterLocal && sh.Count > 1 {
		c.add("shard", "a sharded run needs one deployment that every shard reaches; cluster: local starts one per process "+
			"(start it once with `pacbench cluster etcd` and list its endpoints)")
	}
	if p.Load.Workers >= 1 && p.Load.Workers < sh.Count {
		c.add("shard", "%d shards need at least %d workers (load.workers is %d): every shard runs at least one", sh.Count, sh.Count, p.Load.Workers)
	}
	if spec.Records >= 1 && spec.Records < sh.Count {
		c.add("shard", "%d shards need at least %d records (workload.records is %d): every shard owns at least one key", sh.Count, sh.Count, spec.Records)
	}
}

// system checks the system section and returns its driver (nil if unknown
// or not checked).
func (c *checker) system(p *Profile, o Options) drivers.Driver {
	s := p.System
	reg := o.Registry
	var drv drivers.Driver
	switch {
	case s.Driver == "":
		known := ""
		if reg != nil {
			known = " (known: " + strings.Join(reg.Names(), ", ") + ")"
		}
		c.add("system.driver", "required%s", known)
	case reg != nil:
		d, err := reg.Lookup(s.Driver)
		if err != nil {
			c.add("system.driver", "%v", err)
		} else {
			drv = d
		}
	}
	local := s.Cluster == ClusterLocal
	switch {
	case s.Cluster != "" && !local:
		c.add("system.cluster", "unknown value %q (want local, or leave it out and list endpoints)", s.Cluster)
	case local && s.Driver != "" && s.Driver != "etcd":
		c.add("system.cluster", "cluster: local is only available for driver etcd; start %s yourself and list its endpoints", s.Driver)
	}
	if local {
		if s.Members < 1 || s.Members > maxLocalMembers {
			c.add("system.members", "want 1 to %d members, got %d", maxLocalMembers, s.Members)
		}
		if len(s.Endpoints) > 0 {
			c.add("system.endpoints", "not used with cluster: local (pacbench starts the members and knows their addresses)")
		}
		if len(s.Nodes) > 0 {
			c.add("system.nodes", "not used with cluster: local (its members are named m1, m2, …)")
		}
	} else {
		if c.has("system.members") {
			c.add("system.members", "only applies to cluster: local (an existing deployment lists system.nodes)")
		}
		if len(s.Endpoints) == 0 && s.Cluster == "" {
			c.add("system.endpoints", "required: the client addresses of the deployment (or cluster: local for etcd)")
		}
	}
	c.driverConfig(drv, s)
	seen := map[string]int{}
	for i, n := range s.Nodes {
		path := fmt.Sprintf("system.nodes[%d]", i)
		switch first, dup := seen[n.Name]; {
		case n.Name == "":
			c.add(path+".name", "required")
		case dup:
			c.add(path+".name", "duplicate node name %q (first at %s)", n.Name, lineRef(c.at(fmt.Sprintf("system.nodes[%d]", first)).line))
		default:
			seen[n.Name] = i
		}
		if n.Process != nil {
			for _, e := range impair.CheckProcessSpec(*n.Process, filepath.Dir(c.file)) {
				field := path + ".process"
				if e.Field != "" {
					field += "." + e.Field
				}
				c.add(field, "%s", e.Err.Error())
			}
		}
	}
	c.peerProxyFrom(s.Nodes, seen)
	for k := range s.Options {
		if redact.SecretKey.MatchString(k) {
			c.add("system.options."+k, "secrets are never read from the profile; use system.credentials.password_env (an environment variable name)")
		}
	}
	c.envVar("system.credentials.username_env", s.Credentials.UsernameEnv)
	c.envVar("system.credentials.password_env", s.Credentials.PasswordEnv)
	c.impairer(p, o.Impairers)
	c.durationIn("system.op_timeout", s.OpTimeout, false, MaxOpTimeout)
	return drv
}

// driverConfig checks system.options, system.endpoints and the nodes'
// endpoints by the driver's own rules (drivers.CheckConfig; drv nil: only
// what every driver refuses, such as credentials in an address), each
// problem at its key. Messages never repeat a credential.
func (c *checker) driverConfig(drv drivers.Driver, s System) {
	c.configProblems(drivers.CheckConfig(drv, drivers.Config{Endpoints: s.Endpoints, Options: s.Options}),
		func(i int) string { return fmt.Sprintf("system.endpoints[%d]", i) })
	for i, n := range s.Nodes {
		if n.Endpoint != "" {
			path := fmt.Sprintf("system.nodes[%d].endpoint", i)
			c.configProblems(drivers.CheckConfig(drv, drivers.Config{Endpoints: []string{n.Endpoint}}),
				func(int) string { return path })
		}
	}
}

// configProblems records the problems drivers.CheckConfig returned: an
// option at system.options.<key>, an endpoint at endpointPath(index).
func (c *checker) configProblems(err error, endpointPath func(int) string) {
	for _, oe := range drivers.OptionErrors(err) {
		path := "system.options." + oe.Key
		if errors.Is(oe.Err, drivers.ErrUnknownOption) {
			c.add(path, "unknown option for driver %s (known: %s)", oe.Driver, strings.Join(oe.Known, ", "))
		} else {
			c.add(path, "%v, got %q", oe.Err, oe.Value)
		}
	}
	for _, ee := range drivers.EndpointErrors(err) {
		if errors.Is(ee.Err, drivers.ErrEndpointCredentials) {
			c.add(endpointPath(ee.Index), "carries credentials; name environment variables in system.credentials.username_env / password_env instead")
			continue
		}
		c.add(endpointPath(ee.Index), "%q: %v", ee.Endpoint, ee.Err)
	}
	if err != nil && len(drivers.OptionErrors(err))+len(drivers.EndpointErrors(err)) == 0 {
		c.add("system", "%v", err)
	}
}

// envVar checks that a credentials field names an environment variable.
func (c *checker) envVar(path, v string) {
	if v != "" && !envName.MatchString(v) {
		c.add(path, "must name an environment variable (e.g. PACBENCH_PASSWORD), not hold the secret itself")
	}
}

// impairer checks the impairment backend against the deployment and the
// impairments the phases ask for: what every backend needs (the nodes of
// an existing deployment), then the backend's kind, options and setup
// (reg nil: only the former).
func (c *checker) impairer(p *Profile, reg *impair.Registry) {
	s := p.System
	local := s.Cluster == ClusterLocal
	impaired := slices.ContainsFunc(p.Phases, Phase.Impaired)
	// A client clock skew acts on pacbench's writers, not on the deployment.
	onNodes := slices.ContainsFunc(UsedKinds(p.Phases), func(k string) bool { return impair.ClassOf(k) != impair.ClassClient })
	if onNodes && !local && len(s.Nodes) == 0 {
		c.add("system.nodes", "impairments on an existing deployment need system.nodes (its members and the links to impair)")
	}
	if reg == nil {
		return
	}
	setup := impair.Setup{Local: local, Impaired: impaired, Kinds: UsedKinds(p.Phases), Topology: s.Links()}
	for _, e := range reg.Check(s.Impairer, setup) {
		c.add("system."+e.Field, "%s", e.Err.Error())
	}
}

// clientClocks says what client_clock_skew may aim at: the write routes as
// written, and whether drv (nil: not known) can take client timestamps
// with the profile's options.
func clientClocks(p *Profile, drv drivers.Driver) *impair.ClientClockReach {
	r := &impair.ClientClockReach{}
	routes := p.Routes.Writers
	if len(routes) == 0 {
		routes = []string{p.Routes.Write}
	}
	for _, w := range routes {
		if w != RouteAny && w != "" && !slices.Contains(r.Writers, w) {
			r.Writers = append(r.Writers, w)
		}
	}
	if drv == nil {
		return r
	}
	if ct, ok := drv.(drivers.ClientTimestamps); ok {
		if err := ct.ClientTimestamps(p.System.Options); err != nil {
			r.Unsupported = fmt.Errorf("driver %s: %w", drv.Name(), err)
		}
		return r
	}
	r.Unsupported = fmt.Errorf("driver %s cannot take client write timestamps (the database stamps its writes)", drv.Name())
	return r
}

// Impaired reports whether the phase injects faults: impairments, or a
// fault schedule.
func (ph Phase) Impaired() bool { return len(ph.Impairments) > 0 || ph.Faults != nil }

// UsedKinds lists the fault kinds the phases use (impairments and the
// kinds their fault schedules may draw), in first-use order (never nil).
func UsedKinds(phases []Phase) []string {
	out := []string{}
	for _, ph := range phases {
		kinds := make([]string, 0, len(ph.Impairments))
		for _, s := range ph.Impairments {
			kinds = append(kinds, s.Kind)
		}
		if ph.Faults != nil {
			kinds = append(kinds, ph.Faults.Kinds()...)
		}
		for _, k := range kinds {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// members returns the member names a profile can name and whether they are
// known before the run (local cluster: m1…mN; otherwise system.nodes).
func members(p *Profile) ([]string, bool) {
	if p.System.Cluster == ClusterLocal {
		names := make([]string, 0, p.System.Members)
		for i := range p.System.Members {
			names = append(names, fmt.Sprintf("m%d", i+1))
		}
		return names, true
	}
	if len(p.System.Nodes) == 0 {
		return nil, false
	}
	names := make([]string, 0, len(p.System.Nodes))
	for _, n := range p.System.Nodes {
		names = append(names, n.Name)
	}
	return names, true
}

// member checks that name designates a member: a role word or a known name.
func (c *checker) member(path, name string, names []string, known bool) bool {
	if slices.Contains(impair.Roles(), name) || !known || slices.Contains(names, name) {
		return true
	}
	c.add(path, "unknown member %q (want %s)", name, strings.Join(append(impair.Roles(), names...), ", "))
	return false
}

// workload checks the workload section; it returns the workload and
// whether it is valid.
func (c *checker) workload(p *Profile, drv drivers.Driver) (workloads.Spec, bool) {
	spec, errs := workloads.FromProfile(p.Workload)
	for _, fe := range errs {
		c.add("workload."+fe.Field, "%v", fe.Err)
	}
	if len(errs) > 0 {
		return spec, false
	}
	c.driverOps(spec, drv)
	return spec, true
}

// driverOps checks that the driver supports every op kind of the mix.
func (c *checker) driverOps(spec workloads.Spec, drv drivers.Driver) {
	if drv == nil {
		return
	}
	ops := drv.Info().Ops
	if len(ops) == 0 {
		return
	}
	for _, k := range op.Kinds() {
		if spec.Mix[k] <= 0 || slices.Contains(ops, k.String()) {
			continue
		}
		path := "workload.mix." + k.String()
		if k == op.Write && c.has("workload.mix.update") {
			path = "workload.mix.update"
		}
		if !c.has(path) {
			path = "workload.preset"
		}
		c.add(path, "driver %s does not support %s ops (supports %s)", drv.Name(), k, strings.Join(ops, ", "))
	}
}

// load checks the load section: the bounds every model shares here, the
// model's name, keys and options against models (nil: not checked), then
// what only the model knows (Model.Check). valueSize is the workload's
// value size (0 when the workload is invalid) for the write-buffer bound.
func (c *checker) load(p *Profile, valueSize int, models *load.Registry) {
	l := p.Load
	c.workers("load.workers", l.Workers, max(len(p.Levels), 1), valueSize)
	c.maxWorkers(p, valueSize)
	bad := map[string]bool{}
	if c.has("load.rate") || l.Rate != 0 {
		bad[load.KeyRate] = !c.rate("load.rate", l.Rate)
	}
	bad[load.KeyThinkTime] = !c.durationIn("load.think_time", l.ThinkTime, true, MaxThinkTime)
	if models == nil {
		return
	}
	m, err := models.Lookup(l.Model)
	if err != nil {
		c.add("load.model", "unknown value %q (want %s)", l.Model, strings.Join(models.Names(), ", "))
		return
	}
	info := m.Info()
	for _, k := range []string{load.KeyThinkTime, load.KeyRate, load.KeyArrivals, load.KeyOptions} {
		if c.has("load."+k) && !slices.Contains(info.Keys, k) {
			bad[k] = true
			users := models.Using(k)
			if len(users) == 0 {
				users = []string{"none of the registered models"}
			}
			c.add("load."+k, "only applies to model: %s (not to %s)", strings.Join(users, ", "), info.Name)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(l.Options)) {
		if bad[load.KeyOptions] {
			break
		}
		if !slices.ContainsFunc(info.Options, func(o load.Option) bool { return o.Key == k }) {
			bad[load.KeyOptions+"."+k] = true
			c.add("load.options."+k, "unknown option of model %s (known: %s)", info.Name, optionKeys(info.Options))
		}
	}
	fes := m.Check(loadSpec(l))
	for _, fe := range fes {
		if !bad[fe.Field] && !bad[strings.SplitN(fe.Field, ".", 2)[0]] {
			c.add("load."+fe.Field, "%s", fe.Msg)
		}
	}
	if len(fes) == 0 && l.MaxWorkers > 0 && !m.Schedule(loadSpec(l)).Open() {
		c.add("load.max_workers", "only applies to open-loop models (model %s is closed loop: a worker waits for its own op)", info.Name)
	}
}

// optionKeys lists the declared option keys ("none" when there are none).
func optionKeys(opts []load.Option) string {
	if len(opts) == 0 {
		return "none"
	}
	keys := make([]string, len(opts))
	for i, o := range opts {
		keys[i] = o.Key
	}
	return strings.Join(keys, ", ")
}

// workers checks load.workers against MaxSessions (over all scenarios)
// and the write buffers against MaxValueBuffers.
func (c *checker) workers(path string, n, scenarios, valueSize int) {
	const why = "every worker keeps its own histograms, about 1.3 MiB"
	switch {
	case n < 1:
		c.add(path, "must be ≥ 1, got %d", n)
	case n > MaxSessions:
		c.add(path, "at most %d, got %d (%s)", MaxSessions, n, why)
	case n*scenarios > MaxSessions:
		c.add(path, "%d workers × %d scenarios = %d sessions; at most %d in one run (%s)",
			n, scenarios, n*scenarios, MaxSessions, why)
	case int64(n)*int64(scenarios)*int64(valueSize) > MaxValueBuffers:
		c.add(path, "%d workers × %d scenarios × value_size %d B = %d MiB of write buffers; at most %d MiB",
			n, scenarios, valueSize, int64(n)*int64(scenarios)*int64(valueSize)>>20, MaxValueBuffers>>20)
	}
}

// maxWorkers checks load.max_workers when written: at least load.workers,
// bounded as workers are (every possible worker opens its session), open
// loop only, and not in a sharded run (the shards would have to share the
// extra sessions' ids).
func (c *checker) maxWorkers(p *Profile, valueSize int) {
	l := p.Load
	if !c.has("load.max_workers") && l.MaxWorkers == 0 {
		return
	}
	switch {
	case l.MaxWorkers < l.Workers:
		c.add("load.max_workers", "must be ≥ load.workers (%d), got %d", l.Workers, l.MaxWorkers)
	case p.Shard != "":
		c.add("load.max_workers", "not supported in a sharded run (shard %s): set load.workers instead", p.Shard)
	default:
		c.workers("load.max_workers", l.MaxWorkers, max(len(p.Levels), 1), valueSize)
	}
}

// rate checks a target rate (ops/s) is finite and at most MaxRate (whether
// it must be > 0 is the load model's call); it reports whether it is.
func (c *checker) rate(path string, r float64) bool {
	switch {
	case math.IsNaN(r) || math.IsInf(r, 0):
		c.add(path, "want a finite target rate in ops/s, got %v", r)
	case r > MaxRate:
		c.add(path, "at most %g ops/s per scenario, got %g", float64(MaxRate), r)
	default:
		return true
	}
	return false
}

// durationIn checks that d is > 0 (≥ 0 when zeroOK) and at most limit; it
// reports whether it is.
func (c *checker) durationIn(path string, d Duration, zeroOK bool, limit time.Duration) bool {
	switch {
	case d < 0 && zeroOK:
		c.add(path, "must not be negative, got %s", d)
	case d <= 0 && !zeroOK:
		c.add(path, "must be > 0, got %s", d)
	case d.D() > limit:
		c.add(path, "at most %s, got %s", limit, d)
	default:
		return true
	}
	return false
}

func (c *checker) routes(p *Profile) {
	names, known := members(p)
	for _, n := range p.System.Nodes {
		if n.Endpoint != "" {
			names = append(names, n.Endpoint)
		}
	}
	for _, r := range []struct{ path, v string }{{"routes.read", p.Routes.Read}, {"routes.write", p.Routes.Write}} {
		if r.v == RouteAny {
			continue
		}
		if r.v == "" {
			c.add(r.path, "empty route (want any, a role such as leader, or a member name)")
			continue
		}
		c.member(r.path, r.v, names, known)
	}
	c.writers(p, names, known)
	c.splitBrain(p)
}

// splitBrain checks routes.split_brain: several write routes, and a phase
// that partitions the cluster (the phases in which the routes' writers
// write the same keys at the same time).
func (c *checker) splitBrain(p *Profile) {
	if !p.Routes.SplitBrain {
		return
	}
	if len(p.Routes.Writers) < 2 {
		c.add("routes.split_brain", "needs two write routes or more in routes.writers (the writers of each side of the partition)")
	}
	for _, ph := range p.Phases {
		if PartitionPhase(ph) {
			return
		}
	}
	c.add("routes.split_brain", "no phase has a partition impairment: the writers would never write at the same time")
}

// PartitionPhase reports whether ph has a partition impairment: the
// phases in which split-brain writers (routes.split_brain) overlap.
func PartitionPhase(ph Phase) bool {
	for _, im := range ph.Impairments {
		if im.Kind == "partition" {
			return true
		}
	}
	return false
}

// writers checks routes.writers: roles or member names, each once, no
// more than the workers that write through them, instead of routes.write.
func (c *checker) writers(p *Profile, names []string, known bool) {
	ws := p.Routes.Writers
	if len(ws) == 0 {
		if c.has("routes.writers") {
			c.add("routes.writers", "empty list (leave it out, or name two write routes or more)")
		}
		return
	}
	if c.has("routes.write") {
		c.add("routes.writers", "give either routes.write or routes.writers, not both")
	}
	for i, w := range ws {
		path := fmt.Sprintf("routes.writers[%d]", i)
		switch {
		case w == "" || w == RouteAny:
			c.add(path, "want a role such as leader or a member name (the writers' routes are pinned)")
		case slices.Index(ws, w) < i:
			c.add(path, "route %q listed twice", w)
		default:
			c.member(path, w, names, known)
		}
	}
	if p.Load.Workers >= 1 && p.Load.Workers < len(ws) {
		c.add("routes.writers", "%d write routes but load.workers is %d: every route needs a worker of its own", len(ws), p.Load.Workers)
	}
}

func (c *checker) levels(p *Profile, drv drivers.Driver) {
	if len(p.Levels) == 0 {
		c.add("levels", "at least one level set is required (e.g. levels: [{read: linearizable}])")
		return
	}
	seen := map[string]int{}
	for i, ls := range p.Levels {
		path := fmt.Sprintf("levels[%d]", i)
		if len(ls.Levels) == 0 {
			c.add(path, "no level given (e.g. {read: linearizable})")
			continue
		}
		if first, dup := seen[ls.Name]; dup {
			c.add(path, "duplicate scenario name %q (first at %s); give each level set a distinct name", ls.Name, lineRef(p.Levels[first].Line))
		} else {
			seen[ls.Name] = i
		}
		if drv == nil {
			continue
		}
		if err := drv.ValidateLevels(scenarioLevels(ls.Levels)); err != nil {
			c.add(path, "%s: %v", drv.Name(), err)
		}
	}
}

// scenarioLevels copies a level set, with the "read" and "write" keys always
// present (drivers.Levels' contract).
func scenarioLevels(l map[string]string) drivers.Levels {
	out := make(drivers.Levels, len(l)+2)
	out["read"], out["write"] = "", ""
	for k, v := range l {
		out[k] = v
	}
	return out
}

func (c *checker) phases(p *Profile, impairers *impair.Registry, clocks *impair.ClientClockReach) {
	if len(p.Phases) == 0 {
		c.add("phases", "at least one phase is required (e.g. phases: [{name: baseline, duration: 10s}])")
		return
	}
	names, known := members(p)
	seen := map[string]int{}
	var total float64 // seconds: a float sum cannot overflow
	for i, ph := range p.Phases {
		path := fmt.Sprintf("phases[%d]", i)
		switch first, dup := seen[ph.Name]; {
		case ph.Name == "":
			c.add(path+".name", "must not be empty")
		case dup:
			c.add(path+".name", "duplicate phase name %q (first at %s)", ph.Name, lineRef(p.Phases[first].Line))
		default:
			seen[ph.Name] = i
		}
		if ph.Duration == 0 && !c.has(path+".duration") {
			c.add(path, "duration required (e.g. duration: 10s)")
		} else {
			c.durationIn(path+".duration", ph.Duration, false, MaxPhaseDuration)
		}
		if ph.Duration > 0 {
			total += ph.Duration.D().Seconds()
		}
		c.impairments(path, ph.Impairments, p, names, known, impairers, clocks)
		if ph.Duration > 0 {
			c.faults(path, ph, impairEnv(p, names, known, impairers, clocks))
		}
	}
	c.runDuration(p, total)
}

// runDuration checks the planned time of all phases (× scenarios in
// sequential mode), total seconds, against MaxRunDuration.
func (c *checker) runDuration(p *Profile, total float64) {
	what := ""
	if p.Mode == ModeSequential && len(p.Levels) > 1 {
		total *= float64(len(p.Levels))
		what = fmt.Sprintf(" × %d scenarios (sequential)", len(p.Levels))
	}
	if total <= MaxRunDuration.Seconds() {
		return
	}
	shown := "more than 1000h"
	if total < 1000*3600 {
		shown = time.Duration(total * 1e9).Round(time.Second).String()
	}
	c.add("phases", "the phases%s last %s; at most %s in one run", what, shown, MaxRunDuration)
}

// impairments checks one phase's impairments with impair.Validate, at
// their positions under path.
func (c *checker) impairments(path string, specs []Impairment, p *Profile, names []string, known bool, reg *impair.Registry, clocks *impair.ClientClockReach) {
	if len(specs) == 0 {
		return
	}
	env := impairEnv(p, names, known, reg, clocks)
	env.Written = func(i int, key string) bool { return c.has(fmt.Sprintf("%s.impairments[%d].%s", path, i, key)) }
	for _, fe := range impair.Validate(specs, env) {
		ipath := fmt.Sprintf("%s.impairments[%d]", path, fe.Index)
		if fe.Field != "" {
			ipath += "." + fe.Field
		}
		c.add(ipath, "%s", fe.Err.Error())
	}
}

// impairEnv is what validating a phase's faults knows: the members (when
// known), whose processes and client clocks can be reached, and the
// chosen backend (reg nil: not checked).
func impairEnv(p *Profile, names []string, known bool, reg *impair.Registry, clocks *impair.ClientClockReach) impair.CheckEnv {
	env := impair.CheckEnv{Processes: p.System.processReach(), ClientClocks: clocks}
	if known {
		env.Members = names
	}
	if reg != nil {
		env.Backend = reg.CheckerFor(p.System.Impairer.Kind)
	}
	return env
}

// faults checks one phase's fault schedule (phases[i].faults, at path)
// with impair.ValidateSchedule: not with impairments in the same phase
// (a drawn fault's heal would lift them too).
func (c *checker) faults(path string, ph Phase, env impair.CheckEnv) {
	if ph.Faults == nil {
		if c.has(path + ".faults") {
			c.add(path+".faults", "a schedule with no faults: give draw, from (or leave faults out)")
		}
		return
	}
	if len(ph.Impairments) > 0 {
		c.add(path+".faults", "give either impairments or faults in one phase, not both (healing a drawn fault lifts the phase's impairments too)")
	}
	fpath := path + ".faults"
	env.Written = func(_ int, key string) bool { return c.has(fpath + "." + key) }
	for _, fe := range impair.ValidateSchedule(*ph.Faults, ph.Duration.D(), env) {
		c.add(fpath+"."+fe.Field, "%s", fe.Err.Error())
	}
}

func (c *checker) checks(ch Checks) {
	for _, f := range []struct {
		key    string
		v, max int
	}{
		{"linearizable_keys", ch.LinearizableKeys, MaxLinearizableKeys},
		{"max_history", ch.MaxHistory, MaxHistory},
		{"session_moves", ch.SessionMoves, math.MaxInt32},
		{"ring_size", ch.RingSize, MaxRingSize},
	} {
		switch {
		case f.v < 0:
			c.add("checks."+f.key, "must not be negative, got %d", f.v)
		case f.v > f.max:
			c.add("checks."+f.key, "at most %d, got %d", f.max, f.v)
		}
	}
	c.durationIn("checks.check_timeout", ch.CheckTimeout, true, MaxCheckTimeout)
	if len(ch.Probes) > MaxProbes {
		c.add("checks.probes", "at most %d delays, got %d (each is a probe session per scenario)", MaxProbes, len(ch.Probes))
	}
	for i, d := range ch.Probes {
		path := fmt.Sprintf("checks.probes[%d]", i)
		if d < 0 {
			c.add(path, "must not be negative (a delay after the write is acknowledged), got %s", d)
			continue
		}
		c.durationIn(path, d, true, MaxProbeDelay)
	}
}

// peerProxyFrom checks each node's peer_proxy_from: keys name other nodes
// (seen: node name → index), values are proxy names.
func (c *checker) peerProxyFrom(nodes []Node, seen map[string]int) {
	for i, n := range nodes {
		for _, d := range slices.Sorted(maps.Keys(n.PeerProxyFrom)) {
			path := fmt.Sprintf("system.nodes[%d].peer_proxy_from.%s", i, d)
			_, known := seen[d]
			switch {
			case d == n.Name:
				c.add(path, "a node does not dial itself")
			case !known:
				c.add(path, "%q is not a node name (want the name of the node dialing %s)", d, n.Name)
			case n.PeerProxyFrom[d] == "":
				c.add(path, "empty proxy name")
			}
		}
	}
}
