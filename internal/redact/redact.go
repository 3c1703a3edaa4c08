// Package redact finds and hides credentials in addresses: user info in a
// URL's authority (with or without a scheme, percent-encoded or not) and
// secret-named query parameters. Profiles refuse such addresses at
// validation; redaction is the belt for text that reaches logs and files
// anyway. Pure functions, safe for concurrent use.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces each secret.
const Mask = "REDACTED"

// SecretKey matches option and query-parameter names that hold secrets.
var SecretKey = regexp.MustCompile(`(?i)^(.*[_-])?(password|passwd|pwd|pass|secret|secret_?key|token|auth|authorization|api_?key|access_?key|credentials?|sig|signature)$`)

// parts splits an address into scheme ("" if none, with "://" kept),
// authority, and the rest (path, query, fragment).
func parts(s string) (scheme, authority, rest string) {
	if i := strings.Index(s, "://"); i >= 0 {
		scheme, s = s[:i+3], s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		scheme, s = "//", s[2:]
	}
	end := strings.IndexAny(s, "/?#")
	if end < 0 {
		return scheme, s, ""
	}
	return scheme, s[:end], s[end:]
}

// hasUserinfo reports whether an authority carries user info, raw or
// percent-encoded ("%40" for "@").
func hasUserinfo(authority string) bool {
	if strings.Contains(authority, "@") {
		return true
	}
	if dec, err := url.PathUnescape(authority); err == nil && strings.Contains(dec, "@") {
		return true
	}
	return strings.Contains(strings.ToLower(authority), "%40")
}

// secretQuery reports whether the query (or fragment) of rest names a
// secret parameter.
func secretQuery(rest string) bool {
	q := rest
	if i := strings.IndexAny(q, "?#"); i >= 0 {
		q = q[i+1:]
	} else {
		return false
	}
	for _, kv := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' || r == '#' || r == '?' }) {
		k, _, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if SecretKey.MatchString(k) {
			return true
		}
	}
	return false
}

// HasCredentials reports whether s, read as an address (a URL, or
// host:port with optional user info and no scheme), carries credentials:
// user info ("user:password@", "token@"), raw or percent-encoded, or a
// query parameter whose name says it is a secret (password, token, key…).
func HasCredentials(s string) bool {
	_, auth, rest := parts(s)
	return hasUserinfo(auth) || secretQuery(rest)
}

// URL returns s with its user info and secret query values replaced by
// Mask; anything else is left as written.
func URL(s string) string {
	scheme, auth, rest := parts(s)
	if i := strings.LastIndex(auth, "@"); i >= 0 {
		auth = Mask + auth[i:]
	} else if hasUserinfo(auth) {
		auth = Mask
	}
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		rest = rest[:i+1] + redactQuery(rest[i+1:])
	}
	return scheme + auth + rest
}

// redactQuery masks the values of secret-named parameters.
func redactQuery(q string) string {
	var b strings.Builder
	start := 0
	for i := 0; i <= len(q); i++ {
		if i < len(q) && !strings.ContainsRune("&;#?", rune(q[i])) {
			continue
		}
		kv := q[start:i]
		k, _, hasV := strings.Cut(kv, "=")
		dk := k
		if d, err := url.QueryUnescape(k); err == nil {
			dk = d
		}
		if hasV && SecretKey.MatchString(dk) {
			kv = k + "=" + Mask
		}
		b.WriteString(kv)
		if i < len(q) {
			b.WriteByte(q[i])
		}
		start = i + 1
	}
	return b.String()
}
