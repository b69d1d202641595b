package proxy

import (
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/plugins/bundled"
)

// jsonRecorder keeps the JSON of every entry it logs.
type jsonRecorder struct {
	mu   sync.Mutex
	logs []map[string]any
}

func (r *jsonRecorder) Log(e *plugins.LogEntry) {
	var m map[string]any
	if err := json.Unmarshal(e.AppendJSON(nil), &m); err != nil {
		panic(err)
	}
	r.mu.Lock()
	r.logs = append(r.logs, m)
	r.mu.Unlock()
}

// wait returns the n-th entry (1-based) once it is there.
func (r *jsonRecorder) wait(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		if len(r.logs) >= n {
			e := r.logs[n-1]
			r.mu.Unlock()
			return e
		}
		r.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no log entry %d", n)
	return nil
}

// loggingProxy runs http-log as a recorder of entries, key-auth as the
// consumer named by X-Consumer and request-termination as an exit (418).
func loggingProxy(t *testing.T, rec *jsonRecorder) *testProxy {
	all := plugins.NewRegistry()
	bundled.Register(all)
	r := plugins.NewRegistry()
	for name, f := range map[string]plugins.Factory{
		"http-log": func(map[string]any) (plugins.Handler, error) { return rec, nil },
		"key-auth": func(map[string]any) (plugins.Handler, error) { return consumerFromHeader{}, nil },
		"request-termination": func(map[string]any) (plugins.Handler, error) {
			return pickRecorder{"exit"}, nil
		},
	} {
		info, _ := all.Lookup(name)
		info.New = f
		r.Register(info)
	}
	return newTestProxy(t, func(o *Options) { o.Plugins = r })
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// A proxied request's entry carries what Kong's serializer reports.
func TestLogEntryProxied(t *testing.T) {
	up := echoUpstream(t, "up")
	rec := &jsonRecorder{}
	tp := loggingProxy(t, rec)
	svc := tp.insert("services", map[string]any{"name": "svc", "url": up.URL + "/base"})
	rt := tp.insert("routes", map[string]any{"name": "r", "paths": []any{"/p"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("plugins", map[string]any{"name": "key-auth"})
	tp.insert("plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": "http://logs.test/"}})

	r := tp.do("POST", "/p/x?a=1&a=2&flag&e=%20", map[string]string{"Authorization": "Basic c2VjcmV0", "X-Consumer": "c1",
		"X-Multi": "one"}, "hello")
	if r.status != 200 {
		t.Fatalf("status %d", r.status)
	}
	e := rec.wait(t, 1)
	ip, _, _ := net.SplitHostPort(strings.TrimPrefix(up.URL, "http://"))
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"method", path(e, "request", "method"), "POST"},
		{"uri", path(e, "request", "uri"), "/p/x?a=1&a=2&flag&e=%20"},
		{"url", path(e, "request", "url"), "http://gateway.test:0/p/x?a=1&a=2&flag&e=%20"},
		{"id", path(e, "request", "id"), r.headers.Get("X-Kong-Request-Id")},
		{"authorization redacted", path(e, "request", "headers", "authorization"), "REDACTED"},
		{"header names lower-case", path(e, "request", "headers", "x-multi"), "one"},
		{"repeated argument", path(e, "request", "querystring", "a"), []any{"1", "2"}},
		{"flag argument", path(e, "request", "querystring", "flag"), true},
		{"decoded argument", path(e, "request", "querystring", "e"), " "},
		{"status", path(e, "response", "status"), 200.0},
		{"response header", path(e, "response", "headers", "content-length"), r.headers.Get("Content-Length")},
		{"upstream uri", e["upstream_uri"], "/base/x?a=1&a=2&flag&e=%20"},
		{"upstream status", e["upstream_status"], "200"},
		{"source", e["source"], "upstream"},
		{"route", path(e, "route", "id"), rt["id"]},
		{"route name", path(e, "route", "name"), "r"},
		{"service", path(e, "service", "name"), "svc"},
		{"consumer", path(e, "consumer", "id"), "c1"},
		{"workspace name", e["workspace_name"], "default"},
		{"try ip", path(e["tries"].([]any)[0].(map[string]any), "ip"), ip},
	} {
		if !equalJSON(c.got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if size, _ := path(e, "request", "size").(float64); size < float64(len("POST /p/x HTTP/1.1\r\n")+len("hello")) {
		t.Errorf("request size %v", size)
	}
	if size, _ := path(e, "response", "size").(float64); size <= float64(len(r.body)) {
		t.Errorf("response size %v for a %d-byte body", size, len(r.body))
	}
	if p, _ := path(e, "latencies", "proxy").(float64); p < 0 {
		t.Errorf("latencies %v", e["latencies"])
	}
}

// An answer a plugin made: source kong, no upstream, no tries.
func TestLogEntryExit(t *testing.T) {
	rec := &jsonRecorder{}
	tp := loggingProxy(t, rec)
	svc := tp.insert("services", map[string]any{"url": "http://127.0.0.1:9"})
	tp.insert("routes", map[string]any{"paths": []any{"/p"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("plugins", map[string]any{"name": "request-termination"})
	tp.insert("plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": "http://logs.test/"}})
	if r := tp.do("GET", "/p", nil, ""); r.status != 418 {
		t.Fatalf("status %d", r.status)
	}
	e := rec.wait(t, 1)
	if e["source"] != "kong" || path(e, "latencies", "proxy") != -1.0 || e["tries"] != nil || e["upstream_status"] != "" ||
		path(e, "response", "status") != 418.0 || e["consumer"] != nil {
		t.Errorf("entry %v", e)
	}
}

// A service that cannot be reached: each try failed with 502.
func TestLogEntryFailedTries(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	rec := &jsonRecorder{}
	tp := loggingProxy(t, rec)
	svc := tp.insert("services", map[string]any{"url": "http://" + dead, "retries": 1.0})
	tp.insert("routes", map[string]any{"paths": []any{"/p"}, "service": map[string]any{"id": svc["id"]}})
	tp.insert("plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": "http://logs.test/"}})
	if r := tp.do("GET", "/p", nil, ""); r.status != 502 {
		t.Fatalf("status %d", r.status)
	}
	e := rec.wait(t, 1)
	tries, _ := e["tries"].([]any)
	if len(tries) != 2 || e["upstream_status"] != "502, 502" || e["source"] != "kong" {
		t.Fatalf("tries %v, upstream_status %v, source %v", tries, e["upstream_status"], e["source"])
	}
	for _, try := range tries {
		if m := try.(map[string]any); m["state"] != "failed" || m["code"] != 502.0 || m["ip"] != "127.0.0.1" {
			t.Errorf("try %v", m)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// A global log plugin sees requests no route matched, as in Kong.
func TestLogEntryUnrouted(t *testing.T) {
	rec := &jsonRecorder{}
	tp := loggingProxy(t, rec)
	tp.insert("plugins", map[string]any{"name": "http-log", "config": map[string]any{"http_endpoint": "http://logs.test/"}})
	if r := tp.do("GET", "/nowhere", nil, ""); r.status != 404 {
		t.Fatalf("status %d", r.status)
	}
	e := rec.wait(t, 1)
	if path(e, "response", "status") != 404.0 || e["route"] != nil || e["source"] != "kong" || path(e, "request", "uri") != "/nowhere" {
		t.Errorf("entry %v", e)
	}
}
