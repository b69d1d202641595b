package entities

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/schema"
)

func TestRoutesDefaults(t *testing.T) {
	got := mustPrepare(t, Routes(), map[string]any{"paths": []any{"/"}})
	wantFields(t, got, map[string]any{
		"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
		"name": nil, "protocols": []any{"http", "https"}, "https_redirect_status_code": 426.0,
		"strip_path": true, "preserve_host": false, "request_buffering": true, "response_buffering": true,
		"tags": nil, "service": nil, "snis": nil, "sources": nil, "destinations": nil,
		"methods": nil, "hosts": nil, "paths": []any{"/"}, "headers": nil,
		"regex_priority": 0.0, "path_handling": "v0",
	})
	b, err := json.Marshal(Routes().Output(got))
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{`"https_redirect_status_code":426`, `"path_handling":"v0"`, `"preserve_host":false`,
		`"protocols":["http","https"]`, `"regex_priority":0`, `"request_buffering":true`, `"response_buffering":true`,
		`"strip_path":true`, `"name":null`, `"methods":null`, `"service":null`} {
		if !strings.Contains(string(b), frag) {
			t.Errorf("output %s lacks %s", b, frag)
		}
	}
}

func TestRoutesValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"hosts", map[string]any{"hosts": []any{"example.com", "*.example.org", "example.*", "api.example.com:8443"}}},
		{"methods", map[string]any{"methods": []any{"GET", "POST"}, "service": ref(testID2)}},
		{"headers", map[string]any{"headers": map[string]any{"x-version": []any{"1", "~*v2"}}}},
		{"regex path", map[string]any{"paths": []any{`~/users/(?<id>\d+)$`}, "regex_priority": 10.0}},
		{"https snis only", map[string]any{"protocols": []any{"https"}, "snis": []any{"*.example.com"}}},
		{"http redirect", map[string]any{"protocols": []any{"https"}, "hosts": []any{"a.com"}, "https_redirect_status_code": 301.0}},
		{"utf-8 name", map[string]any{"name": "routé", "paths": []any{"/"}}},
		{"tcp sources", map[string]any{"protocols": []any{"tcp"}, "sources": []any{map[string]any{"ip": "10.0.0.0/8", "port": 1234.0}}}},
		{"tls snis", map[string]any{"protocols": []any{"tls"}, "snis": []any{"example.com"}}},
		{"udp destinations", map[string]any{"protocols": []any{"udp"}, "destinations": []any{map[string]any{"port": 53.0}}}},
		{"tls_passthrough", map[string]any{"protocols": []any{"tls_passthrough"}, "snis": []any{"example.com"}}},
		{"grpc", map[string]any{"protocols": []any{"grpc"}, "paths": []any{"/helloworld.Greeter"}, "strip_path": false}},
		{"grpcs snis", map[string]any{"protocols": []any{"grpcs"}, "snis": []any{"example.com"}, "strip_path": false}},
		{"path_handling v1", map[string]any{"paths": []any{"/"}, "path_handling": "v1"}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPrepare(t, Routes(), tc.in) })
	}
}

