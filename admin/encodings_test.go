package admin

// The encoding matrix: as Kong's spec runs each case once per request
// encoding (it_content_types), every create case here is sent as JSON, as
// application/x-www-form-urlencoded and as multipart/form-data, built from
// one JSON-model input; the three answers must be the same.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// model normalises a Go literal to the JSON model (numbers as float64).
func model(tb testing.TB, v map[string]any) map[string]any {
	tb.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		tb.Fatal(err)
	}
	return out
}

// formPairs flattens a JSON-model object into Kong's form syntax: records and
// maps as dotted keys (config.minute), arrays of scalars as repeated key[]
// (a one-element array as a plain key=value, which Kong infers back to an
// array), arrays of records as key[N].field, null as an empty value.
func formPairs(v map[string]any) []pair {
	var out []pair
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, v[k])
			}
		case []any:
			if len(v) == 1 && !isRecord(v[0]) {
				walk(prefix, v[0])
				return
			}
			for i, x := range v {
				if isRecord(x) {
					walk(fmt.Sprintf("%s[%d]", prefix, i+1), x)
				} else {
					walk(prefix+"[]", x)
				}
			}
		case nil:
			out = append(out, pair{prefix, ""})
		case string:
			out = append(out, pair{prefix, v})
		case float64:
			out = append(out, pair{prefix, strconv.FormatFloat(v, 'f', -1, 64)})
		case bool:
			out = append(out, pair{prefix, strconv.FormatBool(v)})
		default:
			panic(fmt.Sprintf("formPairs: %T is not a JSON-model value", v))
		}
	}
	walk("", v)
	return out
}

func isRecord(v any) bool { _, ok := v.(map[string]any); return ok }

// urlEncoded renders pairs as a form body, leaving the brackets of keys
// readable as curl users write them.
func urlEncoded(pairs []pair) []byte {
	brackets := strings.NewReplacer("%5B", "[", "%5D", "]")
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = brackets.Replace(url.QueryEscape(p.key)) + "=" + url.QueryEscape(p.value)
	}
	return []byte(strings.Join(parts, "&"))
}

// multipartBody renders pairs as multipart/form-data fields.
func multipartBody(tb testing.TB, pairs []pair) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range pairs {
		if err := w.WriteField(p.key, p.value); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}

// encoding renders one JSON-model input as a request body.
type encoding struct {
	name   string
	encode func(tb testing.TB, in map[string]any) (contentType string, body []byte)
}

var encodings = []encoding{
	{"json", func(tb testing.TB, in map[string]any) (string, []byte) {
		raw, err := json.Marshal(in)
		if err != nil {
			tb.Fatal(err)
		}
		return mimeJSON, raw
	}},
	{"form-urlencoded", func(_ testing.TB, in map[string]any) (string, []byte) {
		return mimeForm, urlEncoded(formPairs(in))
	}},
	{"multipart", func(tb testing.TB, in map[string]any) (string, []byte) {
		return multipartBody(tb, formPairs(in))
	}},
}

// send encodes in with enc and sends it.
func (h *harness) send(enc encoding, method, path string, in map[string]any) *response {
	h.tb.Helper()
	ct, body := enc.encode(h.tb, in)
	return h.do(method, path, ct, body)
}

// volatile are the generated fields that differ between otherwise equal
// creations.
var volatile = []string{"id", "created_at", "updated_at"}

func stable(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for _, k := range volatile {
		delete(out, k)
	}
	return out
}

// contains reports where got lacks want: objects are compared key by key
// (extra keys allowed), anything else exactly.
func contains(path string, got, want any) []string {
	wm, ok := want.(map[string]any)
	if !ok {
		if !reflect.DeepEqual(got, want) {
			return []string{fmt.Sprintf("%s = %s, want %s", path, js(got), js(want))}
		}
		return nil
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s = %s, want an object", path, js(got))}
	}
	var diffs []string
	for k, w := range wm {
		name := k
		if path != "" {
			name = path + "." + k
		}
		g, present := gm[k]
		if !present {
			diffs = append(diffs, name+" missing")
			continue
		}
		diffs = append(diffs, contains(name, g, w)...)
	}
	sort.Strings(diffs)
	return diffs
}

