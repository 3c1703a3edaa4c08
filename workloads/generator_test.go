package workloads

import (
	"math"
	"slices"
	"testing"

	"github.com/pacbench/pacbench/op"
)

// within reports whether an observed frequency got is within 5 binomial
// standard deviations of p over n draws.
func within(got, p float64, n int) bool {
	return math.Abs(got-p) <= 5*math.Sqrt(p*(1-p)/float64(n))+1e-12
}

// keyCounts draws n ops and counts their keys (all kinds).
func keyCounts(t *testing.T, g *Generator, ks *Keyspace, n int) []int {
	t.Helper()
	counts := make([]int, ks.Capacity())
	for range n {
		o := g.Next()
		if o.Key >= ks.Limit() {
			t.Fatalf("key %d ≥ limit %d", o.Key, ks.Limit())
		}
		counts[o.Key]++
	}
	return counts
}

// topKeys returns the k keys with the highest counts, hottest first.
func topKeys(counts []int, k int) []uint64 {
	idx := make([]uint64, len(counts))
	for i := range idx {
		idx[i] = uint64(i)
	}
	slices.SortStableFunc(idx, func(a, b uint64) int { return counts[b] - counts[a] })
	return idx[:k]
}

// ackInserts reserves and acknowledges n inserts, as a runner does.
func ackInserts(t *testing.T, ks *Keyspace, n int) {
	t.Helper()
	for range n {
		i, ok := ks.NextInsert()
		if !ok {
			t.Fatal("headroom exhausted")
		}
		ks.AckInsert(i)
	}
}

func TestPresetMixFrequencies(t *testing.T) {
	t.Parallel()
	const n = 200_000
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, errs := FromProfile(Config{Preset: name})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			ks := NewKeyspace(s)
			g := NewGenerator(s, ks, 42)
			var kinds [op.NumKinds]int
			var scanSum int
			for range n {
				o := g.Next()
				kinds[o.Kind]++
				if o.Key >= ks.Limit() {
					t.Fatalf("key %d ≥ limit %d", o.Key, ks.Limit())
				}
				if o.Kind == op.Scan {
					if o.ScanLen < 1 || o.ScanLen > 100 {
						t.Fatalf("scan length %d outside 1..100", o.ScanLen)
					}
					scanSum += o.ScanLen
				} else if o.ScanLen != 0 {
					t.Fatalf("%s with scan length %d", o.Kind, o.ScanLen)
				}
			}
			for k := range op.NumKinds {
				if got := float64(kinds[k]) / n; !within(got, s.Mix[k], n) {
					t.Errorf("%s: frequency %.4f, mix %.4f", k, got, s.Mix[k])
				}
			}
			if kinds[op.Scan] > 0 {
				// YCSB E: scan length uniform on 1..100, mean 50.5, sd 28.9.
				mean := float64(scanSum) / float64(kinds[op.Scan])
				if math.Abs(mean-50.5) > 5*28.9/math.Sqrt(float64(kinds[op.Scan])) {
					t.Errorf("mean scan length %.2f, want 50.5", mean)
				}
			}
		})
	}
}

func TestScrambledZipfian(t *testing.T) {
	t.Parallel()
	const n, records = 1_000_000, 1000
	s := spec(t, func(s *Spec) { s.Records = records })
	ks := NewKeyspace(s)
	counts := keyCounts(t, NewGenerator(s, ks, 1), ks, n)

	// The hottest keys are the hashes of the hottest ranks, scattered over
	// the key space rather than clustered at 0, 1, 2, …
	var hot []uint64
	for r := range uint64(10) {
		hot = append(hot, fnv64(r)%records)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(hot)))) != 10 {
		t.Fatalf("test assumption: ranks 0-9 hash to distinct keys, got %v", hot)
	}
	top := topKeys(counts, 10)
	if !slices.Equal(slices.Sorted(slices.Values(top)), slices.Sorted(slices.Values(hot))) {
		t.Errorf("10 hottest keys %v, want the hashed ranks %v", top, hot)
	}
	if top[0] != hot[0] {
		t.Errorf("hottest key %d, want fnv(0) mod %d = %d", top[0], records, hot[0])
	}
	if spread := slices.Max(hot) - slices.Min(hot); spread < records/2 {
		t.Errorf("hot keys %v not scattered (spread %d)", hot, spread)
	}

	// Frequency profile: the hottest keys carry their ranks' zipfian mass
	// over 10^10 items (ranks 0 and 1 are exact in Gray's method) plus the
	// background of the scattered tail, estimated by the median key.
	zn := zeta(scrambledItems, 0.99)
	med := slices.Sorted(slices.Values(counts[:records]))[records/2]
	bg := float64(med) / n
	for r, p := range []float64{1 / zn, math.Pow(0.5, 0.99) / zn} {
		got := float64(counts[hot[r]]) / n
		if !within(got, p+bg, n) {
			t.Errorf("key of rank %d: frequency %.5f, theory %.5f + background %.5f", r, got, p, bg)
		}
	}
	if bg < 0.3/records || bg > 1.0/records {
		t.Errorf("background %.6f per key: the tail is not spread over the keys", bg)
	}
}

