package bundled

import (
	"strconv"
	"sync"
	"sync/atomic"

	prom "github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// prometheus is Kong's prometheus (kong/plugins/prometheus/schema.lua). Kong
// also checks that nginx's prometheus_metrics shared dict exists; Portico
// keeps metrics in process, so there is nothing to check.
func prometheus() plugins.Info {
	flag := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: false}
	}
	return runs(newPrometheus, info("prometheus", 13, []*schema.Field{
		protocolsAny(),
		config(
			flag("per_consumer"),
			flag("status_code_metrics"),
			// Added in 3.8.
			flag("ai_metrics"),
			flag("latency_metrics"),
			flag("bandwidth_metrics"),
			flag("upstream_health_metrics"),
		),
	}))
}

// Kong's histogram buckets, in milliseconds
// (kong/plugins/prometheus/exporter.lua).
var (
	kongLatencyBuckets     = []float64{1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000}
	upstreamLatencyBuckets = []float64{25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000}
)

// healthStates are kong_upstream_target_health's state label values.
var healthStates = [...]string{"healthchecks_off", "healthy", "unhealthy", "dns_error"}

// exporter holds a node's per-request metrics under Kong's names. It
// outlives configuration snapshots (the counters keep counting when
// plugins change) and is served with the node's other metrics on the
// Admin and Status APIs' /metrics.
type exporter struct {
	host      *plugins.Host
	requests  *prom.CounterVec
	kongLat   *prom.HistogramVec
	upLat     *prom.HistogramVec
	reqLat    *prom.HistogramVec
	bandwidth *prom.CounterVec
	health    *prom.Desc
	// exportHealth is set by the instance that logged last, as in Kong:
	// upstream health is reported while prometheus instances ask for it.
	exportHealth atomic.Bool

	mu     sync.Mutex // writers of routes
	routes atomic.Pointer[map[routeLabels]*routeMetrics]
}

// routeLabels are the labels every per-request metric has.
type routeLabels struct{ service, route, workspace string }

// routeMetrics are one route's metrics, found without allocating: its
// latency observers, and its counters per status and consumer in maps
// replaced (copied) when a new label set appears.
type routeMetrics struct {
	labels    routeLabels
	latencies atomic.Pointer[latencyObservers]
	mu        sync.Mutex
	status    atomic.Pointer[map[statusLabels]prom.Counter]
	bandwidth atomic.Pointer[map[string]*[2]prom.Counter] // by consumer: ingress, egress
}

// latencyObservers are a route's histograms: made when a request first
// records latencies, so a route without latency_metrics has none.
type latencyObservers struct{ kong, upstream, request prom.Observer }

type statusLabels struct {
	code             int
	source, consumer string
}

func newExporter(host *plugins.Host) *exporter {
	route := []string{"service", "route", "workspace"}
	ex := &exporter{
		host: host,
		requests: prom.NewCounterVec(prom.CounterOpts{Name: "kong_http_requests_total",
			Help: "HTTP status codes per consumer/service/route in Kong"},
			[]string{"service", "route", "code", "source", "workspace", "consumer"}),
		kongLat: prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_kong_latency_ms",
			Help: "Latency added by Kong and enabled plugins for each service/route in Kong", Buckets: kongLatencyBuckets}, route),
		upLat: prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_upstream_latency_ms",
			Help: "Latency added by upstream response for each service/route in Kong", Buckets: upstreamLatencyBuckets}, route),
		reqLat: prom.NewHistogramVec(prom.HistogramOpts{Name: "kong_request_latency_ms",
			Help: "Total latency incurred during requests for each service/route in Kong", Buckets: upstreamLatencyBuckets}, route),
		bandwidth: prom.NewCounterVec(prom.CounterOpts{Name: "kong_bandwidth_bytes",
			Help: "Total bandwidth (ingress/egress) throughput in bytes"},
			[]string{"service", "route", "direction", "workspace", "consumer"}),
		health: prom.NewDesc("kong_upstream_target_health",
			"Health status of targets of upstream. States = healthchecks_off|healthy|unhealthy|dns_error, value is 1 when state is populated.",
			[]string{"upstream", "target", "address", "state", "subsystem"}, nil),
	}
	ex.routes.Store(&map[routeLabels]*routeMetrics{})
	return ex
}

// Describe implements prometheus.Collector.
func (ex *exporter) Describe(ch chan<- *prom.Desc) {
	ex.requests.Describe(ch)
	ex.kongLat.Describe(ch)
	ex.upLat.Describe(ch)
	ex.reqLat.Describe(ch)
	ex.bandwidth.Describe(ch)
	ch <- ex.health
}

// Collect implements prometheus.Collector: the counters and histograms,
// and the targets' health as the balancers see it now.
func (ex *exporter) Collect(ch chan<- prom.Metric) {
	ex.requests.Collect(ch)
	ex.kongLat.Collect(ch)
	ex.upLat.Collect(ch)
	ex.reqLat.Collect(ch)
	ex.bandwidth.Collect(ch)
	if !ex.exportHealth.Load() || ex.host.UpstreamHealth == nil {
		return
	}
	ex.host.UpstreamHealth(func(upstream, target, address, state string) {
		for _, s := range healthStates {
			v := 0.0
			if s == state {
				v = 1
			}
			ch <- prom.MustNewConstMetric(ex.health, prom.GaugeValue, v, upstream, target, address, s, "http")
		}
	})
}

