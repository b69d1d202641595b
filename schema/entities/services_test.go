package entities

import (
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestServicesDefaults(t *testing.T) {
	got := mustPrepare(t, Services(), map[string]any{"host": "example.com"})
	wantFields(t, got, map[string]any{
		"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
		"name": nil, "retries": 5.0, "protocol": "http", "host": "example.com", "port": 80.0,
		"path": nil, "connect_timeout": 60000.0, "write_timeout": 60000.0, "read_timeout": 60000.0,
		"tags": nil, "client_certificate": nil, "tls_verify": nil, "tls_verify_depth": nil,
		"ca_certificates": nil, "enabled": true,
	})
}

func TestServicesValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"full http", map[string]any{"name": "my-svc", "host": "10.0.0.1", "port": 8080.0, "path": "/api/v1",
			"retries": 0.0, "connect_timeout": 1.0, "tags": []any{"a", "b"}, "enabled": false}},
		{"https with tls options", map[string]any{"host": "example.com", "protocol": "https", "tls_verify": true,
			"tls_verify_depth": 3.0, "ca_certificates": []any{testID}, "client_certificate": ref(testID2)}},
		{"tcp", map[string]any{"host": "example.com", "protocol": "tcp", "port": 9000.0}},
		{"utf-8 name", map[string]any{"name": "servicé", "host": "example.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPrepare(t, Services(), tc.in) })
	}
}

func TestServicesURLShorthand(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want map[string]any // protocol, host, port, path
	}{
		{"http://example.com", map[string]any{"protocol": "http", "host": "example.com", "port": 80.0, "path": nil}},
		{"https://example.com", map[string]any{"protocol": "https", "host": "example.com", "port": 443.0, "path": nil}},
		{"https://example.com:8443/foo/bar?x=1#y", map[string]any{"protocol": "https", "host": "example.com", "port": 8443.0, "path": "/foo/bar"}},
		{"http://user:pass@10.0.0.1:81/", map[string]any{"protocol": "http", "host": "10.0.0.1", "port": 81.0, "path": "/"}},
		{"grpc://example.com", map[string]any{"protocol": "grpc", "host": "example.com", "port": 80.0, "path": nil}},
		{"//example.com:443", map[string]any{"protocol": "https", "host": "example.com", "port": 443.0, "path": nil}},
		{"http://[::1]:8080", map[string]any{"protocol": "http", "host": "::1", "port": 8080.0, "path": nil}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got := mustPrepare(t, Services(), map[string]any{"url": tc.url})
			for k, v := range tc.want {
				if !schema.Equal(got[k], v) {
					t.Errorf("%s = %#v, want %#v", k, got[k], v)
				}
			}
			if _, ok := got["url"]; ok {
				t.Error("url kept in the entity")
			}
		})
	}
	t.Run("url wins over explicit fields", func(t *testing.T) {
		got := mustPrepare(t, Services(), map[string]any{"url": "https://a.example.com", "host": "b.example.com"})
		if got["host"] != "a.example.com" {
			t.Errorf("host = %v", got["host"])
		}
	})
}

