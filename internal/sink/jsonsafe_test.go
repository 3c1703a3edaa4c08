package sink

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

type inner struct {
	V float64 `json:"v"`
}

type doc struct {
	A     float64            `json:"a"`
	B     float32            `json:"b,omitempty"`
	P     *float64           `json:"p"`
	S     []float64          `json:"s"`
	M     map[string]float64 `json:"m"`
	I     any                `json:"i"`
	MI    map[string]any     `json:"mi"`
	N     *inner             `json:"n"`
	Skip  float64            `json:"-"`
	D     time.Duration      `json:"d"`
	Plain float64
}

func TestMarshalJSONNonFinite(t *testing.T) {
	t.Parallel()
	inf, nan, ninf := math.Inf(1), math.NaN(), math.Inf(-1)
	cases := []struct {
		name  string
		doc   func() *doc
		nulls []string // JSON paths written as null
	}{
		{"finite: same as encoding/json", func() *doc {
			p := 2.5
			return &doc{A: 1, P: &p, S: []float64{1, 2}, M: map[string]float64{"x": 3}, I: 4.0, N: &inner{V: 5}}
		}, nil},
		{"top-level +Inf", func() *doc { return &doc{A: inf} }, []string{"a (+Inf)"}},
		{"NaN behind a pointer", func() *doc { return &doc{P: &nan} }, []string{"p (NaN)"}},
		{"-Inf in a slice", func() *doc { return &doc{S: []float64{1, ninf, 3}} }, []string{"s[1] (-Inf)"}},
		{"map value", func() *doc { return &doc{M: map[string]float64{"rate": inf}} }, []string{"m.rate (+Inf)"}},
		{"interface", func() *doc { return &doc{I: nan} }, []string{"i (NaN)"}},
		{"interface in a map", func() *doc { return &doc{MI: map[string]any{"q": ninf}} }, []string{"mi.q (-Inf)"}},
		{"float32", func() *doc { return &doc{B: float32(math.Inf(1))} }, []string{"b (+Inf)"}},
		{"nested struct, several", func() *doc { return &doc{N: &inner{V: nan}, A: inf, Plain: ninf} },
			[]string{"a (+Inf)", "n.v (NaN)", "Plain (-Inf)"}},
		{"ignored field", func() *doc { return &doc{Skip: nan} }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := tc.doc()
			got, notes, err := MarshalJSON(d)
			if err != nil {
				t.Fatalf("MarshalJSON: %v", err)
			}
			if !json.Valid(got) {
				t.Fatalf("invalid JSON:\n%s", got)
			}
			if len(notes) != len(tc.nulls) {
				t.Fatalf("notes %q, want %q", notes, tc.nulls)
			}
			for _, want := range tc.nulls {
				found := false
				for _, n := range notes {
					found = found || n == want
				}
				if !found {
					t.Errorf("notes %q lack %q", notes, want)
				}
			}
			if tc.nulls == nil && d.Skip == 0 {
				want, err := json.MarshalIndent(d, "", "  ")
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("differs from encoding/json (%v):\n%s\nwant\n%s", err, got, want)
				}
			}
			var back map[string]any
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatal(err)
			}
			if tc.name == "top-level +Inf" && back["a"] != nil {
				t.Errorf("a = %v, want null", back["a"])
			}
			// The caller's value is restored.
			if again := tc.doc(); tc.nulls != nil && !sameFloats(d, again) {
				t.Errorf("value not restored: %+v", d)
			}
		})
	}
}

func sameFloats(a, b *doc) bool {
	eq := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	ok := eq(a.A, b.A) && eq(float64(a.B), float64(b.B)) && eq(a.Plain, b.Plain)
	if a.P != nil {
		ok = ok && eq(*a.P, *b.P)
	}
	for i := range a.S {
		ok = ok && eq(a.S[i], b.S[i])
	}
	for k := range a.M {
		ok = ok && eq(a.M[k], b.M[k])
	}
	if f, isF := a.I.(float64); isF {
		ok = ok && eq(f, b.I.(float64))
	}
	if a.N != nil {
		ok = ok && eq(a.N.V, b.N.V)
	}
	return ok
}

// TestMarshalJSONSentinelCollision: a document that happens to hold the
// first sentinel still encodes exactly.
func TestMarshalJSONSentinelCollision(t *testing.T) {
	t.Parallel()
	d := &doc{A: sentinels[0], S: []float64{math.Inf(1)}}
	got, notes, err := MarshalJSON(d)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		A float64    `json:"a"`
		S []*float64 `json:"s"`
	}
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.A != sentinels[0] || len(back.S) != 1 || back.S[0] != nil || len(notes) != 1 {
		t.Errorf("a=%v s=%v notes=%q:\n%s", back.A, back.S, notes, got)
	}
	if !strings.Contains(notes[0], "s[0]") {
		t.Errorf("note %q", notes[0])
	}
}
