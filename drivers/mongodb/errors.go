package mongodb

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/pacbench/pacbench/op"
)

// MongoDB server error codes the classifier branches on.
const (
	codeHostUnreachable                 = 6
	codeHostNotFound                    = 7
	codeMaxTimeMSExpired                = 50
	codeWriteConcernFailed              = 64 // wtimeout expired
	codeNetworkTimeout                  = 89
	codeShutdownInProgress              = 91
	codeWriteConflict                   = 112
	codeReadConcernMajorityNotAvailable = 134
	codePrimarySteppedDown              = 189
	codeExceededTimeLimit               = 262
	codeNotWritablePrimary              = 10107
	codeInterruptedDueToReplStateChange = 11602
	codeNotPrimaryNoSecondaryOk         = 13435
	codeNotPrimaryOrSecondary           = 13436
	codeInterruptedAtShutdown           = 11600
)

// unavailableCodes: the server refused because no suitable member could
// serve (no primary, stepping down, not yet able to read at majority).
var unavailableCodes = []int{
	codeHostUnreachable, codeHostNotFound, codeShutdownInProgress,
	codeReadConcernMajorityNotAvailable, codePrimarySteppedDown,
	codeNotWritablePrimary, codeInterruptedDueToReplStateChange,
	codeNotPrimaryNoSecondaryOk, codeNotPrimaryOrSecondary, codeInterruptedAtShutdown,
}

// timeoutCodes: the op's deadline (sent as maxTimeMS) ran out on the server.
var timeoutCodes = []int{codeMaxTimeMSExpired, codeExceededTimeLimit, codeNetworkTimeout}

// Classify returns the outcome class of an error from mongo-driver:
//
//   - unavailable: server selection failed (no primary, no member matching
//     the read preference, nothing reachable — even when the wait ended at
//     the op's deadline), not-writable-primary and other "cannot serve now"
//     codes, and network errors (refused, reset) with no server verdict;
//   - write_timeout: a write concern error reporting wtimeout (code 64 or
//     errInfo.wtimeout);
//   - conflict: WriteConflict (112) and duplicate keys (11000);
//   - timeout: the context deadline, socket timeouts, maxTimeMS expiry;
//   - other: anything else.
func Classify(err error) op.Class {
	if err == nil {
		return op.OK
	}
	if errors.As(err, new(topology.ServerSelectionError)) {
		return op.Unavailable
	}
	var we mongo.WriteException
	if errors.As(err, &we) && we.WriteConcernError != nil {
		wce := we.WriteConcernError
		switch {
		case wce.Code == codeWriteConcernFailed || wtimeoutInfo(wce):
			return op.WriteTimeout
		case slices.Contains(unavailableCodes, wce.Code):
			return op.Unavailable
		case slices.Contains(timeoutCodes, wce.Code):
			return op.Timeout
		}
	}
	if mongo.IsDuplicateKeyError(err) {
		return op.Conflict
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		codes := se.ErrorCodes()
		switch {
		case slices.Contains(codes, codeWriteConflict):
			return op.Conflict
		case slices.ContainsFunc(codes, func(c int) bool { return slices.Contains(unavailableCodes, c) }):
			return op.Unavailable
		case slices.ContainsFunc(codes, func(c int) bool { return slices.Contains(timeoutCodes, c) }):
			return op.Timeout
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || mongo.IsTimeout(err) {
		return op.Timeout
	}
	if mongo.IsNetworkError(err) {
		return op.Unavailable
	}
	return op.Other
}

// wtimeoutInfo reports whether a write concern error's errInfo says
// {wtimeout: true}.
func wtimeoutInfo(wce *mongo.WriteConcernError) bool {
	if len(wce.Details) == 0 {
		return false
	}
	b, ok := wce.Details.Lookup("wtimeout").BooleanOK()
	return ok && b
}

// classify wraps err with its class and the driver's context; nil stays nil.
func classify(what string, err error) error {
	if err == nil {
		return nil
	}
	return op.Classify(Classify(err), fmt.Errorf("mongodb: %s: %w", what, err))
}
