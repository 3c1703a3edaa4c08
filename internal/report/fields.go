package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Fields is an ordered JSON object: the check measurements of a phase or
// an op, or one group of them, in the order their checks' layouts give.
// Values built by Build are int64 (counters), *float64 (ratios and
// statistics; nil is null: no data), *bool (verdicts; nil is null),
// Fields (a group, or a histogram's statistics), []Fields (buckets) or any
// JSON-marshalable evidence. Decoded from JSON, objects are Fields and
// every other value is a json.RawMessage; the accessors read both.
type Fields []KV

// KV is one key and value of Fields.
type KV struct {
	Key   string
	Value any
}

// MarshalJSON writes the object with its keys in order.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(kv.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(kv.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kv.Key, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads an object keeping its key order (nested objects
// become Fields, other values json.RawMessage).
func (f *Fields) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	out, err := decodeObject(dec)
	if err != nil {
		return err
	}
	*f = out
	return nil
}

func decodeObject(dec *json.Decoder) (Fields, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("report: fields: want an object, got %v", tok)
	}
	out := Fields{}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		var v any = raw
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' {
			var sub Fields
			if err := sub.UnmarshalJSON(t); err != nil {
				return nil, err
			}
			v = sub
		}
		out = append(out, KV{Key: key, Value: v})
	}
	_, err = dec.Token() // '}'
	return out, err
}

// Get returns the value at path (keys of nested objects).
func (f Fields) Get(path ...string) (any, bool) {
	cur := f
	for i, k := range path {
		var v any
		found := false
		for _, kv := range cur {
			if kv.Key == k {
				v, found = kv.Value, true
				break
			}
		}
		if !found {
			return nil, false
		}
		if i == len(path)-1 {
			return v, true
		}
		sub, ok := v.(Fields)
		if !ok {
			return nil, false
		}
		cur = sub
	}
	return nil, false
}

// Int returns the integer at path (false when absent or null).
func (f Fields) Int(path ...string) (int64, bool) {
	v, ok := f.Get(path...)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int64:
		return x, true
	case json.RawMessage:
		var n *int64
		if json.Unmarshal(x, &n) != nil || n == nil {
			return 0, false
		}
		return *n, true
	}
	return 0, false
}

// Float returns the number at path (false when absent or null).
func (f Fields) Float(path ...string) (float64, bool) {
	v, ok := f.Get(path...)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case *float64:
		if x == nil {
			return 0, false
		}
		return *x, true
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case json.RawMessage:
		var n *float64
		if json.Unmarshal(x, &n) != nil || n == nil {
			return 0, false
		}
		return *n, true
	}
	return 0, false
}

// Bool returns the verdict at path: nil when absent or null.
func (f Fields) Bool(path ...string) *bool {
	v, ok := f.Get(path...)
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case *bool:
		return x
	case json.RawMessage:
		var b *bool
		if json.Unmarshal(x, &b) != nil {
			return nil
		}
		return b
	}
	return nil
}

// spliceJSON marshals parts (structs or Fields, each a JSON object) into
// one object: their keys in order. Empty parts add nothing.
func spliceJSON(parts ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	for _, p := range parts {
		raw, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		inner := bytes.TrimSpace(raw)
		inner = bytes.TrimSpace(inner[1 : len(inner)-1])
		if len(inner) == 0 {
			continue
		}
		if n > 0 {
			b.WriteByte(',')
		}
		b.Write(inner)
		n++
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// unspliceJSON decodes b into every fixed part (pointers to structs) and
// returns the keys none of them declares, in order: the check fields.
func unspliceJSON(b []byte, fixed ...any) (Fields, error) {
	known := map[string]bool{}
	for _, p := range fixed {
		if err := json.Unmarshal(b, p); err != nil {
			return nil, err
		}
		for _, k := range jsonKeys(reflect.TypeOf(p).Elem()) {
			known[k] = true
		}
	}
	var all Fields
	if err := all.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	out := Fields{}
	for _, kv := range all {
		if !known[kv.Key] {
			out = append(out, kv)
		}
	}
	return out, nil
}

// jsonKeys returns the JSON keys a struct type's fields are encoded under.
func jsonKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
		case name != "":
			out = append(out, name)
		case f.IsExported():
			out = append(out, f.Name)
		}
	}
	return out
}
