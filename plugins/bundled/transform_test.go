package bundled

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
)

// transformerConfig is a plugin config as the schema prepares it: every
// list present.
func transformerConfig(t testing.TB, name string, config map[string]any) map[string]any {
	t.Helper()
	r := plugins.NewRegistry()
	Register(r)
	e := pluginsEntity()
	r.Install(e)
	row, errs := e.PrepareInsert(map[string]any{"name": name, "config": config}, testAuto)
	if errs == nil {
		errs = e.Validate(row)
	}
	if errs != nil {
		t.Fatalf("config %v: %v", config, errs)
	}
	return row["config"].(map[string]any)
}

// captures stands in for a regex route's captures.
type captures map[string]string

func (c captures) CaptureAt(i int) ([]byte, bool) {
	v, ok := c[string(rune('0'+i))]
	return []byte(v), ok
}

func (c captures) Capture(name string) ([]byte, bool) {
	v, ok := c[name]
	return []byte(v), ok
}

// originContext is a plugin context for an origin-form request target.
func originContext(method, target string, headers [][2]string, body string) *plugins.Context {
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.Header.SetRequestURI(target)
	req.Header.SetHost("example.com")
	for _, h := range headers {
		req.Header.Add(h[0], h[1])
	}
	if body != "" {
		req.SetBodyString(body)
		req.Header.SetContentLength(len(body))
	}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	return &plugins.Context{Ctx: &ctx, Request: &ctx.Request, Response: &ctx.Response, Shared: map[string]any{},
		Route: plugins.Ref{ID: "r1"}}
}

// headerValues lists a request header's values.
func headerValues(h *fasthttp.RequestHeader, name string) []string {
	var out []string
	for _, v := range h.PeekAll(name) {
		out = append(out, string(v))
	}
	return strings.Split(strings.Join(out, ","), ",")
}

func TestRequestTransformerHeadersAndQuery(t *testing.T) {
	for _, c := range []struct {
		name    string
		config  map[string]any
		target  string
		headers [][2]string
		// want: header values ("" for absent), the query string sent.
		want      map[string]string
		wantQuery string
		wantHost  string
		wantPath  string
	}{
		{name: "remove, rename, replace, add, append headers",
			config: obj("remove", obj("headers", list("x-gone")), "rename", obj("headers", list("x-old:x-new")),
				"replace", obj("headers", list("x-rep:new", "x-absent:no")), "add", obj("headers", list("x-add:1", "x-rep:not-added")),
				"append", obj("headers", list("x-app:2"))),
			target:  "/",
			headers: [][2]string{{"X-Gone", "a"}, {"X-Old", "o"}, {"X-Rep", "old"}, {"X-App", "1"}},
			want:    map[string]string{"X-Gone": "", "X-Old": "", "X-New": "o", "X-Rep": "new", "X-Absent": "", "X-Add": "1", "X-App": "1,2"}},
		{name: "remove then add puts the header back",
			config:  obj("remove", obj("headers", list("authorization")), "add", obj("headers", list("authorization:Basic test"))),
			target:  "/",
			headers: [][2]string{{"Authorization", "Basic dGVzdA=="}},
			want:    map[string]string{"Authorization": "Basic test"}},
		{name: "replace host sets the upstream Host",
			config: obj("replace", obj("headers", list("host:upstream.test"))), target: "/", wantHost: "upstream.test"},
		{name: "query string: Kong's order of operations, sorted",
			config: obj("remove", obj("querystring", list("gone")), "rename", obj("querystring", list("old:new")),
				"replace", obj("querystring", list("rep:2", "absent:x")), "add", obj("querystring", list("add:a b", "rep:no")),
				"append", obj("querystring", list("multi:2"))),
			target:    "/p?gone=1&old=o&rep=1&multi=1&z",
			wantQuery: "add=a%20b&multi=1&multi=2&new=o&rep=2&z"},
		{name: "templates read headers, query arguments and captures as they came",
			config: obj("remove", obj("headers", list("x-remove")),
				"add", obj("headers", list("x-from-query:$(query_params.q1)", "x-removed:$(headers['x-remove'])", "x-ua:$(headers.user_agent)"),
					"querystring", list("u:$(uri_captures.user)", "d:$(uri_captures.none or 'default')", "i:$(uri_captures[1])")),
				"replace", obj("uri", "/users/$(uri_captures.user)/x")),
			target:    "/u/42?q1=20",
			headers:   [][2]string{{"X-Remove", "its a test"}, {"User-Agent", "curl"}},
			want:      map[string]string{"X-Remove": "", "X-From-Query": "20", "X-Removed": "its a test", "X-Ua": "curl"},
			wantQuery: "d=default&i=42&q1=20&u=42", wantPath: "/users/42/x"},
		{name: "a template can be escaped with a string literal",
			config: obj("add", obj("querystring", list("q:$('$(uri_captures.user)')"))), target: "/",
			wantQuery: "q=%24%28uri_captures.user%29"},
		{name: "set_path escapes what a path may not hold",
			config: obj("replace", obj("uri", "/a b/ü")), target: "/", wantPath: "/a%20b/%C3%BC"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newRequestTransformer(transformerConfig(t, "request-transformer", c.config))
			if err != nil {
				t.Fatal(err)
			}
			pc := originContext("GET", c.target, c.headers, "")
			pc.URICaptures = captures{"user": "42", "1": "42"}
			if err := h.(plugins.Accessor).Access(pc); err != nil {
				t.Fatal(err)
			}
			for name, want := range c.want {
				got := strings.Join(headerValues(&pc.Request.Header, name), ",")
				if got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if c.wantQuery != "" {
				if got := string(rawQuery(pc.Request)); got != c.wantQuery {
					t.Errorf("query %q, want %q", got, c.wantQuery)
				}
			}
			if host, _ := pc.Upstream.Host(); string(host) != c.wantHost {
				t.Errorf("upstream host %q, want %q", host, c.wantHost)
			}
			if path, _ := pc.Upstream.Path(); string(path) != c.wantPath {
				t.Errorf("upstream path %q, want %q", path, c.wantPath)
			}
		})
	}
}

