package status

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
)

// fakeLua is a Lua room that reports its states.
type fakeLua struct{}

func (fakeLua) LuaVMStats() []LuaVM {
	return []LuaVM{{ID: "1", AllocatedBytes: 3 << 20}, {ID: "2", AllocatedBytes: 1 << 20}}
}

type env struct {
	api       *API
	reachable error
	routing   bool
}

func newEnv(t *testing.T, lua any) *env {
	t.Helper()
	e := &env{routing: true}
	conns := &Connections{}
	conns.requests.Add(7)
	conns.accepted.Add(2)
	r := NewReporter(Options{
		Servers:   func() []*Connections { return []*Connections{conns, {}} },
		Reachable: func(context.Context) error { return e.reachable },
		PID:       42,
		Lua:       lua,
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(r, "node-1", "3.9.1"))
	e.api = NewAPI(APIOptions{
		Reporter: r,
		Routing:  func() bool { return e.routing },
		Metrics:  promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	})
	return e
}

func (e *env) do(method, path, contentType, body string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(path)
	if contentType != "" {
		ctx.Request.Header.SetContentType(contentType)
	}
	ctx.Request.SetBodyString(body)
	e.api.Handler(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

func TestStatusAPI(t *testing.T) {
	tests := []struct {
		name         string
		setup        func(*env)
		method, path string
		ct, body     string
		status       int
		want         string // the body, or a part of it for /metrics
	}{
		{name: "ready", method: "GET", path: "/status/ready", status: 200, want: `{"message":"ready"}`},
		{name: "database down", setup: func(e *env) { e.reachable = errors.New("closed") },
			method: "GET", path: "/status/ready", status: 503, want: `{"message":"failed to connect to database"}`},
		{name: "not routing yet", setup: func(e *env) { e.routing = false },
			method: "GET", path: "/status/ready", status: 503, want: `{"message":"router builds not yet complete"}`},
		{name: "draining (JSON)", method: "POST", path: "/status/ready", ct: "application/json",
			body: `{"status":"draining"}`, status: 204, want: ``},
		{name: "draining (form)", method: "POST", path: "/status/ready", ct: "application/x-www-form-urlencoded",
			body: `status=draining`, status: 204, want: ``},
		{name: "not a drain", method: "POST", path: "/status/ready", ct: "application/json",
			body: `{"status":"up"}`, status: 400, want: ``},
		{name: "drained", setup: func(e *env) { e.api.Drain() },
			method: "GET", path: "/status/ready", status: 503, want: `{"message":"draining"}`},
		{name: "unknown path", method: "GET", path: "/services", status: 404, want: `{"message":"Not found"}`},
		{name: "wrong method", method: "DELETE", path: "/status", status: 405, want: `{"message":"Method not allowed"}`},
		{name: "metrics", method: "GET", path: "/metrics", status: 200,
			want: `kong_nginx_connections_total{node_id="node-1",state="total",subsystem="http"} 7`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			if tt.setup != nil {
				tt.setup(e)
			}
			resp := e.do(tt.method, tt.path, tt.ct, tt.body)
			if resp.StatusCode() != tt.status {
				t.Errorf("status %d, want %d (%s)", resp.StatusCode(), tt.status, resp.Body())
			}
			if tt.path == "/metrics" {
				if !strings.Contains(string(resp.Body()), tt.want) {
					t.Errorf("metrics lack %q:\n%s", tt.want, resp.Body())
				}
				return
			}
			if got := string(resp.Body()); got != tt.want {
				t.Errorf("body %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDrainThenReady(t *testing.T) {
	e := newEnv(t, nil)
	if r := e.do("POST", "/status/ready", "application/json", `{"status":"draining"}`); r.StatusCode() != 204 {
		t.Fatalf("drain: %d", r.StatusCode())
	}
	if r := e.do("GET", "/status/ready", "", ""); r.StatusCode() != 503 || string(r.Body()) != `{"message":"draining"}` {
		t.Errorf("after drain: %d %s", r.StatusCode(), r.Body())
	}
}

func TestStatusBody(t *testing.T) {
	tests := []struct {
		name    string
		lua     any
		luaVMs  bool
		metrics []string // present in /metrics
		absent  []string
	}{
		{name: "no Lua figures", lua: struct{}{},
			metrics: []string{`kong_datastore_reachable 1`, `kong_node_info{node_id="node-1",version="3.9.1"} 1`,
				`kong_nginx_requests_total{node_id="node-1",subsystem="http"} 7`,
				`kong_nginx_connections_total{node_id="node-1",state="accepted",subsystem="http"} 2`},
			absent: []string{"kong_memory_workers_lua_vms_bytes"}},
		{name: "a Lua room reporting its states", lua: fakeLua{}, luaVMs: true,
			metrics: []string{`kong_memory_workers_lua_vms_bytes{kong_subsystem="http",node_id="node-1",pid="42"} 4.194304e+06`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.lua)
			resp := e.do("GET", "/status", "", "")
			var body struct {
				Database map[string]any             `json:"database"`
				Server   map[string]uint64          `json:"server"`
				Memory   map[string]json.RawMessage `json:"memory"`
			}
			if err := json.Unmarshal(resp.Body(), &body); err != nil {
				t.Fatalf("%v: %s", err, resp.Body())
			}
			if body.Database["reachable"] != true {
				t.Errorf("database %v", body.Database)
			}
			if body.Server["total_requests"] != 7 || body.Server["connections_accepted"] != 2 || body.Server["connections_handled"] != 2 {
				t.Errorf("server %v", body.Server)
			}
			if string(body.Memory["lua_shared_dicts"]) != "{}" {
				t.Errorf("lua_shared_dicts %s", body.Memory["lua_shared_dicts"])
			}
			var goMem map[string]uint64
			if err := json.Unmarshal(body.Memory["go_runtime"], &goMem); err != nil || goMem["heap_objects_bytes"] == 0 || goMem["total_bytes"] < goMem["heap_objects_bytes"] || goMem["goroutines"] == 0 {
				t.Errorf("go_runtime %s (%v)", body.Memory["go_runtime"], err)
			}
			vms, has := body.Memory["workers_lua_vms"]
			if has != tt.luaVMs {
				t.Errorf("workers_lua_vms present = %v, want %v", has, tt.luaVMs)
			}
			if tt.luaVMs && string(vms) != `[{"http_allocated_gc":"3.00 MiB","id":"1","pid":42},{"http_allocated_gc":"1.00 MiB","id":"2","pid":42}]` {
				t.Errorf("workers_lua_vms %s", vms)
			}
			m := string(e.do("GET", "/metrics", "", "").Body())
			for _, w := range tt.metrics {
				if !strings.Contains(m, w) {
					t.Errorf("metrics lack %q:\n%s", w, m)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(m, a) {
					t.Errorf("metrics have %q", a)
				}
			}
		})
	}
}

// In DB-less mode /status reports the configuration's hash instead of the
// database, and a node holding no configuration is not ready (Kong's
// ready.lua).
func TestDBlessStatus(t *testing.T) {
	for _, tc := range []struct {
		hash        string
		readyStatus int
		readyBody   string
	}{
		{"00000000000000000000000000000000", 503, `{"message":"no configuration available (empty configuration present)"}`},
		{"0f1e2d3c4b5a69788796a5b4c3d2e1f0", 200, `{"message":"ready"}`},
	} {
		t.Run(tc.hash, func(t *testing.T) {
			r := NewReporter(Options{ConfigurationHash: func() string { return tc.hash }})
			e := &env{api: NewAPI(APIOptions{Reporter: r, Routing: func() bool { return true }})}
			resp := e.do("GET", "/status", "", "")
			var body map[string]any
			if err := json.Unmarshal(resp.Body(), &body); err != nil {
				t.Fatal(err)
			}
			if _, ok := body["database"]; ok || body["configuration_hash"] != tc.hash {
				t.Errorf("/status: %s", resp.Body())
			}
			resp = e.do("GET", "/status/ready", "", "")
			if resp.StatusCode() != tc.readyStatus || string(resp.Body()) != tc.readyBody {
				t.Errorf("/status/ready: %d %s", resp.StatusCode(), resp.Body())
			}
		})
	}
}
