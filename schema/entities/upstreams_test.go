package entities

import (
	"testing"

	"github.com/portico-gw/portico/schema"
)

func defaultHealthchecks() map[string]any {
	return map[string]any{
		"active": map[string]any{
			"type": "http", "timeout": 1.0, "concurrency": 10.0, "http_path": "/",
			"https_sni": nil, "https_verify_certificate": true, "headers": nil,
			"healthy":   map[string]any{"interval": 0.0, "http_statuses": []any{200.0, 302.0}, "successes": 0.0},
			"unhealthy": map[string]any{"interval": 0.0, "http_statuses": []any{429.0, 404.0, 500.0, 501.0, 502.0, 503.0, 504.0, 505.0}, "tcp_failures": 0.0, "timeouts": 0.0, "http_failures": 0.0},
		},
		"passive": map[string]any{
			"type": "http",
			"healthy": map[string]any{"http_statuses": []any{200.0, 201.0, 202.0, 203.0, 204.0, 205.0, 206.0, 207.0, 208.0, 226.0,
				300.0, 301.0, 302.0, 303.0, 304.0, 305.0, 306.0, 307.0, 308.0}, "successes": 0.0},
			"unhealthy": map[string]any{"http_statuses": []any{429.0, 500.0, 503.0}, "tcp_failures": 0.0, "timeouts": 0.0, "http_failures": 0.0},
		},
		"threshold": 0.0,
	}
}

func TestUpstreamsDefaults(t *testing.T) {
	got := mustPrepare(t, Upstreams(), map[string]any{"name": "my-upstream"})
	wantFields(t, got, map[string]any{
		"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow), "name": "my-upstream",
		"algorithm": "round-robin", "hash_on": "none", "hash_fallback": "none",
		"hash_on_header": nil, "hash_fallback_header": nil, "hash_on_cookie": nil, "hash_on_cookie_path": "/",
		"hash_on_query_arg": nil, "hash_fallback_query_arg": nil, "hash_on_uri_capture": nil, "hash_fallback_uri_capture": nil,
		"slots": 10000.0, "healthchecks": defaultHealthchecks(), "tags": nil, "host_header": nil,
		"client_certificate": nil, "use_srv_name": false,
	})
	t.Run("partial healthchecks get the other defaults", func(t *testing.T) {
		got := mustPrepare(t, Upstreams(), map[string]any{"name": "u", "healthchecks": map[string]any{
			"active": map[string]any{"timeout": 5.0, "healthy": map[string]any{"interval": 3.0}}}})
		want := defaultHealthchecks()
		want["active"].(map[string]any)["timeout"] = 5.0
		want["active"].(map[string]any)["healthy"].(map[string]any)["interval"] = 3.0
		if !schema.Equal(got["healthchecks"], want) {
			t.Errorf("healthchecks = %v", got["healthchecks"])
		}
	})
	t.Run("defaults are not shared", func(t *testing.T) {
		a := mustPrepare(t, Upstreams(), map[string]any{"name": "a"})
		a["healthchecks"].(map[string]any)["threshold"] = 50.0
		b := mustPrepare(t, Upstreams(), map[string]any{"name": "b"})
		if b["healthchecks"].(map[string]any)["threshold"] != 0.0 {
			t.Error("healthchecks default shared between entities")
		}
	})
}

func TestUpstreamsHashingShorthands(t *testing.T) {
	for _, tc := range []struct {
		name            string
		in              map[string]any
		algorithm, hash string
	}{
		{"hash_on selects consistent-hashing", map[string]any{"hash_on": "ip"}, "consistent-hashing", "ip"},
		{"hash_on wins over algorithm", map[string]any{"algorithm": "round-robin", "hash_on": "ip"}, "consistent-hashing", "ip"},
		{"hash_on none selects round-robin", map[string]any{"algorithm": "consistent-hashing", "hash_on": "none"}, "round-robin", "none"},
		{"least-connections resets hash_on", map[string]any{"algorithm": "least-connections", "hash_on": "ip"}, "least-connections", "none"},
		{"latency", map[string]any{"algorithm": "latency"}, "latency", "none"},
		{"algorithm alone", map[string]any{"algorithm": "consistent-hashing"}, "consistent-hashing", "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]any{"name": "u"}
			for k, v := range tc.in {
				in[k] = v
			}
			got := mustPrepare(t, Upstreams(), in)
			if got["algorithm"] != tc.algorithm || got["hash_on"] != tc.hash {
				t.Errorf("algorithm = %v, hash_on = %v; want %v, %v", got["algorithm"], got["hash_on"], tc.algorithm, tc.hash)
			}
		})
	}
	t.Run("update to least-connections", func(t *testing.T) {
		e := Upstreams()
		existing := mustPrepare(t, e, map[string]any{"name": "u", "hash_on": "ip"})
		out, errs := e.PrepareUpdate(existing, map[string]any{"algorithm": "least-connections"}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if out["algorithm"] != "least-connections" || out["hash_on"] != "none" {
			t.Errorf("algorithm = %v, hash_on = %v", out["algorithm"], out["hash_on"])
		}
	})
}

