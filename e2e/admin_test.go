package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestConsumersWithCurlAndHTTPie follows Kong's documentation commands
// exactly (curl -d and http -f), then reads the consumer back.
func TestConsumersWithCurlAndHTTPie(t *testing.T) {
	g := startGateway(t)

	r := g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/consumers", "-d", "username=Ada Lovelace")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"username": "Ada Lovelace", "custom_id": nil, "tags": nil})
	for _, f := range []string{"id", "created_at", "updated_at"} {
		if r.body[f] == nil {
			t.Errorf("%s missing in %s", f, r.raw)
		}
	}
	if got := r.header.Get("Server"); !strings.HasPrefix(got, "kong/3.9") {
		t.Errorf("Server header %q, want kong/3.9.x", got)
	}

	r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", ":"+fmt.Sprint(g.adminPort)+"/consumers", "username=Elizabeth Bennet", "custom_id=eb")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"username": "Elizabeth Bennet", "custom_id": "eb"})

	// The same username again: Kong's unique violation.
	r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", ":"+fmt.Sprint(g.adminPort)+"/consumers", "username=Elizabeth Bennet")
	wantStatus(t, r, 409)
	wantFields(t, r.body, map[string]any{
		"code": 5, "name": "unique constraint violation",
		"message": `UNIQUE violation detected on '{username="Elizabeth Bennet"}'`,
		"fields":  map[string]any{"username": "Elizabeth Bennet"},
	})

	r = g.get("/consumers/" + url.PathEscape("Ada Lovelace"))
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"username": "Ada Lovelace"})

	r = g.get("/consumers?custom_id=eb")
	wantStatus(t, r, 200)
	data := r.body["data"].([]any)
	if len(data) != 1 || data[0].(map[string]any)["username"] != "Elizabeth Bennet" {
		t.Fatalf("custom_id filter: %s", r.raw)
	}

	r = g.cli("curl", "-s", "-i", "-X", "DELETE", "http://"+g.adminHost()+"/consumers/"+url.PathEscape("Ada Lovelace"))
	wantStatus(t, r, 204)
	wantStatus(t, g.get("/consumers/"+url.PathEscape("Ada Lovelace")), 404)
}

// TestServicesAndRoutes covers the url shorthand, defaults as Kong prints
// them, nested routes, the foreign-entity endpoint and restricted deletes.
func TestServicesAndRoutes(t *testing.T) {
	g := startGateway(t)

	r := g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/services",
		"--data", "name=example_service", "--data", "url=http://httpbin.org/anything")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{
		"name": "example_service", "protocol": "http", "host": "httpbin.org", "port": 80, "path": "/anything",
		"retries": 5, "connect_timeout": 60000, "write_timeout": 60000, "read_timeout": 60000,
		"enabled": true, "tags": nil, "client_certificate": nil, "tls_verify": nil,
		"tls_verify_depth": nil, "ca_certificates": nil,
	})
	serviceID := r.body["id"].(string)

	r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", fmt.Sprintf(":%d/services/example_service/routes", g.adminPort),
		"name=mocking", "paths[]=/mock", "hosts[]=example.com", "hosts[]=foo.test")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{
		"name": "mocking", "paths": []any{"/mock"}, "hosts": []any{"example.com", "foo.test"},
		"protocols": []any{"http", "https"}, "methods": nil, "headers": nil, "snis": nil,
		"sources": nil, "destinations": nil,
		"strip_path": true, "preserve_host": false, "regex_priority": 0,
		"https_redirect_status_code": 426, "path_handling": "v0",
		"request_buffering": true, "response_buffering": true,
		"service": map[string]any{"id": serviceID},
	})

	r = g.get("/routes/mocking/service")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"id": serviceID, "name": "example_service"})

	r = g.get("/services/example_service/routes")
	wantStatus(t, r, 200)
	if n := len(r.body["data"].([]any)); n != 1 {
		t.Fatalf("nested list has %d routes: %s", n, r.raw)
	}
	wantFields(t, r.body, map[string]any{"next": nil})

	r = g.sendJSON("PATCH", "/routes/mocking", map[string]any{"paths": []any{"/mock", "/other"}, "strip_path": false})
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"paths": []any{"/mock", "/other"}, "strip_path": false, "name": "mocking"})

	// Deleting a service that still has routes is refused (Kong: restrict).
	r = g.do("DELETE", "/services/example_service", "", "")
	wantStatus(t, r, 400)
	wantFields(t, r.body, map[string]any{
		"code": 4, "name": "foreign key violation",
		"message": "an existing 'routes' entity references this 'services' entity",
	})
	wantStatus(t, g.do("DELETE", "/routes/mocking", "", ""), 204)
	wantStatus(t, g.do("DELETE", "/services/example_service", "", ""), 204)
	// Deleting what is not there is still 204, as in Kong.
	wantStatus(t, g.do("DELETE", "/services/example_service", "", ""), 204)
}

