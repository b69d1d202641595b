package plugins

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
)

// sampleEntry is a proxied, authenticated request over TLS.
func sampleEntry() *LogEntry {
	e := &LogEntry{}
	e.Request = LogRequest{
		ID: "0123456789abcdef0123456789abcdef", Method: "GET", URI: "/anything?a=1&a=2&flag",
		URL: "https://example.com:8443/anything?a=1&a=2&flag", Size: 120,
		Headers: []LogField{{Name: "host", Value: "example.com"}, {Name: "accept", Value: "*/*"},
			{Name: "x-multi", Value: "one"}, {Name: "x-multi", Value: "two"}, {Name: "authorization", Value: "REDACTED"}},
		Querystring: []LogField{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}, {Name: "flag", Flag: true}},
		TLS:         &LogTLS{Version: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", ClientVerify: "NONE"},
	}
	e.Response = LogResponse{Status: 200, Size: 300, Headers: []LogField{{Name: "content-length", Value: "2"}}}
	e.Latencies = LogLatencies{Kong: 1, Proxy: 5, Request: 7, Receive: 0}
	e.Tries = []LogTry{
		{IP: "10.0.0.1", Port: 80, BalancerStart: 1700000000000, BalancerStartNS: 1700000000000000000, State: "failed", Code: 502},
		{IP: "10.0.0.2", Port: 80, BalancerStart: 1700000000001, BalancerStartNS: 1700000000001000000, BalancerLatency: 0, BalancerLatencyNS: 1200},
	}
	e.ClientIP, e.StartedAt = "127.0.0.1", 1700000000000
	e.UpstreamURI, e.UpstreamStatus = "/anything?a=1&a=2&flag", "502, 200"
	e.Route = Ref{ID: "r1", Name: "route-1", Row: map[string]any{"id": "r1", "name": "route-1", "paths": []any{"/anything"}}}
	e.Service = Ref{ID: "s1", Row: map[string]any{"id": "s1", "host": "upstream.test"}}
	e.ServiceJSON = []byte(`{"id":"s1","host":"upstream.test"}`)
	e.Consumer = map[string]any{"id": "c1", "username": "alice"}
	e.Credential = map[string]any{"id": "k1", "consumer": map[string]any{"id": "c1"}}
	e.Workspace, e.WorkspaceName, e.Source = "w1", "default", "upstream"
	return e
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// The JSON has kong.log.serialize()'s fields, names and shapes
// (kong/pdk/log.lua; spec/01-unit/10-log_serializer_spec.lua).
func TestLogEntryJSON(t *testing.T) {
	got := decode(t, sampleEntry().AppendJSON(nil))
	wantTop := []string{"authenticated_entity", "client_ip", "consumer", "latencies", "request", "response", "route",
		"service", "source", "started_at", "tries", "upstream_status", "upstream_uri", "workspace", "workspace_name"}
	if k := keys(got); !slices.Equal(k, wantTop) {
		t.Fatalf("top-level fields %v, want %v", k, wantTop)
	}
	req := got["request"].(map[string]any)
	resp := got["response"].(map[string]any)
	for _, c := range []struct {
		name      string
		got, want any
	}{
		{"request fields", keys(req), []string{"headers", "id", "method", "querystring", "size", "tls", "uri", "url"}},
		{"response fields", keys(resp), []string{"headers", "size", "status"}},
		{"latencies", got["latencies"], map[string]any{"kong": 1.0, "proxy": 5.0, "request": 7.0, "receive": 0.0}},
		{"repeated header", req["headers"].(map[string]any)["x-multi"], []any{"one", "two"}},
		{"redacted header", req["headers"].(map[string]any)["authorization"], "REDACTED"},
		{"repeated argument", req["querystring"].(map[string]any)["a"], []any{"1", "2"}},
		{"argument without value", req["querystring"].(map[string]any)["flag"], true},
		{"tls", req["tls"], map[string]any{"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "client_verify": "NONE"}},
		{"size", req["size"], 120.0},
		{"status", resp["status"], 200.0},
		{"failed try", got["tries"].([]any)[0], map[string]any{"ip": "10.0.0.1", "port": 80.0, "balancer_start": 1700000000000.0,
			"balancer_start_ns": 1700000000000000000.0, "balancer_latency": 0.0, "balancer_latency_ns": 0.0, "state": "failed", "code": 502.0}},
		{"answered try has no state", got["tries"].([]any)[1].(map[string]any)["state"], nil},
		{"route row", got["route"], map[string]any{"id": "r1", "name": "route-1", "paths": []any{"/anything"}}},
		{"service encoded once", got["service"], map[string]any{"id": "s1", "host": "upstream.test"}},
		{"consumer row", got["consumer"], map[string]any{"id": "c1", "username": "alice"}},
		{"authenticated entity", got["authenticated_entity"], map[string]any{"id": "k1", "consumer_id": "c1"}},
		{"source", got["source"], "upstream"},
		{"upstream status", got["upstream_status"], "502, 200"},
		{"started at", got["started_at"], 1700000000000.0},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

// An answer Kong made itself, to a request with no consumer and no TLS:
// the optional parts are left out, empty tables stay objects.
func TestLogEntryJSONMinimal(t *testing.T) {
	e := &LogEntry{Source: "kong"}
	e.Response.Status = 404
	e.Latencies.Proxy = -1
	got := decode(t, e.AppendJSON(nil))
	for _, absent := range []string{"tries", "consumer", "authenticated_entity", "route", "service", "workspace"} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s present: %v", absent, got[absent])
		}
	}
	req := got["request"].(map[string]any)
	if _, ok := req["tls"]; ok {
		t.Error("tls present without TLS")
	}
	if !reflect.DeepEqual(req["headers"], map[string]any{}) || !reflect.DeepEqual(req["querystring"], map[string]any{}) {
		t.Errorf("empty tables: %v %v", req["headers"], req["querystring"])
	}
	if got["latencies"].(map[string]any)["proxy"] != -1.0 {
		t.Errorf("latencies %v", got["latencies"])
	}
}

// Strings are escaped as encoding/json escapes them (without HTML
// escaping), invalid UTF-8 included.
func TestLogEntryStrings(t *testing.T) {
	for _, s := range []string{"plain", `quote " and \ backslash`, "new\nline\ttab\r", "\x00\x01\x1f", "é ü 漢字 🙂",
		"bad \xff utf8", "line\u2028sep\u2029", "</script>&"} {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		enc.Encode(s)
		if got := AppendJSONString(nil, s); string(got) != string(bytes.TrimSpace(want.Bytes())) {
			t.Errorf("%q: %s, want %s", s, got, bytes.TrimSpace(want.Bytes()))
		}
	}
}

// BenchmarkLogEntryJSON is the log plugins' serialization of one entry.
func BenchmarkLogEntryJSON(b *testing.B) {
	e := sampleEntry()
	e.RouteJSON, _ = json.Marshal(e.Route.Row)
	e.Consumer, e.Credential = nil, nil
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}
