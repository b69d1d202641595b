package proxy

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/internal/dbtest"
)

// echoed is what the echo upstream saw.
type echoed struct {
	Method  string              `json:"method"`
	URI     string              `json:"uri"`
	Host    string              `json:"host"`
	Headers map[string][]string `json:"headers"`
	Body    int                 `json:"body"`
	Server  string              `json:"server"`
}

// echoUpstream answers every request with what it received, as JSON.
func echoUpstream(t *testing.T, name string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Via", "1.1 upstream")
		json.NewEncoder(w).Encode(echoed{Method: r.Method, URI: r.RequestURI, Host: r.Host, Headers: r.Header, Body: int(n), Server: name})
	}))
	t.Cleanup(s.Close)
	return s
}

// testProxy is a proxy over an in-memory store, served on an in-memory
// listener.
type testProxy struct {
	t  testing.TB
	db *db.DB
	p  *Proxy
	ln *fasthttputil.InmemoryListener
	c  *fasthttp.Client
}

func newTestProxy(t testing.TB, tweak func(*Options)) *testProxy {
	t.Helper()
	bus := &events.Bus{}
	d, st := dbtest.Open(t, db.Options{Bus: bus})
	opts := Options{
		ServerTokens:         "kong/3.9.1",
		Store:                st,
		Bus:                  bus,
		Headers:              []string{"server_tokens", "latency_tokens", "X-Kong-Request-Id"},
		HeadersUpstream:      []string{"X-Kong-Request-Id"},
		RealIPHeader:         "X-Real-IP",
		RebuildDelay:         5 * time.Millisecond,
		KeepalivePoolSize:    512,
		KeepaliveMaxRequests: 10000,
	}
	if tweak != nil {
		tweak(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: p.Handler(), StreamRequestBody: true, MaxRequestBodySize: 8192, NoDefaultServerHeader: true}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Shutdown()
		p.Close()
	})
	c := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, DisablePathNormalizing: true}
	return &testProxy{t: t, db: d, p: p, ln: ln, c: c}
}

// insert creates an entity and rebuilds the proxy's snapshot at once (the
// watcher's own rebuild is tested by TestChangeIsLive).
func (tp *testProxy) insert(entity string, input map[string]any) map[string]any {
	tp.t.Helper()
	row, err := tp.db.Insert(context.Background(), tp.db.Entity(entity), input, nil)
	if err != nil {
		tp.t.Fatalf("inserting %s %v: %v", entity, input, err)
	}
	if err := tp.p.rebuild(context.Background()); err != nil {
		tp.t.Fatal(err)
	}
	return row
}

type response struct {
	status  int
	headers http.Header
	body    []byte
}

func (r response) echo(t *testing.T) echoed {
	t.Helper()
	var e echoed
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("status %d, body %q is not an echo: %v", r.status, r.body, err)
	}
	return e
}

