// Package workloads generates pacbench's operations: YCSB core workloads A–F
// as presets with Java YCSB's defaults, explicit op mixes, and the key
// distributions uniform, zipfian (YCSB's scrambled zipfian), latest
// (YCSB's skewed latest), hotspot and sequential. It also holds the value
// header codec the staleness oracle relies on (value.go).
//
// A run builds one Spec (FromProfile), one shared Keyspace (NewKeyspace) and
// one Generator per worker (NewGenerator, seeded per worker). The Keyspace
// is goroutine-safe; a Generator is not. Generator.Next and Keyspace.Key do
// not allocate.
//
// Inserts follow YCSB's transaction-phase protocol: the executor reserves a
// new key with Keyspace.NextInsert, performs the insert, then calls
// Keyspace.AckInsert; reads only see keys below Keyspace.Limit, the
// contiguous prefix of acknowledged inserts.
package workloads