// Inserts never move which keys are hot: the scrambled zipfian hashes onto
// a fixed key space and redraws keys that do not exist yet.
func TestScrambledZipfianStableUnderInserts(t *testing.T) {
	t.Parallel()
	const records = 1000
	s := spec(t, func(s *Spec) { s.Records = records; s.InsertHeadroom = records })
	ks := NewKeyspace(s)
	space := uint64(2 * records)
	hottest := func(limit uint64) uint64 { // the hottest rank's key among existing keys
		for r := range uint64(100) {
			if k := fnv64(r) % space; k < limit {
				return k
			}
		}
		t.Fatal("no hot rank exists")
		return 0
	}
	g := NewGenerator(s, ks, 9)
	before := topKeys(keyCounts(t, g, ks, 300_000), 1)[0]
	if before != hottest(records) {
		t.Errorf("hottest key before inserts %d, want %d", before, hottest(records))
	}
	ackInserts(t, ks, records)
	after := keyCounts(t, g, ks, 300_000)
	if got := topKeys(after, 1)[0]; got != hottest(space) {
		t.Errorf("hottest key after inserts %d, want %d", got, hottest(space))
	}
	var newKeys int
	for k := records; k < 2*records; k++ {
		newKeys += after[k]
	}
	if newKeys == 0 {
		t.Error("inserted keys are never chosen")
	}
}

func TestLatestFavoursRecentInserts(t *testing.T) {
	t.Parallel()
	const n = 500_000
	s := spec(t, func(s *Spec) {
		s.Records = 1000
		s.Distribution = Latest
		s.Mix = [op.NumKinds]float64{op.Read: 1}
		s.InsertHeadroom = 200
	})
	ks := NewKeyspace(s)
	g := NewGenerator(s, ks, 5)
	ackInserts(t, ks, 100)
	// An insert reserved after 1100 and acked out of order stays invisible.
	pending, _ := ks.NextInsert()
	late, _ := ks.NextInsert()
	ks.AckInsert(late)
	if ks.Limit() != 1100 {
		t.Fatalf("limit %d, want 1100", ks.Limit())
	}
	counts := keyCounts(t, g, ks, n)
	zn := zetaSum(0, 1100, 0.99, 0)
	if g.keyZipf.count != 1100 || math.Abs(g.keyZipf.zetan-zn) > 1e-12*zn {
		t.Errorf("zeta not grown incrementally: count %d zetan %v, want 1100 %v", g.keyZipf.count, g.keyZipf.zetan, zn)
	}
	if top := topKeys(counts, 3); !slices.Equal(top, []uint64{1099, 1098, 1097}) {
		t.Errorf("hottest keys %v, want the latest inserts 1099, 1098, 1097", top)
	}
	for i, p := range []float64{1 / zn, math.Pow(0.5, 0.99) / zn} {
		if got := float64(counts[1099-i]) / n; !within(got, p, n) {
			t.Errorf("key %d: frequency %.5f, theory %.5f", 1099-i, got, p)
		}
	}
	var recent int
	for k := 990; k < 1100; k++ {
		recent += counts[k]
	}
	if float64(recent)/n < 0.5 {
		t.Errorf("the latest 10%% of keys get %.2f of reads, want > 0.5", float64(recent)/n)
	}
	ks.AckInsert(pending)
	counts = keyCounts(t, g, ks, 100_000)
	if top := topKeys(counts, 1)[0]; top != late {
		t.Errorf("after acking %d, hottest key %d, want %d", pending, top, late)
	}
}

