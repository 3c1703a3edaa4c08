package cassandra

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	gocql "github.com/apache/cassandra-gocql-driver/v2"

	"github.com/pacbench/pacbench/drivers"
)

// Level dimension keys of a Cassandra level set.
const (
	// KeyRead is the consistency level of reads and scans.
	KeyRead = "read"
	// KeyWrite is the consistency level of writes, inserts and the commit
	// phase of a CAS (lightweight transaction).
	KeyWrite = "write"
	// KeySerial is the serial consistency level of the Paxos phase of a
	// CAS.
	KeySerial = "serial"
)

// Default levels when a level set leaves a dimension empty: cqlsh's ONE for
// reads and writes, SERIAL for lightweight transactions.
const (
	DefaultRead   = "ONE"
	DefaultWrite  = "ONE"
	DefaultSerial = "SERIAL"
)

var (
	// readLevels are the read CLs. SERIAL and LOCAL_SERIAL reads are
	// Cassandra's linearizable reads (a Paxos round per read).
	readLevels = []string{"ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM", "SERIAL", "LOCAL_SERIAL"}
	// writeLevels are the write CLs (ANY: a hint is enough).
	writeLevels = []string{"ANY", "ONE", "TWO", "THREE", "QUORUM", "ALL", "LOCAL_ONE", "LOCAL_QUORUM", "EACH_QUORUM"}
	// serialLevels are the serial CLs of the Paxos phase of a CAS.
	serialLevels = []string{"SERIAL", "LOCAL_SERIAL"}
)

// Levels is a parsed Cassandra level set. Plain data: safe to share.
type Levels struct {
	// Read is the CL of reads and scans.
	Read gocql.Consistency
	// Write is the CL of writes and of the commit phase of a CAS.
	Write gocql.Consistency
	// Serial is the serial CL of the Paxos phase of a CAS.
	Serial gocql.Consistency
}

// ParseLevels parses a level set with keys "read", "write" and "serial"
// (values case-insensitive, e.g. "quorum" or "LOCAL_QUORUM"); an empty or
// missing value takes the default (ONE, ONE, SERIAL). Errors wrap
// drivers.ErrInvalidLevel and name the key and value.
func ParseLevels(l drivers.Levels) (Levels, error) {
	for _, k := range sortedKeys(l) {
		if k != KeyRead && k != KeyWrite && k != KeySerial {
			return Levels{}, fmt.Errorf("cassandra: %w: unknown level key %q (want %s, %s or %s)",
				drivers.ErrInvalidLevel, k, KeyRead, KeyWrite, KeySerial)
		}
	}
	var out Levels
	var err error
	if out.Read, err = parseLevel(l, KeyRead, DefaultRead, readLevels); err != nil {
		return Levels{}, err
	}
	if out.Write, err = parseLevel(l, KeyWrite, DefaultWrite, writeLevels); err != nil {
		return Levels{}, err
	}
	if out.Serial, err = parseLevel(l, KeySerial, DefaultSerial, serialLevels); err != nil {
		return Levels{}, err
	}
	return out, nil
}

// parseLevel parses dimension key of l against the allowed names.
func parseLevel(l drivers.Levels, key, def string, allowed []string) (gocql.Consistency, error) {
	v := strings.ToUpper(strings.TrimSpace(l[key]))
	if v == "" {
		v = def
	}
	if !slices.Contains(allowed, v) {
		return 0, fmt.Errorf("cassandra: %w: %s=%q (want one of %s)",
			drivers.ErrInvalidLevel, key, l[key], strings.Join(allowed, " "))
	}
	c, err := gocql.ParseConsistencyWrapper(v)
	if err != nil {
		return 0, fmt.Errorf("cassandra: %w: %s=%q: %w", drivers.ErrInvalidLevel, key, l[key], err)
	}
	return c, nil
}

func sortedKeys(l drivers.Levels) []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AuditLevels implements drivers.Auditor: reads at ALL (every replica
// answers and the newest timestamp wins) or, when the scenario wrote with
// lightweight transactions (cas), at its serial level (a Paxos read that
// completes any accepted proposal, as LWT reads must). The serial level is
// kept, write is not used by the audit.
func (*Driver) AuditLevels(l drivers.Levels, cas bool) drivers.Levels {
	serial := strings.ToUpper(strings.TrimSpace(l[KeySerial]))
	if serial == "" {
		serial = DefaultSerial
	}
	read := "ALL"
	if cas {
		read = serial
	}
	return drivers.Levels{KeyRead: read, KeyWrite: DefaultWrite, KeySerial: serial}
}

// ReplicaLevels implements drivers.Auditor: ONE, coordinated by the node a
// session is pinned to. Which replica answers is the coordinator's choice
// (the snitch's order); see docs/results.md, "audit".
func (*Driver) ReplicaLevels(drivers.Levels) drivers.Levels {
	return drivers.Levels{KeyRead: "ONE", KeyWrite: DefaultWrite, KeySerial: DefaultSerial}
}

var _ drivers.Auditor = (*Driver)(nil)