func TestRequestTransformerBody(t *testing.T) {
	ops := obj("remove", obj("body", list("gone")), "rename", obj("body", list("old:new")),
		"replace", obj("body", list("rep:2", "absent:x")), "add", obj("body", list("add:1", "rep:no")),
		"append", obj("body", list("multi:2")))
	for _, c := range []struct {
		name, contentType, body, want string
		method                        string
	}{
		{name: "JSON", contentType: "application/json",
			body: `{"gone":1,"old":"o","rep":"1","multi":"1","nested":{"a":[1,2]}}`,
			want: `{"new":"o","rep":"2","multi":["1","2"],"nested":{"a":[1,2]},"add":"1"}`},
		{name: "empty JSON gets added fields", contentType: "application/json; charset=utf-8", body: "",
			want: `{"add":"1","rep":"no","multi":["2"]}`},
		{name: "invalid JSON is left alone", contentType: "application/json", body: `{"gone":`, want: `{"gone":`},
		{name: "a false value counts as absent", contentType: "application/json", body: `{"rep":false,"add":false}`,
			want: `{"rep":"no","add":"1","multi":["2"]}`},
		{name: "form", contentType: "application/x-www-form-urlencoded",
			body: "gone=1&old=o&rep=1&multi=1&flag", want: "new=o&multi=1&flag&rep=2&add=1&multi=2"},
		{name: "other types are left alone", contentType: "text/plain", body: "gone=1", want: "gone=1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, _ := newRequestTransformer(transformerConfig(t, "request-transformer", ops))
			pc := originContext("POST", "/", [][2]string{{"Content-Type", c.contentType}}, c.body)
			if err := h.(plugins.Accessor).Access(pc); err != nil {
				t.Fatal(err)
			}
			if got := string(pc.Request.Body()); got != c.want {
				t.Errorf("body %s\nwant %s", got, c.want)
			}
			if pc.Request.Header.ContentLength() != len(pc.Request.Body()) {
				t.Errorf("Content-Length %d for %d bytes", pc.Request.Header.ContentLength(), len(pc.Request.Body()))
			}
		})
	}
}