func TestHotspot(t *testing.T) {
	t.Parallel()
	const n = 500_000
	for _, tc := range []struct {
		name             string
		records          int
		data, ops        float64
		hotKeys          uint64
		wantHotFrequency float64
	}{
		{"ycsb defaults", 1000, 0.2, 0.8, 200, 0.8},
		{"all ops hot", 1000, 0.1, 1, 100, 1},
		{"tiny keyspace keeps one hot key", 3, 0.2, 0.8, 1, 0.8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := spec(t, func(s *Spec) {
				s.Records = tc.records
				s.Distribution = Hotspot
				s.HotspotDataFraction, s.HotspotOpFraction = tc.data, tc.ops
			})
			ks := NewKeyspace(s)
			counts := keyCounts(t, NewGenerator(s, ks, 11), ks, n)
			var hot int
			for k := range tc.hotKeys {
				hot += counts[k]
			}
			if got := float64(hot) / n; !within(got, tc.wantHotFrequency, n) {
				t.Errorf("hot set frequency %.4f, want %.2f", got, tc.wantHotFrequency)
			}
			// Uniform inside the hot set: its first and last key are as
			// likely as each other.
			p := tc.wantHotFrequency / float64(tc.hotKeys)
			for _, k := range []uint64{0, tc.hotKeys - 1} {
				if got := float64(counts[k]) / n; !within(got, p, n) {
					t.Errorf("hot key %d: frequency %.5f, want %.5f", k, got, p)
				}
			}
		})
	}
}

