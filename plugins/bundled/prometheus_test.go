package bundled

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	prom "github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/portico-gw/portico/plugins"
)

// gathered is the registry's samples by metric name, each sample a label
// string ("k=v,k=v" sorted) and its value (a count for histograms).
func gathered(t *testing.T, reg *prom.Registry) map[string]map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]float64{}
	for _, f := range families {
		m := map[string]float64{}
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			m[strings.Join(labels, ",")] = value(f.GetType(), s)
		}
		out[f.GetName()] = m
	}
	return out
}

func value(t dto.MetricType, s *dto.Metric) float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return s.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return s.GetGauge().GetValue()
	case dto.MetricType_HISTOGRAM:
		return float64(s.GetHistogram().GetSampleCount())
	}
	return 0
}

func TestPrometheus(t *testing.T) {
	all := obj("status_code_metrics", true, "latency_metrics", true, "bandwidth_metrics", true, "upstream_health_metrics", true)
	for _, c := range []struct {
		name string
		conf map[string]any
		// want: metric → labels → value; absent lists metrics that must
		// have no samples.
		want   map[string]map[string]float64
		absent []string
	}{
		{"Kong's defaults record nothing per request", obj(), nil,
			[]string{"kong_http_requests_total", "kong_bandwidth_bytes", "kong_request_latency_ms", "kong_upstream_target_health"}},
		{"every metric", all, map[string]map[string]float64{
			"kong_http_requests_total": {
				"code=200,consumer=,route=route-1,service=svc,source=service,workspace=default": 2,
				"code=503,consumer=,route=route-1,service=svc,source=kong,workspace=default":    1,
			},
			"kong_bandwidth_bytes": {
				"consumer=,direction=ingress,route=route-1,service=svc,workspace=default": 240,
				"consumer=,direction=egress,route=route-1,service=svc,workspace=default":  600,
			},
			"kong_request_latency_ms":  {"route=route-1,service=svc,workspace=default": 3},
			"kong_kong_latency_ms":     {"route=route-1,service=svc,workspace=default": 3},
			"kong_upstream_latency_ms": {"route=route-1,service=svc,workspace=default": 2},
			"kong_upstream_target_health": {
				"address=10.0.0.1:80,state=healthy,subsystem=http,target=a:80,upstream=up":          1,
				"address=10.0.0.1:80,state=unhealthy,subsystem=http,target=a:80,upstream=up":        0,
				"address=10.0.0.1:80,state=healthchecks_off,subsystem=http,target=a:80,upstream=up": 0,
				"address=10.0.0.1:80,state=dns_error,subsystem=http,target=a:80,upstream=up":        0,
				"address=,state=dns_error,subsystem=http,target=b:80,upstream=up":                   1,
				"address=,state=healthy,subsystem=http,target=b:80,upstream=up":                     0,
				"address=,state=unhealthy,subsystem=http,target=b:80,upstream=up":                   0,
				"address=,state=healthchecks_off,subsystem=http,target=b:80,upstream=up":            0,
			},
		}, nil},
		{"per consumer", obj("status_code_metrics", true, "per_consumer", true), map[string]map[string]float64{
			"kong_http_requests_total": {
				"code=200,consumer=alice,route=route-1,service=svc,source=service,workspace=default": 2,
				"code=503,consumer=alice,route=route-1,service=svc,source=kong,workspace=default":    1,
			},
		}, []string{"kong_bandwidth_bytes"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prom.NewRegistry()
			host := &plugins.Host{Metrics: reg, UpstreamHealth: func(yield func(upstream, target, address, state string)) {
				yield("up", "a:80", "10.0.0.1:80", "healthy")
				yield("up", "b:80", "", "dns_error")
			}}
			h := provisioned(t, newPrometheus, c.conf, host)
			for _, status := range []int{200, 200, 503} {
				e := logEntry(status)
				e.Consumer = map[string]any{"id": "c1", "username": "alice"}
				if status == 503 {
					e.Source, e.Latencies.Proxy = "kong", -1
				}
				h.Log(e)
			}
			// A request that matched no route is not counted.
			h.Log(&plugins.LogEntry{Response: plugins.LogResponse{Status: 404}})
			got := gathered(t, reg)
			for metric, samples := range c.want {
				for labels, v := range samples {
					if g, ok := got[metric][labels]; !ok || g != v {
						t.Errorf("%s{%s} = %v (present %v), want %v\n%v", metric, labels, g, ok, v, got[metric])
					}
				}
				if len(got[metric]) != len(samples) {
					t.Errorf("%s has %d samples, want %d: %v", metric, len(got[metric]), len(samples), got[metric])
				}
			}
			for _, metric := range c.absent {
				if len(got[metric]) > 0 {
					t.Errorf("%s recorded: %v", metric, got[metric])
				}
			}
		})
	}
}

// Instances share the node's exporter across snapshots: one registration,
// counts kept.
func TestPrometheusSharedAcrossSnapshots(t *testing.T) {
	reg := prom.NewRegistry()
	host := &plugins.Host{Metrics: reg}
	for range 2 {
		h := provisioned(t, newPrometheus, obj("status_code_metrics", true), host)
		h.Log(logEntry(200))
	}
	got := gathered(t, reg)["kong_http_requests_total"]
	if got["code=200,consumer=,route=route-1,service=svc,source=service,workspace=default"] != 2 {
		t.Errorf("%v", got)
	}
}

// The log phase of every log plugin, for one request's entry.
func BenchmarkLogPlugins(b *testing.B) {
	dir := b.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	tcp, _ := net.Listen("tcp", "127.0.0.1:0")
	defer tcp.Close()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				buf := make([]byte, 65536)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()
	udp, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer udp.Close()
	go func() {
		buf := make([]byte, 65536)
		for {
			if _, _, err := udp.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	port := func(a net.Addr) float64 {
		if t, ok := a.(*net.TCPAddr); ok {
			return float64(t.Port)
		}
		return float64(a.(*net.UDPAddr).Port)
	}
	for _, c := range []struct {
		name string
		f    plugins.Factory
		conf map[string]any
	}{
		{"prometheus", newPrometheus, obj("status_code_metrics", true, "latency_metrics", true, "bandwidth_metrics", true, "per_consumer", true)},
		{"http-log", newHTTPLog, obj("http_endpoint", srv.URL, "queue", obj("max_batch_size", 100.0, "max_entries", 1000000.0))},
		{"file-log", newFileLog, obj("path", filepath.Join(dir, "bench.log"))},
		{"tcp-log", newTCPLog, obj("host", "127.0.0.1", "port", port(tcp.Addr()))},
		{"udp-log", newUDPLog, obj("host", "127.0.0.1", "port", port(udp.LocalAddr()))},
	} {
		b.Run(c.name, func(b *testing.B) {
			host := &plugins.Host{Metrics: prom.NewRegistry()}
			h := provisioned(b, c.f, c.conf, host)
			e := logEntry(200)
			e.Consumer = map[string]any{"id": "c1", "username": "alice"}
			b.ReportAllocs()
			for b.Loop() {
				h.Log(e)
			}
		})
	}
	os.RemoveAll(dir)
}
