package plugins

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Host is what the node offers plugins beyond one request: its error log,
// its metrics registry and state that outlives a configuration snapshot.
// Kong keeps such state in worker-level Lua modules (http-log's queues,
// prometheus's counters); here it belongs to the node, so two nodes in one
// process share nothing. A Host is safe for concurrent use.
type Host struct {
	// Logf writes to the node's error log (levels as kong.log: "debug",
	// "info", "notice", "warn", "error", "crit").
	Logf func(level, format string, args ...any)
	// Metrics is the registry the node serves on the Admin and Status
	// APIs' /metrics; nil when it serves none.
	Metrics prometheus.Registerer
	// UpstreamHealth, when set, reports the health of every upstream's
	// target addresses, as the balancers see them now (Kong's
	// get_upstream_health): state is "healthy", "unhealthy",
	// "healthchecks_off" or "dns_error" (then address is "").
	UpstreamHealth func(yield func(upstream, target, address, state string))

	mu    sync.Mutex
	state map[string]any
}

// State returns the node's value under key, made by make the first time it
// is asked for. make runs once per key and node.
func (h *Host) State(key string, make func() any) any {
	h.mu.Lock()
	defer h.mu.Unlock()
	if v, ok := h.state[key]; ok {
		return v
	}
	if h.state == nil {
		h.state = map[string]any{}
	}
	v := make()
	h.state[key] = v
	return v
}

// Log writes to the node's error log, or nowhere without one.
func (h *Host) Log(level, format string, args ...any) {
	if h != nil && h.Logf != nil {
		h.Logf(level, format, args...)
	}
}

// Errorf writes an error to the node's error log (nowhere without one).
func (h *Host) Errorf(format string, args ...any) { h.Log("error", format, args...) }

// Warnf writes a warning to the node's error log.
func (h *Host) Warnf(format string, args ...any) { h.Log("warn", format, args...) }

// Provisioner is a handler that needs the Host: Provision runs when the
// snapshot is built, right after the Factory made the handler and before
// any request uses it. An error leaves the plugin row out of the snapshot,
// as a Factory error does.
type Provisioner interface{ Provision(*Host) error }
