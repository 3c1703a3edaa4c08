package profile

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pacbench/pacbench/internal/impair"
)

// Decoding limits: a profile is small; these only stop hostile input
// (alias bombs, self-referencing anchors) from costing time.
const (
	maxNodes      = 100_000 // nodes visited, aliases expanded
	maxAliasDepth = 16      // aliases followed inside one another
)

var (
	durationType = reflect.TypeOf(Duration(0))
	// impairDurationType is the duration of impairment parameters (the
	// impair package owns that part of the schema).
	impairDurationType = reflect.TypeOf(impair.Duration(0))
	levelSetType       = reflect.TypeOf(LevelSet{})
)

// pos is a 1-based position in the source file.
type pos struct{ line, col int }

// decoder fills a Profile from a yaml.Node tree, collecting a problem for
// every key it does not know and every value of the wrong type, and the
// position of every key it decoded (by dotted path, "phases[1].duration").
// Not safe for concurrent use; one per Parse.
type decoder struct {
	c      *checker
	visits int
	full   bool // budget exhausted: reported once, then decoding stops
}

// fail records a decoding problem at n and marks path as undecodable, so
// that validation does not pile consequences on top of it.
func (d *decoder) fail(n *yaml.Node, path, msg string) {
	d.c.addAt(nodePos(n), path, msg)
	d.c.bad[path] = true
}

func nodePos(n *yaml.Node) pos { return pos{n.Line, n.Column} }

// kindName describes a node for "want X, got Y" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	default:
		return "an unexpected node"
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// resolve follows aliases (bounded) and charges the node budget; it returns
// nil when decoding must stop.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth >= maxAliasDepth || n.Alias == nil {
			d.fail(n, path, "alias nested too deeply (or refers to itself)")
			return nil
		}
		n = n.Alias
	}
	if n == nil || d.full {
		return nil
	}
	d.visits++
	if d.visits > maxNodes {
		d.full = true
		d.fail(n, path, fmt.Sprintf("profile too large (more than %d YAML nodes after expanding aliases)", maxNodes))
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// value decodes n into v (addressable). path names v for messages.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n = d.resolve(n, path); n == nil {
		return
	}
	t := v.Type()
	switch {
	case t == durationType || t == impairDurationType:
		d.duration(n, v, path)
		return
	case t == levelSetType:
		d.levelSet(n, v, path)
		return
	case t == thresholdType:
		d.threshold(n, v, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(t.Elem())
		d.value(n, p.Elem(), path)
		v.Set(p)
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	default:
		d.typed(n, v, path)
	}
}

// scalar returns a scalar's text ("" for null) or reports that a scalar was
// wanted.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, fmt.Sprintf("want %s, got %s", want, kindName(n)))
		return "", false
	}
	if isNull(n) {
		return "", true
	}
	return n.Value, true
}

// typed decodes a number or boolean scalar with yaml's own rules.
func (d *decoder) typed(n *yaml.Node, v reflect.Value, path string) {
	var want string
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		want = "an integer"
	case reflect.Float64, reflect.Float32:
		want = "a number"
	case reflect.Bool:
		want = "true or false"
	default:
		d.fail(n, path, fmt.Sprintf("internal: cannot decode %s", v.Type()))
		return
	}
	if n.Kind != yaml.ScalarNode || isNull(n) {
		d.fail(n, path, fmt.Sprintf("want %s, got %s", want, kindName(n)))
		return
	}
	p := reflect.New(v.Type())
	if err := safeDecode(n, p.Interface()); err != nil {
		d.fail(n, path, fmt.Sprintf("want %s, got %q", want, n.Value))
		return
	}
	v.Set(p.Elem())
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	s, ok := d.scalar(n, path, "a duration (e.g. 10s)")
	if !ok || isNull(n) {
		return
	}
	dur, err := parseDuration(s)
	if err != nil {
		d.fail(n, path, err.Error())
		return
	}
	v.Set(reflect.ValueOf(dur).Convert(v.Type()))
}

// pairs walks a mapping node's key/value pairs, reporting non-string and
// duplicate keys, recording each key's position, and calling f for the
// rest. A null node is an empty mapping.
func (d *decoder) pairs(n *yaml.Node, path string, f func(key string, kn, vn *yaml.Node)) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got "+kindName(n))
		return
	}
	seen := map[string]pos{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		if kn.Kind != yaml.ScalarNode || kn.Tag == "!!merge" {
			d.fail(kn, path, "keys must be plain names (no merge keys or complex keys)")
			continue
		}
		key := kn.Value
		if first, dup := seen[key]; dup {
			d.c.addAt(nodePos(kn), join(path, key), fmt.Sprintf("duplicate key (first at %s)", lineRef(first.line)))
			continue
		}
		seen[key] = nodePos(kn)
		d.c.pos[join(path, key)] = nodePos(kn)
		f(key, kn, vn)
	}
}

