// Package op defines the vocabulary shared by drivers, the runner and the
// recorder: operation kinds, outcome classes and classified errors.
//
// Everything here is immutable and safe for concurrent use.
package op

import (
	"context"
	"errors"
	"fmt"
)

// Kind is the kind of one database operation. Kinds are a closed set so they
// can index dense per-worker arrays on the hot path.
type Kind uint8

// Operation kinds. "write" is YCSB's update: an overwrite of an existing key.
const (
	Read     Kind = iota // read one key
	Write                // overwrite one key (YCSB update)
	Insert               // write a key that did not exist yet
	Scan                 // read a range of keys starting at one key
	RMW                  // read-modify-write: a read then a write of the same key
	CAS                  // compare-and-set on the key's version (LWT, txn, conditional update)
	NumKinds             // number of kinds; not a kind
)

var kindNames = [NumKinds]string{"read", "write", "insert", "scan", "rmw", "cas"}

// String returns the lower-case name used in profiles, labels and results.
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseKind returns the Kind named s ("read", "write", "update" as an alias
// of "write", "insert", "scan", "rmw", "cas").
func ParseKind(s string) (Kind, bool) {
	if s == "update" {
		return Write, true
	}
	for i, n := range kindNames {
		if n == s {
			return Kind(i), true
		}
	}
	return 0, false
}

// Kinds returns every kind in index order.
func Kinds() []Kind {
	out := make([]Kind, NumKinds)
	for i := range out {
		out[i] = Kind(i)
	}
	return out
}

// IsWrite reports whether the kind changes the value of a key.
func (k Kind) IsWrite() bool { return k == Write || k == Insert || k == RMW || k == CAS }

// Class is the outcome class of an operation: OK or one error class. Classes
// are a closed set (they become the `outcome` and `class` metric labels).
type Class uint8

// Outcome classes, as DESIGN.md lists them.
const (
	OK           Class = iota // succeeded
	Timeout                   // client-side deadline or driver timeout with no server verdict
	Unavailable               // server refused: no leader/quorum/primary, not enough replicas alive
	ReadTimeout               // server-side read timeout (coordinator waited for replicas)
	WriteTimeout              // server-side write timeout (write-concern / replica ack timeout)
	Conflict                  // lost a compare-and-set or a transaction conflict
	Other                     // anything else
	NumClasses                // number of classes; not a class
)

var classNames = [NumClasses]string{"ok", "timeout", "unavailable", "read_timeout", "write_timeout", "conflict", "other"}

// String returns the snake_case class name used in labels and results.
func (c Class) String() string {
	if c < NumClasses {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// ParseClass returns the class named s (Class.String), or false.
func ParseClass(s string) (Class, bool) {
	for i, n := range classNames {
		if n == s {
			return Class(i), true
		}
	}
	return 0, false
}

// ErrorClasses returns every class except OK, in index order.
func ErrorClasses() []Class {
	out := make([]Class, 0, NumClasses-1)
	for c := Timeout; c < NumClasses; c++ {
		out = append(out, c)
	}
	return out
}

// Error is an error with its outcome class. Drivers return it (wrapped or
// not) so the runner can count failures by class without parsing text.
type Error struct {
	Class Class
	Err   error
}

// Error implements error.
func (e *Error) Error() string { return e.Class.String() + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of class c wrapping fmt.Errorf(format, args...).
func Errorf(c Class, format string, args ...any) error {
	return &Error{Class: c, Err: fmt.Errorf(format, args...)}
}

// Classify wraps err with class c; nil stays nil.
func Classify(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// ClassOf returns the class of err: OK for nil, the class of the first *Error
// in its chain, Timeout for context.DeadlineExceeded, Other otherwise.
func ClassOf(err error) Class {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return Timeout
	}
	return Other
}
