package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// logReceiver is an HTTP log server that answers 503 to its first
// failures requests, then keeps what it is sent.
type logReceiver struct {
	mu       sync.Mutex
	failures int
	failed   int
	bodies   [][]byte
	headers  []http.Header
}

func (lr *logReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.failed < lr.failures {
		lr.failed++
		http.Error(w, "not now", http.StatusServiceUnavailable)
		return
	}
	lr.bodies = append(lr.bodies, body)
	lr.headers = append(lr.headers, r.Header.Clone())
}

func (lr *logReceiver) received() ([][]byte, []http.Header) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	return append([][]byte(nil), lr.bodies...), append([]http.Header(nil), lr.headers...)
}

// waitFor polls until ok, for at most 10s (a loaded machine).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loggingGateway starts a node with a service on an upstream answering
// "ok" (500 for paths ending in /fail) and a route on /log.
func loggingGateway(t *testing.T) *gateway {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(500)
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(upstream.Close)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+upstream.URL+"/base")
	return g
}

// http-log batches two requests into one JSON array, tries again after the
// receiver's failure, and authenticates with the endpoint's userinfo.
func TestLoggingHTTPLog(t *testing.T) {
	rv := &logReceiver{failures: 1}
	receiver := httptest.NewServer(rv)
	defer receiver.Close()
	g := loggingGateway(t)
	endpoint := strings.Replace(receiver.URL, "http://", "http://logger:s3cret@", 1) + "/ingest"
	g.curlCreate("/services/svc/plugins", "name=http-log", "config.http_endpoint="+endpoint, "config.method=PUT",
		"config.headers.X-Tenant=acme", "config.queue.max_batch_size=2", "config.queue.max_coalescing_delay=5",
		"config.queue.initial_retry_delay=0.05")
	g.curlCreate("/services/svc/routes", "name=logged", "paths[]=/log")
	g.waitProxy("/log", "", 200) // this request is logged too

	r := g.cli("curl", "-si", g.proxyURL("/log/a?x=1&x=2&flag"), "-H", "Authorization: Bearer secret-token")
	wantStatus(t, r, 200)
	waitFor(t, "the batch", func() bool { b, _ := rv.received(); return len(b) > 0 })
	bodies, headers := rv.received()
	var batch []map[string]any
	if err := json.Unmarshal(bodies[0], &batch); err != nil || len(batch) != 2 {
		t.Fatalf("body %s is not a batch of 2: %v", bodies[0], err)
	}
	if rv.failed != 1 {
		t.Errorf("the receiver failed %d times", rv.failed)
	}
	h := headers[0]
	if h.Get("Authorization") != "Basic bG9nZ2VyOnMzY3JldA==" || h.Get("X-Tenant") != "acme" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	e := batch[1]
	req, _ := e["request"].(map[string]any)
	resp, _ := e["response"].(map[string]any)
	route, _ := e["route"].(map[string]any)
	service, _ := e["service"].(map[string]any)
	qs, _ := req["querystring"].(map[string]any)
	reqHeaders, _ := req["headers"].(map[string]any)
	if req["uri"] != "/log/a?x=1&x=2&flag" || req["method"] != "GET" || req["id"] != r.header.Get("X-Kong-Request-Id") ||
		reqHeaders["authorization"] != "REDACTED" || reqHeaders["user-agent"] == nil {
		t.Errorf("request %v", req)
	}
	if fmt.Sprint(qs["x"]) != "[1 2]" || qs["flag"] != true {
		t.Errorf("querystring %v", qs)
	}
	if resp["status"] != 200.0 || e["upstream_uri"] != "/base/a?x=1&x=2&flag" || e["upstream_status"] != "200" ||
		e["source"] != "upstream" || route["name"] != "logged" || service["name"] != "svc" || e["workspace_name"] != "default" {
		t.Errorf("entry %v", e)
	}
	for _, k := range []string{"latencies", "tries", "client_ip", "started_at"} {
		if e[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
	if strings.Contains(logs(g), "s3cret") {
		t.Error("the endpoint's password is in the error log")
	}
}

// logs is the node's error log.
func logs(g *gateway) string {
	b, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
	return string(b) + g.output.String()
}

// file-log, tcp-log and udp-log each get the request's JSON.
func TestLoggingFileTCPUDP(t *testing.T) {
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	tcpLines := make(chan string, 10)
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				sc := bufio.NewScanner(c)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					tcpLines <- sc.Text()
				}
			}()
		}
	}()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	file := filepath.Join(t.TempDir(), "requests.log")

	g := loggingGateway(t)
	g.curlCreate("/services/svc/plugins", "name=file-log", "config.path="+file)
	g.curlCreate("/services/svc/plugins", "name=tcp-log", "config.host=127.0.0.1",
		fmt.Sprintf("config.port=%d", tcp.Addr().(*net.TCPAddr).Port))
	g.curlCreate("/services/svc/plugins", "name=udp-log", "config.host=127.0.0.1",
		fmt.Sprintf("config.port=%d", udp.LocalAddr().(*net.UDPAddr).Port))
	g.curlCreate("/services/svc/routes", "paths[]=/log")
	g.waitProxy("/log", "", 200)
	r := g.cli("curl", "-si", g.proxyURL("/log/fail"))
	wantStatus(t, r, 500)
	id := r.header.Get("X-Kong-Request-Id")

	// Each sink's entry for the request above.
	find := func(lines []string) map[string]any {
		for _, l := range lines {
			var e map[string]any
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("not JSON: %q", l)
			}
			if req, _ := e["request"].(map[string]any); req["id"] == id {
				return e
			}
		}
		return nil
	}
	check := func(sink string, e map[string]any) {
		t.Helper()
		if e == nil {
			t.Fatalf("%s: no entry for request %s", sink, id)
		}
		if resp, _ := e["response"].(map[string]any); resp["status"] != 500.0 || e["upstream_uri"] != "/base/fail" {
			t.Errorf("%s: entry %v", sink, e)
		}
	}

	var fileEntry map[string]any
	waitFor(t, "the file", func() bool {
		b, _ := os.ReadFile(file)
		fileEntry = find(strings.Split(strings.TrimSpace(string(b)), "\n"))
		return fileEntry != nil
	})
	check("file-log", fileEntry)

	var tcpEntry map[string]any
	var seen []string
	waitFor(t, "tcp-log", func() bool {
		select {
		case l := <-tcpLines:
			seen = append(seen, l)
			tcpEntry = find(seen)
		default:
		}
		return tcpEntry != nil
	})
	check("tcp-log", tcpEntry)

	var datagrams []string
	buf := make([]byte, 65536)
	for find(datagrams) == nil {
		udp.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := udp.ReadFrom(buf)
		if err != nil {
			t.Fatalf("udp-log: %v", err)
		}
		datagrams = append(datagrams, string(buf[:n]))
	}
	check("udp-log", find(datagrams))
}

