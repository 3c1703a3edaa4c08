// Package testenv decides what an integration test does when the real server
// it needs is missing: in CI (CI=true) the test fails, elsewhere it skips with
// a message saying how to get the server. Never let CI pass by skipping.
package testenv

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"testing"
)

// InCI reports whether the CI environment variable is set to a true value.
func InCI() bool {
	v, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && v
}

// Require returns the value of the environment variable name. When it is
// empty the test fails in CI and is skipped elsewhere; howto tells the user
// how to provide the server (e.g. "run scripts/cassandra.sh start").
func Require(t testing.TB, name, howto string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	Missing(t, name+" is not set: "+howto)
	return ""
}

// Missing fails the test in CI and skips it elsewhere, with msg.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if InCI() {
		t.Fatalf("required test server missing in CI: %s", msg)
	}
	t.Skipf("skipping: %s", msg)
}

// Short skips long integration tests under -short (never in CI).
func Short(t testing.TB) {
	t.Helper()
	if testing.Short() && !InCI() {
		t.Skip("skipping integration test in -short mode")
	}
}

// SyncBuffer is a goroutine-safe bytes.Buffer for capturing the output of
// a command or run that writes from several goroutines while a test polls it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write implements io.Writer.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
