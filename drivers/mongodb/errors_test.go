package mongodb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"github.com/pacbench/pacbench/op"
)

// TestClassify maps the error values mongo-driver returns (built here the
// way the driver builds them from server replies) to outcome classes. The
// integration tests check the same mapping against a real server where one
// can produce the condition.
func TestClassify(t *testing.T) {
	t.Parallel()
	wtimeoutInfo, err := bson.Marshal(bson.D{{Key: "wtimeout", Value: true}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want op.Class
	}{
		{"nil", nil, op.OK},
		{"server selection", topology.ServerSelectionError{Wrapped: errors.New("server selection timeout")}, op.Unavailable},
		{"server selection at op deadline", fmt.Errorf("x: %w", topology.ServerSelectionError{Wrapped: context.DeadlineExceeded}), op.Unavailable},
		{"not writable primary", mongo.CommandError{Code: codeNotWritablePrimary, Name: "NotWritablePrimary"}, op.Unavailable},
		{"not primary no secondary ok", mongo.CommandError{Code: codeNotPrimaryNoSecondaryOk}, op.Unavailable},
		{"stepped down", mongo.CommandError{Code: codePrimarySteppedDown}, op.Unavailable},
		{"not writable primary as write error", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: codeNotWritablePrimary}}}, op.Unavailable},
		{"wtimeout code 64", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: codeWriteConcernFailed, Name: "WriteConcernFailed"}}, op.WriteTimeout},
		{"wtimeout errInfo", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 100, Details: wtimeoutInfo}}, op.WriteTimeout},
		{"write concern stepdown", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: codeInterruptedDueToReplStateChange}}, op.Unavailable},
		{"write concern unsatisfiable", mongo.WriteException{WriteConcernError: &mongo.WriteConcernError{Code: 100, Name: "UnsatisfiableWriteConcern"}}, op.Other},
		{"write conflict", mongo.CommandError{Code: codeWriteConflict, Name: "WriteConflict"}, op.Conflict},
		{"write conflict as write error", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: codeWriteConflict}}}, op.Conflict},
		{"duplicate key", mongo.WriteException{WriteErrors: mongo.WriteErrors{{Code: 11000, Message: "E11000 duplicate key"}}}, op.Conflict},
		{"max time expired", mongo.CommandError{Code: codeMaxTimeMSExpired, Wrapped: context.DeadlineExceeded}, op.Timeout},
		{"context deadline", fmt.Errorf("op: %w", context.DeadlineExceeded), op.Timeout},
		{"network error", mongo.CommandError{Labels: []string{"NetworkError"}, Wrapped: io.EOF}, op.Unavailable},
		{"network timeout", mongo.CommandError{Labels: []string{"NetworkError", "NetworkTimeoutError"}}, op.Timeout},
		{"other command error", mongo.CommandError{Code: 2, Name: "BadValue"}, op.Other},
		{"plain", errors.New("boom"), op.Other},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Classify(tc.err); got != tc.want {
				t.Errorf("Classify(%v) = %v, want %v", tc.err, got, tc.want)
			}
			wrapped := classify("op", tc.err)
			if got := op.ClassOf(wrapped); got != tc.want {
				t.Errorf("ClassOf(classify(%v)) = %v, want %v", tc.err, got, tc.want)
			}
			if tc.err != nil && !strings.Contains(wrapped.Error(), tc.err.Error()) {
				t.Errorf("classify lost the cause: %v", wrapped)
			}
		})
	}
}
