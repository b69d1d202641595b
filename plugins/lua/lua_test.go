package lua_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/logger"
	"github.com/portico-gw/portico/plugins"
	luaplugins "github.com/portico-gw/portico/plugins/lua"
	"github.com/portico-gw/portico/schema"
)

const testPath = "testdata/?.lua;../../examples/plugins/?.lua"

// newHost makes a Host over the test plugins, logging into buf.
func newHost(t testing.TB, buf *bytes.Buffer, opts luaplugins.Options) *luaplugins.Host {
	t.Helper()
	if opts.PackagePath == "" {
		opts.PackagePath = testPath
	}
	if buf != nil {
		opts.Log = logger.New(buf, logger.Debug)
	}
	h, err := luaplugins.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// instanceOf loads a plugin and builds an instance with conf (defaults
// filled by the plugins entity, as the Admin API would).
func instanceOf(t testing.TB, h *luaplugins.Host, name string, conf map[string]any) plugins.Handler {
	t.Helper()
	info, err := h.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	reg := plugins.NewRegistry()
	reg.Register(info)
	e := pluginsEntity(t, info)
	row, errs := e.PrepareInsert(map[string]any{"name": name, "config": conf}, schema.Auto{Now: time.Now, NewID: func() string { return "00000000-0000-4000-8000-000000000000" }})
	if errs != nil {
		t.Fatalf("prepare: %v", errs)
	}
	if errs := e.Validate(row); errs != nil {
		t.Fatalf("validate: %v", errs)
	}
	handler, err := info.New(row["config"].(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	return handler
}

// pluginsEntity is the plugins entity with only info installed.
func pluginsEntity(t testing.TB, info plugins.Info) *schema.Entity {
	t.Helper()
	reg, _, err := catalog.Build([]string{"off"})
	if err != nil {
		t.Fatal(err)
	}
	e := reg.Entity("plugins")
	e.AddSubschema(info.Schema)
	return e
}

// request parses a raw HTTP request into a context as the proxy gives
// plugins.
func request(t testing.TB, raw string) *plugins.Context {
	t.Helper()
	var req fasthttp.Request
	head, body, _ := strings.Cut(raw, "\n\n")
	if err := req.Read(bufio.NewReader(strings.NewReader(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n\r\n" + body))); err != nil {
		t.Fatal(err)
	}
	ctx := &fasthttp.RequestCtx{}
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("10.0.0.7"), Port: 51000}, nil)
	return &plugins.Context{Ctx: ctx, Request: &ctx.Request, Response: &ctx.Response, ClientIP: netip.MustParseAddr("203.0.113.9"),
		Started: time.UnixMilli(1700000000123), RequestID: []byte("rid-1"), Node: plugins.Node{ID: "node-1", Hostname: "gw1"},
		Route: plugins.Ref{ID: "r1", Name: "route-1", Row: map[string]any{"id": "r1", "name": "route-1", "paths": []any{"/p"}}}}
}

func TestLoadRefusals(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{})
	cases := []struct{ name, want string }{
		{"bad-syntax", "testdata/kong/plugins/bad-syntax/handler.lua line:3"},
		{"bad-priority", `Plugin "bad-priority" cannot be loaded because its PRIORITY field is not a valid integer number, got: "high".`},
		{"nowhere", "nowhere plugin is enabled but not installed;\nmodule 'kong.plugins.nowhere.handler' not found in lua_package_path (" + testPath + "):\n\tno file 'testdata/kong/plugins/nowhere/handler.lua'"},
		{"with-daos", "plugin with-daos declares custom entities (kong.plugins.with-daos.daos)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.Load(tc.name)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	info, err := h.Load("schema-dsl")
	if err != nil || info.Priority != 3 || info.Version != "2.1" || !info.Runs() {
		t.Fatalf("schema-dsl: %+v %v", info, err)
	}
}

func TestSchemaDSL(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{})
	info, err := h.Load("schema-dsl")
	if err != nil {
		t.Fatal(err)
	}
	e := pluginsEntity(t, info)
	auto := schema.Auto{Now: time.Now, NewID: func() string { return "00000000-0000-4000-8000-000000000000" }}
	cases := []struct {
		name   string
		config map[string]any
		extra  map[string]any
		want   string // JSON of the errors, or of the config with defaults
	}{
		{"defaults", map[string]any{"a": "x"}, nil,
			`{"a":"x","b":null,"even":null,"labels":null,"limit":10,"mode":"safe","name":null,"prefix":null,"tags":[],"upstream":{"host":"example.com","port":80}}`},
		{"one_of", map[string]any{"a": "x", "mode": "slow"}, nil, `{"config":{"mode":"expected one of: fast, safe"}}`},
		{"between", map[string]any{"a": "x", "limit": 500.0}, nil, `{"config":{"limit":"value should be between 1 and 100"}}`},
		{"len_min and match", map[string]any{"a": "x", "name": "a1"}, nil, `{"config":{"name":"length must be at least 3"}}`},
		{"match", map[string]any{"a": "x", "name": "abc1"}, nil, `{"config":{"name":"invalid value: abc1"}}`},
		{"starts_with", map[string]any{"a": "x", "prefix": "x"}, nil, `{"config":{"prefix":"should start with: /"}}`},
		{"map values", map[string]any{"a": "x", "labels": map[string]any{"k": "v"}}, nil, `{"config":{"labels":"expected an integer"}}`},
		{"typedef host", map[string]any{"a": "x", "upstream": map[string]any{"host": "exa mple"}}, nil, `{"config":{"upstream":{"host":"invalid value: exa mple"}}}`},
		{"custom_validator", map[string]any{"a": "x", "even": 3.0}, nil, `{"config":{"even":"must be even"}}`},
		{"only_one_of", map[string]any{"a": "x", "b": "y"}, nil, `{"@entity":["exactly one of these fields must be non-empty: 'config.a', 'config.b'"]}`},
		{"conditional", map[string]any{"a": "x", "mode": "fast"}, nil, `{"@entity":["failed conditional validation given value of field 'config.mode'"],"config":{"limit":"value should be between 50 and 100"}}`},
		{"no_consumer", map[string]any{"a": "x"}, map[string]any{"consumer": map[string]any{"id": "00000000-0000-4000-8000-000000000001"}}, `{"consumer":"value must be null"}`},
		{"unknown field", map[string]any{"a": "x", "zzz": 1.0}, nil, `{"config":{"zzz":"unknown field"}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"name": "schema-dsl", "config": tc.config}
			for k, v := range tc.extra {
				in[k] = v
			}
			row, errs := e.PrepareInsert(in, auto)
			if errs == nil {
				errs = e.Validate(row)
			}
			var got []byte
			if errs != nil {
				got, _ = json.Marshal(errs)
			} else {
				got, _ = json.Marshal(row["config"])
			}
			if string(got) != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// probe runs Lua code in the probe plugin's access phase on a real
// request and returns the JSON answer.
func probe(t *testing.T, h plugins.Handler, raw, code string) (int, string) {
	t.Helper()
	pc := request(t, strings.Replace(raw, "\n\n", "\nX-Probe-access: "+code+"\nX-Probe-Exit: 1\n\n", 1))
	if err := h.(plugins.Accessor).Access(pc); err != nil {
		t.Fatalf("access: %v", err)
	}
	return pc.Response.StatusCode(), string(pc.Response.Body())
}

func TestPDKRequest(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{TrustedIPs: []string{"10.0.0.0/8"}})
	in := instanceOf(t, h, "probe", map[string]any{})
	const get = "GET /a/./b%41/c?x=1&y=2&y=3&flag HTTP/1.1\nHost: Example.COM:8000\nX-Forwarded-Proto: https\nX-Forwarded-Host: api.example.org\nX-Forwarded-Port: 443\nX-Forwarded-Prefix: /pre\nX-Multi: a\nX-Multi: b\nUser-Agent: curl/8\n\n"
	const post = "POST /p HTTP/1.1\nHost: h\nContent-Type: application/json\nContent-Length: 26\n\n{\"a\":{\"b\":[1,2]},\"n\":null}"
	const form = "POST /p HTTP/1.1\nHost: h\nContent-Type: application/x-www-form-urlencoded\nContent-Length: 13\n\nk=v&k=w&z=%20"
	cases := []struct{ name, raw, code, want string }{
		{"get_method", get, "return kong.request.get_method()", `["GET"]`},
		{"get_scheme", get, "return kong.request.get_scheme()", `["http"]`},
		{"get_host", get, "return kong.request.get_host()", `["example.com"]`},
		{"get_port", get, "return kong.request.get_port()", `[0]`},
		{"get_forwarded_scheme", get, "return kong.request.get_forwarded_scheme()", `["https"]`},
		{"get_forwarded_host", get, "return kong.request.get_forwarded_host()", `["api.example.org"]`},
		{"get_forwarded_port", get, "return kong.request.get_forwarded_port()", `[443]`},
		{"get_forwarded_prefix", get, "return kong.request.get_forwarded_prefix()", `["\/pre"]`},
		{"get_path", get, "return kong.request.get_path()", `["\/a\/bA\/c"]`},
		{"get_raw_path", get, "return kong.request.get_raw_path()", `["\/a\/.\/b%41\/c"]`},
		{"get_raw_query", get, "return kong.request.get_raw_query()", `["x=1&y=2&y=3&flag"]`},
		{"get_query_arg", get, "return kong.request.get_query_arg('y'), kong.request.get_query_arg('flag'), kong.request.get_query_arg('no')", `["2",true]`},
		{"get_query", get, "return kong.request.get_query()", `[{"flag":true,"x":"1","y":["2","3"]}]`},
		{"get_header", get, "return kong.request.get_header('user_agent'), kong.request.get_header('X-MULTI')", `["curl\/8","a"]`},
		{"get_headers", get, "local h = kong.request.get_headers() return h['x-multi'], h.User_Agent", `[["a","b"],"curl\/8"]`},
		{"get_http_version", get, "return kong.request.get_http_version()", `[1.1]`},
		{"get_start_time", get, "return kong.request.get_start_time()", `[1700000000123]`},
		{"get_raw_body", post, "return kong.request.get_raw_body()", `["{\"a\":{\"b\":[1,2]},\"n\":null}"]`},
		{"get_body json", post, "local b, err, mime = kong.request.get_body() return b.a.b[2], b.n == ngx.null, mime", `[2,true,"application\/json"]`},
		{"get_body form", form, "local b = kong.request.get_body() return b", `[{"k":["v","w"],"z":" "}]`},
		{"get_body none", get, "local b, err = kong.request.get_body() return b == nil, err", `[true,"missing content type"]`},
		{"client ips", get, "return kong.client.get_ip(), kong.client.get_forwarded_ip(), kong.client.get_port()", `["10.0.0.7","203.0.113.9",51000]`},
		{"ip is_trusted", get, "return kong.ip.is_trusted('10.1.2.3'), kong.ip.is_trusted('1.2.3.4')", `[true,false]`},
		{"router", get, "return kong.router.get_route().name, kong.router.get_service()", `["route-1"]`},
		{"node", get, "return kong.node.get_id(), kong.node.get_hostname()", `["node-1","gw1"]`},
		{"version", get, "return kong.version, kong.version_num", `["3.9.1.0",3009001]`},
		{"ctx", get, "kong.ctx.shared.x = 1 kong.ctx.plugin.y = 2 return kong.ctx.shared.x + kong.ctx.plugin.y", `[3]`},
		{"table", get, "local t = kong.table.new(2, 0) t[1] = 1 kong.table.clear(t) return #t", `[0]`},
		{"cache", get, "local n = 0 local function load(v) n = n + 1 return { v = v } end " +
			"local a = kong.cache:get('k', nil, load, 'one') local b = kong.cache:get('k', nil, load, 'two') return a.v, b.v, n", `["one","one",1]`},
		{"cjson", get, "local cjson = require 'cjson.safe' local t = cjson.decode('{\"a\":[1,null]}') return cjson.encode({ a = 'x/y', n = 1.5, e = {} }), t.a[2] == cjson.null, cjson.decode('{') == nil", `["{\"a\":\"x\\\/y\",\"e\":{},\"n\":1.5}",true,true]`},
		{"ngx time", get, "return type(ngx.now()), type(ngx.time()), #ngx.today()", `["number","number",10]`},
		{"ngx digests", get, "return ngx.md5('abc'), ngx.encode_base64(ngx.sha1_bin('abc')), ngx.encode_base64(ngx.hmac_sha1('k', 'v')), ngx.decode_base64('aGk=')", `["900150983cd24fb0d6963f7d28e17f72","qZk+NkcGgWq6PiVxeFDCbJzQ2J0=","lPxqL36JuBls904QeajBHrZ5pVI=","hi"]`},
		{"ngx uri", get, "return ngx.escape_uri('a b/c'), ngx.unescape_uri('a%20b'), ngx.encode_args({ b = 'x y', a = true }), ngx.decode_args('p=1&q')", `["a%20b%2Fc","a b","a&b=x%20y",{"p":"1","q":true}]`},
		{"ngx re", get, "local m = ngx.re.match('hello 123', [[(\\d+)]], 'jo') local s, e = ngx.re.find('abc', 'b') local r, n = ngx.re.gsub('a-b-c', '-', '+') local out = {} for x in ngx.re.gmatch('a1b2', [[\\d]]) do out[#out+1] = x[0] end return m[1], s, e, r, n, out", `["123",2,2,"a+b+c",2,["1","2"]]`},
		{"ngx var", get, "return ngx.var.request_uri, ngx.var.http_user_agent, ngx.var.arg_x, ngx.var.host, ngx.var.remote_addr", `["\/a\/.\/b%41\/c?x=1&y=2&y=3&flag","curl\/8","1","example.com","203.0.113.9"]`},
		{"null", get, "return tostring(ngx.null), ngx.null == cjson_null", `["userdata: NULL",false]`},
		{"ngx ctx", get, "ngx.ctx.a = 5 return ngx.ctx.a, ngx.HTTP_NOT_FOUND, ngx.null == require('cjson').null", `[5,404,true]`},
		{"resty", get, "local sha = require('resty.sha256'):new() sha:update('abc') return require('resty.string').to_hex(sha:final())", `["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]`},
		{"bit", get, "local bit = require 'bit' return bit.band(12, 10), bit.bor(12, 10), bit.lshift(1, 4), bit.tohex(255, 4)", `[8,14,16,"00ff"]`},
		{"missing pdk", get, "local ok, err = pcall(function() return kong.request.get_everything() end) return ok, (err:gsub('^.-:%d+: ', ''))", `[false,"kong.request.get_everything is not supported by Portico's Lua plugin host (see docs\/plugins.md)"]`},
		{"wrong phase", get, "local ok, err = pcall(kong.response.get_raw_body) return ok, (err:gsub('^.-:%d+: ', ''))", `[false,"kong.response.get_raw_body: function cannot be called in access phase"]`},
		{"missing module", get, "local ok, err = pcall(require, 'kong.tools.nope') return ok, err:find('not provided by Portico', 1, true) ~= nil", `[false,true]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := probe(t, in, tc.raw, tc.code)
			want := `{"r":` + tc.want + `}`
			if status != 200 || body != want {
				t.Fatalf("got %d %s\nwant %s", status, body, want)
			}
		})
	}
}

// The service and response PDK change the request sent upstream and the
// answer.
func TestPDKChanges(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{})
	in := instanceOf(t, h, "probe", map[string]any{})
	pc := request(t, "GET /p?a=1 HTTP/1.1\nHost: h\nX-Probe-access: "+
		"kong.service.request.set_header('X-Up', 'yes') kong.service.request.clear_header('X-Gone') "+
		"kong.service.request.set_path('/new') kong.service.request.set_query({ b = '2' }) "+
		"kong.service.request.set_method('POST') kong.service.request.set_raw_body('body!') "+
		"kong.service.set_target('10.1.1.1', 8080) kong.response.set_header('X-Early', 'e') return 1\n"+
		"X-Gone: 1\nX-Probe-header: return kong.response.get_status(), kong.response.get_source(), kong.service.response.get_status()\n\n")
	if err := in.(plugins.Accessor).Access(pc); err != nil {
		t.Fatal(err)
	}
	r := pc.Request
	path, _ := pc.Upstream.Path()
	target := pc.Target
	if string(r.Header.Peek("X-Up")) != "yes" || r.Header.Peek("X-Gone") != nil || string(r.Header.Method()) != "POST" ||
		string(r.Body()) != "body!" || string(path) != "/new" || string(r.URI().QueryString()) != "b=2" ||
		target.Host != "10.1.1.1" || target.Port != 8080 {
		t.Fatalf("upstream request: %s %s %q path %q target %+v", r.Header.Method(), r.RequestURI(), r.Body(), path, target)
	}
	// The answer comes from the service.
	pc.Response.SetStatusCode(201)
	pc.FromService = true
	if err := in.(plugins.HeaderFilterer).HeaderFilter(pc); err != nil {
		t.Fatal(err)
	}
	if got := string(pc.Response.Header.Peek("X-Result")); got != `[201,"service",201]` || string(pc.Response.Header.Peek("X-Early")) != "e" {
		t.Fatalf("X-Result %s, X-Early %q", got, pc.Response.Header.Peek("X-Early"))
	}
}

func TestPDKExit(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{})
	in := instanceOf(t, h, "probe", map[string]any{})
	cases := []struct{ name, code, status, body, ct string }{
		{"table", "kong.response.exit(418, { message = 'teapot', list = { 1, 2 } }, { ['X-A'] = 'b' }) error('not reached')", "418", `{"list":[1,2],"message":"teapot"}`, "application/json; charset=utf-8"},
		{"string", "kong.response.exit(201, 'plain', { ['Content-Type'] = 'text/plain' })", "201", "plain", "text/plain"},
		{"error", "kong.response.error(403)", "403", `"message":"Forbidden"`, "application/json; charset=utf-8"},
		{"bad status", "kong.response.exit(99)", "599", "code must be a number between 100 and 599", "application/json; charset=utf-8"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pc := request(t, "GET / HTTP/1.1\nHost: h\nAccept: application/json\nX-Probe-access: "+tc.code+"\n\n")
			err := in.(plugins.Accessor).Access(pc)
			if err != nil {
				t.Fatal(err)
			}
			got := pc.Response
			if !pc.Exited() || itoa(got.StatusCode()) != tc.status || !strings.Contains(string(got.Body()), tc.body) || string(got.Header.ContentType()) != tc.ct {
				t.Fatalf("got %d %s %q", got.StatusCode(), got.Body(), got.Header.ContentType())
			}
		})
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// A plugin that errors, loops or allocates without bound fails its own
// request; the next request is served.
func TestMisbehavingPlugin(t *testing.T) {
	var buf bytes.Buffer
	h := newHost(t, &buf, luaplugins.Options{Timeout: 300 * time.Millisecond, MaxMemory: 16 << 20})
	in := instanceOf(t, h, "misbehave", map[string]any{})
	cases := []struct{ mode, want string }{
		{"error", "testdata/kong/plugins/misbehave/handler.lua:6: boom"},
		{"loop", "lua execution exceeded the 300ms timeout"},
		{"alloc", "lua memory limit exceeded"},
		{"missing", "kong.request.get_everything is not supported"},
		{"phase", "kong.response.get_raw_body: function cannot be called in access phase"},
	}
	// Allocation is checked under a deadline long enough for a slow
	// (race-instrumented, loaded) machine to reach the memory limit first.
	alloc := instanceOf(t, newHost(t, &buf, luaplugins.Options{Timeout: 20 * time.Second, MaxMemory: 4 << 20}), "misbehave", map[string]any{})
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			in := in
			if tc.mode == "alloc" {
				in = alloc
			}
			pc := request(t, "GET / HTTP/1.1\nHost: h\nX-Mode: "+tc.mode+"\n\n")
			err := in.(plugins.Accessor).Access(pc)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if err := in.(plugins.Accessor).Access(request(t, "GET / HTTP/1.1\nHost: h\n\n")); err != nil {
				t.Fatalf("the next request: %v", err)
			}
		})
	}
}

func TestClassicAndRequire(t *testing.T) {
	h := newHost(t, nil, luaplugins.Options{})
	for name, want := range map[string][2]string{"classic": {"X-Classic", "classic"}, "schema-dsl": {"X-Mode", "safe"}} {
		conf := map[string]any{}
		if name == "schema-dsl" {
			conf["a"] = "x"
		}
		in := instanceOf(t, h, name, conf)
		pc := request(t, "GET / HTTP/1.1\nHost: h\n\n")
		if err := in.(plugins.Accessor).Access(pc); err != nil {
			t.Fatal(err)
		}
		if got := string(pc.Request.Header.Peek(want[0])); got != want[1] {
			t.Fatalf("%s: %s = %q", name, want[0], got)
		}
	}
}

func TestKongLog(t *testing.T) {
	var buf bytes.Buffer
	h := newHost(t, &buf, luaplugins.Options{})
	in := instanceOf(t, h, "probe", map[string]any{})
	probe(t, in, "GET / HTTP/1.1\nHost: h\n\n", "kong.log.warn('careful: ', 42) kong.log.err('bad') ngx.log(ngx.ERR, 'raw ', 'line') return 1")
	out := buf.String()
	for _, want := range []string{"[warn] ", `[kong] [string "kong.log.warn('careful: ', 42) kong.log.err('..."]:1 [probe] careful: 42`, "[error] ", "]:1 [probe] bad", `]:1: raw line`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func BenchmarkLuaAccess(b *testing.B) {
	h := newHost(b, nil, luaplugins.Options{})
	in := instanceOf(b, h, "schema-dsl", map[string]any{"a": "x"})
	pc := request(b, "GET / HTTP/1.1\nHost: h\n\n")
	acc := in.(plugins.Accessor)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := acc.Access(pc); err != nil {
			b.Fatal(err)
		}
	}
}

// pre-function under each untrusted_lua mode: the write-time check and
// what a request sees.
func TestServerlessModes(t *testing.T) {
	cases := []struct {
		mode, code  string
		writeErr    string // "" when the code is accepted
		runErr      string // "" when the request goes on
		upstreamHdr string
	}{
		{"sandbox", "kong.service.request.set_header('X-Pre', tostring(os.time() > 0))", "", "", "true"},
		{"sandbox", "os.execute('true')", "'os.execute' is not available in the sandbox", "", ""},
		{"sandbox", "local f = io.open('/etc/passwd')", "'io' is not available in the sandbox", "", ""},
		{"sandbox", "require 'cjson'", "require 'cjson' not allowed within sandbox", "", ""},
		{"sandbox", "local o = os o['exe' .. 'cute']('true')", "", "attempt to call a non-function object", ""},
		{"sandbox", "return function() kong.service.request.set_header('X-Pre', 'fn') end", "", "", "fn"},
		{"on", "kong.service.request.set_header('X-Pre', type(os.execute))", "", "", "function"},
		{"off", "kong.service.request.set_header('X-Pre', 'x')", "", "loading of untrusted Lua code disabled because 'untrusted_lua' config option is set to 'off'", ""},
		{"sandbox", "if then", "error parsing pre-function: [string \"if then\"]", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.mode+" "+tc.code, func(t *testing.T) {
			h := newHost(t, nil, luaplugins.Options{UntrustedLua: tc.mode})
			reg, _, err := catalog.BuildWith(catalog.Options{Plugins: []string{"pre-function"}, Lua: h})
			if err != nil {
				t.Fatal(err)
			}
			e := reg.Entity("plugins")
			row, errs := e.PrepareInsert(map[string]any{"name": "pre-function", "config": map[string]any{"access": []any{tc.code}}},
				schema.Auto{Now: time.Now, NewID: func() string { return "00000000-0000-4000-8000-000000000000" }})
			if errs == nil {
				errs = e.Validate(row)
			}
			if tc.writeErr != "" {
				got, _ := json.Marshal(errs)
				if !strings.Contains(string(got), strings.ReplaceAll(tc.writeErr, `"`, `\"`)) {
					t.Fatalf("write: %s, want %q", got, tc.writeErr)
				}
				return
			}
			if errs != nil {
				t.Fatalf("write: %v", errs)
			}
			_, enabled, _ := catalog.BuildWith(catalog.Options{Plugins: []string{"pre-function"}, Lua: h})
			info, _ := enabled.Lookup("pre-function")
			handler, err := info.New(row["config"].(map[string]any))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 2; i++ { // the second run uses what the first one kept
				pc := request(t, "GET / HTTP/1.1\nHost: h\n\n")
				err = handler.(plugins.Accessor).Access(pc)
				if tc.runErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.runErr) {
						t.Fatalf("run: %v, want %q", err, tc.runErr)
					}
					continue
				}
				if err != nil || string(pc.Request.Header.Peek("X-Pre")) != tc.upstreamHdr {
					t.Fatalf("run %d: %v, X-Pre %q", i, err, pc.Request.Header.Peek("X-Pre"))
				}
			}
		})
	}
}