func TestRequestTransformerMultipart(t *testing.T) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("gone", "1")
	w.WriteField("old", "o")
	w.WriteField("rep", "1")
	fw, _ := w.CreateFormFile("file", "a.txt")
	fw.Write([]byte("file content"))
	w.Close()
	h, _ := newRequestTransformer(transformerConfig(t, "request-transformer", obj(
		"remove", obj("body", list("gone")), "rename", obj("body", list("old:new")),
		"replace", obj("body", list("rep:2")), "add", obj("body", list("add:1")))))
	pc := originContext("POST", "/", [][2]string{{"Content-Type", w.FormDataContentType()}}, buf.String())
	if err := h.(plugins.Accessor).Access(pc); err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(bytes.NewReader(pc.Request.Body()), w.Boundary())
	got := map[string]string{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got[p.FormName()] = string(b)
	}
	want := map[string]string{"new": "o", "rep": "2", "add": "1", "file": "file content"}
	if len(got) != len(want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("part %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
}

// http_method GET moves a form body's arguments into the query string.
func TestRequestTransformerMethod(t *testing.T) {
	h, _ := newRequestTransformer(transformerConfig(t, "request-transformer", obj("http_method", "GET")))
	pc := originContext("POST", "/p?a=1", [][2]string{{"Content-Type", "application/x-www-form-urlencoded"}}, "b=2&a=3")
	if err := h.(plugins.Accessor).Access(pc); err != nil {
		t.Fatal(err)
	}
	if m := string(pc.Request.Header.Method()); m != "GET" {
		t.Errorf("method %s", m)
	}
	if q := string(rawQuery(pc.Request)); q != "a=1&a=3&b=2" {
		t.Errorf("query %q", q)
	}
}

// A template that cannot be rendered (a header given twice, as Lua cannot
// concatenate a table) fails the request, as in Kong.
func TestRequestTransformerRenderError(t *testing.T) {
	h, _ := newRequestTransformer(transformerConfig(t, "request-transformer", obj("add", obj("headers", list("x-a:$(headers.x_twice)")))))
	pc := originContext("GET", "/", [][2]string{{"X-Twice", "1"}, {"X-Twice", "2"}}, "")
	if err := h.(plugins.Accessor).Access(pc); err == nil {
		t.Fatal("no error")
	}
}

// Templates that need Lua are refused when the configuration is written.
func TestRequestTransformerTemplateSchema(t *testing.T) {
	e, _ := installed(t)
	for _, c := range []struct {
		name   string
		config map[string]any
		ok     bool
	}{
		{"header lookup", obj("add", obj("headers", list("x:$(headers.host)"))), true},
		{"or default", obj("add", obj("querystring", list(`q:$(query_params["a b"] or "d")`))), true},
		{"capture index", obj("replace", obj("uri", "/x$(uri_captures[0])")), true},
		{"function call", obj("add", obj("headers", list("x:$(type(headers.x))"))), false},
		{"arithmetic", obj("replace", obj("uri", "/$(10 * uri_captures.a)")), false},
		{"assignment", obj("add", obj("headers", list("x:$(shared.written = true)"))), false},
		{"unknown table", obj("add", obj("body", list("x:$(ngx.var.uri)"))), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, errs := insert(t, e, map[string]any{"name": "request-transformer", "config": c.config})
			if (errs == nil) != c.ok {
				t.Fatalf("errors %v, want ok=%v", errs, c.ok)
			}
			if errs != nil && !strings.Contains(errs.Error(), "needs Lua evaluation") {
				t.Errorf("message %v", errs)
			}
		})
	}
}