// syslog without a syslog daemon: requests are answered, the error log
// says why nothing was sent.
func TestLoggingSyslogWithoutDaemon(t *testing.T) {
	if _, err := os.Stat("/dev/log"); err == nil {
		t.Skip("a syslog daemon listens on /dev/log")
	}
	g := loggingGateway(t)
	g.curlCreate("/services/svc/plugins", "name=syslog", "config.log_level=debug", "config.facility=local3")
	g.curlCreate("/services/svc/routes", "paths[]=/log")
	g.waitProxy("/log", "", 200)
	wantStatus(t, g.cli("curl", "-si", g.proxyURL("/log")), 200)
	waitFor(t, "the error", func() bool { return strings.Contains(logs(g), "could not reach the syslog daemon") })
}

// custom_fields_by_lua is refused with a 400 rather than ignored.
func TestLoggingRefusesLua(t *testing.T) {
	g := startGateway(t)
	r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/plugins"), "-H", "Content-Type: application/json",
		"--data", `{"name":"file-log","config":{"path":"/tmp/x.log","custom_fields_by_lua":{"tag":"return 'x'"}}}`)
	wantStatus(t, r, 400)
	fields, _ := r.body["fields"].(map[string]any)
	config, _ := fields["config"].(map[string]any)
	if msg, _ := config["custom_fields_by_lua"].(string); !strings.Contains(msg, "not supported") {
		t.Errorf("body %s", r.raw)
	}
}

