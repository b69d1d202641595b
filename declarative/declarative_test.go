package declarative_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/declarative"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store/badger"
)

func registry(t testing.TB) *schema.Registry {
	t.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// newDB is a bootstrapped DB over an in-memory store; memtable 0 is
// badger's default, a small one makes transactions too big early.
func newDB(t testing.TB, memtable int64) *db.DB {
	t.Helper()
	reg := registry(t)
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true, MemTableSize: memtable})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d := db.New(reg, st, db.Options{})
	if err := d.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

func parseErr(t *testing.T, p *declarative.Parser, src, filename string) *declarative.Error {
	t.Helper()
	_, err := p.Parse([]byte(src), filename)
	var de *declarative.Error
	if !errors.As(err, &de) {
		t.Fatalf("Parse: err = %v, want a declarative error", err)
	}
	return de
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseErrors: each mistake gives Kong's error document and message
// (spec/02-integration/04-admin_api/15-off_spec.lua).
func TestParseErrors(t *testing.T) {
	p := declarative.New(registry(t))
	cases := []struct {
		name, file, src string
		fields          string // Kong's "fields", as JSON
		message         string // Kong's message, when checked
	}{
		{name: "not an object", file: "", src: "bobby tables",
			fields:  `{"error":"failed parsing declarative configuration: expected an object"}`,
			message: `declarative config is invalid: {error="failed parsing declarative configuration: expected an object"}`},
		{name: "unknown file type", file: "kong.txt", src: "{}",
			fields: `{"error":"unknown file type: kong.txt. (Accepted types: json, yaml)"}`},
		{name: "missing format version", file: "k.yml", src: "services: []",
			fields: `{"_format_version":"required field missing"}`},
		{name: "unknown format version", file: "k.yml", src: `_format_version: "9.9"`,
			fields: `{"_format_version":"expected one of: 1.1, 2.1, 3.0"}`},
		{name: "unknown top-level key", file: "k.yml", src: "_format_version: \"3.0\"\nabnormal_extra_field: 1",
			fields: `{"abnormal_extra_field":"unknown field"}`},
		{name: "schema violation", file: "k.yml", src: "_format_version: \"1.1\"\nservices:\n- port: -12\n",
			fields:  `{"services":[{"host":"required field missing","port":"value should be between 0 and 65535"}]}`,
			message: `declarative config is invalid: {services={{host="required field missing",port="value should be between 0 and 65535"}}}`},
		{name: "nested schema violations", file: "k.yml", src: `
_format_version: "1.1"
services:
- name: foobar
  host: []
  port: -23
  protocol: https
  _comment: my comment
  _ignore:
  - foo: bar
  routes: 123
`, fields: `{"services":[{"host":"expected a string","port":"value should be between 0 and 65535","routes":"expected an array"}]}`},
		{name: "duplicate primary key", file: "k.yml", src: `
_format_version: "1.1"
services:
- id: 0855b320-0dd2-547d-891d-601e9b38647f
  name: foo
  host: example.com
- id: 0855b320-0dd2-547d-891d-601e9b38647f
  name: bar
  host: example.test
`, fields: `{"services":[null,"uniqueness violation: 'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared"]}`,
			message: `declarative config is invalid: {services={[2]="uniqueness violation: 'services' entity with primary key set to '0855b320-0dd2-547d-891d-601e9b38647f' already declared"}}`},
		{name: "duplicate endpoint key", file: "k.yml", src: `
_format_version: "1.1"
services:
- name: foo
  host: example.com
- name: foo
  host: example.test
`, fields: `{"services":[null,"uniqueness violation: 'services' entity with name set to 'foo' already declared"]}`},
		{name: "duplicate unique field", file: "k.yml", src: `
_format_version: "1.1"
consumers:
- username: foo
  custom_id: conflict
- username: bar
  custom_id: conflict
`, fields: `{"consumers":{"bar":"uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"}}`,
			message: `declarative config is invalid: {consumers={bar="uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"}}`},
		{name: "dangling reference", file: "k.yml", src: `
_format_version: "3.0"
routes:
- name: r1
  paths: [/]
  service: nowhere
`, fields: `{"routes":{"r1":["invalid reference 'service: nowhere' (no such entry in 'services')"]}}`},
		{name: "nested entry naming its parent", file: "k.yml", src: `
_format_version: "3.0"
services:
- name: s1
  host: example.com
  routes:
  - name: r1
    paths: [/]
    service: s1
`, fields: `{"services":[{"routes":[{"service":"value must be null"}]}]}`},
		{name: "duplicate nested target", file: "k.yml", src: `
_format_version: "3.0"
upstreams:
- name: u1
  targets:
  - target: 10.0.0.1:80
  - target: 10.0.0.1:80
`, fields: `{"upstreams":[{"targets":[null,"uniqueness violation: 'targets' entity with primary key set to '` +
			kongID("targets", "targets:*:"+kongID("upstreams", "u1")+":10.0.0.1:80") + `' already declared"]}]}`},
		{name: "entity not a record", file: "k.json", src: `{"_format_version":"3.0","consumers":["x"]}`,
			fields: `{"consumers":["expected a record"]}`},
		{name: "workspaces are not entities of a file", file: "k.yml", src: "_format_version: \"3.0\"\nworkspaces: []",
			fields: `{"workspaces":"unknown field"}`},
		{name: "rbac users are kept out of files", file: "k.yml", src: "_format_version: \"3.0\"\nrbac_users: []",
			fields: `{"rbac_users":"unknown field"}`},
		{name: "bad workspace", file: "k.yml", src: "_format_version: \"3.0\"\n_workspace: 3",
			fields: `{"_workspace":"expected a string"}`},
		{name: "malformed yaml", file: "k.yml", src: "_format_version: \"3.0\"\nservices: [",
			fields: `{"error":"failed parsing declarative configuration: yaml: line 2: did not find expected node content"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			de := parseErr(t, p, c.src, c.file)
			if got := jsonOf(t, de.Fields); got != c.fields {
				t.Errorf("fields = %s\nwant     %s", got, c.fields)
			}
			if c.message != "" && de.Message() != c.message {
				t.Errorf("message = %s\nwant      %s", de.Message(), c.message)
			}
		})
	}
}

func kongID(entity, key string) string {
	return declarative.GenerateID(entity, key)
}

// TestPrettyError: the CLI's rendering, as Kong's pretty_print_error.
func TestPrettyError(t *testing.T) {
	p := declarative.New(registry(t))
	de := parseErr(t, p, "_format_version: \"1.1\"\nservices:\n- name: foobar\n  host: []\n  port: -23\n  routes: 123\n", "k.yml")
	want := "in 'services':\n  - in entry 1 of 'services':\n    in 'host': expected a string\n" +
		"    in 'port': value should be between 0 and 65535\n    in 'routes': expected an array"
	if de.Error() != want {
		t.Errorf("error =\n%s\nwant\n%s", de.Error(), want)
	}
}

// TestFlattenedErrors: Kong's flattened_errors, nested entities hoisted.
func TestFlattenedErrors(t *testing.T) {
	p := declarative.New(registry(t))
	src := `{"_format_version":"3.0","abnormal_extra_field":1,
	  "services":[{"name":"nope","host":"example.com","protocol":"nope","tags":["service-01"],
	    "routes":[{"name":"ok","paths":["/"]},{"name":"bad","protocols":["tcp"],"tags":["route-01"]}]},
	   {"name":"okay","url":"http://localhost:1234","routes":[{"name":"probably-valid","paths":["/"],
	     "plugins":[{"name":"http-log","config":{"not_endpoint":"anything"},"tags":["plugin-01"]}]}]}]}`
	de := parseErr(t, p, src, "")
	body := de.Body(true)
	if got := jsonOf(t, body["fields"]); got != `{"abnormal_extra_field":"unknown field"}` {
		t.Errorf("fields = %s", got)
	}
	flat := body["flattened_errors"].([]declarative.FlatError)
	byTag := map[string]declarative.FlatError{}
	for _, f := range flat {
		if len(f.EntityTags) > 0 {
			byTag[f.EntityTags[0]] = f
		}
	}
	if len(flat) != 3 {
		t.Fatalf("flattened = %s", jsonOf(t, flat))
	}
	svc := byTag["service-01"]
	if svc.EntityType != "service" || svc.EntityName != "nope" ||
		jsonOf(t, svc.Errors) != `[{"field":"protocol","message":"expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp","type":"field"}]` {
		t.Errorf("service = %s", jsonOf(t, svc))
	}
	if _, nested := svc.Entity["routes"]; nested {
		t.Errorf("the service entry keeps its routes: %v", svc.Entity)
	}
	route := byTag["route-01"]
	if route.EntityType != "route" || route.EntityName != "bad" || len(route.Errors) != 1 || route.Errors[0].Type != "entity" {
		t.Errorf("route = %s", jsonOf(t, route))
	}
	plugin := byTag["plugin-01"]
	if plugin.EntityType != "plugin" || plugin.EntityName != "http-log" ||
		jsonOf(t, plugin.Errors) != `[{"field":"config.http_endpoint","message":"required field missing","type":"field"},{"field":"config.not_endpoint","message":"unknown field","type":"field"}]` {
		t.Errorf("plugin = %s", jsonOf(t, plugin))
	}
	// The non-flattened body keeps every error nested.
	if !strings.Contains(jsonOf(t, de.Body(false)["fields"]), `"services":[`) {
		t.Errorf("unflattened fields lost the services")
	}
	// A duplicate found after ids were derived names the generated id.
	de = parseErr(t, p, `{"_format_version":"3.0","consumers":[{"username":"a","tags":["c1"]},{"username":"a","tags":["c2"]}]}`, "")
	flat = de.Body(true)["flattened_errors"].([]declarative.FlatError)
	if len(flat) != 1 || flat[0].EntityID != kongID("consumers", "a") || flat[0].EntityTags[0] != "c2" ||
		flat[0].Errors[0].Message != "uniqueness violation: 'consumers' entity with username set to 'a' already declared" {
		t.Errorf("flattened = %s", jsonOf(t, flat))
	}
}

// TestGeneratedIDs: ids come from cache keys and endpoint keys as Kong
// derives them, nested children keyed by their parent's id.
// The file `portico config init` writes parses and loads as it is.
func TestExampleLoads(t *testing.T) {
	cfg, err := declarative.Import(context.Background(), newDB(t, 0), declarative.Example, "kong.yml")
	if err != nil {
		t.Fatal(err)
	}
	for entity, n := range map[string]int{"services": 1, "routes": 1, "plugins": 2, "consumers": 1,
		"keyauth_credentials": 1, "upstreams": 1, "targets": 1} {
		if got := len(cfg.Rows(entity)); got != n {
			t.Errorf("%s: %d rows, want %d", entity, got, n)
		}
	}
}

func TestGeneratedIDs(t *testing.T) {
	p := declarative.New(registry(t))
	cfg, err := p.Parse([]byte(`
_format_version: "3.0"
services:
- name: s1
  url: http://example.com
  routes:
  - name: r1
    paths: [/]
    plugins:
    - name: key-auth
  plugins:
  - name: cors
upstreams:
- name: u1
  targets:
  - target: 10.0.0.1:80
consumers:
- username: alice
  acls:
  - group: admins
  basicauth_credentials:
  - username: alice
    password: secret
  hmacauth_credentials:
  - username: alice-hmac
  keyauth_credentials:
  - key: alice-secret-key
  jwt_secrets:
  - key: alice-iss
`), "k.yaml")
	if err != nil {
		t.Fatal(err)
	}
	svc := kongID("services", "s1")
	route := kongID("routes", "r1")
	up := kongID("upstreams", "u1")
	alice := kongID("consumers", "alice")
	want := map[string]string{
		"services":  svc,
		"routes":    route,
		"upstreams": up,
		"targets":   kongID("targets", "targets:*:"+up+":10.0.0.1:80"),
		"consumers": alice,
		"acls":      kongID("acls", "acls:*:"+alice+":admins"),
		// Credentials' ids come from their cache keys, as in Kong.
		"basicauth_credentials": kongID("basicauth_credentials", "basicauth_credentials:*:alice"),
		"hmacauth_credentials":  kongID("hmacauth_credentials", "hmacauth_credentials:*:alice-hmac"),
	}
	// A key is a secret and its field is generated when absent: as in Kong,
	// no id is derived from it (an id derived from a key would publish a
	// hash of the key), so the credential gets a random one.
	for entity, key := range map[string]string{"keyauth_credentials": "alice-secret-key", "jwt_secrets": "alice-iss"} {
		rows := cfg.Rows(entity)
		if len(rows) != 1 {
			t.Fatalf("%s: %v", entity, rows)
		}
		if id, _ := rows[0]["id"].(string); id == kongID(entity, key) || id == kongID(entity, entity+":*:"+key) {
			t.Errorf("%s: id %s derived from the key", entity, id)
		}
	}
	for entity, id := range want {
		rows := cfg.Rows(entity)
		if len(rows) != 1 || rows[0]["id"] != id {
			t.Errorf("%s = %v, want id %s", entity, rows, id)
		}
	}
	plugins := map[string]string{}
	for _, r := range cfg.Rows("plugins") {
		plugins[r["name"].(string)] = r["id"].(string)
	}
	if plugins["key-auth"] != kongID("plugins", "plugins:*:key-auth:"+route+"::") ||
		plugins["cors"] != kongID("plugins", "plugins:*:cors::"+svc+":") {
		t.Errorf("plugins = %v", plugins)
	}
	if r := cfg.Rows("routes")[0]; !reflect.DeepEqual(r["service"], map[string]any{"id": svc}) {
		t.Errorf("route's service = %v", r["service"])
	}
	// Kong's own: the service named "foo" (spec fixtures) has this id.
	if kongID("services", "foo") != "2933fbcc-9d7c-54a7-a984-fe2bde836cea" {
		t.Errorf("id of services/foo = %s", kongID("services", "foo"))
	}
}

func selfSigned(t testing.TB, host string) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
}

func fullConfig(t testing.TB, workspace string) string {
	cert, key := selfSigned(t, "example.test")
	doc := map[string]any{
		"_format_version": "3.0",
		"services": []any{map[string]any{"name": "s1", "url": "http://example.com:8080/api", "tags": []any{"team-a"},
			"routes": []any{map[string]any{"name": "r1", "paths": []any{"/a"},
				"plugins": []any{map[string]any{"name": "key-auth"}}}},
			"plugins": []any{map[string]any{"name": "cors"}}}},
		"routes": []any{map[string]any{"name": "r2", "paths": []any{"/b"}, "service": "s1"}},
		"consumers": []any{map[string]any{"username": "alice", "custom_id": "a-1",
			// A key-auth credential's id is random when not given (as in
			// Kong): a second load would add another with the same key.
			"keyauth_credentials":   []any{map[string]any{"id": "0e3b8a0c-7f7e-4b58-9a42-2a5f1c9d0b11", "key": "alice-key"}},
			"basicauth_credentials": []any{map[string]any{"username": "alice", "password": "secret"}},
			"acls":                  []any{map[string]any{"group": "admins"}},
			"plugins":               []any{map[string]any{"name": "rate-limiting", "config": map[string]any{"minute": 10}}}}},
		"upstreams": []any{map[string]any{"name": "u1", "targets": []any{map[string]any{"target": "10.0.0.1:80", "weight": 50}}}},
		// Certificates have no key to derive an id from: without one, each
		// load would add another (as in Kong).
		"certificates": []any{map[string]any{"id": "7c84ebc4-cb8d-4ec4-9eaf-d786707a5dfb", "cert": cert, "key": key,
			"snis": []any{map[string]any{"name": "example.test"}}}},
	}
	if workspace != "" {
		doc["_workspace"] = workspace
	}
	b, _ := json.Marshal(doc)
	return string(b)
}

// TestLoadExportRoundTrip: a file loaded, exported, loaded into another
// store and exported again gives the same document; loading it twice
// changes nothing (upserts by id).
func TestLoadExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, ws := range []string{"", "team-a"} {
		t.Run("workspace="+ws, func(t *testing.T) {
			d1 := newDB(t, 0)
			src := fullConfig(t, ws)
			if _, err := declarative.Import(ctx, d1, []byte(src), "kong.json"); err != nil {
				t.Fatal(err)
			}
			if _, err := declarative.Import(ctx, d1, []byte(src), "kong.json"); err != nil {
				t.Fatalf("second import: %v", err)
			}
			doc1, err := declarative.Export(ctx, d1, ws)
			if err != nil {
				t.Fatal(err)
			}
			for entity, n := range map[string]int{"services": 1, "routes": 2, "plugins": 3, "consumers": 1,
				"keyauth_credentials": 1, "basicauth_credentials": 1, "acls": 1, "upstreams": 1, "targets": 1,
				"certificates": 1, "snis": 1} {
				if got := len(asList(doc1[entity])); got != n {
					t.Errorf("%s: %d exported, want %d", entity, got, n)
				}
			}
			if ws != "" && doc1["_workspace"] != ws {
				t.Errorf("_workspace = %v", doc1["_workspace"])
			}
			var yml bytes.Buffer
			if err := declarative.WriteYAML(&yml, doc1); err != nil {
				t.Fatal(err)
			}
			d2 := newDB(t, 0)
			if _, err := declarative.Import(ctx, d2, yml.Bytes(), "kong.yml"); err != nil {
				t.Fatalf("importing the export: %v\n%s", err, yml.String())
			}
			doc2, err := declarative.Export(ctx, d2, ws)
			if err != nil {
				t.Fatal(err)
			}
			// Loading sets updated_at, as Kong's upserts do.
			for _, doc := range []map[string]any{doc1, doc2} {
				for _, v := range doc {
					for _, row := range asList(v) {
						delete(row.(map[string]any), "updated_at")
					}
				}
			}
			for entity := range doc1 {
				if a, b := jsonOf(t, doc1[entity]), jsonOf(t, doc2[entity]); a != b {
					t.Errorf("%s: round trip differs:\n%s\n%s", entity, a, b)
				}
			}
			// The password was hashed once, on the first import.
			cred := asList(doc2["basicauth_credentials"])[0].(map[string]any)
			consumer := asList(doc2["consumers"])[0].(map[string]any)
			if cred["password"] != entities.HashBasicAuthPassword(consumer["id"].(string), "secret") {
				t.Errorf("password = %v", cred["password"])
			}
		})
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestTransformFalse: with `_transform: false` a basic-auth password is
// taken as its stored hash.
func TestTransformFalse(t *testing.T) {
	ctx := context.Background()
	d := newDB(t, 0)
	src := `{"_format_version":"3.0","_transform":false,"consumers":[{"username":"bob",
	  "basicauth_credentials":[{"username":"bob","password":"0123456789abcdef0123456789abcdef01234567"}]}]}`
	if _, err := declarative.Import(ctx, d, []byte(src), ""); err != nil {
		t.Fatal(err)
	}
	rows, err := d.All(ctx, d.Entity("basicauth_credentials"), db.PageOptions{})
	if err != nil || len(rows) != 1 || rows[0]["password"] != "0123456789abcdef0123456789abcdef01234567" {
		t.Fatalf("rows = %v, %v", rows, err)
	}
}

// TestLoadConflictWritesNothing: a file whose entity conflicts with a
// stored one (another id, the same name) writes nothing, in one
// transaction or in chunks.
func TestLoadConflictWritesNothing(t *testing.T) {
	ctx := context.Background()
	for _, memtable := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprint("memtable=", memtable), func(t *testing.T) {
			d := newDB(t, memtable)
			if _, err := d.Insert(ctx, d.Entity("consumers"), map[string]any{"username": "taken"}, nil); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(`{"_format_version":"3.0","services":[`)
			for i := range 3000 {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, `{"name":"s%d","host":"h%d.example.com","tags":["bulk"]}`, i, i)
			}
			b.WriteString(`],"consumers":[{"username":"taken"}]}`)
			_, err := declarative.Import(ctx, d, []byte(b.String()), "")
			if err == nil || !strings.Contains(err.Error(), "UNIQUE violation") {
				t.Fatalf("err = %v, want a unique violation", err)
			}
			rows, err := d.All(ctx, d.Entity("services"), db.PageOptions{})
			if err != nil || len(rows) != 0 {
				t.Fatalf("%d services written (%v)", len(rows), err)
			}
		})
	}
}

// TestLoadInChunks: a configuration too big for one transaction is
// loaded whole in chunks.
func TestLoadInChunks(t *testing.T) {
	ctx := context.Background()
	d := newDB(t, 1<<20)
	var b strings.Builder
	b.WriteString(`{"_format_version":"3.0","services":[`)
	for i := range 3000 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"name":"s%d","host":"h%d.example.com","routes":[{"name":"r%d","paths":["/%d"]}]}`, i, i, i, i)
	}
	b.WriteString(`]}`)
	if _, err := declarative.Import(ctx, d, []byte(b.String()), ""); err != nil {
		t.Fatal(err)
	}
	for _, entity := range []string{"services", "routes"} {
		rows, err := d.All(ctx, d.Entity(entity), db.PageOptions{})
		if err != nil || len(rows) != 3000 {
			t.Fatalf("%s: %d rows (%v)", entity, len(rows), err)
		}
	}
}

// TestWorkspaceOfFile: `_workspace` puts the entities in that workspace,
// created when missing; the default workspace sees none of them.
func TestWorkspaceOfFile(t *testing.T) {
	ctx := context.Background()
	d := newDB(t, 0)
	src := `{"_format_version":"3.0","_workspace":"team-b","services":[{"name":"s1","host":"example.com"}]}`
	if _, err := declarative.Import(ctx, d, []byte(src), ""); err != nil {
		t.Fatal(err)
	}
	if row, _ := d.Select(ctx, d.Entity("services"), "s1", nil); row != nil {
		t.Errorf("the default workspace sees s1")
	}
	ws, found, err := d.LookupWorkspace(ctx, "team-b")
	if err != nil || !found {
		t.Fatalf("workspace team-b: %v %v", found, err)
	}
	if row, _ := d.Select(db.InWorkspace(ctx, ws.ID), d.Entity("services"), "s1", nil); row == nil {
		t.Errorf("team-b does not see s1")
	}
}
