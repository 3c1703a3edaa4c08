package redact

import (
	"strings"
	"testing"
)

func TestHasCredentialsAndURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in       string
		has      bool
		redacted string
	}{
		{"http://127.0.0.1:8474", false, "http://127.0.0.1:8474"},
		{"127.0.0.1:2379", false, "127.0.0.1:2379"},
		{"http://user:s3cret@127.0.0.1:8474", true, "http://REDACTED@127.0.0.1:8474"},
		{"http://tok3n@127.0.0.1:8474/", true, "http://REDACTED@127.0.0.1:8474/"},
		{"user:s3cret@127.0.0.1:8474", true, "REDACTED@127.0.0.1:8474"},
		{"//user:s3cret@host", true, "//REDACTED@host"},
		{"http://user:s%33cret@127.0.0.1:8474", true, "http://REDACTED@127.0.0.1:8474"},
		{"http://user%3As3cret%40127.0.0.1:8474", true, "http://REDACTED"},
		{"http://127.0.0.1:8474/?password=s3cret", true, "http://127.0.0.1:8474/?password=REDACTED"},
		{"http://127.0.0.1:8474?a=1&api_key=s3cret&b=2", true, "http://127.0.0.1:8474?a=1&api_key=REDACTED&b=2"},
		{"http://127.0.0.1:8474/?Pass%77ord=s3cret", true, "http://127.0.0.1:8474/?Pass%77ord=REDACTED"},
		{"mongodb://h1,h2/?replicaSet=rs0&authSource=admin", false, "mongodb://h1,h2/?replicaSet=rs0&authSource=admin"},
		{"http://127.0.0.1:8474/#token=s3cret", true, "http://127.0.0.1:8474/#token=REDACTED"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := HasCredentials(tc.in); got != tc.has {
				t.Errorf("HasCredentials = %v, want %v", got, tc.has)
			}
			got := URL(tc.in)
			if got != tc.redacted {
				t.Errorf("URL = %q, want %q", got, tc.redacted)
			}
			if strings.Contains(got, "s3cret") || strings.Contains(got, "s%33cret") {
				t.Errorf("URL(%q) = %q still holds the secret", tc.in, got)
			}
		})
	}
}

func FuzzURLNeverKeepsUserinfo(f *testing.F) {
	for _, s := range []string{"http://a:b@c", "a:b@c:1", "x://%40@", "?token=1", "http://[::1]:80/?pwd=x#k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := URL(s)
		_, auth, _ := parts(r)
		if strings.Contains(auth, "@") && !strings.HasPrefix(auth, Mask+"@") {
			t.Fatalf("URL(%q) = %q keeps user info", s, r)
		}
	})
}
