package profile

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bounds of overrides (-p): the command line is small; these only keep
// hostile input from costing time.
const (
	// MaxOverrides bounds the -p settings of one Parse.
	MaxOverrides = 256
	// MaxPathLen bounds an override's path, in bytes.
	MaxPathLen = 512
	// maxIndex bounds a list index in a path (a profile has far fewer items).
	maxIndex = 100_000
)

// ErrBadOverride: an override is not PATH=VALUE with a well-formed path.
var ErrBadOverride = errors.New("bad override")

// Override is one command-line setting of a profile field, YCSB's
// `-p PATH=VALUE`, applied to the YAML before decoding so that every
// validation applies to the value as if it were in the file. Plain data.
//
// PATH names a field by its YAML keys: dot-separated keys and [i] list
// indexes ("load.rate", "system.endpoints", "levels[0].read",
// "phases[1].duration"); a key is ASCII letters, digits, "_" and "-".
// VALUE is a YAML scalar ("2000", "QUORUM", "5s"; quoting is the shell's),
// a comma-separated list for a list of scalars ("system.endpoints=a:1,b:2",
// "" for an empty list), or YAML flow syntax for anything ("{…}", "[…]":
// "-p 'load={model: open, rate: 500}'"). An index may be one past the last
// item: that appends an item.
type Override struct {
	// Path and Value as parsed from PATH=VALUE.
	Path, Value string
	// Source is how the user wrote it, for messages and the manifest
	// ("-p load.rate=2000", "--sweep load.rate=250..4000x5"); empty means
	// "-p PATH=VALUE".
	Source string
}

// String returns the override as the user wrote it.
func (o Override) String() string {
	if o.Source != "" {
		return o.Source
	}
	return "-p " + o.Path + "=" + o.Value
}

// ParseOverride parses "PATH=VALUE" (the text of one -p). The path is
// checked for syntax here and against the profile's fields by Parse. Errors
// wrap ErrBadOverride and name what is wrong.
func ParseOverride(s string) (Override, error) {
	path, value, ok := strings.Cut(s, "=")
	if !ok {
		return Override{}, fmt.Errorf("%w %q: want PATH=VALUE (e.g. load.rate=2000)", ErrBadOverride, s)
	}
	if _, err := parsePath(path); err != nil {
		return Override{}, err
	}
	if len(value) > MaxSize {
		return Override{}, fmt.Errorf("%w %s: value of %d bytes (at most %d)", ErrBadOverride, path, len(value), MaxSize)
	}
	return Override{Path: path, Value: value}, nil
}

// pathElem is one step of an override path: a mapping key or a list index.
type pathElem struct {
	key   string
	index int // ≥ 0 for an index step
}

func (e pathElem) isIndex() bool { return e.key == "" }

// parsePath splits "a.b[2].c" into its steps. The first step is a key.
func parsePath(s string) ([]pathElem, error) {
	bad := func(why string) ([]pathElem, error) {
		return nil, fmt.Errorf("%w: path %q: %s", ErrBadOverride, s, why)
	}
	switch {
	case s == "":
		return bad("empty (want e.g. load.rate)")
	case len(s) > MaxPathLen:
		return bad(fmt.Sprintf("%d bytes, at most %d", len(s), MaxPathLen))
	}
	var out []pathElem
	for i := 0; i < len(s); {
		switch {
		case s[i] == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return bad("unclosed [")
			}
			digits := s[i+1 : i+end]
			n, err := strconv.Atoi(digits)
			if err != nil || n < 0 || n > maxIndex || digits == "" || (len(digits) > 1 && digits[0] == '0') || digits[0] == '+' {
				return bad(fmt.Sprintf("index [%s] is not a list index (0 to %d)", digits, maxIndex))
			}
			if len(out) == 0 {
				return bad("starts with an index (want a key, e.g. levels[0])")
			}
			out = append(out, pathElem{index: n})
			i += end + 1
		case s[i] == '.' && len(out) == 0:
			return bad("starts with '.'")
		default:
			if s[i] == '.' {
				i++
			} else if len(out) > 0 {
				return bad(fmt.Sprintf("want '.' or '[' after %q", s[:i]))
			}
			j := i
			for j < len(s) && keyByte(s[j]) {
				j++
			}
			if j == i {
				if j < len(s) {
					return bad(fmt.Sprintf("character %q at byte %d (keys are letters, digits, '_' and '-')", s[j], j))
				}
				return bad("ends with '.'")
			}
			out = append(out, pathElem{key: s[i:j], index: -1})
			i = j
		}
	}
	return out, nil
}

func keyByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-'
}

// pathString renders steps back as a path ("levels[0].read").
func pathString(steps []pathElem) string {
	var b strings.Builder
	for _, e := range steps {
		if e.isIndex() {
			fmt.Fprintf(&b, "[%d]", e.index)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(e.key)
	}
	return b.String()
}

// overrideLine marks the nodes an override created: their line is
// -(k+1) for override k, which addAt renders as "override <source>".
func overrideLine(k int) int { return -(k + 1) }

// applyOverrides sets every override in the tree rooted at root (a
// mapping), in order, recording a problem for each that cannot be applied
// (an unknown path, an index out of range, bad flow YAML).
func (c *checker) applyOverrides(root *yaml.Node, ovs []Override) {
	if len(ovs) > MaxOverrides {
		c.addAt(pos{overrideLine(MaxOverrides), 0}, "", fmt.Sprintf("%d overrides, at most %d", len(ovs), MaxOverrides))
		return
	}
	for k, ov := range ovs {
		if err := applyOverride(root, ov, overrideLine(k)); err != nil {
			c.addAt(pos{overrideLine(k), 0}, ov.Path, err.Error())
		}
	}
}

// applyOverride sets ov in the tree rooted at root, walking the Profile's
// types alongside the nodes so that only fields the profile has can be
// set. Nodes it creates carry line.
func applyOverride(root *yaml.Node, ov Override, line int) error {
	steps, err := parsePath(ov.Path)
	if err != nil {
		return err
	}
	t := reflect.TypeOf(Profile{})
	n := root
	for i, st := range steps {
		at := pathString(steps[:i])
		if t, err = stepType(t, st, at); err != nil {
			return err
		}
		last := i == len(steps)-1
		var val *yaml.Node
		if last {
			if val, err = overrideValue(ov.Value, t, line); err != nil {
				return err
			}
		}
		if n, err = stepNode(n, st, at, val, line); err != nil {
			return err
		}
	}
	return nil
}

// stepType returns the type reached from t by st; at names t's path.
func stepType(t reflect.Type, st pathElem, at string) (reflect.Type, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	where := func() string {
		if at == "" {
			return "the profile"
		}
		return at
	}
	if st.isIndex() {
		if t.Kind() != reflect.Slice {
			return nil, fmt.Errorf("unknown path: %s is not a list", where())
		}
		return t.Elem(), nil
	}
	switch {
	case t == levelSetType:
		return reflect.TypeOf(""), nil // name or any level dimension
	case t == durationType || t == impairDurationType:
	case t.Kind() == reflect.Map:
		return t.Elem(), nil
	case t.Kind() == reflect.Struct:
		idx, keys := fieldsOf(t)
		if i, ok := idx[st.key]; ok {
			return t.FieldByIndex(i).Type, nil
		}
		msg, _ := unknownKey(at, st.key, keys)
		return nil, fmt.Errorf("unknown path: %s has no key %s", where(), strings.TrimPrefix(msg, "unknown key "))
	}
	return nil, fmt.Errorf("unknown path: %s is a single value (it has no key %q)", where(), st.key)
}

// stepNode moves from n (the node at path at) by st, creating what is
// missing; when val is set (the last step) it puts val there instead.
// Aliased nodes on the way are copied first, so an override never changes
// what another key's alias refers to.
func stepNode(n *yaml.Node, st pathElem, at string, val *yaml.Node, line int) (*yaml.Node, error) {
	if n.Kind == yaml.AliasNode || isNull(n) {
		repl := emptyFor(st, line)
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			repl = deepCopy(n.Alias, 0)
		}
		*n = *repl
	}
	if st.isIndex() {
		if n.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("cannot set: %s is %s in the file, not a list", at, kindName(n))
		}
		switch {
		case st.index < len(n.Content):
		case st.index == len(n.Content):
			n.Content = append(n.Content, nullNode(line))
		default:
			return nil, fmt.Errorf("index out of range: %s has %d items (an index up to %d sets or appends one)", at, len(n.Content), len(n.Content))
		}
		if val != nil {
			n.Content[st.index] = val
		}
		return n.Content[st.index], nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("cannot set: %s is %s in the file, not a mapping", orProfile(at), kindName(n))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if kn := n.Content[i]; kn.Kind == yaml.ScalarNode && kn.Value == st.key {
			if val != nil {
				n.Content[i], n.Content[i+1] = keyNode(st.key, line), val
			}
			return n.Content[i+1], nil
		}
	}
	if val == nil {
		val = nullNode(line)
	}
	n.Content = append(n.Content, keyNode(st.key, line), val)
	return val, nil
}

