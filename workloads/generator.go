package workloads

import (
	"fmt"
	"math/rand/v2"

	"github.com/pacbench/pacbench/op"
)

// Op is one operation to perform.
type Op struct {
	// Kind of the operation.
	Kind op.Kind
	// Key is the record index (Keyspace.Key gives its name). For Insert it
	// is an existing key chosen by the distribution: the executor reserves
	// the new key with Keyspace.NextInsert when it runs the op, and
	// overwrites Key instead (an update) if NextInsert refuses.
	Key uint64
	// ScanLen is the number of records a Scan reads (1…MaxScanLength); 0
	// for other kinds.
	ScanLen int
}

// maxZipfTries bounds the redraws of a scrambled zipfian key that does not
// exist yet; the key space is at most twice the existing keys, so the
// probability of reaching the bound is below 2^-64.
const maxZipfTries = 64

// Generator draws the op sequence of one worker: kinds by the mix, keys by
// the distribution, scan lengths by the scan-length distribution. Given the
// same Spec and seed it draws the same sequence, except that the keys of
// latest, uniform, sequential and zipfian draws depend on Keyspace.Limit
// (inserts acknowledged by every worker) and Insert turns into Write once
// the keyspace's headroom is reserved. Without inserts in the mix the
// sequence is fully determined by the seed.
//
// A Generator is NOT goroutine-safe: one per worker. Next does not allocate.
type Generator struct {
	ks   *Keyspace
	rng  *rand.Rand
	cum  [op.NumKinds]float64 // cumulative mix
	last op.Kind              // last kind with a positive proportion

	dist    string
	keyZipf zipfian // scrambled (zipfian) or skewed-latest ranks

	hotSet, hotN uint64  // hotspot: hot keys [0, hotSet) of [0, hotN)
	hotOps       float64 // hotspot: fraction of ops on the hot set
	seq          uint64  // sequential: next key

	maxScan     uint64
	scanZipfian bool
	scanZipf    zipfian
}

// NewGenerator returns the generator of one worker drawing from s over k,
// seeded with seed (the runner derives one seed per worker; nearby seeds
// give independent streams). k must be the Keyspace built from s: its
// Records are authoritative. It panics if s is invalid, as NewKeyspace.
func NewGenerator(s Spec, k *Keyspace, seed int64) *Generator {
	if errs := s.Validate(); len(errs) > 0 {
		panic(fmt.Sprintf("workloads.NewGenerator: invalid spec: %v", errs[0]))
	}
	s1 := splitmix64(uint64(seed))
	g := &Generator{
		ks:      k,
		rng:     rand.New(rand.NewPCG(s1, splitmix64(s1))),
		dist:    s.Distribution,
		maxScan: uint64(s.MaxScanLength),
	}
	mix := normaliseMix(s.Mix)
	var c float64
	for kind := range op.NumKinds {
		c += mix[kind]
		g.cum[kind] = c
		if mix[kind] > 0 {
			g.last = kind
		}
	}
	theta := s.ZipfianConstant
	switch s.Distribution {
	case Zipfian:
		g.keyZipf = newZipfian(scrambledItems, theta, k.zetaOf(scrambledItems, theta))
	case Latest:
		g.keyZipf = newZipfian(k.records, theta, k.zetaOf(k.records, theta))
	case Hotspot:
		g.hotN = k.records
		g.hotSet = min(max(uint64(float64(k.records)*s.HotspotDataFraction), 1), k.records)
		g.hotOps = s.HotspotOpFraction
	}
	if s.ScanLengthDistribution == Zipfian {
		g.scanZipfian = true
		g.scanZipf = newZipfian(g.maxScan, DefaultZipfianConstant, k.zetaOf(g.maxScan, DefaultZipfianConstant))
	}
	return g
}

// Next returns the next op. It does not allocate.
func (g *Generator) Next() Op {
	kind := g.kind()
	switch kind {
	case op.Insert:
		if g.ks.InsertsExhausted() {
			kind = op.Write
		}
	case op.Scan:
		key := g.key()
		return Op{Kind: op.Scan, Key: key, ScanLen: g.scanLen()}
	}
	return Op{Kind: kind, Key: g.key()}
}

func (g *Generator) kind() op.Kind {
	u := g.rng.Float64()
	for k := range op.NumKinds {
		if u < g.cum[k] {
			return k
		}
	}
	return g.last // u ≥ the rounded sum of the mix
}

// key draws an existing key index in [0, Limit).
func (g *Generator) key() uint64 {
	limit := g.ks.Limit()
	switch g.dist {
	case Zipfian:
		// YCSB: hash a rank of the huge item space onto the key space and
		// redraw keys that do not exist yet, so that inserts never move
		// which keys are hot.
		var k uint64
		for range maxZipfTries {
			k = fnv64(g.keyZipf.rank(g.rng.Float64(), scrambledItems)) % g.ks.zipfItems
			if k < limit {
				return k
			}
		}
		return k % limit
	case Latest:
		return limit - 1 - g.keyZipf.rank(g.rng.Float64(), limit)
	case Hotspot:
		if g.rng.Float64() < g.hotOps || g.hotSet == g.hotN {
			return g.rng.Uint64N(g.hotSet)
		}
		return g.hotSet + g.rng.Uint64N(g.hotN-g.hotSet)
	case Sequential:
		if g.seq >= limit {
			g.seq = 0
		}
		k := g.seq
		g.seq++
		return k
	default: // Uniform
		return g.rng.Uint64N(limit)
	}
}

func (g *Generator) scanLen() int {
	if g.scanZipfian {
		return 1 + int(g.scanZipf.rank(g.rng.Float64(), g.maxScan))
	}
	return 1 + int(g.rng.Uint64N(g.maxScan))
}

// splitmix64 is one step of the SplitMix64 generator: a bijective mixer
// that turns nearby seeds into unrelated PCG states.
func splitmix64(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}