func TestResponseTransformer(t *testing.T) {
	for _, c := range []struct {
		name        string
		config      map[string]any
		contentType string
		headers     [][2]string
		body        string
		wantHeaders map[string]string
		wantBody    string
	}{
		{name: "headers: rename, replace and add look at the headers as they came",
			config: obj("remove", obj("headers", list("x-gone", "x-readd")), "rename", obj("headers", list("x-old:x-new")),
				"replace", obj("headers", list("x-rep:2", "x-absent:1")), "add", obj("headers", list("x-add:1", "x-readd:back")),
				"append", obj("headers", list("x-app:2"))),
			contentType: "text/plain",
			headers:     [][2]string{{"X-Gone", "1"}, {"X-Readd", "1"}, {"X-Old", "o"}, {"X-Rep", "1"}, {"X-App", "1"}},
			body:        "plain",
			wantHeaders: map[string]string{"X-Gone": "", "X-Readd": "", "X-Old": "", "X-New": "o", "X-Rep": "2", "X-Absent": "", "X-Add": "1", "X-App": "1,2"},
			wantBody:    "plain"},
		{name: "JSON body with json_types",
			config: obj("remove", obj("json", list("gone")), "rename", obj("json", list("old:new")),
				"replace", obj("json", list("rep:5", "absent:1"), "json_types", list("number", "string")),
				"add", obj("json", list("flag:true", "rep:no", "url:http://x/y"), "json_types", list("boolean", "string", "string")),
				"append", obj("json", list("s:b", "arr:3", "num:1"), "json_types", list("string", "number", "string"))),
			contentType: "application/json; charset=utf-8",
			body:        `{"gone":1, "old":{"a":1}, "rep":"1", "s":"a", "arr":[1,2], "num":7}`,
			wantBody:    `{"new":{"a":1},"rep":5,"s":["a","b"],"arr":[1,2,3],"num":["1"],"flag":true,"url":"http://x/y"}`},
		{name: "vendor JSON types are JSON", config: obj("remove", obj("json", list("a"))),
			contentType: "application/vnd.api+json", body: `{"a":1,"b":2}`, wantBody: `{"b":2}`},
		{name: "a body that is not JSON is left alone", config: obj("remove", obj("json", list("a"))),
			contentType: "application/json", body: `{"a":`, wantBody: `{"a":`},
		{name: "other types are left alone", config: obj("remove", obj("json", list("a"))),
			contentType: "text/html", body: `{"a":1}`, wantBody: `{"a":1}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newResponseTransformer(transformerConfig(t, "response-transformer", c.config))
			if err != nil {
				t.Fatal(err)
			}
			pc := originContext("GET", "/", nil, "")
			pc.Response.Header.SetContentType(c.contentType)
			for _, kv := range c.headers {
				pc.Response.Header.Add(kv[0], kv[1])
			}
			pc.Response.SetBodyString(c.body)
			h.(plugins.HeaderFilterer).HeaderFilter(pc)
			if pc.BodyWanted() {
				h.(plugins.BodyFilterer).BodyFilter(pc)
			}
			for name, want := range c.wantHeaders {
				var got []string
				for _, v := range pc.Response.Header.PeekAll(name) {
					got = append(got, string(v))
				}
				if strings.Join(got, ",") != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if got := string(pc.Response.Body()); got != c.wantBody {
				t.Errorf("body %s\nwant %s", got, c.wantBody)
			}
		})
	}
}

func TestBotDetection(t *testing.T) {
	for _, c := range []struct {
		name   string
		config map[string]any
		ua     []string
		status int
	}{
		{"no User-Agent", obj(), nil, 200},
		{"a browser", obj(), []string{"Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}, 200},
		{"Googlebot", obj(), []string{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}, 403},
		{"curl is no bot", obj(), []string{"curl/8.5.0"}, 200},
		{"an HTTP library", obj(), []string{"python-requests/2.31 Go-http-client/1.1"}, 403},
		{"allowed bot", obj("allow", list("Googlebot")), []string{"Mozilla/5.0 (compatible; Googlebot/2.1)"}, 200},
		{"denied", obj("deny", list("^curl/")), []string{"curl/8.5.0"}, 403},
		{"allow wins over deny", obj("allow", list("curl"), "deny", list("curl")), []string{"curl/8.5.0"}, 200},
		{"two User-Agent headers", obj(), []string{"a", "b"}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := newBotDetection(transformerConfig(t, "bot-detection", c.config))
			if err != nil {
				t.Fatal(err)
			}
			for range 2 { // the second verdict comes from the cache
				var raw strings.Builder
				raw.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
				for _, ua := range c.ua {
					raw.WriteString("User-Agent: " + ua + "\r\n")
				}
				raw.WriteString("\r\n")
				var ctx fasthttp.RequestCtx
				if err := ctx.Request.Read(bufioReader(raw.String())); err != nil {
					t.Fatal(err)
				}
				pc := &plugins.Context{Ctx: &ctx, Request: &ctx.Request, Response: &ctx.Response, Shared: map[string]any{}}
				pc.Response.SetStatusCode(200)
				if err := h.(plugins.Accessor).Access(pc); err != nil {
					t.Fatal(err)
				}
				if got := pc.Response.StatusCode(); got != c.status {
					t.Fatalf("status %d, want %d: %s", got, c.status, pc.Response.Body())
				}
				if c.status == 403 && !strings.Contains(string(pc.Response.Body()), `"message":"Forbidden"`) {
					t.Errorf("body %s", pc.Response.Body())
				}
			}
		})
	}
}

// answerWith fills a context's response as an upstream would.
func answerWith(pc *plugins.Context, status int, contentType, cacheControl, body string) {
	pc.Response.SetStatusCode(status)
	pc.Response.Header.SetContentType(contentType)
	if cacheControl != "" {
		pc.Response.Header.Set("Cache-Control", cacheControl)
	}
	pc.Response.SetBodyString(body)
}

// proxyCacheRound runs one request through a proxy-cache instance: the
// access phase, then (unless it answered) the upstream's answer, then the
// header and body filters.
func proxyCacheRound(t testing.TB, h plugins.Handler, method, target string, reqHeaders [][2]string, status int, ct, cc, body string) *plugins.Context {
	t.Helper()
	pc := originContext(method, target, reqHeaders, "")
	if err := h.(plugins.Accessor).Access(pc); err != nil {
		t.Fatal(err)
	}
	if !pc.Exited() {
		answerWith(pc, status, ct, cc, body)
	}
	h.(plugins.HeaderFilterer).HeaderFilter(pc)
	if pc.BodyWanted() {
		h.(plugins.BodyFilterer).BodyFilter(pc)
	}
	return pc
}

func TestProxyCache(t *testing.T) {
	type step struct {
		method, target string
		reqHeaders     [][2]string
		status         int
		ct, cc, body   string
		want           string // X-Cache-Status
		wantBody       string
	}
	get := func(target, want, body string) step {
		return step{method: "GET", target: target, status: 200, ct: "application/json", body: body, want: want, wantBody: body}
	}
	for _, c := range []struct {
		name   string
		config map[string]any
		steps  []step
	}{
		{"miss then hit", obj("strategy", "memory"), []step{
			get("/a", "Miss", `{"n":1}`), {method: "GET", target: "/a", status: 200, ct: "application/json", body: `{"n":2}`, want: "Hit", wantBody: `{"n":1}`}}},
		{"query arguments are part of the key", obj("strategy", "memory"), []step{
			get("/a?x=1&y=2", "Miss", "1"), get("/a?y=2&x=1", "Hit", "1"), get("/a?x=2", "Miss", "2")}},
		{"vary_query_params", obj("strategy", "memory", "vary_query_params", list("x")), []step{
			get("/a?x=1&y=2", "Miss", "1"), get("/a?x=1&y=3", "Hit", "1")}},
		{"methods not configured bypass", obj("strategy", "memory"), []step{
			{method: "POST", target: "/a", status: 200, ct: "application/json", body: "p", want: "Bypass", wantBody: "p"}}},
		{"statuses not configured bypass", obj("strategy", "memory"), []step{
			{method: "GET", target: "/a", status: 500, ct: "application/json", body: "e", want: "Bypass", wantBody: "e"},
			{method: "GET", target: "/a", status: 500, ct: "application/json", body: "e", want: "Bypass", wantBody: "e"}}},
		{"content types not configured bypass", obj("strategy", "memory"), []step{
			{method: "GET", target: "/a", status: 200, ct: "text/html", body: "h", want: "Bypass", wantBody: "h"}}},
		{"cache_control: no-store from the client", obj("strategy", "memory", "cache_control", true), []step{
			{method: "GET", target: "/a", reqHeaders: [][2]string{{"Cache-Control", "no-store"}}, status: 200, ct: "application/json", cc: "max-age=60", body: "1", want: "Bypass", wantBody: "1"}}},
		{"cache_control: the upstream's max-age", obj("strategy", "memory", "cache_control", true), []step{
			{method: "GET", target: "/a", status: 200, ct: "application/json", cc: "max-age=60", body: "1", want: "Miss", wantBody: "1"},
			{method: "GET", target: "/a", status: 200, ct: "application/json", body: "2", want: "Hit", wantBody: "1"},
			{method: "GET", target: "/b", status: 200, ct: "application/json", cc: "private, max-age=60", body: "1", want: "Bypass", wantBody: "1"},
			{method: "GET", target: "/c", status: 200, ct: "application/json", body: "1", want: "Bypass", wantBody: "1"}}},
		{"cache_control: a client's max-age=0 refreshes", obj("strategy", "memory", "cache_control", true), []step{
			{method: "GET", target: "/a", status: 200, ct: "application/json", cc: "max-age=60", body: "1", want: "Miss", wantBody: "1"},
			{method: "GET", target: "/a", reqHeaders: [][2]string{{"Cache-Control", "max-age=0"}}, status: 200, ct: "application/json", cc: "max-age=60", body: "1", want: "Hit", wantBody: "1"},
		}},
		{"content type parameters must match", obj("strategy", "memory", "content_type", list("application/json; charset=utf-8")), []step{
			{method: "GET", target: "/a", status: 200, ct: "application/json", body: "1", want: "Bypass", wantBody: "1"},
			{method: "GET", target: "/a", status: 200, ct: "application/json; charset=utf-8", body: "1", want: "Miss", wantBody: "1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conf := transformerConfig(t, "proxy-cache", c.config)
			conf["memory"] = map[string]any{"dictionary_name": "test " + t.Name()}
			var dicts cacheDicts
			dicts.byName, dicts.size = map[string]*cacheDict{}, 1<<20
			h, err := dicts.newHandler(conf)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range c.steps {
				pc := proxyCacheRound(t, h, s.method, s.target, s.reqHeaders, s.status, s.ct, s.cc, s.body)
				if got := string(pc.Response.Header.Peek("X-Cache-Status")); got != s.want {
					t.Fatalf("step %d (%s %s): X-Cache-Status %q, want %q", i, s.method, s.target, got, s.want)
				}
				if got := string(pc.Response.Body()); got != s.wantBody {
					t.Fatalf("step %d: body %q, want %q", i, got, s.wantBody)
				}
				if s.want == "Hit" && (len(pc.Response.Header.Peek("Age")) == 0 || len(pc.Response.Header.Peek("X-Cache-Key")) != 64) {
					t.Fatalf("step %d: hit without Age or X-Cache-Key: %s", i, &pc.Response.Header)
				}
			}
		})
	}
}

// The cache key is Kong's: sha256 of "route|method|request line|args|headers".
func TestProxyCacheKey(t *testing.T) {
	conf := transformerConfig(t, "proxy-cache", obj("strategy", "memory", "vary_headers", list("X-Lang")))
	var dicts cacheDicts
	dicts.byName, dicts.size = map[string]*cacheDict{}, 1<<20
	h, _ := dicts.newHandler(conf)
	for _, c := range []struct {
		target   string
		preimage string
	}{
		{"/a/b", "r1|GET|GET /a/b HTTP/1.1||X-Lang=fr"},
		{"/a/b?y=2&x=1&x=0&flag", "r1|GET|GET /a/b|flag:x=0,1:y=2|X-Lang=fr"},
	} {
		pc := originContext("GET", c.target, [][2]string{{"X-Lang", "fr"}}, "")
		h.(plugins.Accessor).Access(pc)
		st := pc.Shared[stateKey].(*cacheState)
		want := sha256Hex(c.preimage)
		if string(st.key[:]) != want {
			t.Errorf("%s: key %s, want sha256(%q) = %s", c.target, st.key, c.preimage, want)
		}
	}
}

func TestProxyCacheAdminStrategy(t *testing.T) {
	conf := transformerConfig(t, "proxy-cache", obj("strategy", "memory"))
	var dicts cacheDicts
	dicts.byName, dicts.size = map[string]*cacheDict{}, 1<<20
	h, _ := dicts.newHandler(conf)
	pc := proxyCacheRound(t, h, "GET", "/a", nil, 200, "application/json", "", `{"a":1}`)
	key := string(pc.Response.Header.Peek("X-Cache-Key"))
	// Another instance of the same dictionary sees it (Kong's api.lua
	// builds one per request).
	other, _ := dicts.newHandler(conf)
	s := other.(interface {
		CacheFetch(string) (map[string]any, bool)
		CachePurge(string) bool
		CacheFlush()
	})
	obj, ok := s.CacheFetch(key)
	if !ok || obj["status"] != 200 || obj["body"] != `{"a":1}` {
		t.Fatalf("fetch %v %v", obj, ok)
	}
	if b, _ := json.Marshal(obj); !strings.Contains(string(b), `"version":1`) {
		t.Errorf("object %s", b)
	}
	if !s.CachePurge(key) || s.CachePurge(key) {
		t.Fatal("purge")
	}
	proxyCacheRound(t, h, "GET", "/a", nil, 200, "application/json", "", `{"a":1}`)
	s.CacheFlush()
	if _, ok := s.CacheFetch(key); ok {
		t.Fatal("flush left the answer")
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