func orProfile(at string) string {
	if at == "" {
		return "the profile"
	}
	return at
}

// emptyFor is an empty node of the kind st steps into.
func emptyFor(st pathElem, line int) *yaml.Node {
	if st.isIndex() {
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
	}
	return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line}
}

func nullNode(line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "", Line: line}
}

func keyNode(key string, line int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: line}
}

// scalarNode is a plain scalar holding v, its tag resolved as YAML would
// (2000 an integer, true a boolean, "" null).
func scalarNode(v string, line int) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v, Line: line}
	n.Tag = n.ShortTag()
	return n
}

// overrideValue builds the node of value for a field of type t: YAML flow
// syntax when it starts with { or [, a list of scalars split at commas
// for a list of scalars, else one scalar.
func overrideValue(value string, t reflect.Type, line int) (*yaml.Node, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v := strings.TrimSpace(value); strings.HasPrefix(v, "{") || strings.HasPrefix(v, "[") {
		var doc yaml.Node
		if err := safeUnmarshal([]byte(v), &doc); err != nil {
			return nil, fmt.Errorf("value is not YAML flow syntax: %v", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(doc.Content) != 1 {
			return nil, errors.New("value is not YAML flow syntax")
		}
		n := doc.Content[0]
		markLines(n, line, 0)
		return n, nil
	}
	if t.Kind() == reflect.Slice && t != levelSetType && scalarKind(t.Elem()) {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line}
		if value == "" {
			return seq, nil
		}
		for _, part := range strings.Split(value, ",") {
			seq.Content = append(seq.Content, scalarNode(strings.TrimSpace(part), line))
		}
		return seq, nil
	}
	return scalarNode(value, line), nil
}

func scalarKind(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Int, reflect.Int32, reflect.Int64, reflect.Float32, reflect.Float64, reflect.Bool:
		return true
	}
	return false
}

// markLines gives every node of the tree line (aliases are not followed).
func markLines(n *yaml.Node, line, depth int) {
	if n == nil || depth > maxAliasDepth*64 {
		return
	}
	n.Line, n.Column = line, 0
	for _, c := range n.Content {
		markLines(c, line, depth+1)
	}
}

// deepCopy copies a node tree (aliases inside stay aliases).
func deepCopy(n *yaml.Node, depth int) *yaml.Node {
	cp := *n
	if depth > maxAliasDepth*64 {
		cp.Content = nil
		return &cp
	}
	cp.Content = make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		cp.Content[i] = deepCopy(c, depth+1)
	}
	return &cp
}

// safeUnmarshal is yaml.Unmarshal with a panic in the YAML library turned
// into an error.
func safeUnmarshal(b []byte, out any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return yaml.Unmarshal(b, out)
}