// route finds (or makes) a route's metrics.
func (ex *exporter) route(l routeLabels) *routeMetrics {
	if rm := (*ex.routes.Load())[l]; rm != nil {
		return rm
	}
	ex.mu.Lock()
	defer ex.mu.Unlock()
	cur := *ex.routes.Load()
	if rm := cur[l]; rm != nil {
		return rm
	}
	rm := &routeMetrics{labels: l}
	rm.status.Store(&map[statusLabels]prom.Counter{})
	rm.bandwidth.Store(&map[string]*[2]prom.Counter{})
	next := make(map[routeLabels]*routeMetrics, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[l] = rm
	ex.routes.Store(&next)
	return rm
}

func (rm *routeMetrics) latencyObservers(ex *exporter) *latencyObservers {
	if o := rm.latencies.Load(); o != nil {
		return o
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if o := rm.latencies.Load(); o != nil {
		return o
	}
	l := rm.labels
	o := &latencyObservers{
		kong:     ex.kongLat.WithLabelValues(l.service, l.route, l.workspace),
		upstream: ex.upLat.WithLabelValues(l.service, l.route, l.workspace),
		request:  ex.reqLat.WithLabelValues(l.service, l.route, l.workspace),
	}
	rm.latencies.Store(o)
	return o
}

func (rm *routeMetrics) statusCounter(ex *exporter, k statusLabels) prom.Counter {
	if c := (*rm.status.Load())[k]; c != nil {
		return c
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	cur := *rm.status.Load()
	if c := cur[k]; c != nil {
		return c
	}
	c := ex.requests.WithLabelValues(rm.labels.service, rm.labels.route, strconv.Itoa(k.code), k.source, rm.labels.workspace, k.consumer)
	next := make(map[statusLabels]prom.Counter, len(cur)+1)
	for kk, v := range cur {
		next[kk] = v
	}
	next[k] = c
	rm.status.Store(&next)
	return c
}

func (rm *routeMetrics) bandwidthCounters(ex *exporter, consumer string) *[2]prom.Counter {
	if c := (*rm.bandwidth.Load())[consumer]; c != nil {
		return c
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	cur := *rm.bandwidth.Load()
	if c := cur[consumer]; c != nil {
		return c
	}
	l := rm.labels
	c := &[2]prom.Counter{
		ex.bandwidth.WithLabelValues(l.service, l.route, "ingress", l.workspace, consumer),
		ex.bandwidth.WithLabelValues(l.service, l.route, "egress", l.workspace, consumer),
	}
	next := make(map[string]*[2]prom.Counter, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	next[consumer] = c
	rm.bandwidth.Store(&next)
	return c
}

// prometheusLogger is one prometheus plugin instance: which of Kong's
// metrics its requests feed (kong/plugins/prometheus/handler.lua).
type prometheusLogger struct {
	perConsumer, statusCodes, latency, bandwidth, upstreamHealth bool
	ex                                                           *exporter
}

func newPrometheus(conf map[string]any) (plugins.Handler, error) {
	return &prometheusLogger{
		perConsumer:    row.Bool(conf, "per_consumer", false),
		statusCodes:    row.Bool(conf, "status_code_metrics", false),
		latency:        row.Bool(conf, "latency_metrics", false),
		bandwidth:      row.Bool(conf, "bandwidth_metrics", false),
		upstreamHealth: row.Bool(conf, "upstream_health_metrics", false),
	}, nil
}

// Provision finds the node's exporter, registering it the first time.
func (h *prometheusLogger) Provision(host *plugins.Host) error {
	h.ex = host.State("prometheus exporter", func() any {
		ex := newExporter(host)
		if host.Metrics != nil {
			if err := host.Metrics.Register(ex); err != nil {
				host.Errorf("[prometheus] registering the metrics: %v", err)
			}
		}
		return ex
	}).(*exporter)
	return nil
}

// Log records the request (Kong's exporter.log): nothing for a request
// that matched no route.
func (h *prometheusLogger) Log(e *plugins.LogEntry) {
	ex := h.ex
	if ex == nil {
		return
	}
	ex.exportHealth.Store(h.upstreamHealth)
	if e.Route.ID == "" {
		return
	}
	l := routeLabels{service: e.Service.Name, route: e.Route.Name, workspace: e.WorkspaceName}
	if l.service == "" {
		l.service = row.String(e.Service.Row, "host")
	}
	if l.route == "" {
		l.route = e.Route.ID
	}
	consumer := ""
	if h.perConsumer && e.Consumer != nil {
		consumer = row.String(e.Consumer, "username")
	}
	rm := ex.route(l)
	if h.bandwidth {
		c := rm.bandwidthCounters(ex, consumer)
		if e.Request.Size > 0 {
			c[0].Add(float64(e.Request.Size))
		}
		if e.Response.Size > 0 {
			c[1].Add(float64(e.Response.Size))
		}
	}
	if h.statusCodes {
		source := "kong"
		if e.Source == "upstream" {
			source = "service"
		}
		rm.statusCounter(ex, statusLabels{code: e.Response.Status, source: source, consumer: consumer}).Inc()
	}
	if h.latency {
		o := rm.latencyObservers(ex)
		if v := e.Latencies.Request; v >= 0 {
			o.request.Observe(float64(v))
		}
		if v := e.Latencies.Proxy; v >= 0 {
			o.upstream.Observe(float64(v))
		}
		if v := e.Latencies.Kong; v >= 0 {
			o.kong.Observe(float64(v))
		}
	}
}

var (
	_ plugins.Logger      = (*prometheusLogger)(nil)
	_ plugins.Provisioner = (*prometheusLogger)(nil)
	_ prom.Collector      = (*exporter)(nil)
)