func TestUpstreamsInvalid(t *testing.T) {
	conditional := func(field string) []string {
		return []string{"failed conditional validation given value of field '" + field + "'"}
	}
	runInvalid(t, Upstreams, []invalidCase{
		{"name missing", map[string]any{}, schema.Errors{"name": "required field missing"}},
		{"ip name", map[string]any{"name": "10.0.0.1"}, schema.Errors{"name": "Invalid name ('10.0.0.1'); no ip addresses allowed"}},
		{"name with port", map[string]any{"name": "a.com:80"}, schema.Errors{"name": "Invalid name ('a.com:80'); no port allowed"}},
		{"bad name", map[string]any{"name": "a b"}, schema.Errors{"name": "Invalid name ('a b'); must be a valid hostname"}},
		{"algorithm", map[string]any{"name": "u", "algorithm": "random"},
			schema.Errors{"algorithm": "expected one of: consistent-hashing, least-connections, round-robin, latency"}},
		{"hash_on", map[string]any{"name": "u", "hash_on": "body"},
			schema.Errors{"hash_on": "expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture"}},
		{"hash_on header without header", map[string]any{"name": "u", "hash_on": "header"},
			schema.Errors{"hash_on_header": "required field missing", "@entity": conditional("hash_on")}},
		{"hash_fallback header without header", map[string]any{"name": "u", "hash_on": "ip", "hash_fallback": "header"},
			schema.Errors{"hash_fallback_header": "required field missing", "@entity": conditional("hash_fallback")}},
		{"hash_on cookie without cookie", map[string]any{"name": "u", "hash_on": "cookie"},
			schema.Errors{"hash_on_cookie": "required field missing", "@entity": conditional("hash_on")}},
		{"fallback with hash_on none", map[string]any{"name": "u", "hash_fallback": "ip"},
			schema.Errors{"hash_fallback": "expected one of: none", "@entity": conditional("hash_on")}},
		{"fallback equal to hash_on", map[string]any{"name": "u", "hash_on": "ip", "hash_fallback": "ip"},
			schema.Errors{"hash_fallback": "expected one of: none, consumer, header, cookie, path, query_arg, uri_capture", "@entity": conditional("hash_on")}},
		{"same headers", map[string]any{"name": "u", "hash_on": "header", "hash_on_header": "x-a", "hash_fallback": "header", "hash_fallback_header": "x-a"},
			schema.Errors{"@entity": []string{"values of these fields must be distinct: 'hash_on_header', 'hash_fallback_header'"}}},
		{"query arg missing", map[string]any{"name": "u", "hash_on": "query_arg"},
			schema.Errors{"hash_on_query_arg": "required field missing", "@entity": conditional("hash_on")}},
		{"empty query arg", map[string]any{"name": "u", "hash_on": "query_arg", "hash_on_query_arg": ""},
			schema.Errors{"hash_on_query_arg": "length must be at least 1", "@entity": conditional("hash_on")}},
		{"uri capture missing", map[string]any{"name": "u", "hash_on": "uri_capture"},
			schema.Errors{"hash_on_uri_capture": "required field missing", "@entity": conditional("hash_on")}},
		{"bad cookie name", map[string]any{"name": "u", "hash_on": "cookie", "hash_on_cookie": "a b"},
			schema.Errors{"hash_on_cookie": `contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\"/?={}[] are not allowed.`}},
		{"bad header name", map[string]any{"name": "u", "hash_on": "header", "hash_on_header": "x a"},
			schema.Errors{"hash_on_header": "bad header name 'x a', allowed characters are A-Z, a-z, 0-9, '_', and '-'"}},
		{"slots", map[string]any{"name": "u", "slots": 9.0}, schema.Errors{"slots": "value should be between 10 and 65536"}},
		{"host_header", map[string]any{"name": "u", "host_header": "a.com:99999"}, schema.Errors{"host_header": "invalid port number"}},
		{"concurrency", map[string]any{"name": "u", "healthchecks": map[string]any{"active": map[string]any{"concurrency": -1.0}}},
			schema.Errors{"healthchecks": schema.Errors{"active": schema.Errors{"concurrency": "value should be between 1 and 2147483648"}}}},
		{"check type", map[string]any{"name": "u", "healthchecks": map[string]any{"passive": map[string]any{"type": "udp"}}},
			schema.Errors{"healthchecks": schema.Errors{"passive": schema.Errors{"type": "expected one of: tcp, http, https, grpc, grpcs"}}}},
		{"successes", map[string]any{"name": "u", "healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"successes": 256.0}}}},
			schema.Errors{"healthchecks": schema.Errors{"active": schema.Errors{"healthy": schema.Errors{"successes": "value should be between 0 and 255"}}}}},
		{"http status", map[string]any{"name": "u", "healthchecks": map[string]any{"passive": map[string]any{"unhealthy": map[string]any{"http_statuses": []any{99.0}}}}},
			schema.Errors{"healthchecks": schema.Errors{"passive": schema.Errors{"unhealthy": schema.Errors{"http_statuses": elemErr(1, "value should be between 100 and 999")}}}}},
		{"https_sni", map[string]any{"name": "u", "healthchecks": map[string]any{"active": map[string]any{"https_sni": "10.0.0.1"}}},
			schema.Errors{"healthchecks": schema.Errors{"active": schema.Errors{"https_sni": "must not be an IP"}}}},
		{"healthchecks null", map[string]any{"name": "u", "healthchecks": nil},
			schema.Errors{"healthchecks": "required field missing"}},
		{"active null", map[string]any{"name": "u", "healthchecks": map[string]any{"active": nil}},
			schema.Errors{"healthchecks": schema.Errors{"active": "required field missing"}}},
		{"threshold", map[string]any{"name": "u", "healthchecks": map[string]any{"threshold": 101.0}},
			schema.Errors{"healthchecks": schema.Errors{"threshold": "value should be between 0 and 100"}}},
	})
	t.Run("message", func(t *testing.T) {
		_, errs := prepare(Upstreams(), map[string]any{"name": "bad", "host_header": 123.0,
			"healthchecks": map[string]any{"active": map[string]any{"concurrency": -1.0}}})
		want := "2 schema violations (healthchecks.active.concurrency: value should be between 1 and 2147483648; host_header: expected a string)"
		if got := errs.Message(); got != want {
			t.Errorf("Message() =\n%s\nwant\n%s", got, want)
		}
	})
}