func (tp *testProxy) do(method, uri string, headers map[string]string, body string) response {
	tp.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://gateway.test" + uri)
	req.URI().DisablePathNormalizing = true // send paths as written
	req.UseHostHeader = true
	for k, v := range headers {
		if strings.EqualFold(k, "Host") {
			req.Header.SetHost(v)
			continue
		}
		req.Header.Set(k, v)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	if err := tp.c.DoTimeout(req, resp, 10*time.Second); err != nil {
		tp.t.Fatalf("%s %s: %v", method, uri, err)
	}
	out := response{status: resp.StatusCode(), headers: http.Header{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		out.headers.Add(string(k), string(v))
	}
	return out
}

func TestNoRouteMatched(t *testing.T) {
	tp := newTestProxy(t, nil)
	tests := []struct {
		accept, contentType, body string
	}{
		{"", "application/json; charset=utf-8", "{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\"%s\"\n}"},
		{"text/html", "text/html; charset=utf-8", "<!doctype html>\n<html>\n  <head>\n    <meta charset=\"utf-8\">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>no Route matched with those values.</p>\n    <p>request_id: %s</p>\n  </body>\n</html>\n"},
		{"text/plain;q=0.5, application/xml", "application/xml; charset=utf-8", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<error>\n  <message>no Route matched with those values</message>\n  <requestid>%s</requestid>\n</error>\n"},
		{"text/*", "text/plain; charset=utf-8", "no Route matched with those values\nrequest_id: %s\n"},
		{"image/png", "application/json; charset=utf-8", "{\n  \"message\":\"no Route matched with those values\",\n  \"request_id\":\"%s\"\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			r := tp.do("GET", "/nothing", map[string]string{"Accept": tt.accept}, "")
			id := r.headers.Get("X-Kong-Request-Id")
			if r.status != 404 || r.headers.Get("Content-Type") != tt.contentType || string(r.body) != fmt.Sprintf(tt.body, id) {
				t.Fatalf("got %d %q %q", r.status, r.headers.Get("Content-Type"), r.body)
			}
			if len(id) != 32 || r.headers.Get("Server") != "kong/3.9.1" || r.headers.Get("X-Kong-Response-Latency") == "" {
				t.Fatalf("headers %v", r.headers)
			}
		})
	}
}

func TestForwarding(t *testing.T) {
	tp := newTestProxy(t, nil)
	up := echoUpstream(t, "a")
	svc := tp.insert("services", map[string]any{"name": "echo", "url": up.URL + "/base"})
	tp.insert("routes", map[string]any{"name": "r1", "paths": []any{"/api"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("routes", map[string]any{"name": "keep", "paths": []any{"/keep"}, "strip_path": false, "preserve_host": true,
		"service": map[string]any{"id": svc["id"]}})

	r := tp.do("POST", "/api/users/1?x=1&y=%20", map[string]string{
		"Host": "client.example:8000", "Connection": "keep-alive, X-Hop", "X-Hop": "secret",
		"X-Forwarded-For": "10.0.0.1", "X-Forwarded-Host": "evil.example", "Via": "1.0 edge",
	}, "hello")
	e := r.echo(t)
	if r.status != 200 || e.Method != "POST" || e.URI != "/base/users/1?x=1&y=%20" || e.Body != 5 {
		t.Fatalf("upstream saw %+v (status %d)", e, r.status)
	}
	upHost := strings.TrimPrefix(up.URL, "http://")
	h := http.Header(e.Headers)
	for name, want := range map[string]string{
		"X-Hop":              "",
		"X-Forwarded-For":    "10.0.0.1, unix:", // in-memory connections are not TCP
		"X-Real-IP":          "unix:",
		"X-Forwarded-Proto":  "http",
		"X-Forwarded-Host":   "client.example", // the peer is not trusted
		"X-Forwarded-Path":   "/api/users/1",
		"X-Forwarded-Prefix": "/api",
		"Via":                "1.0 edge, 1.1 kong/3.9.1",
		"X-Kong-Request-Id":  r.headers.Get("X-Kong-Request-Id"),
	} {
		if got := h.Get(name); got != want {
			t.Errorf("upstream %s = %q, want %q", name, got, want)
		}
	}
	if e.Host != upHost {
		t.Errorf("upstream Host %q, want %q", e.Host, upHost)
	}
	for name, want := range map[string]string{"Via": "1.1 upstream, 1.1 kong/3.9.1", "Content-Type": "application/json"} {
		if got := r.headers.Get(name); got != want {
			t.Errorf("downstream %s = %q, want %q", name, got, want)
		}
	}
	for _, name := range []string{"X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency", "X-Kong-Request-Id"} {
		if r.headers.Get(name) == "" {
			t.Errorf("downstream %s missing: %v", name, r.headers)
		}
	}

	r = tp.do("GET", "/keep/it?q", map[string]string{"Host": "client.example"}, "")
	e = r.echo(t)
	if e.URI != "/base/keep/it?q" || e.Host != "client.example" {
		t.Fatalf("strip_path=false, preserve_host: upstream saw %s with Host %s", e.URI, e.Host)
	}
}

func TestKongAnswers(t *testing.T) {
	tp := newTestProxy(t, func(o *Options) { o.ClientMaxBodySize = 10 })
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(slow.Close)
	up := echoUpstream(t, "a")
	garbage := rawUpstream(t, func(c net.Conn) { c.Write([]byte("NOT HTTP AT ALL\r\n\r\n")) })
	reset := rawUpstream(t, func(c net.Conn) {
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // close with RST
		}
	})
	for path, addr := range map[string]string{"/garbage": garbage, "/reset": reset} {
		svc := tp.insert("services", map[string]any{"url": "http://" + addr, "retries": 1.0})
		tp.insert("routes", map[string]any{"paths": []any{path}, "service": map[string]any{"id": svc["id"]}})
	}
	down := tp.insert("services", map[string]any{"name": "down", "url": closedURL, "retries": 2.0})
	slowSvc := tp.insert("services", map[string]any{"name": "slow", "url": slow.URL, "read_timeout": 100.0, "retries": 0.0})
	ok := tp.insert("services", map[string]any{"name": "ok", "url": up.URL})
	tp.insert("routes", map[string]any{"paths": []any{"/down"}, "service": map[string]any{"id": down["id"]}})
	tp.insert("routes", map[string]any{"paths": []any{"/slow"}, "service": map[string]any{"id": slowSvc["id"]}})
	tp.insert("routes", map[string]any{"paths": []any{"/none"}})
	tp.insert("routes", map[string]any{"paths": []any{"/tls"}, "protocols": []any{"https"}, "service": map[string]any{"id": ok["id"]}})
	tp.insert("routes", map[string]any{"paths": []any{"/tls301"}, "protocols": []any{"https"}, "https_redirect_status_code": 301.0,
		"service": map[string]any{"id": ok["id"]}})
	tp.insert("routes", map[string]any{"paths": []any{"/ok"}, "service": map[string]any{"id": ok["id"]}})

	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string
		headers                  map[string]string
	}{
		{"refused connection", "GET", "/down", "", 502, msgBadGateway, nil},
		{"upstream answers garbage", "GET", "/garbage", "", 502, msgBadGateway, nil},
		{"upstream resets", "GET", "/reset", "", 502, msgBadGateway, nil},
		{"bad percent escape", "GET", "/a/%zz", "", 400, msgBadRequest, nil},
		{"dot segments above the root", "GET", "/a/../../etc/passwd", "", 400, msgBadRequest, nil},
		{"read timeout", "GET", "/slow", "", 504, msgTimeout, nil},
		{"route without service", "GET", "/none", "", 503, msgNoService, nil},
		{"https only", "GET", "/tls/x", "", 426, msgUseHTTPS, map[string]string{"Upgrade": "TLS/1.2, HTTP/1.1", "Connection": "Upgrade"}},
		{"https redirect", "GET", "/tls301/x?a=1", "", 301, "", map[string]string{"Location": "https://gateway.test/tls301/x?a=1"}},
		{"body over client_max_body_size", "POST", "/ok", "01234567890", 413, msgBodyTooLarge, nil},
		{"body within client_max_body_size", "POST", "/ok", "0123456789", 200, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tp.do(tt.method, tt.path, nil, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tt.status, r.body)
			}
			if tt.message != "" {
				var body map[string]string
				if err := json.Unmarshal(r.body, &body); err != nil || body["message"] != tt.message ||
					body["request_id"] != r.headers.Get("X-Kong-Request-Id") {
					t.Fatalf("body %q", r.body)
				}
			}
			for k, v := range tt.headers {
				if r.headers.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, r.headers.Get(k), v)
				}
			}
		})
	}
}

