package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func (g *gateway) proxyURL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", g.proxyPort, path)
}

// noRedirects is a client that reports a redirect instead of following it.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// waitProxy polls the proxy until path (with this Host, or the default
// one when host is "") answers want (a redirect is an answer): a change is
// live within a second, and the deadline is generous for a loaded machine.
func (g *gateway) waitProxy(path, host string, want int) {
	g.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", g.proxyURL(path), nil)
		if host != "" {
			req.Host = host
		}
		resp, err := noRedirects.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return
			}
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("GET %s (Host %q) through the proxy did not answer %d within 5 s (last: %v %v)", path, host, want, resp, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pid of the running node, for memory readings.
func (g *gateway) pid() int { return g.cmd.Process.Pid }

// peakRSS is the node's peak resident memory (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM")
	return 0
}

// A request that only announces a huge body must not make the node
// allocate it: on the proxy and on the Admin API.
func TestHugeContentLengthIsHarmless(t *testing.T) {
	g := startGateway(t)
	for _, port := range []int{g.proxyPort, g.adminPort} {
		for i := 0; i < 3; i++ {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000000000\r\n\r\n")
			// The first bytes of the body: the proxy reads ahead
			// client_body_buffer_size before routing, never more.
			conn.Write(make([]byte, 64<<10))
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			status, err := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if err != nil {
				t.Fatalf("port %d: no answer: %v", port, err)
			}
			if !strings.HasPrefix(status, "HTTP/1.1 4") {
				t.Fatalf("port %d: %q, want a 4xx", port, status)
			}
		}
	}
	wantStatus(t, g.get("/status"), 200)
	if rss := peakRSS(t, g.pid()); rss > 400<<20 {
		t.Fatalf("peak RSS %d MiB after announced 200 GB bodies", rss>>20)
	}
}

// The proxy routes with curl as a client, to a real upstream, with Kong's
// headers both ways.
func TestProxyRoutesWithCurl(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Path", r.URL.RequestURI())
		w.Header().Set("X-Upstream-Host", r.Host)
		w.Header().Set("X-Upstream-Forwarded-For", r.Header.Get("X-Forwarded-For"))
		w.Header().Set("X-Upstream-Request-Id", r.Header.Get("X-Kong-Request-Id"))
		fmt.Fprint(w, "hello from upstream")
	}))
	defer upstream.Close()
	g := startGateway(t)
	wantStatus(t, g.cli("curl", "-si", "-X", "POST", g.adminURL("/services"), "--data", "name=example_service",
		"--data", "url="+upstream.URL+"/anything"), 201)
	wantStatus(t, g.cli("curl", "-si", "-X", "POST", g.adminURL("/services/example_service/routes"),
		"--data", "name=mocking", "--data", "paths[]=/mock", "--data", "hosts[]=example.com"), 201)
	g.waitProxy("/mock", "example.com", 200)

	out, err := runTool(t, "curl", "-si", g.proxyURL("/mock/request?x=1"), "-H", "Host: example.com")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	for _, want := range []string{
		"HTTP/1.1 200", "X-Upstream-Path: /anything/request?x=1", "X-Upstream-Forwarded-For: 127.0.0.1",
		"Via: 1.1 kong/3.9.1.0-enterprise-edition", "X-Kong-Upstream-Latency: ", "X-Kong-Proxy-Latency: ", "hello from upstream",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("curl output lacks %q:\n%s", want, text)
		}
	}
	head, _, _ := strings.Cut(text, "\n\n")
	id := headerValue(head, "X-Kong-Request-Id")
	if len(id) != 32 || headerValue(head, "X-Upstream-Request-Id") != id {
		t.Errorf("request id %q, upstream saw %q", id, headerValue(head, "X-Upstream-Request-Id"))
	}

	// Another host: no route; Kong's 404 body.
	out, _ = runTool(t, "curl", "-si", g.proxyURL("/mock"), "-H", "Host: other.com")
	r := parseHTTPResponse(t, out)
	wantStatus(t, r, 404)
	wantFields(t, r.body, map[string]any{"message": "no Route matched with those values"})

	// HTTPie sees the same route.
	r = g.cli("http", "--print=hb", "GET", g.proxyURL("/mock/x"), "Host:example.com")
	wantStatus(t, r, 200)
	if string(r.raw) != "hello from upstream" || r.header.Get("X-Upstream-Path") != "/anything/x" {
		t.Errorf("HTTPie saw %q, upstream path %q", r.raw, r.header.Get("X-Upstream-Path"))
	}
}

// runTool runs an external client and returns its output.
func runTool(t *testing.T, tool string, args ...string) ([]byte, error) {
	t.Helper()
	return toolCommand(t, tool, args...).Output()
}

