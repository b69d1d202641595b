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
	"regexp"
	"strings"
	"testing"
	"time"
)

// Plugins run on proxied requests, configured with curl as Kong users do.
func TestPluginsRunWithCurl(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Upstream-Saw-Id", r.Header.Get("Kong-Request-ID"))
		fmt.Fprint(w, "from upstream")
	}))
	defer upstream.Close()
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/routes", "name=open", "paths[]=/open")
	g.curlCreate("/services/svc/routes", "name=closed", "paths[]=/closed")
	g.curlCreate("/plugins", "name=correlation-id",
		"config.echo_downstream=true")
	g.curlCreate("/routes/closed/plugins", "name=request-termination",
		"config.status_code=403", "config.message=So long and thanks for all the fish!")
	// A snapshot with the later write has the earlier one too.
	g.waitProxy("/closed", "", 403)

	r := g.cli("curl", "-si", g.proxyURL("/closed"))
	wantStatus(t, r, 403)
	wantFields(t, r.body, map[string]any{"message": "So long and thanks for all the fish!"})
	if r.header.Get("X-Kong-Response-Latency") == "" || r.header.Get("Kong-Request-ID") == "" {
		t.Errorf("headers %v", r.header)
	}

	// correlation-id: the upstream gets an id, the client sees the same.
	out, err := runTool(t, "curl", "-si", g.proxyURL("/open"))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	id := headerValue(head, "Kong-Request-ID")
	if !regexp.MustCompile(`^[0-9a-f-]{36}#\d+$`).MatchString(id) || headerValue(head, "X-Upstream-Saw-Id") != id || body != "from upstream" {
		t.Errorf("correlation id %q, upstream saw %q, body %q", id, headerValue(head, "X-Upstream-Saw-Id"), body)
	}
	// A client's own id is kept.
	out, _ = runTool(t, "curl", "-si", g.proxyURL("/open"), "-H", "Kong-Request-ID: mine")
	if head, _, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n"); headerValue(head, "X-Upstream-Saw-Id") != "mine" {
		t.Errorf("the client's id was replaced:\n%s", head)
	}

	// Disabling the plugin (PATCH) opens the route again.
	r = g.cli("curl", "-si", g.adminURL("/routes/closed/plugins"))
	plugin := r.body["data"].([]any)[0].(map[string]any)
	wantStatus(t, g.cli("curl", "-si", "-X", "PATCH", g.adminURL("/plugins/"+plugin["id"].(string)), "--data", "enabled=false"), 200)
	g.waitProxy("/closed", "", 200)
}

// ip-restriction refuses the loopback client with Kong's error body.
func TestIPRestrictionWithCurl(t *testing.T) {
	g := gatewayWithPlugin(t, "/r", "name=ip-restriction", "config.deny[]=127.0.0.0/8")
	g.waitProxy("/r", "", 403)
	r := g.cli("curl", "-si", g.proxyURL("/r"))
	wantStatus(t, r, 403)
	wantFields(t, r.body, map[string]any{"message": "IP address not allowed: 127.0.0.1"})
	if r.body["request_id"] != r.header.Get("X-Kong-Request-Id") || r.header.Get("X-Kong-Request-Id") == "" {
		t.Errorf("request_id %v, header %q", r.body["request_id"], r.header.Get("X-Kong-Request-Id"))
	}
}

