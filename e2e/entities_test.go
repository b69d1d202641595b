package e2e

import (
	"strings"
	"testing"
)

func TestPlugins(t *testing.T) {
	g := startGateway(t)
	wantStatus(t, g.postJSON("/services", map[string]any{"name": "s1", "host": "upstream.test"}), 201)

	r := g.cli("curl", "-s", "-i", "-X", "POST", "http://"+g.adminHost()+"/services/s1/plugins",
		"--data", "name=rate-limiting", "--data", "config.minute=5", "--data", "config.policy=local")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"name": "rate-limiting", "enabled": true, "route": nil, "consumer": nil, "instance_name": nil})
	cfg := r.body["config"].(map[string]any)
	wantFields(t, cfg, map[string]any{"minute": 5, "policy": "local", "second": nil, "hour": nil, "limit_by": "consumer"})
	pluginID := r.body["id"].(string)

	// Same plugin on the same service again: Kong's cache-key violation.
	r = g.postJSON("/services/s1/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 10}})
	wantStatus(t, r, 409)
	wantFields(t, r.body, map[string]any{"code": 5, "name": "unique constraint violation"})

	// A global key-auth twice collides although route/service/consumer are null.
	wantStatus(t, g.postJSON("/plugins", map[string]any{"name": "key-auth"}), 201)
	wantStatus(t, g.postJSON("/plugins", map[string]any{"name": "key-auth"}), 409)

	r = g.postJSON("/plugins", map[string]any{"name": "no-such-plugin"})
	wantStatus(t, r, 400)
	wantFields(t, r.body, map[string]any{"fields": map[string]any{
		"name": "plugin 'no-such-plugin' not enabled; add it to the 'plugins' configuration property"}})

	r = g.postJSON("/plugins", map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": "x"}})
	wantStatus(t, r, 400)
	wantFields(t, r.body, map[string]any{"fields": map[string]any{"config": map[string]any{"minute": "expected a number"}}})

	// PATCH merges into config.
	r = g.sendJSON("PATCH", "/plugins/"+pluginID, map[string]any{"config": map[string]any{"hour": 100}})
	wantStatus(t, r, 200)
	wantFields(t, r.body["config"].(map[string]any), map[string]any{"minute": 5, "hour": 100})
	// A form PATCH of config alone is typed by the stored plugin's schema.
	r = g.cli("http", "--print=hb", "--ignore-stdin", "-f", "PATCH", ":"+itoa(g.adminPort)+"/plugins/"+pluginID, "config.day=1000")
	wantStatus(t, r, 200)
	wantFields(t, r.body["config"].(map[string]any), map[string]any{"minute": 5, "hour": 100, "day": 1000})

	r = g.get("/plugins/enabled")
	wantStatus(t, r, 200)
	if list, _ := r.body["enabled_plugins"].([]any); len(list) < 20 {
		t.Fatalf("enabled_plugins: %s", r.raw)
	}
	r = g.get("/")
	enabled := r.body["plugins"].(map[string]any)["enabled_in_cluster"].([]any)
	if len(enabled) != 2 {
		t.Fatalf("enabled_in_cluster = %v, want key-auth and rate-limiting", enabled)
	}

	r = g.get("/schemas/plugins/key-auth")
	wantStatus(t, r, 200)
	if _, ok := r.body["fields"].([]any); !ok {
		t.Fatalf("plugin schema: %s", r.raw)
	}
	wantStatus(t, g.get("/schemas/plugins/nope"), 404)

	r = g.postJSON("/schemas/plugins/validate", map[string]any{"name": "cors"})
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"message": "schema validation successful"})

	// Deleting the service cascades to its plugins.
	wantStatus(t, g.do("DELETE", "/services/s1", "", ""), 204)
	wantStatus(t, g.get("/plugins/"+pluginID), 404)
}