func headerValue(head, name string) string {
	for _, l := range strings.Split(head, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A 1 GB body passes through the proxy in both directions while the node's
// memory stays flat.
func TestProxyStreamsLargeBodies(t *testing.T) {
	const size = 1 << 30
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			n, err := io.Copy(io.Discard, r.Body)
			fmt.Fprintf(w, "%d %v", n, err)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(size))
		buf := make([]byte, 1<<20)
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := w.Write(buf); err != nil {
				return
			}
		}
	}))
	defer upstream.Close()
	g := startGateway(t)
	svc := g.postJSON("/services", map[string]any{"url": upstream.URL})
	wantStatus(t, svc, 201)
	wantStatus(t, g.postJSON("/routes", map[string]any{"paths": []string{"/big"}, "service": map[string]any{"id": svc.body["id"]}}), 201)
	g.waitProxy("/big", "", 200)

	resp, err := http.Post(g.proxyURL("/big"), "application/octet-stream", io.LimitReader(zeros{}, size))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != fmt.Sprintf("%d <nil>", size) {
		t.Fatalf("upload: upstream said %q", body)
	}
	resp, err = http.Get(g.proxyURL("/big"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != size {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	rss := peakRSS(t, g.pid())
	t.Logf("peak RSS after 1 GB each way: %d MiB", rss>>20)
	if rss > 300<<20 {
		t.Fatalf("peak RSS %d MiB after 1 GB each way: bodies are not streamed", rss>>20)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Certificates and SNIs from the Admin API are served per SNI on the ssl
// listener, and curl verifies them.
func TestProxyTLSBySNI(t *testing.T) {
	dir := t.TempDir()
	certA, keyA := selfSigned(t, "a.example.test")
	certW, keyW := selfSigned(t, "*.wild.test")
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "tls ok") }))
	defer upstream.Close()
	tlsPort := freePort(t)
	g := newGateway(t)
	g.env = append(g.env, fmt.Sprintf("KONG_PROXY_LISTEN=127.0.0.1:%d reuseport backlog=128, 127.0.0.1:%d ssl http2 deferred so_keepalive=30:10:3", g.proxyPort, tlsPort))
	g.start()
	wantStatus(t, g.postJSON("/certificates", map[string]any{"cert": certA, "key": keyA, "snis": []string{"a.example.test"}}), 201)
	wantStatus(t, g.postJSON("/certificates", map[string]any{"cert": certW, "key": keyW, "snis": []string{"*.wild.test"}}), 201)
	svc := g.postJSON("/services", map[string]any{"url": upstream.URL})
	wantStatus(t, g.postJSON("/routes", map[string]any{"paths": []string{"/"}, "protocols": []string{"https"}, "service": map[string]any{"id": svc.body["id"]}}), 201)
	for _, tt := range []struct{ name, cert string }{{"a.example.test", certA}, {"x.wild.test", certW}} {
		caFile := filepath.Join(dir, tt.name+".pem")
		os.WriteFile(caFile, []byte(tt.cert), 0o644)
		url := fmt.Sprintf("https://%s:%d/", tt.name, tlsPort)
		var out []byte
		var err error
		deadline := time.Now().Add(5 * time.Second)
		for {
			// HTTP/2 over TLS (ALPN), as the listener's http2 flag offers.
			out, err = runTool(t, "curl", "-s", "--http2", "-w", " HTTP/%{http_version}", "--cacert", caFile, "--resolve", fmt.Sprintf("%s:%d:127.0.0.1", tt.name, tlsPort), url)
			if (err == nil && string(out) == "tls ok HTTP/2") || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil || string(out) != "tls ok HTTP/2" {
			t.Fatalf("curl %s with its certificate: %v %q", tt.name, err, out)
		}
	}
	// Plain http on the https-only route: Kong's 426.
	resp, err := http.Get(g.proxyURL("/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 426 {
		t.Fatalf("http on an https route: %d", resp.StatusCode)
	}
}

// A target that goes down and comes back: active health checks see it, the
// balancer stops and resumes sending it traffic, and a hook on the balancer
// source hears both transitions.
func TestHealthChecksAndBalancerEvents(t *testing.T) {
	receiver := newHookReceiver(t)
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "healthy") }))
	defer healthy.Close()
	flaky := newHookReceiver(t) // answers 200 while up; its port refuses connections while down
	g := startGateway(t)
	wantStatus(t, g.postJSON("/event-hooks", map[string]any{"source": "balancer", "event": "health", "handler": "webhook",
		"config": map[string]any{"url": receiver.URL + "/hook"}}), 201)
	up := g.postJSON("/upstreams", map[string]any{"name": "flaky-backends", "healthchecks": map[string]any{"active": map[string]any{
		"http_path": "/",
		"healthy":   map[string]any{"interval": 1, "successes": 1},
		"unhealthy": map[string]any{"interval": 1, "tcp_failures": 1, "http_failures": 1, "timeouts": 1},
	}}})
	wantStatus(t, up, 201)
	for _, target := range []string{strings.TrimPrefix(healthy.URL, "http://"), flaky.addr} {
		wantStatus(t, g.postJSON("/upstreams/flaky-backends/targets", map[string]any{"target": target}), 201)
	}
	wantStatus(t, g.postJSON("/services", map[string]any{"name": "lb", "host": "flaky-backends"}), 201)
	wantStatus(t, g.postJSON("/services/lb/routes", map[string]any{"paths": []string{"/lb"}}), 201)
	g.waitProxy("/lb", "", 200)

	flaky.down()
	down := receiver.waitFor(t, "an unhealthy event", 1, func(r hookRequest) bool {
		return r.JSON()["health"] == "unhealthy"
	})
	ev := down[0].JSON()
	wantFields(t, ev, map[string]any{"source": "balancer", "event": "health", "upstream_id": up.body["id"], "ip": "127.0.0.1"})
	health := g.get("/upstreams/flaky-backends/health")
	wantStatus(t, health, 200)
	byTarget := map[string]string{}
	for _, d := range health.body["data"].([]any) {
		m := d.(map[string]any)
		byTarget[m["target"].(string)] = m["health"].(string)
	}
	if byTarget[flaky.addr] != "UNHEALTHY" || byTarget[strings.TrimPrefix(healthy.URL, "http://")] != "HEALTHY" {
		t.Fatalf("health while down: %v", byTarget)
	}
	// Every request now goes to the healthy target.
	for i := 0; i < 6; i++ {
		resp, err := http.Get(g.proxyURL("/lb"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "healthy" {
			t.Fatalf("request %d while a target is down: %d %q", i, resp.StatusCode, body)
		}
	}
	flaky.up()
	receiver.waitFor(t, "a healthy event", 1, func(r hookRequest) bool { return r.JSON()["health"] == "healthy" })

	// By hand: Kong's 204, and 404 for a target the upstream does not have.
	healthyAddr := strings.TrimPrefix(healthy.URL, "http://")
	wantStatus(t, g.do("PUT", "/upstreams/flaky-backends/targets/"+healthyAddr+"/unhealthy", "", ""), 204)
	wantStatus(t, g.do("PUT", "/upstreams/flaky-backends/targets/127.0.0.1:1/unhealthy", "", ""), 404)
	wantStatus(t, g.do("PUT", "/upstreams/nope/targets/"+healthyAddr+"/healthy", "", ""), 404)
	target := g.get("/upstreams/flaky-backends/targets/" + healthyAddr + "/health")
	wantStatus(t, target, 200)
	if h := target.body["data"].([]any)[0].(map[string]any)["health"]; h != "UNHEALTHY" {
		t.Fatalf("after PUT .../unhealthy: %v", h)
	}
	wantStatus(t, g.do("PUT", "/upstreams/flaky-backends/targets/"+healthyAddr+"/127.0.0.1:"+strings.Split(healthyAddr, ":")[1]+"/healthy", "", ""), 204)
	bh := g.get("/upstreams/flaky-backends/health?balancer_health=1")
	wantStatus(t, bh, 200)
	if data, _ := bh.body["data"].(map[string]any); data["health"] != "HEALTHY" || data["id"] != up.body["id"] {
		t.Fatalf("balancer health: %s", bh.raw)
	}
}

// A WebSocket upgrade passes through to the upstream, and messages flow
// both ways.
func TestProxyWebSocket(t *testing.T) {
	upgrader := websocket.Upgrader{}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, http.Header{"X-Upstream-Path": {r.URL.Path}})
		if err != nil {
			return
		}
		defer c.Close()
		for {
			typ, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	}))
	defer upstream.Close()
	g := startGateway(t)
	svc := g.postJSON("/services", map[string]any{"url": upstream.URL + "/ws"})
	wantStatus(t, g.postJSON("/routes", map[string]any{"paths": []string{"/chat"}, "service": map[string]any{"id": svc.body["id"]}}), 201)
	g.waitProxy("/chat", "", 400) // the upstream refuses a plain GET; the route is live

	c, resp, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://127.0.0.1:%d/chat/room", g.proxyPort), nil)
	if err != nil {
		t.Fatalf("dial through the proxy: %v (%v)", err, resp)
	}
	defer c.Close()
	if got := resp.Header.Get("X-Upstream-Path"); got != "/ws/room" {
		t.Errorf("upstream path %q", got)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("message %d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != "echo: "+msg {
			t.Fatalf("read %q, %v", got, err)
		}
	}
}

// Malformed requests get a quick 4xx from the proxy listener, and the node
// keeps serving.
func TestProxyBadRequests(t *testing.T) {
	g := startGateway(t)
	for _, tt := range []struct{ name, raw, want string }{
		{"not HTTP", "GARBAGE\r\n\r\n", "HTTP/1.1 400"},
		{"bad percent escape", "GET /a/%zz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"dot segments above the root", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400"},
		{"head over large_client_header_buffers", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 40000) + "\r\n\r\n", "HTTP/1.1 4"},
		{"bad Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", "HTTP/1.1 400"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", g.proxyPort), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(conn, tt.raw); err != nil {
				t.Fatal(err)
			}
			status, err := bufio.NewReader(conn).ReadString('\n')
			if err != nil || !strings.HasPrefix(status, tt.want) {
				t.Fatalf("answer %q (%v), want %s...", status, err, tt.want)
			}
		})
	}
	wantStatus(t, g.get("/status"), 200)
}