func TestUpstreamRoundRobin(t *testing.T) {
	tp := newTestProxy(t, nil)
	a, b := echoUpstream(t, "a"), echoUpstream(t, "b")
	u := tp.insert("upstreams", map[string]any{"name": "backends"})
	for _, s := range []*httptest.Server{a, b} {
		tp.insert("targets", map[string]any{"upstream": map[string]any{"id": u["id"]}, "target": strings.TrimPrefix(s.URL, "http://")})
	}
	svc := tp.insert("services", map[string]any{"name": "lb", "host": "backends", "port": 80.0})
	tp.insert("routes", map[string]any{"paths": []any{"/lb"}, "service": map[string]any{"id": svc["id"]}})
	seen := map[string]int{}
	for i := 0; i < 10; i++ {
		seen[tp.do("GET", "/lb", nil, "").echo(t).Server]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("round-robin over two equal targets gave %v", seen)
	}
}

// A change is live without a restart, well within a second.
func TestChangeIsLive(t *testing.T) {
	tp := newTestProxy(t, func(o *Options) { o.RebuildDelay = 50 * time.Millisecond })
	up := echoUpstream(t, "a")
	svc := tp.insert("services", map[string]any{"url": up.URL})
	if r := tp.do("GET", "/late", nil, ""); r.status != 404 {
		t.Fatalf("before: %d", r.status)
	}
	start := time.Now()
	if _, err := tp.db.Insert(context.Background(), tp.db.Entity("routes"), map[string]any{"paths": []any{"/late"},
		"service": map[string]any{"id": svc["id"]}}, nil); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	for time.Since(start) < time.Second {
		n.Add(1)
		if r := tp.do("GET", "/late", nil, ""); r.status == 200 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the new route was not live after 1 s (%d tries)", n.Load())
}

// Service TLS: tls_verify checks the upstream against the service's
// ca_certificates (or the system's roots).
func TestUpstreamTLSVerify(t *testing.T) {
	tp := newTestProxy(t, nil)
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secure") }))
	t.Cleanup(up.Close)
	certPEM := pemCert(up.Certificate().Raw)
	ca := tp.insert("ca_certificates", map[string]any{"cert": certPEM})
	plain := tp.insert("services", map[string]any{"url": up.URL})
	unknownCA := tp.insert("services", map[string]any{"url": up.URL, "tls_verify": true})
	trusted := tp.insert("services", map[string]any{"url": up.URL, "tls_verify": true, "ca_certificates": []any{ca["id"]}})
	for path, svc := range map[string]map[string]any{"/plain": plain, "/unknown": unknownCA, "/trusted": trusted} {
		tp.insert("routes", map[string]any{"paths": []any{path}, "service": map[string]any{"id": svc["id"]}})
	}
	for path, want := range map[string]int{"/plain": 200, "/unknown": 502, "/trusted": 200} {
		if r := tp.do("GET", path, nil, ""); r.status != want {
			t.Errorf("%s: %d, want %d (%s)", path, r.status, want, r.body)
		}
	}
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// rawUpstream accepts connections, reads what comes, and lets serve answer
// (or not) before closing: upstreams that misbehave.
func rawUpstream(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				c.SetReadDeadline(time.Now().Add(time.Second))
				c.Read(buf)
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// upstream_keepalive_pool_size and upstream_keepalive_max_requests decide
// how many upstream connections a run of requests opens.
func TestUpstreamKeepalive(t *testing.T) {
	tests := []struct {
		name              string
		poolSize, maxReqs int
		wantConns         int32
	}{
		{"pooled", 512, 10000, 1},
		{"max_requests 2", 512, 2, 5},
		{"keep-alive off", 0, 10000, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conns atomic.Int32
			up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
			up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			up.Start()
			t.Cleanup(up.Close)
			tp := newTestProxy(t, func(o *Options) {
				o.KeepalivePoolSize, o.KeepaliveMaxRequests = tt.poolSize, tt.maxReqs
			})
			svc := tp.insert("services", map[string]any{"url": up.URL})
			tp.insert("routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}})
			for i := 0; i < 10; i++ {
				if r := tp.do("GET", "/", nil, ""); r.status != 200 {
					t.Fatalf("request %d: %d", i, r.status)
				}
			}
			if got := conns.Load(); got != tt.wantConns {
				t.Fatalf("%d upstream connections for 10 requests, want %d", got, tt.wantConns)
			}
		})
	}
}

// Idle upstream connections: closed by Portico after
// upstream_keepalive_idle_timeout, and one the upstream closed first is
// replaced without the client seeing an error.
func TestUpstreamIdleConnections(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	up.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	up.Config.IdleTimeout = 200 * time.Millisecond // the upstream drops idle connections first
	up.Start()
	t.Cleanup(up.Close)
	tp := newTestProxy(t, func(o *Options) { o.KeepaliveIdleTimeout = time.Hour })
	svc := tp.insert("services", map[string]any{"url": up.URL})
	tp.insert("routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": svc["id"]}})
	for i := 0; i < 3; i++ {
		if r := tp.do("GET", "/", nil, ""); r.status != 200 {
			t.Fatalf("request %d after the upstream closed the idle connection: %d %s", i, r.status, r.body)
		}
		time.Sleep(400 * time.Millisecond)
	}
	if got := conns.Load(); got != 3 {
		t.Fatalf("%d upstream connections, want 3 (one per request)", got)
	}

	// Portico's own idle timeout closes the pooled connection.
	var conns2 atomic.Int32
	up2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	closed := make(chan struct{}, 1)
	up2.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			conns2.Add(1)
		case http.StateClosed:
			select {
			case closed <- struct{}{}:
			default:
			}
		}
	}
	up2.Start()
	t.Cleanup(up2.Close)
	tp2 := newTestProxy(t, func(o *Options) { o.KeepaliveIdleTimeout = time.Second })
	svc2 := tp2.insert("services", map[string]any{"url": up2.URL})
	tp2.insert("routes", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": svc2["id"]}})
	if r := tp2.do("GET", "/", nil, ""); r.status != 200 {
		t.Fatal(r.status)
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the idle upstream connection was not closed after upstream_keepalive_idle_timeout")
	}
}
