package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// config runs `portico config ARGS` against the gateway's prefix.
func (g *gateway) config(args ...string) (stdout, stderr string, code int) {
	g.t.Helper()
	return g.portico(append([]string{"config"}, args...)...)
}

// TestDeclarativeConfigCLI: a realistic file is parsed, imported (twice:
// the same entities), exported, re-imported from the export into another
// prefix, and served by the gateway started on that prefix; bad files
// change nothing; a running node's store is refused by name.
func TestDeclarativeConfigCLI(t *testing.T) {
	cert, key := selfSigned(t, "decl.example.test")
	indent := func(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") }
	file := filepath.Join(t.TempDir(), "kong.yml")
	src := `_format_version: "3.0"
_workspace: team-a
services:
- name: billing
  url: http://127.0.0.1:9/billing
  tags: [team-a, billing]
  routes:
  - name: billing-route
    paths: [/billing]
    tags: [team-a]
    plugins:
    - name: key-auth
  plugins:
  - name: cors
routes:
- name: other-route
  paths: [/other]
  service: billing
consumers:
- username: alice
  custom_id: alice-1
  tags: [team-a]
  keyauth_credentials:
  - id: 5b1d2c3e-4f50-4a61-8b72-9c83d4e5f607  # random when absent (as in Kong): a second import would add another
    key: alice-secret-key
  basicauth_credentials:
  - username: alice
    password: s3cret
  acls:
  - group: admins
upstreams:
- name: billing-upstream
  targets:
  - target: 10.0.0.1:80
    weight: 50
  - target: 10.0.0.2:80
certificates:
- id: 1f8c6a4e-6a9a-4a55-9d7f-0c2b5a4d1e11
  cert: |
      ` + indent(cert) + `
  key: |
      ` + indent(key) + `
  snis:
  - name: decl.example.test
`
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	g := newGateway(t)
	out, errOut, code := g.config("parse", file)
	if code != 0 || out != "parse successful\n" {
		t.Fatalf("parse: %d %q %q", code, out, errOut)
	}
	for range 2 {
		out, errOut, code = g.config("db_import", file)
		if code != 0 || out != "parse successful, beginning import\nimport successful\n" {
			t.Fatalf("db_import: %d %q %q", code, out, errOut)
		}
	}
	// A bad file: Kong's error, exit 1, nothing written.
	bad := filepath.Join(t.TempDir(), "bad.yml")
	os.WriteFile(bad, []byte("_format_version: \"3.0\"\nservices:\n- name: extra\n  host: []\n  port: -23\n"), 0o600)
	_, errOut, code = g.config("db_import", bad)
	if code != 1 || !strings.Contains(errOut, "Error: Failed parsing:\nin 'services':\n  - in entry 1 of 'services':\n    in 'host': expected a string\n    in 'port': value should be between 0 and 65535") {
		t.Fatalf("bad db_import: %d %q", code, errOut)
	}
	if _, errOut, code = g.config("db_import"); code != 1 || !strings.Contains(errOut, "expected a declarative configuration file") {
		t.Fatalf("db_import without a file: %d %q", code, errOut)
	}

	// Export, and Kong's refusal to overwrite.
	out, errOut, code = g.config("db_export", "-w", "team-a")
	exported := filepath.Join(g.prefix, "kong.yml")
	if code != 0 || out != "" {
		t.Fatalf("db_export: %d %q %q", code, out, errOut)
	}
	if _, errOut, code = g.config("db_export", "--workspace", "team-a"); code != 1 ||
		!strings.Contains(errOut, "Error: "+exported+" already exists. Will not overwrite it.") {
		t.Fatalf("second db_export: %d %q", code, errOut)
	}
	raw, err := os.ReadFile(exported)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"_format_version: \"3.0\"", "_transform: false", "_workspace: team-a", "name: billing-route", "target: 10.0.0.2:80", "name: decl.example.test"} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("export lacks %q:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("the export shows the basic-auth password")
	}

	// The export loads into a fresh prefix, which serves it.
	g2 := newGateway(t)
	if out, errOut, code = g2.config("db_import", exported); code != 0 {
		t.Fatalf("importing the export: %d %q %q", code, out, errOut)
	}
	g2.start()
	r := g2.get("/team-a/services/billing")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"host": "127.0.0.1", "port": 9.0, "path": "/billing", "tags": []any{"team-a", "billing"}})
	wantStatus(t, g2.get("/services/billing"), 404) // not in the default workspace
	r = g2.get("/team-a/services/billing/routes")
	wantStatus(t, r, 200)
	if n := len(r.body["data"].([]any)); n != 2 {
		t.Errorf("billing has %d routes, want 2", n)
	}
	r = g2.get("/team-a/consumers/alice/key-auth")
	wantStatus(t, r, 200)
	if data := r.body["data"].([]any); len(data) != 1 || data[0].(map[string]any)["key"] != "alice-secret-key" {
		t.Errorf("key-auth = %s", r.raw)
	}
	wantStatus(t, g2.get("/team-a/consumers/alice/basic-auth/alice"), 200)
	wantStatus(t, g2.get("/team-a/consumers/alice/acls/admins"), 200)
	r = g2.get("/team-a/upstreams/billing-upstream/targets")
	wantStatus(t, r, 200)
	if n := len(r.body["data"].([]any)); n != 2 {
		t.Errorf("%d targets, want 2", n)
	}
	wantStatus(t, g2.get("/team-a/snis/decl.example.test"), 200)
	r = g2.get("/team-a/plugins")
	wantStatus(t, r, 200)
	if n := len(r.body["data"].([]any)); n != 2 {
		t.Errorf("%d plugins, want 2", n)
	}
	// The proxy routes by the imported route: key-auth asks for a key.
	resp := g2.send(g2.proxyURL("/billing"), "GET", "", "", false)
	wantStatus(t, resp, 401)

	// A running node holds the store: the import says so and writes nothing.
	_, errOut, code = g2.config("db_import", file)
	if code != 1 || !strings.Contains(errOut, "stop it first") {
		t.Fatalf("db_import on a running node: %d %q", code, errOut)
	}
}

// `portico config init` writes Kong's starting file, ./kong.yml by default,
// never over an existing one; the file parses and loads as written.
func TestDeclarativeConfigInit(t *testing.T) {
	g := newGateway(t)
	if out, errOut, code := g.config("init"); code != 0 || out != "" {
		t.Fatalf("init: %d %q %q", code, out, errOut)
	}
	written := filepath.Join(g.prefix, "kong.yml")
	if _, errOut, code := g.config("init"); code != 1 ||
		!strings.Contains(errOut, "Error: "+written+" already exists.\nWill not overwrite it.") {
		t.Fatalf("second init: %d %q", code, errOut)
	}
	other := filepath.Join(t.TempDir(), "start.yml")
	if _, errOut, code := g.config("init", other); code != 0 {
		t.Fatalf("init %s: %d %q", other, code, errOut)
	}
	if out, errOut, code := g.config("parse", other); code != 0 || out != "parse successful\n" {
		t.Fatalf("parse of the written file: %d %q %q", code, out, errOut)
	}
	if _, errOut, code := g.config("db_import", written); code != 0 {
		t.Fatalf("db_import of the written file: %d %q", code, errOut)
	}
	g.start()
	wantStatus(t, g.get("/services/example-service/routes/example-route"), 200)
}