func TestServicesInvalid(t *testing.T) {
	conditional := []string{"failed conditional validation given value of field 'protocol'"}
	runInvalid(t, Services, []invalidCase{
		{"host missing", map[string]any{}, schema.Errors{"host": "required field missing"}},
		{"port too big", map[string]any{"host": "example.com", "port": 65536.0},
			schema.Errors{"port": "value should be between 0 and 65535"}},
		{"protocol", map[string]any{"host": "example.com", "protocol": "ftp"},
			schema.Errors{"protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"}},
		{"host with port", map[string]any{"host": "example.com:80"}, schema.Errors{"host": "must not have a port"}},
		{"bad host", map[string]any{"host": "exa mple.com"}, schema.Errors{"host": "invalid value: exa mple.com"}},
		{"retries", map[string]any{"host": "example.com", "retries": 32768.0},
			schema.Errors{"retries": "value should be between 0 and 32767"}},
		{"timeout zero", map[string]any{"host": "example.com", "connect_timeout": 0.0},
			schema.Errors{"connect_timeout": "value should be between 1 and 2147483646"}},
		{"name", map[string]any{"host": "example.com", "name": "@gobo"},
			schema.Errors{"name": "invalid value '@gobo': the only accepted ascii characters are alphanumerics or ., -, _, and ~"}},
		{"empty name", map[string]any{"host": "example.com", "name": ""}, schema.Errors{"name": "length must be at least 1"}},
		{"path empty segment", map[string]any{"host": "example.com", "path": "/a//b"},
			schema.Errors{"path": "must not have empty segments"}},
		{"path with tcp", map[string]any{"host": "example.com", "protocol": "tcp", "path": "/path"},
			schema.Errors{"path": "value must be null", "@entity": conditional}},
		{"tls_verify with http", map[string]any{"host": "example.com", "tls_verify": true},
			schema.Errors{"tls_verify": "value must be null", "@entity": conditional}},
		{"tls_verify_depth with grpc", map[string]any{"host": "example.com", "protocol": "grpc", "tls_verify_depth": 2.0},
			schema.Errors{"tls_verify_depth": "value must be null", "@entity": conditional}},
		{"ca_certificates with http", map[string]any{"host": "example.com", "ca_certificates": []any{testID}},
			schema.Errors{"ca_certificates": "value must be null", "@entity": conditional}},
		{"tls_verify_depth range", map[string]any{"host": "example.com", "protocol": "https", "tls_verify_depth": 65.0},
			schema.Errors{"tls_verify_depth": "value should be between 0 and 64"}},
		{"ca_certificates uuid", map[string]any{"host": "example.com", "protocol": "https", "ca_certificates": []any{"nope"}},
			schema.Errors{"ca_certificates": elemErr(1, "expected a valid UUID")}},
		{"tags", map[string]any{"host": "example.com", "tags": []any{"a,b"}},
			schema.Errors{"tags": elemErr(1, "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences")}},
		{"url without host", map[string]any{"url": "not a url"},
			schema.Errors{"host": "required field missing", "path": "should start with: /"}},
		{"url bad port", map[string]any{"url": "http://example.com:abc/"},
			schema.Errors{"port": "expected an integer"}},
		{"url bad scheme", map[string]any{"url": "localhost:8080"},
			schema.Errors{"protocol": "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp",
				"host": "required field missing", "path": "should start with: /"}},
		{"url not a string", map[string]any{"url": 1.0}, schema.Errors{"url": "expected a string"}},
		{"unknown field", map[string]any{"host": "example.com", "foo": 1.0}, schema.Errors{"foo": "unknown field"}},
	})
	t.Run("message", func(t *testing.T) {
		_, errs := prepare(Services(), map[string]any{"host": "example.com", "protocol": "tcp", "path": "/path"})
		want := "2 schema violations (failed conditional validation given value of field 'protocol'; path: value must be null)"
		if got := errs.Message(); got != want {
			t.Errorf("Message() = %q, want %q", got, want)
		}
	})
	t.Run("client_certificate with http", func(t *testing.T) {
		_, errs := prepare(Services(), map[string]any{"host": "example.com", "client_certificate": ref(testID)})
		want := schema.Errors{"client_certificate": "value must be null", "@entity": conditional}
		if errs.Message() != want.Message() {
			t.Errorf("errors = %v, want %v", errs, want)
		}
	})
}

func TestServicesInferFormInput(t *testing.T) {
	e := Services()
	in := e.Infer(map[string]any{"url": "http://example.com:8080", "retries": "3", "tags": "one", "path": ""})
	got := mustPrepare(t, e, in)
	if got["port"] != 8080.0 || got["retries"] != 3.0 || !schema.Equal(got["tags"], []any{"one"}) || got["path"] != nil {
		t.Errorf("got %v", got)
	}
}
