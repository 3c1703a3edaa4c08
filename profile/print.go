package profile

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// YAML renders p as a profile file that parses back to p: its YAML
// keys, zero values (empty strings, 0, 0s, null, empty lists and mappings)
// left out. For people (`pacbench validate -p` prints it); the manifest
// keeps the profile as JSON.
func (p *Profile) YAML() ([]byte, error) {
	var n yaml.Node
	type plain Profile // without this method
	if err := n.Encode((*plain)(p)); err != nil {
		return nil, fmt.Errorf("profile: encode: %w", err)
	}
	prune(&n)
	b, err := yaml.Marshal(&n)
	if err != nil {
		return nil, fmt.Errorf("profile: encode: %w", err)
	}
	return b, nil
}

// prune removes the zero-valued entries of every mapping under n; it
// reports whether n itself is zero.
func prune(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode:
		kept := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			if !prune(n.Content[i+1]) {
				kept = append(kept, n.Content[i], n.Content[i+1])
			}
		}
		n.Content = kept
		return len(kept) == 0
	case yaml.SequenceNode:
		for _, c := range n.Content {
			prune(c)
		}
		return len(n.Content) == 0
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return true
		case "!!int", "!!float":
			return n.Value == "0"
		case "!!str":
			return n.Value == "" || n.Value == "0s"
		}
	}
	return false
}
