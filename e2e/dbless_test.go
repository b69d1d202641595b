package e2e

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dblessFile is a declarative configuration with a keyed route.
func dblessFile(upstream string) string {
	return `_format_version: "3.0"
services:
- name: echo
  url: ` + upstream + `
  routes:
  - name: old
    paths: [/old]
  - name: keyed
    paths: [/keyed]
    plugins:
    - name: key-auth
consumers:
- username: alice
  keyauth_credentials:
  - key: alice-secret-key
`
}

// errorLog reads the node's error log.
func errorLog(t *testing.T, g *gateway) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// proxyStatus is the status of a GET through the proxy, with headers.
func proxyStatus(t *testing.T, g *gateway, path string, header ...string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", g.proxyPort, path), nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestDBless runs a node with database = off from a declarative file, as
// Kong's DB-less mode: the proxy serves the file, the Admin API reads it
// and refuses writes, and POST /config replaces it whole.
func TestDBless(t *testing.T) {
	up := echoUpstream(t)
	file := filepath.Join(t.TempDir(), "kong.yml")
	text := dblessFile(up.URL)
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, "KONG_DATABASE=off", "KONG_DECLARATIVE_CONFIG="+file)
	if log := errorLog(t, g); !strings.Contains(log, "declarative config loaded from "+file) {
		t.Errorf("no load notice in the error log:\n%s", log)
	}

	t.Run("the proxy serves the file, key-auth with its key", func(t *testing.T) {
		for _, c := range []struct {
			path   string
			header []string
			want   int
		}{
			{"/old", nil, 200},
			{"/keyed", nil, 401},
			{"/keyed", []string{"apikey", "wrong"}, 401},
			{"/keyed", []string{"apikey", "alice-secret-key"}, 200},
			{"/nowhere", nil, 404},
		} {
			if got := proxyStatus(t, g, c.path, c.header...); got != c.want {
				t.Errorf("GET %s %v: %d, want %d", c.path, c.header, got, c.want)
			}
		}
	})

	t.Run("writes are refused with Kong's 405 and change nothing", func(t *testing.T) {
		unsupported := func(msg string) map[string]any {
			return map[string]any{"code": 12, "name": "operation unsupported", "message": msg}
		}
		for _, c := range []struct {
			method, path, body string
			want               map[string]any
		}{
			{"POST", "/services", `{"name":"x","host":"example.com"}`, unsupported("cannot create 'services' entities when not using a database")},
			{"POST", "/routes", `{"paths":["/"],"service":{"id":"8a3b1a3c-1d7f-4f7e-9f1e-000000000000"}}`, unsupported("cannot create 'routes' entities when not using a database")},
			{"PATCH", "/services/echo", `{"retries":1}`, unsupported("cannot update 'services' entities by 'name' when not using a database")},
			{"PUT", "/routes/8a3b1a3c-1d7f-4f7e-9f1e-000000000000", `{"paths":["/"]}`, unsupported("cannot create or update 'routes' entities when not using a database")},
			{"DELETE", "/consumers/alice", ``, unsupported("cannot remove 'consumers' entities by 'username' when not using a database")},
			{"POST", "/consumers/alice/key-auth", `{"key":"k2"}`, unsupported("cannot create 'keyauth_credentials' entities when not using a database")},
			{"POST", "/plugins", `{"name":"cors"}`, unsupported("cannot create 'plugins' entities when not using a database")},
			{"DELETE", "/routes", ``, map[string]any{"message": "Method not allowed"}},
			{"POST", "/routes/old", `{}`, map[string]any{"message": "Method not allowed"}},
		} {
			ct := "application/json"
			if c.body == "" {
				ct = ""
			}
			r := g.do(c.method, c.path, ct, c.body)
			if r.status != 405 {
				t.Errorf("%s %s: %d %s, want 405", c.method, c.path, r.status, r.raw)
				continue
			}
			wantFields(t, r.body, c.want)
			if len(r.body) != len(c.want) {
				t.Errorf("%s %s: body %s", c.method, c.path, r.raw)
			}
		}
		r := g.get("/services/echo")
		wantStatus(t, r, 200)
		if r.body["retries"] != float64(5) {
			t.Errorf("service changed: %s", r.raw)
		}
		wantStatus(t, g.get("/consumers/alice"), 200)
		if r := g.get("/consumers/alice/key-auth"); len(r.body["data"].([]any)) != 1 {
			t.Errorf("credentials: %s", r.raw)
		}
	})

	t.Run("GET /config and the configuration hash", func(t *testing.T) {
		r := g.get("/config")
		wantStatus(t, r, 200)
		cfg, _ := r.body["config"].(string)
		for _, want := range []string{`_format_version: "3.0"`, "_transform: false", "name: echo", "username: alice", "key: alice-secret-key"} {
			if !strings.Contains(cfg, want) {
				t.Errorf("GET /config lacks %q:\n%s", want, cfg)
			}
		}
		for _, url := range []string{g.adminURL("/status"), fmt.Sprintf("http://127.0.0.1:%d/status", g.statusPort)} {
			r = g.send(url, "GET", "", "", true)
			if r.body["configuration_hash"] != md5hex(text) || r.body["database"] != nil {
				t.Errorf("%s: %s, want configuration_hash %s and no database", url, r.raw, md5hex(text))
			}
		}
		r = g.send(fmt.Sprintf("http://127.0.0.1:%d/status/ready", g.statusPort), "GET", "", "", true)
		wantStatus(t, r, 200)
	})

	t.Run("check_hash answers 304 for the configuration in force", func(t *testing.T) {
		r := g.postJSON("/config?check_hash=1", map[string]any{"config": text})
		if r.status != 304 {
			t.Fatalf("status %d %s, want 304", r.status, r.raw)
		}
	})

	bad := `_format_version: "3.0"
services:
- name: echo
  port: -12
  routes:
  - name: broken
    paths: [/broken]
    plugins:
    - name: http-log
      tags: [plugin-01]
      config: {not_endpoint: anything}
`
	t.Run("a bad configuration is refused whole, nested and flattened", func(t *testing.T) {
		r := g.postJSON("/config", map[string]any{"config": bad})
		wantStatus(t, r, 400)
		wantFields(t, r.body, map[string]any{"code": 14, "name": "invalid declarative configuration"})
		if !strings.HasPrefix(r.body["message"].(string), "declarative config is invalid: {services={{") {
			t.Errorf("message: %v", r.body["message"])
		}
		svc := r.body["fields"].(map[string]any)["services"].([]any)[0].(map[string]any)
		if svc["port"] != "value should be between 0 and 65535" || svc["host"] != "required field missing" {
			t.Errorf("nested fields: %s", r.raw)
		}

		r = g.do("POST", "/config?flatten_errors=1", "application/yaml", bad)
		wantStatus(t, r, 400)
		flat, _ := r.body["flattened_errors"].([]any)
		types := map[string]bool{}
		for _, f := range flat {
			types[f.(map[string]any)["entity_type"].(string)] = true
		}
		if len(flat) != 2 || !types["service"] || !types["plugin"] {
			t.Errorf("flattened_errors: %s", r.raw)
		}

		r = g.do("POST", "/config", "application/json", `{"config": "bobby tables"}`)
		wantStatus(t, r, 400)
		wantFields(t, r.body, map[string]any{"code": 14, "fields": map[string]any{
			"error": "failed parsing declarative configuration: expected an object"}})

		r = g.do("POST", "/config", "application/json", `{}`)
		wantStatus(t, r, 400)
		wantFields(t, r.body, map[string]any{"fields": map[string]any{"_format_version": "required field missing"}})

		// The previous configuration stays in force.
		if got := proxyStatus(t, g, "/old"); got != 200 {
			t.Errorf("GET /old after the refusals: %d", got)
		}
		if got := proxyStatus(t, g, "/broken"); got != 404 {
			t.Errorf("GET /broken: %d", got)
		}
		if r := g.get("/status"); r.body["configuration_hash"] != md5hex(text) {
			t.Errorf("hash changed: %s", r.raw)
		}
	})

	t.Run("a YAML body replaces the routes", func(t *testing.T) {
		next := strings.Replace(text, "paths: [/old]", "paths: [/new]", 1)
		r := g.do("POST", "/config", "application/yaml", next)
		wantStatus(t, r, 201)
		routes, _ := r.body["routes"].(map[string]any)
		if len(routes) != 2 || r.body["workspaces"] != nil {
			t.Fatalf("201 body: %s", r.raw)
		}
		for id, route := range routes {
			if route.(map[string]any)["id"] != id || route.(map[string]any)["ws_id"] != nil {
				t.Errorf("route %s: %v", id, route)
			}
		}
		deadline := time.Now().Add(time.Second)
		for proxyStatus(t, g, "/new") != 200 {
			if time.Now().After(deadline) {
				t.Fatal("the new route does not answer within 1 s")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got := proxyStatus(t, g, "/old"); got != 404 {
			t.Errorf("the old route answers %d", got)
		}
		if got := proxyStatus(t, g, "/keyed", "apikey", "alice-secret-key"); got != 200 {
			t.Errorf("the keyed route: %d", got)
		}
		if r := g.get("/status"); r.body["configuration_hash"] != md5hex(next) {
			t.Errorf("hash: %s, want %s", r.raw, md5hex(next))
		}
	})

	t.Run("a JSON document body", func(t *testing.T) {
		r := g.postJSON("/config", map[string]any{
			"_format_version": "3.0",
			"consumers":       []any{map[string]any{"username": "bobby_in_json_body"}},
		})
		wantStatus(t, r, 201)
		wantStatus(t, g.get("/consumers/bobby_in_json_body"), 200)
		if r := g.get("/consumers/alice"); r.status != 404 {
			t.Errorf("alice survived the replacement: %d", r.status)
		}
		if got := proxyStatus(t, g, "/new"); got != 404 {
			t.Errorf("routes survived the replacement: %d", got)
		}
	})

	t.Run("curl -F config=@kong.yml and HTTPie config=@kong.yml", func(t *testing.T) {
		r := g.cli("curl", "-si", "-X", "POST", g.adminURL("/config"), "-F", "config=@"+file)
		wantStatus(t, r, 201)
		if got := proxyStatus(t, g, "/old"); got != 200 {
			t.Errorf("GET /old after curl: %d", got)
		}
		r = g.cli("http", "--print=hb", "--ignore-stdin", "POST", g.adminURL("/config"), "config=@"+file)
		wantStatus(t, r, 201)
		r = g.cli("http", "--print=hb", "--ignore-stdin", "POST", g.adminURL("/config?check_hash=1"), "config=@"+file)
		wantStatus(t, r, 304)
	})
}

// TestDBlessStart covers what a DB-less node starts with: nothing, or a
// file or text that must be good, or the start stops naming the setting.
func TestDBlessStart(t *testing.T) {
	dir := t.TempDir()
	badFile := filepath.Join(dir, "bad.yml")
	os.WriteFile(badFile, []byte("_format_version: \"3.0\"\nservices:\n- port: -12\n"), 0o644)
	for _, c := range []struct {
		name string
		env  []string
		want []string // in the output of the failed start
	}{
		{"missing file", []string{"KONG_DECLARATIVE_CONFIG=" + filepath.Join(dir, "missing.yml")},
			[]string{"declarative_config: error parsing declarative config file " + filepath.Join(dir, "missing.yml"), "no such file or directory"}},
		{"bad file", []string{"KONG_DECLARATIVE_CONFIG=" + badFile},
			[]string{"declarative_config: error parsing declarative config file " + badFile, "in 'port': value should be between 0 and 65535"}},
		{"bad string", []string{"KONG_DECLARATIVE_CONFIG_STRING={\"_format_version\":\"9\"}"},
			[]string{"declarative_config_string: error parsing declarative string", "in '_format_version': expected one of: 1.1, 2.1, 3.0"}},
		{"both", []string{"KONG_DECLARATIVE_CONFIG=" + badFile, "KONG_DECLARATIVE_CONFIG_STRING={}"},
			[]string{"declarative_config: declarative_config and declarative_config_string are both set"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := newGateway(t, append([]string{"KONG_DATABASE=off"}, c.env...)...)
			cmd := exec.Command(binary, "start")
			cmd.Env = g.env
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the start succeeded:\n%s", out)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}

	t.Run("no configuration: an empty node", func(t *testing.T) {
		g := startGateway(t, "KONG_DATABASE=off", "KONG_ENFORCE_RBAC=on")
		r := g.get("/status")
		if r.body["configuration_hash"] != "00000000000000000000000000000000" {
			t.Errorf("/status: %s", r.raw)
		}
		if r := g.get("/services"); len(r.body["data"].([]any)) != 0 {
			t.Errorf("services: %s", r.raw)
		}
		r = g.send(fmt.Sprintf("http://127.0.0.1:%d/status/ready", g.statusPort), "GET", "", "", true)
		wantFields(t, r.body, map[string]any{"message": "no configuration available (empty configuration present)"})
		log := errorLog(t, g)
		for _, w := range []string{"[warn]", "enforce_rbac = on is not enforced with database = off", "event_hooks_enabled: event hooks do not run"} {
			if !strings.Contains(log, w) {
				t.Errorf("the error log lacks %q:\n%s", w, log)
			}
		}
		r = g.do("POST", "/config", "application/yaml", "_format_version: \"3.0\"\nconsumers:\n- username: first\n")
		wantStatus(t, r, 201)
		wantStatus(t, g.get("/consumers/first"), 200)
	})

	t.Run("with a database, /config is Kong's 400", func(t *testing.T) {
		g := startGateway(t)
		for _, m := range []string{"GET", "POST"} {
			r := g.do(m, "/config", "application/yaml", "_format_version: \"3.0\"\n")
			wantStatus(t, r, 400)
			wantFields(t, r.body, map[string]any{"message": "this endpoint is only available when Kong is configured to not use a database"})
		}
	})
}
