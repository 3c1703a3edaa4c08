package profile

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Sources of an expanded variable, in Profile.Env.
const (
	EnvFromEnvironment = "environment" // ${NAME} or ${NAME:-d} with NAME set
	EnvFromDefault     = "default"     // ${NAME:-d} with NAME unset or empty
)

// errEnv is the base of the expansion problems (one message each).
var errEnv = errors.New("environment expansion")

// expandEnv expands the references in s: ${NAME} is the variable's value
// (an error if it is unset; set but empty is ""), ${NAME:-default} is its
// value, or default when it is unset or empty, and $$ is one literal $. A
// $ followed by anything else is itself. NAME is ASCII letters, digits and
// "_", not starting with a digit; default is any text without "}" (no
// nesting). used receives each name with where its value came from. It
// never panics.
func expandEnv(s string, lookup func(string) (string, bool), used func(name, from string)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
			continue
		case '{':
		default:
			b.WriteByte('$')
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return "", fmt.Errorf("%w: unterminated ${ at byte %d (want ${NAME} or ${NAME:-default}; $$ is a literal $)", errEnv, i)
		}
		ref := s[i+2 : i+2+end]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !envName.MatchString(name) {
			return "", fmt.Errorf("%w: ${%s}: %q is not a variable name (ASCII letters, digits and _, not starting with a digit)", errEnv, truncate(ref, 40), truncate(name, 40))
		}
		v, ok := "", false
		if lookup != nil {
			v, ok = lookup(name)
		}
		switch {
		case hasDef && (!ok || v == ""):
			v = def
			used(name, EnvFromDefault)
		case !ok:
			return "", fmt.Errorf("%w: ${%s}: environment variable %s is not set (give a default: ${%s:-value})", errEnv, name, name, name)
		default:
			used(name, EnvFromEnvironment)
		}
		b.WriteString(v)
		i += 2 + end
	}
	return b.String(), nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// expandTree expands the environment references in every scalar value of
// the tree at n (mapping keys are left as written; aliases are expanded
// where their anchor is), recording a problem at the scalar for each
// failure. An expanded scalar's type is resolved again from its new text,
// quoted or not (rate: "${RATE}" is a number when RATE is one), unless it
// has an explicit tag (!!str). It returns the variables used.
func (c *checker) expandTree(root *yaml.Node, lookup func(string) (string, bool)) map[string]string {
	used := map[string]string{}
	record := func(name, from string) {
		if used[name] != EnvFromEnvironment { // environment wins over default in the record
			used[name] = from
		}
	}
	visits := 0
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if visits++; visits > maxNodes || depth > maxNodes {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], join(path, n.Content[i].Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				walk(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		case yaml.ScalarNode:
			out, err := expandEnv(n.Value, lookup, record)
			if err != nil {
				c.addAt(nodePos(n), path, strings.TrimPrefix(err.Error(), errEnv.Error()+": "))
				return
			}
			if out != n.Value && n.Style&yaml.TaggedStyle == 0 {
				// The expanded text's own type: rate: "${RATE}" (quoted, as
				// YAML's flow syntax needs) is a number when RATE is one.
				plain := yaml.Node{Kind: yaml.ScalarNode, Value: out}
				n.Value, n.Style, n.Tag = out, 0, plain.ShortTag()
			} else {
				n.Value = out
			}
		}
	}
	walk(root, "", 0)
	if len(used) == 0 {
		return nil
	}
	return used
}
