// Package status is Kong's node status: the body of GET /status (served by
// the Admin API and by the Status API), the Status API itself on
// status_listen (GET /status, GET and POST /status/ready, GET /metrics), and
// the connection counters behind them.
//
// Every figure is read when asked for, from real sources: connections from
// the servers' Connections, memory from runtime/metrics (which does not stop
// the world), the database from a real store check, Lua figures only from
// what the Lua room reports. A figure Portico does not have is left out
// rather than shown as zero.
package status

import (
	"context"
	"fmt"
	"runtime/metrics"
)

// LuaVMs is what a Lua room may report about its states, discovered by type
// assertion on what is passed in Options.Lua.
type LuaVMs interface {
	// LuaVMStats lists the room's states with the bytes each has allocated.
	LuaVMStats() []LuaVM
}

// LuaVM is one Lua state's figure.
type LuaVM struct {
	ID             string
	AllocatedBytes uint64
}

// Options configure a Reporter.
type Options struct {
	// Servers lists the counters of every server of the node (proxy,
	// Admin API, Status API); /status reports their sum, as nginx does.
	Servers func() []*Connections
	// Reachable checks the database with a real round trip.
	Reachable func(ctx context.Context) error
	// PID is the node's process id.
	PID int
	// Lua is the node's Lua room; its figures are reported when it
	// implements LuaVMs, and left out otherwise.
	Lua any
	// ConfigurationHash, set in DB-less mode, is the hash of the
	// configuration in force: /status reports it instead of the database,
	// as Kong does, and readiness needs a non-empty configuration.
	ConfigurationHash func() string
}

// Reporter builds Kong's /status body. It is safe for concurrent use.
type Reporter struct {
	opts Options
	lua  LuaVMs
}

// NewReporter returns a Reporter over opts.
func NewReporter(opts Options) *Reporter {
	r := &Reporter{opts: opts}
	r.lua, _ = opts.Lua.(LuaVMs)
	return r
}

// Counts sums the counters of every server.
func (r *Reporter) Counts() Counts {
	var sum Counts
	if r.opts.Servers != nil {
		for _, c := range r.opts.Servers() {
			sum = sum.Add(c.Snapshot())
		}
	}
	return sum
}

// Reachable reports whether the database answers.
func (r *Reporter) Reachable(ctx context.Context) bool {
	return r.opts.Reachable == nil || r.opts.Reachable(ctx) == nil
}

// Body returns the /status body in Kong's shape:
//
//	{"database": {"reachable": true},
//	 "server": {"connections_accepted": 4, ..., "total_requests": 9},
//	 "memory": {"lua_shared_dicts": {}, "go_runtime": {...}}}
//
// memory.workers_lua_vms is there only when the Lua room reports its
// states; lua_shared_dicts is empty (Portico has no nginx shared
// dictionaries); go_runtime is Portico's own: the Go heap, which holds
// everything, Lua states included.
func (r *Reporter) Body(ctx context.Context) map[string]any {
	c := r.Counts()
	memory := map[string]any{
		"lua_shared_dicts": map[string]any{},
		"go_runtime":       goRuntime(),
	}
	if r.lua != nil {
		var vms []any
		for _, vm := range r.lua.LuaVMStats() {
			vms = append(vms, map[string]any{
				"pid":               r.opts.PID,
				"id":                vm.ID,
				"http_allocated_gc": mebibytes(vm.AllocatedBytes),
			})
		}
		memory["workers_lua_vms"] = vms
	}
	body := map[string]any{
		"server": map[string]any{
			"connections_accepted": c.Accepted,
			"connections_handled":  c.Handled,
			"connections_active":   c.Active,
			"connections_reading":  c.Reading,
			"connections_writing":  c.Writing,
			"connections_waiting":  c.Waiting,
			"total_requests":       c.Requests,
		},
		"memory": memory,
	}
	if r.opts.ConfigurationHash != nil {
		body["configuration_hash"] = r.opts.ConfigurationHash()
	} else {
		body["database"] = map[string]any{"reachable": r.Reachable(ctx)}
	}
	return body
}

// mebibytes formats bytes as Kong's default unit and scale ("0.02 MiB").
func mebibytes(b uint64) string { return fmt.Sprintf("%.2f MiB", float64(b)/(1<<20)) }

// runtime/metrics names read for go_runtime; reading them does not stop
// the world, unlike runtime.ReadMemStats.
const (
	metricHeapObjects = "/memory/classes/heap/objects:bytes"
	metricTotal       = "/memory/classes/total:bytes"
	metricGoroutines  = "/sched/goroutines:goroutines"
	metricGCCycles    = "/gc/cycles/total:gc-cycles"
)

// MemoryStats are the Go runtime's figures.
type MemoryStats struct {
	HeapObjectsBytes uint64 // live and not yet swept heap objects
	TotalBytes       uint64 // all memory mapped by the Go runtime
	Goroutines       uint64
	GCCycles         uint64
}

// ReadMemory reads the Go runtime's figures from runtime/metrics.
func ReadMemory() MemoryStats {
	samples := []metrics.Sample{{Name: metricHeapObjects}, {Name: metricTotal}, {Name: metricGoroutines}, {Name: metricGCCycles}}
	metrics.Read(samples)
	val := func(i int) uint64 {
		if samples[i].Value.Kind() == metrics.KindUint64 {
			return samples[i].Value.Uint64()
		}
		return 0 // unsupported by this Go version: never the case for these names
	}
	return MemoryStats{HeapObjectsBytes: val(0), TotalBytes: val(1), Goroutines: val(2), GCCycles: val(3)}
}

func goRuntime() map[string]any {
	m := ReadMemory()
	return map[string]any{
		"heap_objects_bytes": m.HeapObjectsBytes,
		"total_bytes":        m.TotalBytes,
		"goroutines":         m.Goroutines,
		"gc_cycles":          m.GCCycles,
	}
}
