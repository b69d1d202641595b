package delivery

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the pipeline's Prometheus series, registered on the node's
// registry (never the global one).
type metrics struct {
	deliveries *prometheus.CounterVec   // by hook and outcome
	latency    *prometheus.HistogramVec // by handler
	enqueued   prometheus.Counter
	dropped    prometheus.Counter // by snooze/on_change
}

// Outcomes of an attempt, as counted.
const (
	outcomeDelivered = "delivered"
	outcomeFailed    = "failed"
	outcomeRetried   = "retried"
)

func newMetrics(reg prometheus.Registerer, d *dispatcher) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_event_hooks_attempts_total",
			Help: "Delivery attempts by event hook and outcome (delivered, retried, failed).",
		}, []string{"event_hook", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "portico_event_hooks_attempt_duration_seconds",
			Help:    "Duration of delivery attempts by handler.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"handler"}),
		enqueued: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portico_event_hooks_enqueued_total",
			Help: "Deliveries written to the outbox.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "portico_event_hooks_filtered_total",
			Help: "Events dropped by snooze or on_change.",
		}),
	}
	if reg == nil {
		return m
	}
	reg.MustRegister(m.deliveries, m.latency, m.enqueued, m.dropped,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portico_event_hooks_queue_depth",
			Help: "Pending deliveries held in memory: waiting for their time (within a minute), for their turn, or in flight.",
		}, func() float64 { return float64(d.depth()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "portico_event_hooks_queue_overflows_total",
			Help: "Deliveries left in the store because the in-memory queue was full (read back later).",
		}, func() float64 { return float64(d.overflows.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "portico_event_hooks_oldest_pending_seconds",
			Help: "Age of the oldest pending delivery held in memory.",
		}, func() float64 { return d.oldestAge().Seconds() }),
	)
	return m
}
