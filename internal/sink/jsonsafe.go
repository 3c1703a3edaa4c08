package sink

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// MarshalJSON encodes v as encoding/json's MarshalIndent(v, "", "  ")
// would, except that every non-finite float (NaN, ±Inf), which
// encoding/json refuses, is written as null. It returns the JSON paths of
// the values it nulled (e.g. "scenarios[0].load.target_rate_ops (+Inf)")
// so that the caller can note them. The encoding is encoding/json's own:
// each non-finite value is swapped for a sentinel number for the duration
// of the call (v is restored before it returns, so v must not be used
// concurrently meanwhile), and the sentinel's text is replaced by null.
// Values inside types with their own MarshalJSON/MarshalText are not
// visited.
func MarshalJSON(v any) ([]byte, []string, error) {
	var w walker
	w.walk(reflect.ValueOf(v), "")
	defer w.restore()
	if len(w.found) == 0 {
		b, err := json.MarshalIndent(v, "", "  ")
		return b, nil, err
	}
	for _, s := range sentinels {
		w.set(s)
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, nil, err
		}
		text64 := []byte(strconv.FormatFloat(s, 'g', -1, 64))
		text32 := []byte(strconv.FormatFloat(float64(float32(s)), 'g', -1, 32))
		n := bytes.Count(b, text64)
		if !bytes.Equal(text32, text64) {
			n += bytes.Count(b, text32)
		}
		if n != len(w.found) {
			continue // the sentinel collides with a real value: try another
		}
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, text64, []byte("null")), text32, []byte("null"))
		notes := make([]string, len(w.found))
		for i, f := range w.found {
			notes[i] = fmt.Sprintf("%s (%v)", f.path, f.old)
		}
		return b, notes, nil
	}
	return nil, nil, errors.New("json: no free sentinel for non-finite values")
}

// sentinels are finite numbers that no measurement produces (tried in order
// until one does not occur in the document).
var sentinels = []float64{-3.1415926e38, -2.7182818e37, -1.6180339e36}

type nonFinite struct {
	path string
	old  float64
	put  func(float64) // sets the value
}

type walker struct {
	found []nonFinite
}

func (w *walker) set(s float64) {
	for _, f := range w.found {
		f.put(s)
	}
}

func (w *walker) restore() {
	for _, f := range w.found {
		f.put(f.old)
	}
}

func nonFiniteFloat(v reflect.Value) bool {
	if k := v.Kind(); k != reflect.Float32 && k != reflect.Float64 {
		return false
	}
	return math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// spliced is implemented by types (report.Phase, report.Op) whose
// MarshalJSON writes their exported fields as encoding/json would, plus
// generated keys: the walker visits their fields.
type spliced interface{ SplicedJSON() }

var splicedType = reflect.TypeFor[spliced]()

func ownEncoding(t reflect.Type) bool {
	if t.Implements(splicedType) {
		return false
	}
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// walk visits v (addressable or not) and records every non-finite float it
// can set, with a setter.
func (w *walker) walk(v reflect.Value, p string) {
	if !v.IsValid() || ownEncoding(v.Type()) {
		return
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if nonFiniteFloat(v) && v.CanSet() {
			w.found = append(w.found, nonFinite{path: p, old: v.Float(), put: v.SetFloat})
		}
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if v.Kind() == reflect.Interface && nonFiniteFloat(e) && v.CanSet() {
			old, t := e.Float(), e.Type()
			w.found = append(w.found, nonFinite{path: p, old: old,
				put: func(f float64) { v.Set(reflect.ValueOf(f).Convert(t)) }})
			return
		}
		w.walk(e, p)
	case reflect.Struct:
		w.walkStruct(v, p)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			w.walk(v.Index(i), fmt.Sprintf("%s[%d]", p, i))
		}
	case reflect.Map:
		w.walkMap(v, p)
	}
}

func (w *walker) walkStruct(v reflect.Value, p string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if f.Anonymous && f.Tag.Get("json") == "" {
			w.walk(v.Field(i), p)
			continue
		}
		w.walk(v.Field(i), join(p, name))
	}
}

// walkMap handles map values, which are not addressable: floats (also in
// interfaces) are set with SetMapIndex, pointers are followed.
func (w *walker) walkMap(v reflect.Value, p string) {
	for _, k := range v.MapKeys() {
		e := v.MapIndex(k)
		kp := join(p, fmt.Sprint(k.Interface()))
		inner := e
		if e.Kind() == reflect.Interface && !e.IsNil() {
			inner = e.Elem()
		}
		if nonFiniteFloat(inner) {
			old, t := inner.Float(), inner.Type()
			w.found = append(w.found, nonFinite{path: kp, old: old,
				put: func(f float64) { v.SetMapIndex(k, reflect.ValueOf(f).Convert(t)) }})
			continue
		}
		w.walk(inner, kp)
	}
}

func join(p, name string) string {
	if p == "" {
		return name
	}
	return p + "." + name
}
