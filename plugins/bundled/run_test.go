package bundled

import (
	"encoding/json"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
)

// newContext is a plugin context for a request to uri with headers.
func newContext(uri string, headers map[string]string, body string) *plugins.Context {
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.SetRequestURI("http://example.com" + uri)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	req.Header.SetContentLength(len(body)) // as a parsed request has it
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	return &plugins.Context{Ctx: &ctx, Request: &ctx.Request, Response: &ctx.Response, Shared: map[string]any{},
		Node: plugins.Node{ID: "node-1", Hostname: "host-1"}, Route: plugins.Ref{ID: "r1", Row: map[string]any{"id": "r1"}}}
}

func TestRequestTermination(t *testing.T) {
	for _, c := range []struct {
		name        string
		conf        map[string]any
		uri         string
		headers     map[string]string
		exited      bool
		status      int
		body        string
		contentType string
	}{
		{"Kong's default message", map[string]any{"status_code": float64(503)}, "/", nil, true, 503, `{"message":"Service unavailable"}`, "application/json; charset=utf-8"},
		{"a status without a default message", map[string]any{"status_code": float64(418)}, "/", nil, true, 418, ``, ""},
		{"a message", map[string]any{"status_code": float64(403), "message": "So long"}, "/", nil, true, 403, `{"message":"So long"}`, "application/json; charset=utf-8"},
		{"a body with its type", map[string]any{"status_code": float64(200), "body": "<h1>hi</h1>", "content_type": "text/html"}, "/", nil, true, 200, `<h1>hi</h1>`, "text/html"},
		{"trigger absent", map[string]any{"status_code": float64(503), "trigger": "X-Stop"}, "/", nil, false, 200, ``, ""},
		{"trigger in a header", map[string]any{"status_code": float64(503), "trigger": "X-Stop"}, "/", map[string]string{"X-Stop": "1"}, true, 503, `{"message":"Service unavailable"}`, ""},
		{"trigger in the query", map[string]any{"status_code": float64(503), "trigger": "X-Stop"}, "/?X-Stop=1", nil, true, 503, `{"message":"Service unavailable"}`, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newRequestTermination(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			pc := newContext(c.uri, c.headers, "")
			if err := h.(plugins.Accessor).Access(pc); err != nil {
				t.Fatal(err)
			}
			if pc.Exited() != c.exited || pc.Response.StatusCode() != c.status || string(pc.Response.Body()) != c.body {
				t.Fatalf("exited %v, %d %q", pc.Exited(), pc.Response.StatusCode(), pc.Response.Body())
			}
			if c.contentType != "" && string(pc.Response.Header.ContentType()) != c.contentType {
				t.Fatalf("content type %q", pc.Response.Header.ContentType())
			}
		})
	}
}

func TestRequestTerminationEcho(t *testing.T) {
	h, _ := newRequestTermination(map[string]any{"status_code": float64(404), "echo": true})
	pc := newContext("/a/b?x=1", map[string]string{"X-Test": "yes"}, `{"k":"v"}`)
	h.(plugins.Accessor).Access(pc)
	var got struct {
		Message string `json:"message"`
		Kong    struct {
			NodeID   string `json:"node_id"`
			Hostname string `json:"hostname"`
		} `json:"kong"`
		Request struct {
			Path    string            `json:"path"`
			Query   map[string]string `json:"query"`
			Headers map[string]string `json:"headers"`
			Body    map[string]string `json:"body"`
			RawBody string            `json:"raw_body"`
			Method  string            `json:"method"`
		} `json:"request"`
		Route map[string]any `json:"matched_route"`
	}
	if err := json.Unmarshal(pc.Response.Body(), &got); err != nil {
		t.Fatal(err)
	}
	if pc.Response.StatusCode() != 404 || got.Message != "Not found" || got.Kong.NodeID != "node-1" || got.Kong.Hostname != "host-1" ||
		got.Request.Path != "/a/b" || got.Request.Query["x"] != "1" || got.Request.Headers["x-test"] != "yes" ||
		got.Request.Body["k"] != "v" || got.Request.RawBody != `{"k":"v"}` || got.Route["id"] != "r1" {
		t.Fatalf("echo %s", pc.Response.Body())
	}
}