// fieldsOf maps the YAML keys of struct type t to field index paths (for
// FieldByIndex; tag "-" and untagged fields are not keys, the keys of an
// embedded struct tagged ",inline" are t's own).
func fieldsOf(t reflect.Type) (map[string][]int, []string) {
	idx := map[string][]int{}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" && opts == "inline" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			sub, subKeys := fieldsOf(f.Type)
			for _, k := range subKeys {
				idx[k] = append([]int{i}, sub[k]...)
			}
			keys = append(keys, subKeys...)
			continue
		}
		if tag == "" || tag == "-" {
			continue
		}
		idx[tag] = []int{i}
		keys = append(keys, tag)
	}
	return idx, keys
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	idx, keys := fieldsOf(v.Type())
	var suggested []string
	d.pairs(n, path, func(key string, kn, vn *yaml.Node) {
		i, ok := idx[key]
		if !ok {
			msg, near := unknownKey(path, key, keys)
			d.c.addAt(nodePos(kn), join(path, key), msg)
			if near != "" {
				suggested = append(suggested, join(path, near))
			}
			return
		}
		d.value(vn, v.FieldByIndex(i), join(path, key))
	})
	// A misspelt key stands for the one suggested: if that is absent, do not
	// also report it missing.
	for _, s := range suggested {
		if !d.c.has(s) {
			d.c.bad[s] = true
		}
	}
	setLine(v, n)
}

// setLine records the source line in a struct's Line field, if it has one.
func setLine(v reflect.Value, n *yaml.Node) {
	if f := v.FieldByName("Line"); f.IsValid() && f.Kind() == reflect.Int && f.CanSet() {
		f.SetInt(int64(n.Line))
	}
}

// unknownKey words the problem for an unknown key, suggesting the nearest
// known key (returned, "" if none is close), with a hint for secrets.
func unknownKey(path, key string, known []string) (msg, suggestion string) {
	if path == "system.credentials" && !strings.HasSuffix(key, "_env") {
		return fmt.Sprintf("unknown key %q: credentials are never read from the profile; name an environment variable with %s_env", key, key), ""
	}
	msg = fmt.Sprintf("unknown key %q", key)
	if s, ok := nearest(key, known); ok {
		return msg + fmt.Sprintf(" (did you mean %q?)", s), s
	}
	sorted := append([]string(nil), known...)
	sort.Strings(sorted)
	return msg + " (known: " + strings.Join(sorted, ", ") + ")", ""
}

// nearest returns the known key closest to key in edit distance, if it is
// close enough to be a plausible typo.
func nearest(key string, known []string) (string, bool) {
	best, bestD := "", -1
	for _, k := range known {
		if dist := editDistance(strings.ToLower(key), k); bestD < 0 || dist < bestD {
			best, bestD = k, dist
		}
	}
	limit := max(2, len(key)/3)
	return best, bestD >= 0 && bestD <= limit
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n, path, "internal: map key must be a string")
		return
	}
	m := reflect.MakeMap(t)
	d.pairs(n, path, func(key string, _, vn *yaml.Node) {
		e := reflect.New(t.Elem()).Elem()
		d.value(vn, e, join(path, key))
		m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), e)
	})
	if m.Len() > 0 || !isNull(n) {
		v.Set(m)
	}
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "want a list, got "+kindName(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, en := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.c.pos[p] = nodePos(en)
		d.value(en, s.Index(i), p)
	}
	v.Set(s)
}

// levelSet decodes one level matrix entry: "name" plus dimension: value
// pairs (any scalar; true/1 are kept as written). A scenario with no name
// is named after its values in source order, joined with "/".
func (d *decoder) levelSet(n *yaml.Node, v reflect.Value, path string) {
	ls := LevelSet{Levels: map[string]string{}, Line: n.Line}
	var values []string
	d.pairs(n, path, func(key string, _, vn *yaml.Node) {
		p := join(path, key)
		if vn = d.resolve(vn, p); vn == nil {
			return
		}
		s, ok := d.scalar(vn, p, "a level value (a scalar)")
		if !ok {
			return
		}
		if key == "name" {
			ls.Name = s
			return
		}
		ls.Levels[key] = s
		if s != "" {
			values = append(values, s)
		}
	})
	if ls.Name == "" {
		ls.Name = strings.Join(values, "/")
	}
	v.Set(reflect.ValueOf(ls))
}

// safeDecode is n.Decode with a panic in the YAML library turned into an
// error.
func safeDecode(n *yaml.Node, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return n.Decode(out)
}