func TestSchemaViolationsAndErrors(t *testing.T) {
	g := startGateway(t)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		status      int
		want        map[string]any
	}{
		{"missing host", "POST", "/services", "application/json", `{"name":"x"}`, 400, map[string]any{
			"code": 2, "name": "schema violation", "message": "schema violation (host: required field missing)",
			"fields": map[string]any{"host": "required field missing"}}},
		{"bad port", "POST", "/services", "application/x-www-form-urlencoded", `host=a.test&port=70000`, 400, map[string]any{
			"fields": map[string]any{"port": "value should be between 0 and 65535"}}},
		{"port not a number", "POST", "/services", "application/x-www-form-urlencoded", `host=a.test&port=eighty`, 400, map[string]any{
			"fields": map[string]any{"port": "expected an integer"}}},
		{"unknown field", "POST", "/consumers", "application/json", `{"username":"u","nickname":"x"}`, 400, map[string]any{
			"fields": map[string]any{"nickname": "unknown field"}}},
		{"wrong type", "POST", "/consumers", "application/json", `{"username":5}`, 400, map[string]any{
			"fields": map[string]any{"username": "expected a string"}}},
		{"malformed json", "POST", "/consumers", "application/json", `{"username":`, 400, map[string]any{
			"message": "Cannot parse JSON body"}},
		{"unsupported media type", "POST", "/consumers", "text/plain", `username=x`, 415, map[string]any{
			"message": "Unsupported Media Type"}},
		{"not found", "GET", "/consumers/nobody", "", "", 404, map[string]any{"message": "Not found"}},
		{"unknown path", "GET", "/nothing-here", "", "", 404, map[string]any{"message": "Not found"}},
		{"method not allowed", "PUT", "/consumers", "application/json", `{}`, 405, map[string]any{"message": "Method not allowed"}},
		{"patch missing", "PATCH", "/consumers/00000000-0000-4000-8000-000000000000", "application/json", `{"username":"x"}`, 404, map[string]any{
			"code": 6, "name": "not found",
			"message": `could not find the entity with primary key '{id="00000000-0000-4000-8000-000000000000"}'`}},
		{"size not a number", "GET", "/consumers?size=abc", "", "", 400, map[string]any{
			"code": 9, "name": "invalid size", "message": "size must be a number"}},
		{"size too large", "GET", "/consumers?size=1001", "", "", 400, map[string]any{
			"message": "size must be an integer between 1 and 1000"}},
		{"bad offset", "GET", "/consumers?offset=%25%25", "", "", 400, map[string]any{"code": 7, "name": "invalid offset"}},
		{"mixed tags", "GET", "/consumers?tags=a,b/c", "", "", 400, map[string]any{"code": 11, "name": "invalid options"}},
		{"foreign key", "POST", "/routes", "application/json", `{"paths":["/x"],"service":{"id":"00000000-0000-4000-8000-000000000000"}}`, 400, map[string]any{
			"code": 4, "name": "foreign key violation",
			"message": `the foreign key '{id="00000000-0000-4000-8000-000000000000"}' does not reference an existing 'services' entity.`}},
		{"form key conflict", "POST", "/consumers", "application/x-www-form-urlencoded", `username=a&username.x=b`, 400, map[string]any{
			"code": 2, "name": "schema violation"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := g.do(tt.method, tt.path, tt.contentType, tt.body)
			wantStatus(t, r, tt.status)
			wantFields(t, r.body, tt.want)
		})
	}
	// None of the refused writes left anything behind.
	r := g.get("/consumers")
	if n := len(r.body["data"].([]any)); n != 0 {
		t.Fatalf("refused writes created %d consumers: %s", n, r.raw)
	}
}

func TestPagination(t *testing.T) {
	g := startGateway(t)
	for i := 0; i < 25; i++ {
		tags := []any{"all"}
		if i%2 == 0 {
			tags = append(tags, "even")
		}
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": fmt.Sprintf("user%02d", i), "tags": tags}), 201)
	}
	seen := map[string]bool{}
	path := "/consumers?size=10"
	pages := 0
	for path != "" {
		r := g.get(path)
		wantStatus(t, r, 200)
		pages++
		for _, d := range r.body["data"].([]any) {
			seen[d.(map[string]any)["username"].(string)] = true
		}
		next, _ := r.body["next"].(string)
		if next != "" && r.body["offset"] == nil {
			t.Fatalf("next without offset: %s", r.raw)
		}
		path = next
	}
	if pages != 3 || len(seen) != 25 {
		t.Fatalf("%d pages, %d consumers; want 3 and 25", pages, len(seen))
	}
	r := g.get("/consumers?tags=even")
	if n := len(r.body["data"].([]any)); n != 13 {
		t.Fatalf("tags=even gave %d, want 13", n)
	}
	r = g.get("/consumers?tags=all,even&size=5")
	if n := len(r.body["data"].([]any)); n != 5 || r.body["next"] == nil {
		t.Fatalf("tags=all,even size=5: %s", r.raw)
	}
	if !strings.Contains(r.body["next"].(string), "tags=all%2Ceven") {
		t.Fatalf("next link keeps the tags filter: %s", r.body["next"])
	}
	r = g.get("/tags/even")
	wantStatus(t, r, 200)
	if n := len(r.body["data"].([]any)); n != 13 {
		t.Fatalf("/tags/even gave %d rows, want 13", n)
	}
	first := r.body["data"].([]any)[0].(map[string]any)
	wantFields(t, first, map[string]any{"entity_name": "consumers", "tag": "even"})
}

func TestTransportEdges(t *testing.T) {
	g := startGateway(t, "KONG_ADMIN_MAX_BODY_SIZE=1k")
	r := g.do("POST", "/consumers", "application/json", `{"username":"`+strings.Repeat("x", 4096)+`"}`)
	wantStatus(t, r, 413)
	wantFields(t, r.body, map[string]any{"message": "Payload too large"})

	r = g.do("OPTIONS", "/consumers", "", "")
	wantStatus(t, r, 204)
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Fatalf("Allow header %q", allow)
	}
	r = g.do("HEAD", "/", "", "")
	wantStatus(t, r, 200)
	if len(r.raw) != 0 {
		t.Fatalf("HEAD returned a body: %q", r.raw)
	}
	// An encoded slash stays inside its path segment.
	wantStatus(t, g.get("/consumers/a%2Fb"), 404)
	wantStatus(t, g.get("/consumers/../services"), 404)
}
