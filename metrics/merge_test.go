package metrics

import "testing"

func TestCombineVerdicts(t *testing.T) {
	t.Parallel()
	tr, fa := true, false
	v := func(b *bool) ShardVerdict { return ShardVerdict{Verdict: Verdict{OK: b}} }
	for _, tc := range []struct {
		name  string
		parts []ShardVerdict
		want  string
	}{
		{"none", nil, "null"},
		{"all true", []ShardVerdict{v(&tr), v(&tr)}, "true"},
		{"one false", []ShardVerdict{v(&tr), v(nil), v(&fa)}, "false"},
		{"one unknown", []ShardVerdict{v(&tr), v(nil)}, "null"},
	} {
		got := "null"
		if b := CombineVerdicts(tc.parts); b != nil {
			got = map[bool]string{true: "true", false: "false"}[*b]
		}
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}