func TestCorrelationID(t *testing.T) {
	for _, c := range []struct {
		generator string
		pattern   string
	}{
		{"uuid", `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`},
		{"uuid#counter", `^[0-9a-f-]{36}#\d+$`},
		{"tracker", `^[0-9.]*-\d*-\d+-\d+-\d+-\d+\.\d{3}$`},
	} {
		t.Run(c.generator, func(t *testing.T) {
			h, _ := newCorrelationID(map[string]any{"header_name": "X-Id", "generator": c.generator, "echo_downstream": true})
			pc := newContext("/", nil, "")
			h.(plugins.Accessor).Access(pc)
			id := string(pc.Request.Header.Peek("X-Id"))
			if !regexp.MustCompile(c.pattern).MatchString(id) {
				t.Fatalf("id %q does not match %s", id, c.pattern)
			}
			h.(plugins.HeaderFilterer).HeaderFilter(pc)
			if got := string(pc.Response.Header.Peek("X-Id")); got != id {
				t.Fatalf("echoed %q, want %q", got, id)
			}
			// A client's id is kept.
			pc = newContext("/", map[string]string{"X-Id": "mine"}, "")
			h.(plugins.Accessor).Access(pc)
			if got := string(pc.Request.Header.Peek("X-Id")); got != "mine" {
				t.Fatalf("the client's id became %q", got)
			}
		})
	}
	// uuid#counter counts.
	h, _ := newCorrelationID(map[string]any{"generator": "uuid#counter"})
	a, b := newContext("/", nil, ""), newContext("/", nil, "")
	h.(plugins.Accessor).Access(a)
	h.(plugins.Accessor).Access(b)
	ia, ib := string(a.Request.Header.Peek("Kong-Request-ID")), string(b.Request.Header.Peek("Kong-Request-ID"))
	if ia == ib || strings.Split(ia, "#")[0] != strings.Split(ib, "#")[0] {
		t.Fatalf("ids %q and %q", ia, ib)
	}
}

func TestIPRestriction(t *testing.T) {
	for _, c := range []struct {
		name   string
		conf   map[string]any
		client string
		accept string
		status int // 0: let through
		body   string
	}{
		{"allowed by address", map[string]any{"allow": []any{"10.0.0.1"}}, "10.0.0.1", "", 0, ""},
		{"not in the allow list", map[string]any{"allow": []any{"10.0.0.1"}}, "10.0.0.2", "", 403, `"message":"IP address not allowed: 10.0.0.2"`},
		{"allowed by CIDR", map[string]any{"allow": []any{"10.0.0.0/8"}}, "10.9.8.7", "", 0, ""},
		{"CIDR with host bits", map[string]any{"allow": []any{"10.1.2.3/8"}}, "10.9.8.7", "", 0, ""},
		{"denied by CIDR", map[string]any{"deny": []any{"192.168.0.0/16"}}, "192.168.1.1", "", 403, `IP address not allowed: 192.168.1.1`},
		{"deny wins over allow", map[string]any{"allow": []any{"10.0.0.0/8"}, "deny": []any{"10.0.0.5"}}, "10.0.0.5", "", 403, ``},
		{"IPv6", map[string]any{"allow": []any{"2001:db8::/32"}}, "2001:db8::1", "", 0, ""},
		{"IPv6 denied", map[string]any{"deny": []any{"::1"}}, "::1", "", 403, ``},
		{"IPv4-mapped rule", map[string]any{"deny": []any{"::ffff:10.0.0.0/104"}}, "10.1.1.1", "", 403, ``},
		{"own status and message", map[string]any{"deny": []any{"10.0.0.1"}, "status": float64(401), "message": "go away"}, "10.0.0.1", "", 401, `"message":"go away"`},
		{"the client's format", map[string]any{"deny": []any{"10.0.0.1"}}, "10.0.0.1", "text/plain", 403, "IP address not allowed: 10.0.0.1\nrequest_id: rid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newIPRestriction(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			headers := map[string]string{}
			if c.accept != "" {
				headers["Accept"] = c.accept
			}
			pc := newContext("/", headers, "")
			pc.ClientIP = netip.MustParseAddr(c.client)
			pc.RequestID = []byte("rid")
			h.(plugins.Accessor).Access(pc)
			if c.status == 0 {
				if pc.Exited() {
					t.Fatalf("refused: %d %s", pc.Response.StatusCode(), pc.Response.Body())
				}
				return
			}
			if !pc.Exited() || pc.Response.StatusCode() != c.status || !strings.Contains(string(pc.Response.Body()), c.body) {
				t.Fatalf("%v %d %q", pc.Exited(), pc.Response.StatusCode(), pc.Response.Body())
			}
		})
	}
	if _, err := newIPRestriction(map[string]any{"allow": []any{"not an address"}}); err == nil {
		t.Fatal("a bad address was accepted")
	}
}

