package workloads

import (
	"encoding/binary"
	"errors"
)

// HeaderSize is the encoded size of a Header in bytes.
const HeaderSize = 32

// headerMagic starts every value pacbench writes.
var headerMagic = [4]byte{'p', 'b', '1', ':'}

// ErrNoHeader: a value that does not start with a pacbench header (written
// by someone else, or corrupted).
var ErrNoHeader = errors.New("value has no pacbench header")

// Header is the staleness header every written value carries (DESIGN.md,
// "Staleness"): which key, which writer, the key's write sequence number and
// the write's invocation time. Seq 0 is the initial load.
type Header struct {
	// Key is the key's record index.
	Key uint64
	// Writer is the worker (session) id that wrote the value.
	Writer uint32
	// Seq is the key's version: 1 + the number of writes before it.
	Seq uint64
	// Invoke is the write's invocation time in nanoseconds on the run clock.
	Invoke int64
}

// Encode writes h followed by padding into buf, which must have length
// ≥ HeaderSize; the padding bytes are a deterministic filler. Encode does not
// allocate.
func (h Header) Encode(buf []byte) {
	_ = buf[HeaderSize-1]
	copy(buf[0:4], headerMagic[:])
	binary.LittleEndian.PutUint32(buf[4:8], h.Writer)
	binary.LittleEndian.PutUint64(buf[8:16], h.Key)
	binary.LittleEndian.PutUint64(buf[16:24], h.Seq)
	binary.LittleEndian.PutUint64(buf[24:32], uint64(h.Invoke))
	for i := HeaderSize; i < len(buf); i++ {
		buf[i] = 'a' + byte(i%26)
	}
}

// NewValue returns a fresh value of max(size, HeaderSize) bytes carrying h.
func NewValue(h Header, size int) []byte {
	if size < HeaderSize {
		size = HeaderSize
	}
	buf := make([]byte, size)
	h.Encode(buf)
	return buf
}

// DecodeHeader parses the header at the start of v. It does not allocate.
func DecodeHeader(v []byte) (Header, error) {
	if len(v) < HeaderSize || [4]byte(v[0:4]) != headerMagic {
		return Header{}, ErrNoHeader
	}
	return Header{
		Writer: binary.LittleEndian.Uint32(v[4:8]),
		Key:    binary.LittleEndian.Uint64(v[8:16]),
		Seq:    binary.LittleEndian.Uint64(v[16:24]),
		Invoke: int64(binary.LittleEndian.Uint64(v[24:32])),
	}, nil
}

// Config is the workload section of a profile as the user writes it (YAML
// keys as tags). It lives here rather than in package profile so that
// workloads does not import profile: profile.Workload is an alias of this
// type (profile imports workloads to build its Plan). Plain data.
type Config struct {
	// Preset is a YCSB core workload "a"…"f"; explicit fields override it.
	Preset string `yaml:"preset" json:"preset,omitempty"`
	// Records is the number of records loaded before the run (YCSB
	// recordcount, default 1000).
	Records int `yaml:"records" json:"records"`
	// ValueSize is each value's size in bytes, header included (default 100).
	ValueSize int `yaml:"value_size" json:"value_size"`
	// Mix is the op proportions by kind name (read, write/update, insert,
	// scan, rmw, cas); they are normalised to sum to 1.
	Mix map[string]float64 `yaml:"mix" json:"mix,omitempty"`
	// Distribution is uniform, zipfian, latest, hotspot or sequential.
	Distribution string `yaml:"distribution" json:"distribution"`
	// ZipfianConstant (default 0.99).
	ZipfianConstant float64 `yaml:"zipfian_constant" json:"zipfian_constant,omitempty"`
	// HotspotDataFraction / HotspotOpFraction for the hotspot distribution
	// (YCSB defaults 0.2 / 0.8).
	HotspotDataFraction float64 `yaml:"hotspot_data_fraction" json:"hotspot_data_fraction,omitempty"`
	HotspotOpFraction   float64 `yaml:"hotspot_op_fraction" json:"hotspot_op_fraction,omitempty"`
	// MaxScanLength (default 100) and ScanLengthDistribution (uniform|zipfian).
	MaxScanLength          int    `yaml:"max_scan_length" json:"max_scan_length,omitempty"`
	ScanLengthDistribution string `yaml:"scan_length_distribution" json:"scan_length_distribution,omitempty"`
	// Load says whether to load Records before the run (default true).
	Load *bool `yaml:"load" json:"load,omitempty"`
}