func TestRoutesInvalid(t *testing.T) {
	runInvalid(t, Routes, []invalidCase{
		{"nothing to match (default protocols)", map[string]any{},
			schema.Errors{"@entity": []string{"must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"}}},
		{"nothing to match (http)", map[string]any{"protocols": []any{"http"}},
			schema.Errors{"@entity": []string{"must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"}}},
		{"nothing to match (grpc)", map[string]any{"protocols": []any{"grpc"}, "strip_path": false},
			schema.Errors{"@entity": []string{"must set one of 'hosts', 'headers', 'paths' when 'protocols' is 'grpc'"}}},
		{"nothing to match (grpcs)", map[string]any{"protocols": []any{"grpc", "grpcs"}, "strip_path": false},
			schema.Errors{"@entity": []string{"must set one of 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'grpcs'"}}},
		{"nothing to match (tcp)", map[string]any{"protocols": []any{"tcp", "udp"}},
			schema.Errors{"@entity": []string{"must set one of 'sources', 'destinations', 'snis' when 'protocols' is 'tcp', 'tls' or 'udp'"}}},
		{"nothing to match (tls_passthrough)", map[string]any{"protocols": []any{"tls_passthrough"}},
			schema.Errors{"@entity": []string{"must set snis when 'protocols' is 'tls_passthrough'"}}},
		{"snis with http", map[string]any{"protocols": []any{"http"}, "snis": []any{"example.com"}},
			schema.Errors{"snis": "length must be 0", "@entity": []string{
				"'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'",
				"must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"}}},
		{"host header", map[string]any{"headers": map[string]any{"Host": []any{"example.com"}}},
			schema.Errors{"headers": "cannot contain 'host' header, which must be specified in the 'hosts' attribute"}},
		{"bad header name", map[string]any{"headers": map[string]any{"x version": []any{"1"}}},
			schema.Errors{"headers": "bad header name 'x version', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},
		{"mixed protocol families", map[string]any{"protocols": []any{"http", "tcp"}, "paths": []any{"/"}},
			schema.Errors{"protocols": "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')"}},
		{"redirect code", map[string]any{"paths": []any{"/"}, "https_redirect_status_code": 404.0},
			schema.Errors{"https_redirect_status_code": "expected one of: 426, 301, 302, 307, 308"}},
		{"path_handling", map[string]any{"paths": []any{"/"}, "path_handling": "v2"},
			schema.Errors{"path_handling": "expected one of: v0, v1"}},
		{"regex_priority", map[string]any{"paths": []any{"/"}, "regex_priority": 1.5},
			schema.Errors{"regex_priority": "expected an integer"}},
		{"lower-case method", map[string]any{"methods": []any{"get"}},
			schema.Errors{"methods": elemErr(1, "invalid value: get")}},
		{"relative path", map[string]any{"paths": []any{"foo"}},
			schema.Errors{"paths": elemErr(1, "should start with: / (fixed path) or ~/ (regex path)")}},
		{"non-normalized path", map[string]any{"paths": []any{"/a/./b"}},
			schema.Errors{"paths": elemErr(1, "non-normalized path, consider use '/a/b' instead")}},
		{"empty path segment", map[string]any{"paths": []any{"/a//b"}},
			schema.Errors{"paths": elemErr(1, "must not have empty segments")}},
		{"bad regex", map[string]any{"paths": []any{"~/a[("}},
			schema.Errors{"paths": elemErr(1, "invalid regex: '/a[(' (PCRE returned: missing closing ]: `[(`)")}},
		{"two wildcards", map[string]any{"hosts": []any{"*.example.*"}},
			schema.Errors{"hosts": elemErr(1, "invalid wildcard: must have at most one wildcard")}},
		{"inner wildcard", map[string]any{"hosts": []any{"a.*.example.com"}},
			schema.Errors{"hosts": elemErr(1, "invalid wildcard: must be placed at leftmost or rightmost label")}},
		{"invalid host", map[string]any{"hosts": []any{`\\99`}},
			schema.Errors{"hosts": elemErr(1, `invalid hostname: \\99`)}},
		{"sni with port", map[string]any{"protocols": []any{"https"}, "snis": []any{"example.com:443"}},
			schema.Errors{"snis": elemErr(1, "must not have a port")}},
		{"bad source ip", map[string]any{"protocols": []any{"tcp"}, "sources": []any{map[string]any{"ip": "nope"}}},
			schema.Errors{"sources": elemErr(1, schema.Errors{"ip": "invalid ip or cidr range: 'nope'"})}},
		// Kong: [{"@entity": ["at least one of ..."]}] (a record-level check).
		{"empty destination", map[string]any{"protocols": []any{"tcp"}, "destinations": []any{map[string]any{}}},
			schema.Errors{"destinations": elemErr(1, "at least one of these fields must be non-empty: 'ip', 'port'")}},
		{"bad name", map[string]any{"paths": []any{"/"}, "name": "a b"},
			schema.Errors{"name": "invalid value 'a b': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}},
		{"service id", map[string]any{"paths": []any{"/"}, "service": map[string]any{"id": "nope"}},
			schema.Errors{"service": schema.Errors{"id": "expected a valid UUID"}}},
	})
	t.Run("message", func(t *testing.T) {
		_, errs := prepare(Routes(), map[string]any{"protocols": []any{"http"}, "snis": []any{"example.com"}})
		want := "3 schema violations ('snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls' or 'tls_passthrough'; " +
			"must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'; snis: length must be 0)"
		if got := errs.Message(); got != want {
			t.Errorf("Message() =\n%s\nwant\n%s", got, want)
		}
	})
}

// Kong's per-protocol subschemas; they need the engine to select a subschema
// from a set-valued key (routes' protocols).
func TestRoutesSubschemas(t *testing.T) {
	t.Run("grpc strip_path defaults to false", func(t *testing.T) {
		got := mustPrepare(t, Routes(), map[string]any{"protocols": []any{"grpc"}, "paths": []any{"/"}})
		if got["strip_path"] != false {
			t.Errorf("strip_path = %v", got["strip_path"])
		}
	})
	runInvalid(t, Routes, []invalidCase{
		{"grpc strip_path", map[string]any{"protocols": []any{"grpcs"}, "paths": []any{"/"}, "strip_path": true},
			schema.Errors{"strip_path": "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"}},
		{"grpc methods", map[string]any{"protocols": []any{"grpc"}, "paths": []any{"/"}, "methods": []any{"GET"}},
			schema.Errors{"methods": "cannot set 'methods' when 'protocols' is 'grpc' or 'grpcs'"}},
		{"http sources", map[string]any{"paths": []any{"/"}, "sources": []any{map[string]any{"ip": "10.0.0.1"}}},
			schema.Errors{"sources": "cannot set 'sources' when 'protocols' is 'http' or 'https'"}},
		{"http destinations", map[string]any{"paths": []any{"/"}, "destinations": []any{map[string]any{"port": 80.0}}},
			schema.Errors{"destinations": "cannot set 'destinations' when 'protocols' is 'http' or 'https'"}},
		{"tcp hosts and paths", map[string]any{"protocols": []any{"tcp"}, "sources": []any{map[string]any{"port": 1.0}},
			"hosts": []any{"a.com"}, "paths": []any{"/"}},
			schema.Errors{
				"hosts": "cannot set 'hosts' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'",
				"paths": "cannot set 'paths' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}},
		{"tls_passthrough headers", map[string]any{"protocols": []any{"tls_passthrough"}, "snis": []any{"a.com"},
			"headers": map[string]any{"x": []any{"y"}}, "methods": []any{"GET"}},
			schema.Errors{
				"headers": "cannot set 'headers' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'",
				"methods": "cannot set 'methods' when 'protocols' is 'tcp', 'tls', 'tls_passthrough' or 'udp'"}},
	})
	t.Run("unknown protocol", func(t *testing.T) {
		_, errs := prepare(Routes(), map[string]any{"protocols": []any{"nope"}, "paths": []any{"/"}})
		if want := (schema.Errors{"protocols": "unknown type: nope"}); errs.Message() != want.Message() {
			t.Errorf("errors = %v, want %v", errs, want)
		}
	})
}

func TestRoutesUpdate(t *testing.T) {
	e := Routes()
	existing := mustPrepare(t, e, map[string]any{"paths": []any{"/"}, "hosts": []any{"a.com"}})
	t.Run("protocols change", func(t *testing.T) {
		out, errs := e.PrepareUpdate(existing, map[string]any{"protocols": []any{"https"}}, schema.Auto{Now: func() time.Time { return time.Unix(testNow+5, 0) }})
		if errs != nil {
			t.Fatal(errs)
		}
		if errs := e.Validate(out); errs != nil {
			t.Fatal(errs.Message())
		}
		if !schema.Equal(out["protocols"], []any{"https"}) || out["updated_at"] != float64(testNow+5) || out["created_at"] != float64(testNow) {
			t.Errorf("out = %v", out)
		}
	})
	t.Run("to a stream route", func(t *testing.T) {
		out, errs := e.PrepareUpdate(existing, map[string]any{"protocols": []any{"tcp"}, "paths": nil, "hosts": nil,
			"destinations": []any{map[string]any{"ip": "10.0.0.1", "port": 80.0}}}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if errs := e.Validate(out); errs != nil {
			t.Fatal(errs.Message())
		}
	})
}

func TestRoutesInferFormInput(t *testing.T) {
	e := Routes()
	in := e.Infer(map[string]any{"paths": "/x", "methods": "GET", "strip_path": "false", "regex_priority": "3",
		"headers": map[string]any{"x-a": "b"}})
	got := mustPrepare(t, e, in)
	if !schema.Equal(got["paths"], []any{"/x"}) || !schema.Equal(got["methods"], []any{"GET"}) ||
		got["strip_path"] != false || got["regex_priority"] != 3.0 || !schema.Equal(got["headers"], map[string]any{"x-a": []any{"b"}}) {
		t.Errorf("got %v", got)
	}
}
