// Package owner ties what pacbench leaves on disk to the process that made
// it: a pid together with that process's start time (clock ticks since
// boot, field 22 of /proc/<pid>/stat), so that a reused pid is never
// mistaken for the owner, and tells when that process is provably gone.
// Pure functions over /proc; safe for concurrent use.
package owner

import (
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// Proc identifies one process for its lifetime.
type Proc struct {
	PID   int
	Start uint64
}

// Self is the calling process.
func Self() Proc {
	pid := os.Getpid()
	return Proc{PID: pid, Start: Start(pid)}
}

// Of returns pid with its start time (0 if it cannot be read).
func Of(pid int) Proc { return Proc{PID: pid, Start: Start(pid)} }

// Start returns a process's start time in clock ticks since boot, or 0 if
// it cannot be read (no such process, no /proc).
func Start(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 { // fields 3…22
		return 0
	}
	v, _ := strconv.ParseUint(f[19], 10, 64)
	return v
}

// Gone reports whether p is provably gone: /proc is readable (the caller
// sees itself), p is not the caller, and its pid either does not exist or
// is a different process (another start time). Where that cannot be proved
// it reports false: leave its things alone.
func (p Proc) Gone() bool {
	if Start(os.Getpid()) == 0 {
		return false // no /proc: cannot prove anything
	}
	if p.PID == os.Getpid() || p.PID <= 0 {
		return false
	}
	_, err := os.Stat("/proc/" + strconv.Itoa(p.PID))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	now := Start(p.PID)
	if now != 0 && now != p.Start {
		return true
	}
	// Same process still there, unless it is a zombie nobody reaped.
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
	i := strings.LastIndexByte(string(b), ')')
	return err == nil && i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// State returns the state letter of pid (field 3 of /proc/<pid>/stat: R
// running, S/D sleeping, T stopped by a signal, t stopped by tracing, Z
// zombie, X dead), or 0 if it cannot be read (no such process, no /proc).
func State(pid int) byte {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// Stopped reports whether pid is stopped by a signal (SIGSTOP) or by
// tracing.
func Stopped(pid int) bool {
	s := State(pid)
	return s == 'T' || s == 't'
}