func TestRequestSizeLimiting(t *testing.T) {
	for _, c := range []struct {
		name    string
		conf    map[string]any
		headers map[string]string
		body    string
		status  int // 0: let through
	}{
		{"under the limit", map[string]any{"allowed_payload_size": float64(1), "size_unit": "kilobytes"}, nil, strings.Repeat("a", 1024), 0},
		{"over the limit", map[string]any{"allowed_payload_size": float64(1), "size_unit": "kilobytes"}, nil, strings.Repeat("a", 1025), 413},
		{"bytes", map[string]any{"allowed_payload_size": float64(10), "size_unit": "bytes"}, nil, strings.Repeat("a", 11), 413},
		{"expecting 100-continue", map[string]any{"allowed_payload_size": float64(10), "size_unit": "bytes"}, map[string]string{"Expect": "100-Continue"}, strings.Repeat("a", 11), 417},
		{"megabytes by default", map[string]any{"allowed_payload_size": float64(1)}, nil, strings.Repeat("a", 1<<20), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newRequestSizeLimiting(c.conf)
			pc := newContext("/", c.headers, c.body)
			h.(plugins.Accessor).Access(pc)
			if (c.status == 0) == pc.Exited() || (c.status != 0 && pc.Response.StatusCode() != c.status) {
				t.Fatalf("exited %v, %d %s", pc.Exited(), pc.Response.StatusCode(), pc.Response.Body())
			}
			if c.status != 0 && !strings.Contains(string(pc.Response.Body()), "Request size limit exceeded") {
				t.Fatalf("body %s", pc.Response.Body())
			}
		})
	}
	// require_content_length: a body without one is 411.
	h, _ := newRequestSizeLimiting(map[string]any{"allowed_payload_size": float64(1), "require_content_length": true})
	pc := newContext("/", nil, "")
	pc.Request.Header.SetContentLength(-2) // no Content-Length, not chunked
	h.(plugins.Accessor).Access(pc)
	if pc.Response.StatusCode() != 411 {
		t.Fatalf("without Content-Length: %d %s", pc.Response.StatusCode(), pc.Response.Body())
	}
}

