package status

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// subsystem is Kong's kong_subsystem label: Portico serves HTTP only.
const subsystem = "http"

// connectionStates are the state label values of kong_nginx_connections_total,
// in Kong's order (kong/plugins/prometheus/exporter.lua).
var connectionStates = []string{"accepted", "handled", "total", "active", "reading", "writing", "waiting"}

// Collector exports the node's figures under Kong's Prometheus names:
// kong_nginx_connections_total{node_id,subsystem,state},
// kong_nginx_requests_total{node_id,subsystem}, kong_datastore_reachable,
// kong_node_info{node_id,version}, and kong_memory_workers_lua_vms_bytes
// when the Lua room reports its states. Each scrape reads them afresh.
type Collector struct {
	r       *Reporter
	nodeID  string
	version string

	connections *prometheus.Desc
	requests    *prometheus.Desc
	reachable   *prometheus.Desc
	nodeInfo    *prometheus.Desc
	luaVMs      *prometheus.Desc
}

// NewCollector returns the collector of r's figures for the node nodeID
// reporting Kong version version.
func NewCollector(r *Reporter, nodeID, version string) *Collector {
	return &Collector{
		r: r, nodeID: nodeID, version: version,
		connections: prometheus.NewDesc("kong_nginx_connections_total", "Number of connections by subsystem",
			[]string{"node_id", "subsystem", "state"}, nil),
		requests: prometheus.NewDesc("kong_nginx_requests_total", "Number of requests total",
			[]string{"node_id", "subsystem"}, nil),
		reachable: prometheus.NewDesc("kong_datastore_reachable", "Datastore reachable from Kong, 0 is unreachable", nil, nil),
		nodeInfo: prometheus.NewDesc("kong_node_info", "Kong Node metadata information",
			[]string{"node_id", "version"}, nil),
		luaVMs: prometheus.NewDesc("kong_memory_workers_lua_vms_bytes", "Allocated bytes in worker Lua VM",
			[]string{"node_id", "pid", "kong_subsystem"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.connections
	ch <- c.requests
	ch <- c.reachable
	ch <- c.nodeInfo
	if c.r.lua != nil {
		ch <- c.luaVMs
	}
}

// reachTimeout bounds the database check of one scrape.
const reachTimeout = 2 * time.Second

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	n := c.r.Counts()
	for i, v := range []uint64{n.Accepted, n.Handled, n.Requests, n.Active, n.Reading, n.Writing, n.Waiting} {
		ch <- prometheus.MustNewConstMetric(c.connections, prometheus.GaugeValue, float64(v), c.nodeID, subsystem, connectionStates[i])
	}
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.GaugeValue, float64(n.Requests), c.nodeID, subsystem)
	ctx, cancel := context.WithTimeout(context.Background(), reachTimeout)
	defer cancel()
	reachable := 0.0
	if c.r.Reachable(ctx) {
		reachable = 1
	}
	ch <- prometheus.MustNewConstMetric(c.reachable, prometheus.GaugeValue, reachable)
	ch <- prometheus.MustNewConstMetric(c.nodeInfo, prometheus.GaugeValue, 1, c.nodeID, c.version)
	if c.r.lua != nil {
		var total uint64
		for _, vm := range c.r.lua.LuaVMStats() {
			total += vm.AllocatedBytes
		}
		ch <- prometheus.MustNewConstMetric(c.luaVMs, prometheus.GaugeValue, float64(total), c.nodeID, strconv.Itoa(c.r.opts.PID), subsystem)
	}
}

var _ prometheus.Collector = (*Collector)(nil)