// request-size-limiting: bodies over the limit get Kong's 413, whether
// their size is announced or they arrive chunked.
func TestRequestSizeLimiting(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "got %d", n)
	}))
	defer upstream.Close()
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/plugins", "name=request-size-limiting",
		"config.allowed_payload_size=64", "config.size_unit=kilobytes")
	g.curlCreate("/services/svc/routes", "paths[]=/up") // last: routed means the plugin is live
	g.waitProxy("/up", "", 200)

	small := strings.Repeat("a", 1000)
	r := g.cli("curl", "-si", "-X", "POST", g.proxyURL("/up"), "--data-binary", small)
	if r.status != 200 || string(r.raw) != "got 1000" {
		t.Fatalf("a small body: %d %s", r.status, r.raw)
	}
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 100<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	r = g.cli("curl", "-si", "-X", "POST", g.proxyURL("/up"), "--data-binary", "@"+big)
	wantStatus(t, r, 413)
	wantFields(t, r.body, map[string]any{"message": "Request size limit exceeded"})

	// Chunked, 1 MiB: cut at the limit, Kong's 413 to the client (which
	// may still be sending: it reads the answer whatever its writes do).
	conn, err := net.Dial("tcp", strings.TrimPrefix(g.proxyURL(""), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	go func() {
		fmt.Fprintf(conn, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		chunk := fmt.Sprintf("%x\r\n%s\r\n", 16<<10, strings.Repeat("b", 16<<10))
		for i := 0; i < 64; i++ {
			if _, err := io.WriteString(conn, chunk); err != nil {
				return
			}
		}
		io.WriteString(conn, "0\r\n\r\n")
	}()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(body), "Request size limit exceeded") {
		t.Fatalf("chunked 1 MiB: %d %s", resp.StatusCode, body)
	}
}

// cors answers a preflight itself and marks proxied answers.
func TestCORSWithCurl(t *testing.T) {
	g := gatewayWithPlugin(t, "/api", "name=cors", "config.origins[]=https://app.example.com",
		"config.origins[]=https://admin.example.com", "config.credentials=true", "config.max_age=600")
	g.waitProxy("/api", "", 200)
	out, err := runTool(t, "curl", "-si", "-X", "OPTIONS", g.proxyURL("/api"), "-H", "Origin: https://app.example.com",
		"-H", "Access-Control-Request-Method: POST")
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	if !strings.HasPrefix(head, "HTTP/1.1 200") || headerValue(head, "Access-Control-Allow-Origin") != "https://app.example.com" ||
		headerValue(head, "Access-Control-Allow-Credentials") != "true" || headerValue(head, "Access-Control-Max-Age") != "600" {
		t.Fatalf("preflight:\n%s", head)
	}
	out, _ = runTool(t, "curl", "-si", g.proxyURL("/api"), "-H", "Origin: https://evil.example.com")
	head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	if headerValue(head, "Access-Control-Allow-Origin") != "" || body != "ok" {
		t.Fatalf("an unlisted origin:\n%s\n%s", head, body)
	}
}

// curlCreate POSTs form fields to an Admin API collection with curl and
// expects 201.
func (g *gateway) curlCreate(path string, fields ...string) {
	g.t.Helper()
	args := []string{"-si", "-X", "POST", g.adminURL(path)}
	for _, f := range fields {
		args = append(args, "--data", f)
	}
	wantStatus(g.t, g.cli("curl", args...), 201)
}

// gatewayWithPlugin starts a node with a service (an upstream answering
// "ok"), a plugin on the service and a route on path, all made with curl;
// a caller that waits for the route to answer sees the plugin at work.
func gatewayWithPlugin(t *testing.T, path string, plugin ...string) *gateway {
	t.Helper()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	t.Cleanup(upstream.Close)
	g := startGateway(t)
	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/plugins", plugin...)
	// The route last: a snapshot that routes it has the plugin too.
	g.curlCreate("/services/svc/routes", "paths[]="+path)
	return g
}

// redirect sends clients elsewhere, keeping their path when asked.
func TestRedirectWithCurl(t *testing.T) {
	g := gatewayWithPlugin(t, "/old", "name=redirect", "config.location=https://example.com/", "config.keep_incoming_path=true")
	g.waitProxy("/old", "", 301)
	out, err := runTool(t, "curl", "-si", g.proxyURL("/old/page?x=1"))
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := strings.Cut(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n\n")
	if !strings.HasPrefix(head, "HTTP/1.1 301") || headerValue(head, "Location") != "https://example.com/old/page?x=1" || body != "redirecting" {
		t.Fatalf("%s\n\n%s", head, body)
	}
}