func TestUpstreamsAndTargets(t *testing.T) {
	g := startGateway(t)
	r := g.cli("http", "--print=hb", "--ignore-stdin", "-f", ":"+itoa(g.adminPort)+"/upstreams", "name=backend")
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"name": "backend", "algorithm": "round-robin", "slots": 10000, "hash_on": "none"})
	hc := r.body["healthchecks"].(map[string]any)
	active := hc["active"].(map[string]any)
	wantFields(t, active, map[string]any{"type": "http", "http_path": "/", "timeout": 1, "concurrency": 10})

	r = g.postJSON("/upstreams/backend/targets", map[string]any{"target": "10.0.0.1:8080"})
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"target": "10.0.0.1:8080", "weight": 100})
	r = g.postJSON("/upstreams/backend/targets", map[string]any{"target": "10.0.0.2"})
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"target": "10.0.0.2:8000"})
	wantStatus(t, g.postJSON("/upstreams/backend/targets", map[string]any{"target": "10.0.0.2:8000"}), 409)

	r = g.get("/upstreams/backend/targets")
	if n := len(r.body["data"].([]any)); n != 2 {
		t.Fatalf("targets: %s", r.raw)
	}
	wantStatus(t, g.get("/targets"), 404)
	if r = g.get("/upstreams/backend/targets/all"); len(r.body["data"].([]any)) != 2 {
		t.Fatalf("targets/all: %s", r.raw)
	}
	r = g.get("/upstreams/backend/health")
	wantStatus(t, r, 200)
	if h := r.body["data"].([]any)[0].(map[string]any)["health"]; h != "HEALTHCHECKS_OFF" || r.body["node_id"] == nil {
		t.Fatalf("health: %s", r.raw)
	}
	if ts, _ := r.body["data"].([]any)[0].(map[string]any)["created_at"].(float64); ts < 1e9 {
		t.Fatalf("target created_at %v", ts)
	}
	wantStatus(t, g.get("/upstreams/backend/targets/10.0.0.1:8080"), 200)
	wantStatus(t, g.do("DELETE", "/upstreams/backend", "", ""), 204)
	wantStatus(t, g.get("/upstreams/backend/targets"), 404)
}

func TestCertificatesAndSNIs(t *testing.T) {
	g := startGateway(t)
	cert, key := selfSigned(t, "example.test")
	r := g.postJSON("/certificates", map[string]any{"cert": cert, "key": key, "tags": []any{"tls"}})
	wantStatus(t, r, 201)
	certID := r.body["id"].(string)

	r = g.postJSON("/certificates/"+certID+"/snis", map[string]any{"name": "example.test"})
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"name": "example.test", "certificate": map[string]any{"id": certID}})
	wantStatus(t, g.postJSON("/snis", map[string]any{"name": "example.test", "certificate": map[string]any{"id": certID}}), 409)

	r = g.postJSON("/certificates", map[string]any{"cert": "not a pem", "key": key})
	wantStatus(t, r, 400)

	// snis on a certificate create SNI entities and are listed back.
	cert2, key2 := selfSigned(t, "two.test")
	r = g.postJSON("/certificates", map[string]any{"cert": cert2, "key": key2, "snis": []any{"two.test", "*.two.test"}})
	wantStatus(t, r, 201)
	wantFields(t, r.body, map[string]any{"snis": []any{"*.two.test", "two.test"}})
	cert2ID := r.body["id"].(string)
	r = g.get("/snis/two.test/certificate")
	wantStatus(t, r, 404) // Kong does not serve this foreign endpoint
	r = g.get("/snis/two.test")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"certificate": map[string]any{"id": cert2ID}})
	// An SNI owned by another certificate is refused, and nothing changes.
	r = g.sendJSON("PATCH", "/certificates/"+cert2ID, map[string]any{"snis": []any{"example.test"}})
	wantStatus(t, r, 400)
	wantFields(t, r.body, map[string]any{"fields": map[string]any{
		"snis": "example.test already associated with existing certificate '" + certID + "'"}})
	r = g.get("/certificates/" + cert2ID)
	wantFields(t, r.body, map[string]any{"snis": []any{"*.two.test", "two.test"}})
	// PATCH replaces the list.
	r = g.sendJSON("PATCH", "/certificates/"+cert2ID, map[string]any{"snis": []any{"three.test"}})
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"snis": []any{"three.test"}})
	wantStatus(t, g.get("/snis/two.test"), 404)
	// Deleting the certificate deletes its SNIs.
	wantStatus(t, g.do("DELETE", "/certificates/"+cert2ID, "", ""), 204)
	wantStatus(t, g.get("/snis/three.test"), 404)

	r = g.postJSON("/ca_certificates", map[string]any{"cert": cert})
	wantStatus(t, r, 201)
	if d, _ := r.body["cert_digest"].(string); len(d) != 64 {
		t.Fatalf("cert_digest: %s", r.raw)
	}
	wantStatus(t, g.postJSON("/ca_certificates", map[string]any{"cert": cert}), 409)
}