// scrape fetches /metrics with curl and parses it with Prometheus's text
// parser.
func scrape(t *testing.T, g *gateway, url string) map[string]*dto.MetricFamily {
	t.Helper()
	out, err := runTool(t, "curl", "-sf", url)
	if err != nil {
		t.Fatalf("curl %s: %v", url, err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(strings.NewReader(string(out)))
	if err != nil {
		t.Fatalf("parsing %s: %v\n%s", url, err, out)
	}
	return families
}

// sample is the value of the family's sample with exactly these labels
// (a histogram's count), and whether there is one.
func sample(f *dto.MetricFamily, labels map[string]string) (float64, bool) {
	if f == nil {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) != fmt.Sprint(labels) {
			continue
		}
		switch f.GetType() {
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue(), true
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue(), true
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

// prometheus counts requests per route, status and source, with
// latencies and bandwidth, on the Admin API's and the Status API's
// /metrics.
func TestLoggingPrometheus(t *testing.T) {
	g := loggingGateway(t)
	g.curlCreate("/plugins", "name=prometheus", "config.status_code_metrics=true", "config.latency_metrics=true",
		"config.bandwidth_metrics=true", "config.upstream_health_metrics=true")
	g.curlCreate("/services/svc/routes", "name=metered", "paths[]=/m")
	g.waitProxy("/m", "", 200)
	for _, p := range []string{"/m", "/m/fail", "/m"} {
		g.cli("curl", "-si", g.proxyURL(p))
	}
	route := map[string]string{"service": "svc", "route": "metered", "workspace": "default"}
	with := func(extra map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range route {
			out[k] = v
		}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	for _, url := range []string{g.adminURL("/metrics"), fmt.Sprintf("http://127.0.0.1:%d/metrics", g.statusPort)} {
		var families map[string]*dto.MetricFamily
		// The log phase runs after the answers: wait for the third.
		waitFor(t, "the counts", func() bool {
			families = scrape(t, g, url)
			v, _ := sample(families["kong_http_requests_total"], with(map[string]string{"code": "500", "source": "service", "consumer": ""}))
			return v == 1
		})
		// waitProxy's requests count too: at least the two below.
		if v, _ := sample(families["kong_http_requests_total"], with(map[string]string{"code": "200", "source": "service", "consumer": ""})); v < 2 {
			t.Errorf("%s: %v requests answered 200", url, v)
		}
		reqs := 0.0
		for _, m := range families["kong_http_requests_total"].GetMetric() {
			reqs += m.GetCounter().GetValue()
		}
		for _, name := range []string{"kong_request_latency_ms", "kong_kong_latency_ms", "kong_upstream_latency_ms"} {
			if v, ok := sample(families[name], route); !ok || v != reqs {
				t.Errorf("%s: %s has %v samples for %v requests", url, name, v, reqs)
			}
		}
		for _, dir := range []string{"ingress", "egress"} {
			if v, _ := sample(families["kong_bandwidth_bytes"], with(map[string]string{"direction": dir, "consumer": ""})); v <= 0 {
				t.Errorf("%s: %s bandwidth %v", url, dir, v)
			}
		}
		if v, ok := sample(families["kong_datastore_reachable"], map[string]string{}); !ok || v != 1 {
			t.Errorf("%s: kong_datastore_reachable %v %v", url, v, ok)
		}
		if families["kong_nginx_connections_total"] == nil {
			t.Errorf("%s: no kong_nginx_connections_total", url)
		}
	}
}
