package drivertest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/pacbench/pacbench/drivers"
	"github.com/pacbench/pacbench/op"
	"github.com/pacbench/pacbench/workloads"
)

// valueSizes are the round-trip sizes: the bare header, small, YCSB's
// default 1 KB, and larger than one network packet.
var valueSizes = []int{workloads.HeaderSize, 100, 1000, 64 << 10}

// value returns a pacbench value of size bytes: the header (with every
// field wide enough to hold bytes of every value) and binary padding that
// covers all 256 byte values, NUL included.
func value(key uint64, seq uint64, size int) []byte {
	v := workloads.NewValue(workloads.Header{Key: key, Writer: 0xfffffffe, Seq: seq, Invoke: -1 << 62}, size)
	for i := workloads.HeaderSize; i < len(v); i++ {
		v[i] = byte(i * 7)
	}
	return v
}

// notFound: a key never written reads as not found, no data, the zero
// Version, and no error.
func (k *kit) notFound(t *testing.T) {
	s := k.session(t, k.open(t, k.h.Config), drivers.SessionConfig{})
	v, err := s.Read(opCtx(t, opTimeout), k.key("never-written"))
	if err != nil || v.Found || v.Data != nil || !v.Version.Absent() {
		t.Fatalf("read of a key never written = %+v, %v; want not found, nil data, zero Version, nil error", v, err)
	}
}

// roundTrip: what is written is read back byte for byte, header and
// padding, at every size; an overwrite by a shorter value leaves nothing of
// the longer one; a read names a version.
func (k *kit) roundTrip(t *testing.T) {
	s := k.session(t, k.open(t, k.h.Config), drivers.SessionConfig{})
	for i, size := range valueSizes {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			key := k.key(fmt.Sprintf("rt-%d", size))
			want := value(uint64(i), uint64(1)<<63+uint64(i), size)
			if err := s.Write(opCtx(t, opTimeout), key, want); err != nil {
				t.Fatalf("write: %v", err)
			}
			readBack(t, s, key, want)
			shorter := value(uint64(i), 2, workloads.HeaderSize+1)
			if err := s.Write(opCtx(t, opTimeout), key, shorter); err != nil {
				t.Fatalf("overwrite: %v", err)
			}
			readBack(t, s, key, shorter)
		})
	}
}

// readBack reads key and checks it holds exactly want.
func readBack(t *testing.T, s drivers.Session, key string, want []byte) drivers.Value {
	t.Helper()
	got, err := s.Read(opCtx(t, opTimeout), key)
	if err != nil || !got.Found || got.Version.Absent() {
		t.Fatalf("read after write = found %v, version %+v, %v; want found with a version", got.Found, got.Version, err)
	}
	if !bytes.Equal(got.Data, want) {
		t.Fatalf("read %d bytes, want the %d written (first difference at %d)", len(got.Data), len(want), firstDiff(got.Data, want))
	}
	gh, err1 := workloads.DecodeHeader(got.Data)
	wh, err2 := workloads.DecodeHeader(want)
	if err1 != nil || err2 != nil || gh != wh {
		t.Fatalf("header read back %+v (%v), want %+v", gh, err1, wh)
	}
	return got
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// caser returns s's CAS capability or fails the test.
func caser(t *testing.T, s drivers.Session) drivers.CASer {
	t.Helper()
	c, ok := s.(drivers.CASer)
	if !ok {
		t.Fatalf("session %T: CAS: %v", s, errNotImplemented)
	}
	return c
}

// casTable: the CAS cases every driver must agree on, each followed by a
// read of what is stored.
func (k *kit) casTable(t *testing.T) {
	if !hasOp(k.h.Driver, op.CAS) {
		t.Skipf("driver %s does not advertise cas", k.h.Driver.Name())
	}
	s := k.session(t, k.open(t, k.h.Config), drivers.SessionConfig{})
	cas := caser(t, s)
	key := k.key("cas")
	v1, v2, v3 := value(1, 1, 100), value(1, 2, 100), value(1, 3, 100)
	try := func(name string, expect drivers.Version, next []byte, want bool, stored []byte) drivers.Value {
		t.Helper()
		swapped, err := cas.CAS(opCtx(t, opTimeout), key, expect, next)
		if err != nil || swapped != want {
			t.Fatalf("%s: swapped=%v, %v; want %v, nil", name, swapped, err, want)
		}
		return readBack(t, s, key, stored)
	}
	try("absent → set", drivers.Version{}, v1, true, v1)
	r1 := try("absent again: the key exists", drivers.Version{}, v2, false, v1)
	r2 := try("matching version", r1.Version, v2, true, v2)
	try("stale version", r1.Version, v3, false, v2)
	try("matching version again", r2.Version, v3, true, v3)
	if err := s.Write(opCtx(t, opTimeout), key, v1); err != nil {
		t.Fatal(err)
	}
	try("version from before a plain write", r2.Version, v2, false, v1)
	swapped, err := cas.CAS(opCtx(t, opTimeout), k.key("cas-absent"), r1.Version, v2)
	if err != nil || swapped {
		t.Fatalf("CAS with a version on an absent key: swapped=%v, %v; want false, nil", swapped, err)
	}
	if v, err := s.Read(opCtx(t, opTimeout), k.key("cas-absent")); err != nil || v.Found {
		t.Fatalf("a failed CAS created the key: %+v, %v", v, err)
	}
}

// concurrentCAS: contenders that read the same version race to swap it;
// exactly one wins and its value is stored. A contender whose outcome the
// driver reports as indeterminate (a timeout class: the swap may or may not
// have happened) is tolerated, because the database may not have been able
// to decide in time; then at most one contender wins, and what is stored is
// the winner's value, or, with no winner, a timed-out contender's value or
// the original one. Each round is logged.
func (k *kit) concurrentCAS(t *testing.T) {
	if !hasOp(k.h.Driver, op.CAS) {
		t.Skipf("driver %s does not advertise cas", k.h.Driver.Name())
	}
	const contenders, rounds = 4, 3
	c := k.open(t, k.h.Config)
	ss := make([]drivers.Session, contenders)
	cs := make([]drivers.CASer, contenders)
	for i := range ss {
		ss[i] = k.session(t, c, drivers.SessionConfig{ID: i})
		cs[i] = caser(t, ss[i])
	}
	for round := range rounds {
		key := k.key(fmt.Sprintf("cas-race-%d", round))
		orig := value(9, 1, 100)
		if err := ss[0].Write(opCtx(t, opTimeout), key, orig); err != nil {
			t.Fatal(err)
		}
		base := readBack(t, ss[0], key, orig)
		swapped := make([]bool, contenders)
		errs := make([]error, contenders)
		var wg sync.WaitGroup
		for i, cas := range cs {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
				defer cancel()
				swapped[i], errs[i] = cas.CAS(ctx, key, base.Version, value(9, uint64(10+i), 100))
			})
		}
		wg.Wait()
		if k.h.CASNotAtomic != "" {
			t.Logf("round %d: swapped %v, errors %v", round, swapped, errs)
			continue
		}
		k.judgeRace(t, ss[0], key, orig, swapped, errs)
	}
	if k.h.CASNotAtomic != "" {
		t.Skipf("not checked: %s", k.h.CASNotAtomic)
	}
}