func TestSequentialWraps(t *testing.T) {
	t.Parallel()
	s := spec(t, func(s *Spec) { s.Records = 5; s.Distribution = Sequential; s.InsertHeadroom = 5 })
	ks := NewKeyspace(s)
	g := NewGenerator(s, ks, 1)
	var got []uint64
	for range 12 {
		got = append(got, g.Next().Key)
	}
	if want := []uint64{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1}; !slices.Equal(got, want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	ackInserts(t, ks, 2) // keys 5 and 6 now exist
	got = got[:0]
	for range 8 {
		got = append(got, g.Next().Key)
	}
	if want := []uint64{2, 3, 4, 5, 6, 0, 1, 2}; !slices.Equal(got, want) {
		t.Fatalf("after inserts keys %v, want %v", got, want)
	}
}

func TestUniformCoversExistingKeys(t *testing.T) {
	t.Parallel()
	const n = 200_000
	s := spec(t, func(s *Spec) { s.Records = 100; s.Distribution = Uniform; s.InsertHeadroom = 100 })
	ks := NewKeyspace(s)
	g := NewGenerator(s, ks, 3)
	counts := keyCounts(t, g, ks, n)
	for k := range 100 {
		if got := float64(counts[k]) / n; !within(got, 0.01, n) {
			t.Errorf("key %d: frequency %.4f, want 0.01", k, got)
		}
	}
	ackInserts(t, ks, 100)
	counts = keyCounts(t, g, ks, n)
	if got := float64(counts[150]) / n; !within(got, 0.005, n) {
		t.Errorf("inserted key 150: frequency %.4f, want 0.005", got)
	}
}

func TestInsertBecomesWriteWhenHeadroomExhausted(t *testing.T) {
	t.Parallel()
	s := spec(t, func(s *Spec) {
		s.Records = 10
		s.Mix = [op.NumKinds]float64{op.Insert: 1}
		s.InsertHeadroom = 2
	})
	ks := NewKeyspace(s)
	g := NewGenerator(s, ks, 1)
	var kinds []op.Kind
	for range 4 {
		o := g.Next()
		kinds = append(kinds, o.Kind)
		if o.Key >= ks.Limit() {
			t.Fatalf("fallback key %d does not exist (limit %d)", o.Key, ks.Limit())
		}
		if o.Kind == op.Insert {
			ackInserts(t, ks, 1)
		}
	}
	if want := []op.Kind{op.Insert, op.Insert, op.Write, op.Write}; !slices.Equal(kinds, want) {
		t.Fatalf("kinds %v, want %v", kinds, want)
	}
}

func TestZipfianScanLength(t *testing.T) {
	t.Parallel()
	const n = 300_000
	s := spec(t, func(s *Spec) {
		s.Mix = [op.NumKinds]float64{op.Scan: 1}
		s.ScanLengthDistribution = Zipfian
		s.MaxScanLength = 50
	})
	ks := NewKeyspace(s)
	g := NewGenerator(s, ks, 8)
	counts := make([]int, 51)
	for range n {
		o := g.Next()
		if o.ScanLen < 1 || o.ScanLen > 50 {
			t.Fatalf("scan length %d outside 1..50", o.ScanLen)
		}
		counts[o.ScanLen]++
	}
	zn := zeta(50, 0.99)
	if got := float64(counts[1]) / n; !within(got, 1/zn, n) {
		t.Errorf("P(len 1) = %.4f, theory %.4f", got, 1/zn)
	}
	if !(counts[1] > counts[2] && counts[2] > counts[50]) {
		t.Errorf("short scans not favoured: %d %d %d", counts[1], counts[2], counts[50])
	}
}

func TestDeterministicBySeed(t *testing.T) {
	t.Parallel()
	for _, dist := range Distributions() {
		t.Run(dist, func(t *testing.T) {
			t.Parallel()
			s, errs := FromProfile(Config{Preset: "e", Distribution: dist, Mix: map[string]float64{
				"read": 3, "write": 2, "scan": 1, "rmw": 1, "cas": 1}, ScanLengthDistribution: Zipfian})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			draw := func(seed int64) []Op {
				ks := NewKeyspace(s)
				g := NewGenerator(s, ks, seed)
				ops := make([]Op, 5000)
				for i := range ops {
					ops[i] = g.Next()
				}
				return ops
			}
			a, b := draw(7), draw(7)
			if !slices.Equal(a, b) {
				t.Fatal("same seed, different sequences")
			}
			c := draw(8) // the runner's seeds for adjacent workers differ by 1
			var same int
			for i := range a {
				if a[i].Kind == c[i].Kind && a[i].Key == c[i].Key {
					same++
				}
			}
			if limit := len(a) / 5; dist != Sequential && same > limit {
				t.Errorf("seeds 7 and 8 agree on %d of %d ops", same, len(a))
			}
		})
	}
}

func TestNewGeneratorPanicsOnInvalidSpec(t *testing.T) {
	t.Parallel()
	s := spec(t, func(*Spec) {})
	ks := NewKeyspace(s)
	s.Distribution = "zipf"
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	NewGenerator(s, ks, 1)
}

// Not parallel: AllocsPerRun needs the whole process.
func TestNoAllocations(t *testing.T) {
	for _, dist := range Distributions() {
		for _, scan := range []string{Uniform, Zipfian} {
			s, errs := FromProfile(Config{Distribution: dist, ScanLengthDistribution: scan,
				Mix: map[string]float64{"read": 1, "write": 1, "insert": 1, "scan": 1, "rmw": 1, "cas": 1}})
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			ks := NewKeyspace(s)
			g := NewGenerator(s, ks, 1)
			var sink Op
			if a := testing.AllocsPerRun(1000, func() { sink = g.Next() }); a != 0 {
				t.Errorf("%s/%s: Next allocates %v times per op", dist, scan, a)
			}
			if a := testing.AllocsPerRun(1000, func() { _ = ks.Key(sink.Key) }); a != 0 {
				t.Errorf("Key allocates %v times per call", a)
			}
		}
	}
}

func BenchmarkNext(b *testing.B) {
	for _, dist := range Distributions() {
		b.Run(dist, func(b *testing.B) {
			s, errs := FromProfile(Config{Preset: "b", Distribution: dist, Records: 100_000})
			if len(errs) > 0 {
				b.Fatal(errs)
			}
			g := NewGenerator(s, NewKeyspace(s), 1)
			b.ReportAllocs()
			var sink Op
			for b.Loop() {
				sink = g.Next()
			}
			_ = sink
		})
	}
	b.Run("e-scan-insert", func(b *testing.B) {
		s, _ := FromProfile(Config{Preset: "e"})
		g := NewGenerator(s, NewKeyspace(s), 1)
		b.ReportAllocs()
		for b.Loop() {
			_ = g.Next()
		}
	})
}