func TestCORS(t *testing.T) {
	type want map[string]string // response headers; "" means absent
	for _, c := range []struct {
		name      string
		conf      map[string]any
		method    string
		headers   map[string]string
		preflight bool // answered by the plugin with 200
		want      want
	}{
		{"any origin", map[string]any{}, "GET", map[string]string{"Origin": "http://a.test"}, false,
			want{"Access-Control-Allow-Origin": "*", "Vary": ""}},
		{"one plain origin is always sent", map[string]any{"origins": []any{"http://a.test"}}, "GET", map[string]string{"Origin": "http://b.test"}, false,
			want{"Access-Control-Allow-Origin": "http://a.test", "Vary": "Origin"}},
		{"a listed origin, normalised", map[string]any{"origins": []any{"http://a.test", "https://b.test"}}, "GET", map[string]string{"Origin": "https://b.test:443"}, false,
			want{"Access-Control-Allow-Origin": "https://b.test"}},
		{"an unlisted origin", map[string]any{"origins": []any{"http://a.test", "https://b.test"}}, "GET", map[string]string{"Origin": "http://evil.test"}, false,
			want{"Access-Control-Allow-Origin": "", "Vary": "Origin"}},
		{"a pattern on the host", map[string]any{"origins": []any{`.*\.example\.com`}}, "GET", map[string]string{"Origin": "https://api.example.com"}, false,
			want{"Access-Control-Allow-Origin": "https://api.example.com"}},
		{"a pattern is anchored", map[string]any{"origins": []any{`example\.com`}}, "GET", map[string]string{"Origin": "https://evil-example.com"}, false,
			want{"Access-Control-Allow-Origin": ""}},
		{"credentials with a listed origin", map[string]any{"origins": []any{"http://a.test", "http://b.test"}, "credentials": true, "exposed_headers": []any{"X-A", "X-B"}},
			"GET", map[string]string{"Origin": "http://a.test"}, false,
			want{"Access-Control-Allow-Origin": "http://a.test", "Access-Control-Allow-Credentials": "true", "Access-Control-Expose-Headers": "X-A,X-B"}},
		{"credentials with any origin echo it", map[string]any{"credentials": true}, "GET", map[string]string{"Origin": "http://a.test"}, false,
			want{"Access-Control-Allow-Origin": "http://a.test", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{"preflight", map[string]any{"origins": []any{"http://a.test"}, "methods": []any{"GET", "POST"}, "max_age": float64(3600)},
			"OPTIONS", map[string]string{"Origin": "http://a.test", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "X-Y"}, true,
			want{"Access-Control-Allow-Origin": "http://a.test", "Access-Control-Allow-Methods": "GET,POST", "Access-Control-Allow-Headers": "X-Y", "Access-Control-Max-Age": "3600"}},
		{"preflight with configured headers and private network", map[string]any{"headers": []any{"X-A"}, "private_network": true},
			"OPTIONS", map[string]string{"Origin": "http://a.test", "Access-Control-Request-Method": "GET", "Access-Control-Request-Private-Network": "true"}, true,
			want{"Access-Control-Allow-Headers": "X-A", "Access-Control-Allow-Methods": "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT", "Access-Control-Allow-Private-Network": "true"}},
		{"an OPTIONS that is not a preflight", map[string]any{}, "OPTIONS", map[string]string{"Origin": "http://a.test"}, false,
			want{"Access-Control-Allow-Origin": "*"}},
		{"preflight_continue", map[string]any{"preflight_continue": true}, "OPTIONS", map[string]string{"Origin": "http://a.test", "Access-Control-Request-Method": "GET"}, false,
			want{"Access-Control-Allow-Origin": ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newCORS(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			pc := newContext("/", c.headers, "")
			pc.Request.Header.SetMethod(c.method)
			h.(plugins.Accessor).Access(pc)
			if pc.Exited() != c.preflight || (c.preflight && pc.Response.StatusCode() != 200) {
				t.Fatalf("exited %v, status %d", pc.Exited(), pc.Response.StatusCode())
			}
			h.(plugins.HeaderFilterer).HeaderFilter(pc)
			for k, v := range c.want {
				if got := string(pc.Response.Header.Peek(k)); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
		})
	}
	if _, err := newCORS(map[string]any{"origins": []any{"a", "(unclosed"}}); err == nil {
		t.Fatal("a bad pattern was accepted")
	}
}

func TestRedirect(t *testing.T) {
	for _, c := range []struct {
		name string
		conf map[string]any
		uri  string
		want string
	}{
		{"to the location", map[string]any{"location": "https://example.com/new"}, "/old/path?x=1", "https://example.com/new"},
		{"keeping the path and query", map[string]any{"location": "https://example.com/new?drop=1", "keep_incoming_path": true}, "/old/path?x=1", "https://example.com/old/path?x=1"},
		{"keeping a path without query", map[string]any{"location": "https://example.com/?drop=1", "keep_incoming_path": true}, "/p", "https://example.com/p"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.conf["status_code"] = float64(308)
			h, err := newRedirect(c.conf)
			if err != nil {
				t.Fatal(err)
			}
			pc := newContext(c.uri, nil, "")
			h.(plugins.Accessor).Access(pc)
			if !pc.Exited() || pc.Response.StatusCode() != 308 || string(pc.Response.Header.Peek("Location")) != c.want ||
				string(pc.Response.Body()) != "redirecting" {
				t.Fatalf("%d Location %q body %q", pc.Response.StatusCode(), pc.Response.Header.Peek("Location"), pc.Response.Body())
			}
		})
	}
}