// judgeRace checks one round of concurrentCAS.
func (k *kit) judgeRace(t *testing.T, s drivers.Session, key string, orig []byte, swapped []bool, errs []error) {
	t.Helper()
	var winners, unknown []int
	for i := range swapped {
		switch c := op.ClassOf(errs[i]); {
		case errs[i] == nil && swapped[i]:
			winners = append(winners, i)
		case errs[i] == nil:
		case c == op.Timeout || c == op.WriteTimeout:
			unknown = append(unknown, i)
		default:
			t.Errorf("contender %d: %v (class %s)", i, errs[i], c)
		}
	}
	got, err := s.Read(opCtx(t, opTimeout), key)
	if err != nil {
		t.Fatal(err)
	}
	stored := -1
	for i := range swapped {
		if bytes.Equal(got.Data, value(9, uint64(10+i), 100)) {
			stored = i
		}
	}
	t.Logf("round: winners %v, indeterminate %v, stored value of contender %d (-1: original)", winners, unknown, stored)
	switch {
	case len(winners) > 1:
		t.Fatalf("%d contenders swapped the same version: %v", len(winners), winners)
	case len(winners) == 1 && stored != winners[0]:
		t.Fatalf("contender %d won but the stored value is contender %d's", winners[0], stored)
	case len(winners) == 0 && len(unknown) == 0:
		t.Fatalf("no contender won and none timed out")
	case len(winners) == 0 && stored >= 0 && !slices.Contains(unknown, stored):
		t.Fatalf("no winner, but contender %d's value is stored although it reported a lost comparison", stored)
	case len(winners) == 0 && stored < 0 && !bytes.Equal(got.Data, orig):
		t.Fatalf("no winner and the stored value is nobody's")
	}
}

// scan: Scan honours its limit and counts the keys at or after start in
// the driver's scan order, as the database itself counts them.
func (k *kit) scan(t *testing.T) {
	s := k.session(t, k.open(t, k.h.Config), drivers.SessionConfig{})
	sc, ok := s.(drivers.Scanner)
	if !ok {
		if hasOp(k.h.Driver, op.Scan) {
			t.Fatalf("driver advertises scan but session %T: %v", s, errNotImplemented)
		}
		t.Skip("driver does not scan")
	}
	if k.h.CountFrom == nil {
		t.Fatal("Harness.CountFrom is required for a driver that scans")
	}
	keys := make([]string, 12)
	for i := range keys {
		keys[i] = k.key(fmt.Sprintf("scan-%02d", i))
		if err := s.Write(opCtx(t, opTimeout), keys[i], value(uint64(i), 1, 64)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		start string
		n     int
	}{{keys[0], 1}, {keys[0], 5}, {keys[3], 4}, {keys[7], 100}, {keys[11], 10}, {keys[5], 0}, {keys[2], 10000}} {
		ref, err := k.h.CountFrom(opCtx(t, opTimeout), tc.start)
		if err != nil {
			t.Fatalf("reference count from %q: %v", tc.start, err)
		}
		got, err := sc.Scan(opCtx(t, opTimeout), tc.start, tc.n)
		if want := min(ref, max(tc.n, 0)); err != nil || got != want {
			t.Errorf("Scan(%q, %d) = %d, %v; want %d (the database counts %d keys at or after it)", tc.start, tc.n, got, err, want, ref)
		}
	}
}

func hasOp(d drivers.Driver, k op.Kind) bool { return slices.Contains(d.Info().Ops, k.String()) }
