package admin

// In-process Admin API tests: the real handler served by a fasthttp.Server on
// an in-memory listener, with a fresh in-memory store per test. The e2e/
// suite drives the built binary; these tests cover the API surface quickly.

import (
	"bytes"
	"encoding/json"
	"net"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"

	"github.com/portico-gw/portico/conf"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store/badger"
)

// testKongVersion is the Kong version the test node reports.
const testKongVersion = "3.9.1"

// registries mirrors node.Registries (which this package cannot import: node
// imports admin): the core entities with the default conf's plugins.
func registries(tb testing.TB) (*schema.Registry, *plugins.Registry) {
	tb.Helper()
	cfg, _, err := conf.Load("", nil)
	if err != nil {
		tb.Fatalf("conf.Load: %v", err)
	}
	all := plugins.NewRegistry()
	bundled.Register(all)
	enabled, err := all.Enabled(cfg.Plugins)
	if err != nil {
		tb.Fatalf("enabling plugins: %v", err)
	}
	reg := schema.NewRegistry()
	reg.Register(entities.All()...)
	enabled.Install(reg.Entity("plugins"))
	return reg, enabled
}

// newAPI builds the Admin API over a fresh in-memory store.
func newAPI(tb testing.TB) *API {
	tb.Helper()
	reg, enabled := registries(tb)
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		tb.Fatalf("opening store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	var infos []PluginInfo
	for _, p := range enabled.All() {
		infos = append(infos, PluginInfo{Name: p.Name, Version: p.Version, Priority: p.Priority})
	}
	return New(Options{
		DB:      db.New(reg, st, db.Options{}),
		Plugins: infos,
		Node:    NodeInfo{KongVersion: testKongVersion, PorticoVersion: "test", Hostname: "test", NodeID: "00000000-0000-4000-8000-000000000000"},
	})
}

// harness is one in-process Admin API and a client dialling it in memory.
type harness struct {
	tb     testing.TB
	api    *API
	client *fasthttp.HostClient
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	api := newAPI(tb)
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: api.Handler(), ErrorHandler: api.ErrorHandler, NoDefaultServerHeader: true}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		_ = srv.Shutdown()
		ln.Close()
		<-done
	})
	client := &fasthttp.HostClient{
		Addr:        "admin.test",
		Dial:        func(string) (net.Conn, error) { return ln.Dial() },
		ReadTimeout: 10 * time.Second,
	}
	return &harness{tb: tb, api: api, client: client}
}

// response is what the client received; body is the decoded JSON (nil when
// the body is empty).
type response struct {
	status int
	header map[string]string // canonical names
	raw    []byte
	body   any
}

// obj returns the body as a JSON object, failing the test if it is not one.
func (r *response) obj(tb testing.TB) map[string]any {
	tb.Helper()
	m, ok := r.body.(map[string]any)
	if !ok {
		tb.Fatalf("body is not a JSON object: %s", r.raw)
	}
	return m
}

// do sends one request. body may be nil.
func (h *harness) do(method, path, contentType string, body []byte) *response {
	h.tb.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI("http://admin.test" + path)
	if contentType != "" {
		req.Header.SetContentType(contentType)
	}
	if body != nil {
		req.SetBody(body)
	}
	if err := h.client.Do(req, resp); err != nil {
		h.tb.Fatalf("%s %s: %v", method, path, err)
	}
	r := &response{status: resp.StatusCode(), header: map[string]string{}, raw: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		r.header[string(k)] = string(v)
	}
	if len(bytes.TrimSpace(r.raw)) > 0 && method != fasthttp.MethodHead {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			h.tb.Fatalf("%s %s: response is not JSON (%v): %s", method, path, err, r.raw)
		}
	}
	return r
}

// json sends v as a JSON body (no body when v is nil).
func (h *harness) json(method, path string, v any) *response {
	h.tb.Helper()
	if v == nil {
		return h.do(method, path, "", nil)
	}
	raw, err := json.Marshal(v)
	if err != nil {
		h.tb.Fatal(err)
	}
	return h.do(method, path, mimeJSON, raw)
}

func (h *harness) get(path string) *response { h.tb.Helper(); return h.do("GET", path, "", nil) }

// mustCreate POSTs a JSON body and returns the created entity.
func (h *harness) mustCreate(path string, v any) map[string]any {
	h.tb.Helper()
	r := h.json("POST", path, v)
	if r.status != fasthttp.StatusCreated {
		h.tb.Fatalf("POST %s: status %d: %s", path, r.status, r.raw)
	}
	return r.obj(h.tb)
}

// want fails unless the status is as expected.
func (r *response) want(tb testing.TB, status int) *response {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.raw)
	}
	return r
}

// wantFields fails unless every key of want is in got with an equal value.
func wantFields(tb testing.TB, got map[string]any, want map[string]any) {
	tb.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || !reflect.DeepEqual(g, w) {
			tb.Errorf("%s = %s, want %s", k, js(g), js(w))
		}
	}
}

// js renders a value for messages.
func js(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

// ---------------------------------------------------------------------------
// Headers

func TestAdminHeaders(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200},
		{"GET", "/services", 200},
		{"GET", "/nothing", 404},
		{"DELETE", "/routes/r/service", 405},
	} {
		r := h.do(tc.method, tc.path, "", nil).want(t, tc.status)
		if got := r.header["Server"]; got != "kong/"+testKongVersion {
			t.Errorf("%s %s: Server = %q", tc.method, tc.path, got)
		}
		if _, err := strconv.Atoi(r.header["X-Kong-Admin-Latency"]); err != nil {
			t.Errorf("%s %s: X-Kong-Admin-Latency = %q", tc.method, tc.path, r.header["X-Kong-Admin-Latency"])
		}
		if got := r.header["Access-Control-Allow-Origin"]; got != "*" {
			t.Errorf("%s %s: Access-Control-Allow-Origin = %q", tc.method, tc.path, got)
		}
		if got := r.header["X-Kong-Admin-Request-Id"]; got == "" {
			t.Errorf("%s %s: no X-Kong-Admin-Request-ID", tc.method, tc.path)
		}
		if got := r.header["Content-Type"]; got != "application/json; charset=utf-8" {
			t.Errorf("%s %s: Content-Type = %q", tc.method, tc.path, got)
		}
	}
	if r := h.do("HEAD", "/services", "", nil).want(t, 200); len(r.raw) != 0 {
		t.Errorf("HEAD has a body: %q", r.raw)
	}
}

func TestProbe(t *testing.T) {
	h := newHarness(t)
	show := func(r *response) { t.Logf("%d %s", r.status, r.raw) }
	c := h.mustCreate("/consumers", map[string]any{"username": "c1", "tags": []any{"corp_a", "consumer1"}})
	h.mustCreate("/consumers/c1/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 5}, "tags": []any{"corp_a", "consumer1"}})
	_ = c
	show(h.get("/consumers/c1/plugins?tags=consumer2"))
	show(h.get("/tags?tags=not_a_tag"))
	show(h.get("/tags/corp_a?tags=not_a_tag"))
	show(h.get("/consumers?tags=a,b,c,d,e,f"))
	show(h.get("/consumers?tags=%ff"))
	show(h.get("/consumers?tags=foo%20bar"))
	show(h.get("/tags/%ff"))
	show(h.get("/consumers?tags=corp_a&size=1"))
	show(h.get("/consumers?size=1&tags=corp_a"))
	show(h.get("/tags?size=1"))
	show(h.get("/tags/corp_a?size=1"))
	show(h.get("/consumers/c1/plugins?size=1"))
}