// Fixed ids of parents created by setups, so that every encoding's answer
// references the same rows.
const (
	fixedService     = "1f6c4e1c-7d43-4b8e-9a1e-0c2f5d6b7a01"
	fixedUpstream    = "1f6c4e1c-7d43-4b8e-9a1e-0c2f5d6b7a02"
	fixedCertificate = "1f6c4e1c-7d43-4b8e-9a1e-0c2f5d6b7a03"
	missingID        = "1f6c4e1c-7d43-4b8e-9a1e-0c2f5d6b7aff"
)

func TestEncodingsCreate(t *testing.T) {
	cert, key := selfSigned(t, "cert.test", false)
	caCert, _ := selfSigned(t, "ca.test", true)
	withService := func(h *harness) {
		h.json("PUT", "/services/"+fixedService, map[string]any{"name": "parent", "host": "parent.test"}).want(t, 200)
	}
	withUpstream := func(h *harness) {
		h.json("PUT", "/upstreams/"+fixedUpstream, map[string]any{"name": "parent.test"}).want(t, 200)
	}
	withCertificate := func(h *harness) {
		h.json("PUT", "/certificates/"+fixedCertificate, map[string]any{"cert": cert, "key": key}).want(t, 200)
	}

	tests := []struct {
		name  string
		setup func(*harness)
		path  string
		in    map[string]any
		want  map[string]any // nil: the input itself
	}{
		{name: "service", path: "/services", in: map[string]any{
			"name": "svc", "host": "example.com", "port": 8443, "protocol": "https", "path": "/api",
			"retries": 3, "connect_timeout": 1000, "enabled": false, "tls_verify": true,
			"tags": []any{"a", "b"},
		}},
		{name: "service url shorthand", path: "/services", in: map[string]any{
			"name": "svc-url", "url": "https://example.com:8443/v1", "tags": []any{"one"},
		}, want: map[string]any{
			"name": "svc-url", "protocol": "https", "host": "example.com", "port": 8443, "path": "/v1",
			"tags": []any{"one"}, "retries": 5, "enabled": true,
		}},
		{name: "route", setup: withService, path: "/routes", in: map[string]any{
			"name": "rt", "paths": []any{"/a", "/b"}, "methods": []any{"GET", "POST"},
			"hosts": []any{"example.com"}, "strip_path": false, "regex_priority": 3,
			"https_redirect_status_code": 301, "protocols": []any{"https"},
			"headers": map[string]any{"x-version": []any{"v1", "v2"}, "x-one": []any{"a"}},
			"service": ref(fixedService),
		}},
		{name: "route under its service", setup: withService, path: "/services/parent/routes", in: map[string]any{
			"paths": []any{"/only"}, "preserve_host": true,
		}, want: map[string]any{"paths": []any{"/only"}, "preserve_host": true, "service": ref(fixedService),
			"protocols": []any{"http", "https"}}},
		{name: "consumer", path: "/consumers", in: map[string]any{
			"username": "ada", "custom_id": "c-1", "tags": []any{"vip"},
		}},
		{name: "plugin on a service", setup: withService, path: "/services/" + fixedService + "/plugins", in: map[string]any{
			"name": "rate-limiting", "protocols": []any{"http", "https"}, "tags": []any{"rl"},
			"config": map[string]any{"minute": 10, "hour": 100, "policy": "local", "fault_tolerant": false,
				"hide_client_headers": true, "limit_by": "ip"},
		}, want: map[string]any{
			"name": "rate-limiting", "protocols": []any{"http", "https"}, "tags": []any{"rl"},
			"service": ref(fixedService), "enabled": true,
			"config": map[string]any{"minute": 10, "hour": 100, "second": nil, "policy": "local",
				"fault_tolerant": false, "hide_client_headers": true, "limit_by": "ip"},
		}},
		{name: "plugin with arrays in config", path: "/plugins", in: map[string]any{
			"name": "cors", "config": map[string]any{
				"origins": []any{"https://a.test", "https://b.test"}, "methods": []any{"GET"},
				"exposed_headers": []any{"X-Id"}, "max_age": 3600, "credentials": true,
			},
		}},
		{name: "plugin with nested records", path: "/plugins", in: map[string]any{
			"name": "request-transformer", "config": map[string]any{
				"add":    map[string]any{"headers": []any{"x-a:1", "x-b:2"}, "querystring": []any{"q:1"}},
				"remove": map[string]any{"headers": []any{"x-secret"}},
			},
		}},
		{name: "upstream", path: "/upstreams", in: map[string]any{
			"name": "up.test", "algorithm": "least-connections", "slots": 100, "tags": []any{"lb"},
			"healthchecks": map[string]any{
				"active": map[string]any{
					"http_path": "/health", "timeout": 2,
					"healthy":   map[string]any{"interval": 5, "http_statuses": []any{200, 302}, "successes": 2},
					"unhealthy": map[string]any{"interval": 3, "http_failures": 4},
				},
				"passive": map[string]any{"unhealthy": map[string]any{"http_failures": 5}},
			},
		}},
		{name: "target", setup: withUpstream, path: "/upstreams/parent.test/targets", in: map[string]any{
			"target": "10.0.0.1:8080", "weight": 50, "tags": []any{"t"},
		}, want: map[string]any{"target": "10.0.0.1:8080", "weight": 50, "tags": []any{"t"},
			"upstream": ref(fixedUpstream)}},
		{name: "certificate with snis", path: "/certificates", in: map[string]any{
			"cert": cert, "key": key, "snis": []any{"a.test", "b.test"}, "tags": []any{"tls"},
		}},
		{name: "certificate with one sni", path: "/certificates", in: map[string]any{
			"cert": cert, "key": key, "snis": []any{"only.test"},
		}},
		{name: "sni", setup: withCertificate, path: "/snis", in: map[string]any{
			"name": "sni.test", "certificate": ref(fixedCertificate), "tags": []any{"s"},
		}},
		{name: "ca certificate", path: "/ca_certificates", in: map[string]any{
			"cert": caCert, "tags": []any{"ca"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := model(t, tc.in)
			want := in
			if tc.want != nil {
				want = model(t, tc.want)
			}
			var first map[string]any
			for _, enc := range encodings {
				h := newHarness(t)
				if tc.setup != nil {
					tc.setup(h)
				}
				got := h.send(enc, "POST", tc.path, in).want(t, 201).obj(t)
				for _, d := range contains("", got, want) {
					t.Errorf("%s: %s", enc.name, d)
				}
				if first == nil {
					first = stable(got)
				} else if s := stable(got); !reflect.DeepEqual(s, first) {
					t.Errorf("%s answer differs from json's:\n%s\n%s", enc.name, js(s), js(first))
				}
			}
		})
	}
}

func TestEncodingsInvalid(t *testing.T) {
	cert, _ := selfSigned(t, "one.test", false)
	_, otherKey := selfSigned(t, "two.test", false)
	tests := []struct {
		name     string
		setup    func(*harness)
		path     string
		in       map[string]any
		status   int
		fields   map[string]any // nil: only the same answer everywhere
		jsonOnly string         // why the form encodings cannot express it
	}{
		{name: "required field", path: "/services", in: map[string]any{"name": "s"},
			status: 400, fields: map[string]any{"host": "required field missing"}},
		{name: "wrong types", path: "/services",
			in:     map[string]any{"host": "x.test", "port": "eighty", "retries": 1.5, "enabled": "yes"},
			status: 400, fields: map[string]any{"port": "expected an integer", "retries": "expected an integer",
				"enabled": "expected a boolean"}},
		{name: "out of range", path: "/services", in: map[string]any{"host": "x.test", "port": 70000},
			status: 400, fields: map[string]any{"port": "value should be between 0 and 65535"}},
		{name: "unknown field", path: "/services", in: map[string]any{"host": "x.test", "foo": "bar"},
			status: 400, fields: map[string]any{"foo": "unknown field"}},
		{name: "bad url shorthand", path: "/services", in: map[string]any{"url": "http://"}, status: 400},
		{name: "entity check", path: "/routes", in: map[string]any{"protocols": []any{"http"}}, status: 400,
			fields: map[string]any{"@entity": []any{"must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"}}},
		{name: "array element", path: "/routes", in: map[string]any{"paths": []any{"/ok", "bad"}}, status: 400,
			fields: map[string]any{"paths": []any{nil, "should start with: / (fixed path) or ~/ (regex path)"}}},
		{name: "map key", path: "/routes", in: map[string]any{"paths": []any{"/"},
			"headers": map[string]any{"Host": []any{"x.test"}}}, status: 400},
		{name: "at least one of", path: "/consumers", in: map[string]any{"tags": []any{"a"}}, status: 400,
			fields: map[string]any{"@entity": []any{"at least one of these fields must be non-empty: 'custom_id', 'username'"}}},
		{name: "plugin not enabled", path: "/plugins", in: map[string]any{"name": "nope"}, status: 400,
			fields: map[string]any{"name": "plugin 'nope' not enabled; add it to the 'plugins' configuration property"}},
		{name: "plugin config", path: "/plugins",
			in:     map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": "many", "policy": "sometimes"}},
			status: 400, fields: map[string]any{"config": map[string]any{"minute": "expected a number",
				"policy": "expected one of: local, cluster, redis"}}},
		{name: "nested record", path: "/upstreams", in: map[string]any{"name": "u.test", "slots": 5,
			"healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{"interval": -1}}}},
			status: 400, fields: map[string]any{"slots": "value should be between 10 and 65536",
				"healthchecks": map[string]any{"active": map[string]any{"healthy": map[string]any{
					"interval": "value should be between 0 and 65535"}}}}},
		{name: "bad target", setup: func(h *harness) {
			h.json("PUT", "/upstreams/"+fixedUpstream, map[string]any{"name": "parent.test"}).want(t, 200)
		}, path: "/upstreams/parent.test/targets", in: map[string]any{"target": "not a target!"}, status: 400},
		{name: "foreign key", path: "/routes", in: map[string]any{"paths": []any{"/"}, "service": ref(missingID)},
			status: 400, fields: map[string]any{"service": ref(missingID)}},
		{name: "unique", setup: func(h *harness) { h.mustCreate("/consumers", map[string]any{"username": "ada"}) },
			path: "/consumers", in: map[string]any{"username": "ada"},
			status: 409, fields: map[string]any{"username": "ada"}},
		{name: "certificate and key", path: "/certificates", in: map[string]any{"cert": cert, "key": otherKey},
			status: 400, fields: map[string]any{"@entity": []any{"certificate does not match key"}}},
		{name: "string for a set", path: "/consumers", in: map[string]any{"username": "u", "tags": "vip"},
			status: 400, fields: map[string]any{"tags": "expected a set"},
			jsonOnly: "a single form value is a one-element set"},
		{name: "string for an integer", path: "/services", in: map[string]any{"host": "x.test", "port": "80"},
			status: 400, fields: map[string]any{"port": "expected an integer"},
			jsonOnly: "form values are typed by the schema"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := model(t, tc.in)
			var first *response
			for _, enc := range encodings {
				if tc.jsonOnly != "" && enc.name != "json" {
					continue
				}
				h := newHarness(t)
				if tc.setup != nil {
					tc.setup(h)
				}
				r := h.send(enc, "POST", tc.path, in).want(t, tc.status)
				body := r.obj(t)
				if tc.fields != nil && !reflect.DeepEqual(body["fields"], model(t, tc.fields)) {
					t.Errorf("%s: fields %s, want %s", enc.name, js(body["fields"]), js(tc.fields))
				}
				if first == nil {
					first = r
				} else if !reflect.DeepEqual(r.body, first.body) {
					t.Errorf("%s answer differs from json's:\n%s\n%s", enc.name, r.raw, first.raw)
				}
			}
		})
	}
}

// TestFormPairs pins the flattening the matrix relies on.
func TestFormPairs(t *testing.T) {
	got := string(urlEncoded(formPairs(model(t, map[string]any{
		"name": "a b", "n": 1.5, "ok": true, "none": nil, "one": []any{"x"}, "many": []any{"x", "y"},
		"rec": map[string]any{"list": []any{map[string]any{"k": "v"}, map[string]any{"k": "w"}}},
	}))))
	want := "many[]=x&many[]=y&n=1.5&name=a+b&none=&ok=true&one=x&rec.list[1].k=v&rec.list[2].k=w"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// benchPluginBody is a realistic plugin creation body.
var benchPluginBody = map[string]any{
	"name": "rate-limiting", "service": map[string]any{"id": fixedService},
	"protocols": []any{"http", "https"}, "tags": []any{"team-a", "tier-1"}, "enabled": true,
	"config": map[string]any{
		"minute": 100.0, "hour": 5000.0, "policy": "redis", "limit_by": "header", "header_name": "x-consumer",
		"fault_tolerant": true, "hide_client_headers": false, "error_code": 429.0,
		"error_message": "API rate limit exceeded",
		"redis":         map[string]any{"host": "redis.internal", "port": 6379.0, "database": 2.0, "timeout": 2000.0, "ssl": false},
	},
}

func BenchmarkDecodeForm(b *testing.B) {
	raw := urlEncoded(formPairs(benchPluginBody))
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := decodeBody(mimeForm, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	raw, err := json.Marshal(benchPluginBody)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := decodeBody(mimeJSON, raw); err != nil {
			b.Fatal(err)
		}
	}
}