func TestNodeEndpoints(t *testing.T) {
	g := startGateway(t, "KONG_PG_PASSWORD=hunter2")
	r := g.get("/")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"tagline": "Welcome to kong", "version": "3.9.1.0", "edition": "enterprise"})
	if got := r.header.Get("Server"); got != "kong/3.9.1.0-enterprise-edition" {
		t.Errorf("Server = %q", got)
	}
	for _, f := range []string{"hostname", "node_id", "portico_version", "configuration", "plugins", "lua_version"} {
		if r.body[f] == nil {
			t.Errorf("GET / lacks %s", f)
		}
	}
	conf := r.body["configuration"].(map[string]any)
	wantFields(t, conf, map[string]any{"database": "badger", "log_level": "notice", "pg_password": "******"})
	if strings.Contains(string(r.raw), "hunter2") {
		t.Fatal("GET / shows a secret")
	}
	if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("X-Kong-Admin-Latency") == "" {
		t.Errorf("admin headers missing: %v", r.header)
	}

	r = g.get("/status")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"database": map[string]any{"reachable": true}})

	r = g.get("/endpoints")
	wantStatus(t, r, 200)
	want := map[string]bool{"/services/{services}/routes": false, "/routes/{routes}/service": false,
		"/upstreams/{upstreams}/targets": false, "/consumers/{consumers}/plugins": false, "/tags/{tags}": false}
	for _, e := range r.body["data"].([]any) {
		if _, ok := want[e.(string)]; ok {
			want[e.(string)] = true
		}
	}
	for e, seen := range want {
		if !seen {
			t.Errorf("/endpoints lacks %s", e)
		}
	}

	r = g.get("/schemas/services")
	wantStatus(t, r, 200)
	fields := r.body["fields"].([]any)
	first := fields[0].(map[string]any)
	if _, ok := first["id"]; !ok {
		t.Fatalf("schema fields start with %v, want id", first)
	}
	r = g.get("/schemas/nothing")
	wantStatus(t, r, 404)
	wantFields(t, r.body, map[string]any{"message": "No entity named 'nothing'"})

	r = g.postJSON("/schemas/services/validate", map[string]any{"host": "x.test"})
	wantStatus(t, r, 200)
	r = g.postJSON("/schemas/services/validate", map[string]any{"port": 1})
	wantStatus(t, r, 400)
	wantStatus(t, g.get("/services"), 200)
	if n := len(g.get("/services").body["data"].([]any)); n != 0 {
		t.Fatalf("validate wrote %d services", n)
	}

	// The proxy answers Kong's "no Route matched" until routing lands.
	pr := proxyGet(t, g, "/anything")
	if pr.status != 404 || pr.body["message"] != "no Route matched with those values" {
		t.Fatalf("proxy: %d %s", pr.status, pr.raw)
	}
}

// selfSigned returns a PEM certificate and key for host, a CA so that the
// same certificate also serves as a ca_certificate.
func selfSigned(t *testing.T, host string) (string, string) {
	t.Helper()
	return selfSignedPEM(t, host, true)
}
