package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"go.yaml.in/yaml/v3"
	"hash/fnv"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/kong/go-database-reconciler/pkg/diff"
	"github.com/kong/go-database-reconciler/pkg/dump"
	"github.com/kong/go-database-reconciler/pkg/file"
	"github.com/kong/go-database-reconciler/pkg/state"
	"github.com/kong/go-database-reconciler/pkg/utils"
	"github.com/kong/go-kong/kong"
)

// deckMode is one way decK may see Portico: the node's settings and the
// workspace the state files name (`_workspace`). OSS mode is Kong's
// open-source version format; Enterprise mode is Portico's default.
type deckMode struct {
	name      string
	settings  []string
	workspace string
}

var deckModes = []deckMode{
	{name: "oss", settings: []string{"KONG_KONG_VERSION=3.9.1"}},
	{name: "enterprise"},
	{name: "enterprise-workspace", workspace: "team-a"},
}

// deckEngine drives go-database-reconciler as `deck gateway sync|diff|dump`
// do (decK's cmd/common.go syncMain and cmd/gateway_dump.go), workspaces
// included: the one a file names is checked (and created by a sync when
// missing) through the root client, and worked in through a client bound
// to it.
type deckEngine struct {
	t       *testing.T
	root    *kong.Client
	address string
	version string
	dir     string
}

func newDeckEngine(t *testing.T, g *gateway) *deckEngine {
	t.Helper()
	root, err := utils.GetKongClient(utils.KongClientConfig{Address: g.adminURL("")})
	if err != nil {
		t.Fatal(err)
	}
	info, err := root.Root(context.Background())
	if err != nil {
		t.Fatalf("GET /: %v", err)
	}
	version, _ := info["version"].(string)
	return &deckEngine{t: t, root: root, address: g.adminURL(""), version: version, dir: t.TempDir()}
}

// withT is the engine reporting to a subtest.
func (d *deckEngine) withT(t *testing.T) *deckEngine {
	c := *d
	c.t = t
	return &c
}

// client is decK's client for a workspace ("" is the default one).
func (d *deckEngine) client(workspace string) *kong.Client {
	d.t.Helper()
	c, err := utils.GetKongClient(utils.KongClientConfig{Address: d.address, Workspace: workspace})
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// workspaceExists is decK's check: go-kong asks GET /{ws}/workspaces/{ws}.
func (d *deckEngine) workspaceExists(workspace string) (bool, error) {
	if workspace == "" {
		return true, nil
	}
	return d.root.Workspaces.ExistsByName(context.Background(), &workspace)
}

// deckRun is what one sync or diff did: the syncer's counts and the
// changes it printed.
type deckRun struct {
	creates, updates, deletes int
	log                       string
}

func (r deckRun) total() int { return r.creates + r.updates + r.deletes }

func (r deckRun) String() string {
	return fmt.Sprintf("%d creates, %d updates, %d deletes\n%s", r.creates, r.updates, r.deletes, r.log)
}

// writeFile stores a state file for the engine to read, as decK reads one.
func (d *deckEngine) writeFile(name, content string) string {
	d.t.Helper()
	path := filepath.Join(d.dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		d.t.Fatal(err)
	}
	return path
}

// dumpConfig is decK's: select_tags from the file, consumer-group scoped
// plugins known from 3.4.
func (d *deckEngine) dumpConfig(selectTags []string) dump.Config {
	return dump.Config{SelectorTags: selectTags, IsConsumerGroupScopedPluginSupported: true}
}

// currentState reads a workspace as decK's fetchCurrentState does.
func (d *deckEngine) currentState(ctx context.Context, client *kong.Client, cfg dump.Config) (*state.KongState, error) {
	raw, err := dump.Get(ctx, client, cfg)
	if err != nil {
		return nil, fmt.Errorf("reading the current state: %w", err)
	}
	current, err := state.Get(raw)
	if err != nil {
		return nil, fmt.Errorf("building the current state: %w", err)
	}
	return current, nil
}

// sync is `deck gateway sync` (dry: `deck gateway diff`) of state files.
func (d *deckEngine) sync(dry bool, files ...string) deckRun {
	d.t.Helper()
	run, err := d.trySync(dry, files...)
	if err != nil {
		d.t.Fatalf("sync (dry=%v): %v\n%s", dry, err, run)
	}
	return run
}

func (d *deckEngine) trySync(dry bool, files ...string) (deckRun, error) {
	ctx := context.Background()
	content, err := file.GetContentFromFiles(files, false)
	if err != nil {
		return deckRun{}, fmt.Errorf("reading state files: %w", err)
	}
	var mu sync.Mutex
	var log strings.Builder
	printer := func(a ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(&log, a...)
	}
	// A workspace the file names but the gateway lacks is created by a
	// sync (and announced by a diff), from an empty current state.
	exists, err := d.workspaceExists(content.Workspace)
	if err != nil {
		return deckRun{}, fmt.Errorf("checking workspace %q: %w", content.Workspace, err)
	}
	client := d.client(content.Workspace)
	current, target, err := d.states(ctx, client, content, exists)
	if err != nil {
		return deckRun{}, err
	}
	if !exists {
		printer("Creating workspace", content.Workspace)
		if !dry {
			if _, err := d.root.Workspaces.Create(ctx, &kong.Workspace{Name: &content.Workspace}); err != nil {
				return deckRun{}, fmt.Errorf("creating workspace %q: %w", content.Workspace, err)
			}
		}
	}
	syncer, err := diff.NewSyncer(diff.SyncerOpts{
		CurrentState: current, TargetState: target, KongClient: client,
		NoMaskValues: true, SilenceWarnings: true,
		CreatePrintln: printer, UpdatePrintln: printer, DeletePrintln: printer,
	})
	if err != nil {
		return deckRun{}, err
	}
	stats, errs, _ := syncer.Solve(ctx, 10, dry, false)
	run := deckRun{
		creates: int(stats.CreateOps.Count()), updates: int(stats.UpdateOps.Count()),
		deletes: int(stats.DeleteOps.Count()), log: log.String(),
	}
	if errs != nil {
		return run, utils.ErrArray{Errors: errs}
	}
	return run, nil
}

// states are the current state (the workspace's, within the file's
// select_tags; empty when the workspace does not exist yet) and the target
// state the file describes.
func (d *deckEngine) states(ctx context.Context, client *kong.Client, content *file.Content, exists bool) (*state.KongState, *state.KongState, error) {
	var selectTags []string
	if content.Info != nil {
		selectTags = content.Info.SelectorTags
	}
	cfg := d.dumpConfig(selectTags)
	current, err := state.NewKongState()
	if err != nil {
		return nil, nil, err
	}
	if exists {
		if current, err = d.currentState(ctx, client, cfg); err != nil {
			return nil, nil, err
		}
	}
	version, err := utils.ParseKongVersion(d.version)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing Kong version %q: %w", d.version, err)
	}
	raw, err := file.Get(ctx, content, file.RenderConfig{CurrentState: current, KongVersion: version}, cfg, client)
	if err != nil {
		return nil, nil, fmt.Errorf("building the target state: %w", err)
	}
	target, err := state.Get(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("indexing the target state: %w", err)
	}
	return current, target, nil
}

// validateOnline is `deck gateway validate --online`: every entity of the
// file posted to /schemas/{entity}/validate (decK's validate package). It
// returns the entities Portico refused.
func (d *deckEngine) validateOnline(path string) []string {
	d.t.Helper()
	ctx := context.Background()
	content, err := file.GetContentFromFiles([]string{path}, false)
	if err != nil {
		d.t.Fatal(err)
	}
	client := d.client(content.Workspace)
	_, target, err := d.states(ctx, client, content, true)
	if err != nil {
		d.t.Fatal(err)
	}
	collections := map[string]any{
		// basicauth_credentials are left out: go-kong's BasicAuthOptions
		// sends a "SkipHash": null that Kong refuses as an unknown field too.
		"acls":            target.ACLGroups,
		"ca_certificates": target.CACertificates, "certificates": target.Certificates,
		"consumers": target.Consumers, "hmacauth_credentials": target.HMACAuths,
		"jwt_secrets": target.JWTAuths, "keyauth_credentials": target.KeyAuths,
		"plugins": target.Plugins, "routes": target.Routes, "snis": target.SNIs,
		"keys": target.Keys, "key_sets": target.KeySets,
		"services": target.Services, "targets": target.Targets, "upstreams": target.Upstreams,
	}
	var refused []string
	for name, collection := range collections {
		all, err := utils.CallGetAll(collection)
		if err != nil {
			d.t.Fatal(err)
		}
		for i := range all.Len() {
			entity := all.Index(i).Interface()
			req, err := client.NewRequest("POST", "/schemas/"+name+"/validate", nil, entity)
			if err != nil {
				d.t.Fatal(err)
			}
			if _, err := client.Do(ctx, req, nil); err != nil {
				body, _ := json.Marshal(entity)
				refused = append(refused, fmt.Sprintf("%s %s: %v", name, body, err))
			}
		}
	}
	return refused
}

// dump is `deck gateway dump --workspace ws -o file`: a workspace's state
// ("" the default one) written as a decK file, which names the workspace.
func (d *deckEngine) dump(name, workspace string, selectTags []string) string {
	d.t.Helper()
	ctx := context.Background()
	if exists, err := d.workspaceExists(workspace); err != nil || !exists {
		d.t.Fatalf("workspace %q does not exist (%v)", workspace, err)
	}
	current, err := d.currentState(ctx, d.client(workspace), d.dumpConfig(selectTags))
	if err != nil {
		d.t.Fatal(err)
	}
	path := filepath.Join(d.dir, name)
	err = file.KongStateToFile(current, file.WriteConfig{
		SelectTags: selectTags, Workspace: workspace, Filename: path, FileFormat: file.YAML, KongVersion: d.version,
	})
	if err != nil {
		d.t.Fatalf("dumping: %v", err)
	}
	return path
}

// dumpAll is `deck gateway dump --all-workspaces`: a file per workspace,
// named after it.
func (d *deckEngine) dumpAll() map[string]string {
	d.t.Helper()
	workspaces, err := d.root.Workspaces.ListAll(context.Background())
	if err != nil {
		d.t.Fatalf("listing workspaces: %v", err)
	}
	files := map[string]string{}
	for _, ws := range workspaces {
		files[*ws.Name] = d.dump(*ws.Name+".yaml", *ws.Name, nil)
	}
	return files
}

// wantNoChanges fails when a diff finds anything to do.
func wantNoChanges(t *testing.T, what string, run deckRun) {
	t.Helper()
	if run.total() != 0 {
		t.Fatalf("%s: %s", what, run)
	}
}

// wantCleanDump fails when the diff of a dump finds anything to do but
// decK's own echo of key sets: a dump that exports ids (decK's does when
// the gateway holds basic-auth credentials) writes a key's whole key set
// into its `set`, name and tags included, which decK then reads as changes
// to the key against the gateway's `set: {id}` (Kong answers the same).
func wantCleanDump(t *testing.T, what string, run deckRun) {
	t.Helper()
	echo := map[string]bool{`+    "name": "signing"`: true, `+    "tags": [`: true, `+      "managed-by-deck",`: true,
		`+      "env-test"`: true, `+    ]`: true}
	keys := strings.Count(run.log, "updating key ")
	for _, line := range strings.Split(run.log, "\n") {
		// Changed lines, not a PEM block's dashes.
		if (strings.HasPrefix(line, "+ ") || strings.HasPrefix(line, "- ")) && !echo[line] {
			keys = -1
		}
	}
	if run.creates != 0 || run.deletes != 0 || run.updates != keys {
		t.Fatalf("%s: %s", what, run)
	}
}

// deckStateTemplate is a realistic decK state file: every entity decK
// manages on open-source Kong, with the shapes that tend to diff (regex
// paths, header maps, nested plugins, health checks, certificates).
const deckStateTemplate = `_format_version: "3.0"
{{- if .Workspace}}
_workspace: {{.Workspace}}
{{- end}}
{{- if .SelectTags}}
_info:
  select_tags:
{{- range .SelectTags}}
  - {{.}}
{{- end}}
{{- end}}
services:
- name: orders
  url: http://orders.internal:8080/api
  retries: 3
  connect_timeout: 5000
  tags: [team-orders]
  routes:
  - name: order-by-id
    paths: ['~/v1/orders/(?<id>\d+)$']
    methods: [GET, DELETE]
    hosts: [api.example.com, '*.example.org']
    headers:
      x-version: ["1", "2"]
      x-client: ["~*^mobile-(ios|android)$"]
    strip_path: false
    regex_priority: 10
    tags: [team-orders]
    plugins:
    - name: request-transformer
      config:
        add:
          headers: ["x-from:portico"]
        remove:
          querystring: [debug]
  - name: orders-list
    paths: [/v1/orders]
    methods: [GET, POST]
    protocols: [https]
    https_redirect_status_code: 301
  plugins:
  - name: key-auth
    config:
      key_names: [apikey, x-api-key]
      hide_credentials: true
  - name: rate-limiting
    config:
      minute: 100
      hour: 1000
      policy: local
      limit_by: consumer
- name: billing
  host: billing-upstream
  port: 80
  protocol: http
  path: /billing
  read_timeout: 30000
  plugins:
  - name: rate-limiting
    config:
      minute: 60
      policy: redis
      redis_host: redis.legacy
      redis_port: 6380
      redis_timeout: 1000
  routes:
  - name: billing
    paths: [/billing]
    plugins:
    - name: acl
      config:
        allow: [billing, admins]
        hide_groups_header: true
- name: certified
  protocol: https
  host: certified.internal
  port: 443
  tls_verify: true
  client_certificate: {{.CertID}}
  ca_certificates: [{{.CAID}}]
- name: zoo
  url: https://zoo.internal:8443/v2
  enabled: false
  write_timeout: 15000
  tags: [zoo]
  plugins:
  - name: jwt
    config:
      claims_to_verify: [exp]
      key_claim_name: iss
  - name: http-log
    config:
      http_endpoint: http://logs.internal:9000/bulk
      method: PUT
      headers:
        x-log-source: portico
      queue:
        max_batch_size: 50
        max_coalescing_delay: 2
  - name: prometheus
    config:
      per_consumer: true
      status_code_metrics: true
  - name: response-ratelimiting
    config:
      limits:
        sms:
          minute: 10
      policy: local
  routes:
  - name: zoo
    paths: [/zoo]
    protocols: [https]
    snis: [api.example.com]
    request_buffering: false
    plugins:
    - name: ip-restriction
      config:
        allow: [10.0.0.0/8, 192.168.1.1]
        status: 403
        message: not from here
    - name: response-transformer
      config:
        remove:
          headers: [x-powered-by]
        add:
          json: ["source:portico"]
    - name: proxy-cache
      config:
        strategy: memory
        content_type: [application/json]
        cache_ttl: 30
    - name: bot-detection
      config:
        deny: [curl]
    - name: request-size-limiting
      config:
        allowed_payload_size: 10
        size_unit: megabytes
    - name: rate-limiting
      config:
        second: 10
        policy: redis
        redis:
          host: redis.internal
          port: 6379
          timeout: 2000
    - name: hmac-auth
      config:
        enforce_headers: [date]
        algorithms: [hmac-sha256]
    - name: file-log
      config:
        path: /tmp/zoo.log
        reopen: true
  - name: zoo-grpc
    paths: [/zoo.Greeter/]
    protocols: [grpc, grpcs]
upstreams:
- name: hashed
  algorithm: consistent-hashing
  hash_on: header
  hash_on_header: x-user
  hash_fallback: ip
  host_header: backend.internal
  healthchecks:
    threshold: 25
- name: billing-upstream
  algorithm: least-connections
  slots: 1000
  healthchecks:
    active:
      type: http
      http_path: /health
      timeout: 2
      concurrency: 5
      healthy:
        interval: 5
        successes: 2
        http_statuses: [200, 302]
      unhealthy:
        interval: 5
        http_failures: 3
        tcp_failures: 2
        timeouts: 2
    passive:
      healthy:
        successes: 5
      unhealthy:
        http_failures: 5
        tcp_failures: 2
  targets:
  - target: 10.0.0.1:8080
    weight: 100
  - target: 10.0.0.2:8080
    weight: 50
    tags: [canary]
  - target: 10.0.0.3:8000
  - target: '[2001:db8::1]:8080'
  - target: backend.internal:9000
    weight: 0
consumers:
- username: alice
  custom_id: alice-1
  tags: [vip]
  keyauth_credentials:
  - key: alice-secret-key
  basicauth_credentials:
  - username: alice
    password: alice-password
  acls:
  - group: billing
  jwt_secrets:
  - key: alice-issuer
    algorithm: HS256
    secret: alice-jwt-secret
  plugins:
  - name: rate-limiting
    config:
      second: 5
      policy: local
- custom_id: carol-7
  hmacauth_credentials:
  - username: carol
    secret: carol-hmac-secret
  jwt_secrets:
  - key: carol-issuer
    algorithm: HS512
    secret: carol-jwt-secret
- username: bob
  keyauth_credentials:
  - key: bob-secret-key
    tags: [rotated]
  acls:
  - group: admins
plugins:
- name: cors
  config:
    origins: ["https://app.example.com"]
    methods: [GET, POST]
    headers: [Authorization, Content-Type]
    credentials: true
    max_age: 3600
- name: correlation-id
  config:
    header_name: X-Request-ID
    generator: uuid
certificates:
- id: {{.CertID}}
  cert: |
{{.Cert}}
  key: |
{{.Key}}
  snis:
  - name: api.example.com
  - name: '*.example.org'
ca_certificates:
- id: {{.CAID}}
  cert: |
{{.CA}}
key_sets:
- name: signing
keys:
- name: signing-jwk
  kid: jwk-1
  jwk: '{{.JWK}}'
  set:
    name: signing
- name: signing-pem
  kid: pem-1
  set:
    name: signing
  pem:
    private_key: |
{{.KeyPrivate}}
    public_key: |
{{.KeyPublic}}
`

// deckState renders the state file for a workspace ("": none named);
// selectTags adds _info.select_tags. Ids are global in Kong, so the
// certificates' fixed ids differ per workspace.
func deckState(t *testing.T, workspace string, selectTags ...string) string {
	t.Helper()
	certPEM, keyPEM := selfSignedPEM(t, "api.example.com", false)
	caPEM, _ := selfSignedPEM(t, "Portico Test CA", true)
	indent := func(s string) string {
		return "    " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n    ")
	}
	jwk, private, public := signingKeys(t)
	indent6 := func(s string) string {
		return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ")
	}
	h := fnv.New64a()
	h.Write([]byte(workspace))
	suffix := fmt.Sprintf("%012x", h.Sum64()&0xffffffffffff)
	var b bytes.Buffer
	err := template.Must(template.New("state").Parse(deckStateTemplate)).Execute(&b, map[string]any{
		"Workspace":  workspace,
		"SelectTags": selectTags,
		"CertID":     "6f2ed4c3-5c39-4bd1-9c55-" + suffix,
		"CAID":       "0b8e3a2f-7f4e-4e6b-a1f4-" + suffix,
		"Cert":       indent(certPEM), "Key": indent(keyPEM), "CA": indent(caPEM),
		"JWK": jwk, "KeyPrivate": indent6(private), "KeyPublic": indent6(public),
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// signingKeys makes the file's keys: an EC public key as a JWK (kid
// jwk-1), and another EC key pair in PEM.
func signingKeys(t *testing.T) (jwk, private, public string) {
	t.Helper()
	a, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	raw, _ := json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "kid": "jwk-1", "use": "sig",
		"x": b64(a.X.FillBytes(make([]byte, 32))), "y": b64(a.Y.FillBytes(make([]byte, 32)))})
	b, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	privDER, _ := x509.MarshalPKCS8PrivateKey(b)
	pubDER, _ := x509.MarshalPKIXPublicKey(&b.PublicKey)
	return string(raw), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))
}

// deckHeader starts a state file for a workspace ("": none named).
func deckHeader(workspace string) string {
	h := "_format_version: \"3.0\"\n"
	if workspace != "" {
		h += "_workspace: " + workspace + "\n"
	}
	return h
}

// selfSignedPEM makes a certificate (a CA one with ca) and its key.
func selfSignedPEM(t *testing.T, cn string, ca bool) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		DNSNames:     []string{cn},
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

// deckStateEntities is how many entities deckState holds: 3 services,
// 4 routes, 6 plugins on routes/services/consumers + 2 global, 1 upstream,
// 2 targets, 2 consumers, 2 key-auth, 1 basic-auth, 2 acls, 1 jwt,
// 1 certificate, 2 SNIs, 1 CA certificate, 1 key set with 2 keys, and a
// rate-limiting plugin written with Kong's pre-3.6 flat redis_* fields.
const deckStateEntities = 3 + 3 + 5 + 2 + 1 + 2 + 2 + 2 + 1 + 2 + 1 + 1 + 2 + 1 + 3 + 1 +
	zooEntities

// zooEntities are the rest of the file: a service with its 2 routes and 12
// plugins (those that run on Portico: session and grpc-web do not yet), a hashed upstream, a consumer with a hmac-auth and a jwt
// credential, and 3 more targets (the default port, IPv6, a name; decK does not add a missing port as Kong does).
const zooEntities = 1 + 2 + 12 + 1 + 1 + 2 + 3

// decK's sync, diff and dump, through its own engine, against the real
// binary, as Kong OSS, as Kong Enterprise, and in a workspace the file names:
// a sync leaves nothing to diff, a dump diffs clean, hand-made drift is found
// and repaired, select_tags bounds what is managed, an empty file deletes
// everything. In a workspace, decK creates it, the default workspace is left
// alone, and another workspace holds the same names independently.
func TestDeck(t *testing.T) {
	for _, mode := range deckModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGateway(t, mode.settings...)
			d := newDeckEngine(t, g)
			ws := mode.workspace
			// at is an Admin API path in the mode's workspace.
			at := func(path string) string {
				if ws == "" {
					return path
				}
				return "/" + ws + path
			}
			full := d.writeFile("kong.yaml", deckState(t, ws))
			if ws != "" {
				// Something decK must leave alone in the default workspace.
				wantStatus(t, g.postJSON("/services", map[string]any{"name": "orders", "url": "http://default.internal"}), 201)
			}

			t.Run("sync into an empty gateway", func(t *testing.T) {
				d := d.withT(t)
				if ws != "" {
					wantStatus(t, g.get(at("/services")), 404)
					announced := d.sync(true, full)
					if !strings.Contains(announced.log, "Creating workspace "+ws) {
						t.Errorf("diff does not announce the workspace:\n%s", announced.log)
					}
					wantStatus(t, g.get(at("/services")), 404)
				}
				run := d.sync(false, full)
				if run.creates != deckStateEntities || run.updates != 0 || run.deletes != 0 {
					t.Fatalf("first sync: %s", run)
				}
				wantNoChanges(t, "diff after sync", d.sync(true, full))
				// The flat redis_* fields went into config.redis, and are echoed.
				var legacy map[string]any
				for _, p := range g.get(at("/services/billing/plugins")).body["data"].([]any) {
					legacy = p.(map[string]any)["config"].(map[string]any)
				}
				redis, _ := legacy["redis"].(map[string]any)
				if redis["host"] != "redis.legacy" || redis["port"] != 6380.0 || redis["timeout"] != 1000.0 ||
					legacy["redis_host"] != "redis.legacy" || legacy["redis_port"] != 6380.0 || legacy["redis_database"] != 0.0 {
					t.Errorf("billing's rate-limiting config: %v", legacy)
				}
			})

			t.Run("validate online", func(t *testing.T) {
				d := d.withT(t)
				for _, refused := range d.validateOnline(full) {
					t.Error(refused)
				}
			})

			t.Run("a second sync is a no-op", func(t *testing.T) {
				d := d.withT(t)
				wantNoChanges(t, "second sync", d.sync(false, full))
			})

			t.Run("dump diffs clean", func(t *testing.T) {
				d := d.withT(t)
				dumped := d.dump("dump.yaml", ws, nil)
				wantCleanDump(t, "diff of the dump", d.sync(true, dumped))
				raw, _ := os.ReadFile(dumped)
				for _, want := range []string{"order-by-id", `~/v1/orders/(?<id>\d+)$`, "alice-secret-key",
					"billing-upstream", "10.0.0.2:8080", "api.example.com", "request-transformer",
					"signing-jwk", "kid: pem-1", "BEGIN PUBLIC KEY"} {
					if !bytes.Contains(raw, []byte(want)) {
						t.Errorf("dump lacks %q:\n%s", want, raw)
					}
				}
				if ws != "" && !bytes.Contains(raw, []byte("_workspace: "+ws)) {
					t.Errorf("dump does not name its workspace:\n%s", raw)
				}
			})

			if ws != "" {
				t.Run("the default workspace is untouched", func(t *testing.T) {
					services := g.get("/services").body["data"].([]any)
					if len(services) != 1 || services[0].(map[string]any)["host"] != "default.internal" {
						t.Errorf("default workspace's services: %v", services)
					}
					for _, path := range []string{"/routes", "/consumers", "/plugins", "/upstreams", "/certificates"} {
						if n := len(g.get(path).body["data"].([]any)); n != 0 {
							t.Errorf("default workspace %s holds %d rows", path, n)
						}
					}
					if g.get(at("/services/orders")).body["id"] == g.get("/services/orders").body["id"] {
						t.Error("one service row answers in both workspaces")
					}
				})

				t.Run("another workspace holds the same names", func(t *testing.T) {
					d := d.withT(t)
					other := d.writeFile("team-b.yaml", deckState(t, "team-b"))
					run := d.sync(false, other)
					if run.creates != deckStateEntities || run.total() != run.creates {
						t.Fatalf("sync into team-b: %s", run)
					}
					wantNoChanges(t, "diff of team-b", d.sync(true, other))
					wantNoChanges(t, "diff of "+ws+" after team-b's sync", d.sync(true, full))
					for _, path := range []string{"/services/orders", "/routes/order-by-id", "/consumers/alice", "/upstreams/hashed"} {
						a, b := g.get(at(path)), g.get("/team-b"+path)
						wantStatus(t, a, 200)
						wantStatus(t, b, 200)
						if a.body["id"] == b.body["id"] {
							t.Errorf("%s: one row in both workspaces", path)
						}
					}
					// decK's --all-workspaces dump: a file per workspace, each
					// diffing clean against its own workspace.
					files := d.dumpAll()
					if len(files) != 3 {
						t.Errorf("dumped workspaces: %v", files)
					}
					for name, f := range files {
						wantCleanDump(t, "diff of the dump of "+name, d.sync(true, f))
					}
					// Emptying team-b leaves the others as they were.
					run = d.sync(false, d.writeFile("team-b-empty.yaml", deckHeader("team-b")))
					if run.deletes != deckStateEntities || run.total() != run.deletes {
						t.Fatalf("emptying team-b: %s", run)
					}
					wantNoChanges(t, "diff of "+ws+" after emptying team-b", d.sync(true, full))
					wantStatus(t, g.get("/services/orders"), 200)
				})
			}

			t.Run("drift is found and repaired", func(t *testing.T) {
				d := d.withT(t)
				wantStatus(t, g.sendJSON("PATCH", at("/routes/order-by-id"), map[string]any{"methods": []string{"GET"}}), 200)
				keys := g.get(at("/consumers/bob/key-auth"))
				wantStatus(t, keys, 200)
				bobKey := keys.body["data"].([]any)[0].(map[string]any)["id"].(string)
				wantStatus(t, g.do("DELETE", at("/consumers/bob/key-auth/"+bobKey), "", ""), 204)
				wantStatus(t, g.postJSON(at("/consumers"), map[string]any{"username": "stray"}), 201)
				var corsID string
				for _, p := range g.get(at("/plugins")).body["data"].([]any) {
					if p := p.(map[string]any); p["name"] == "cors" {
						corsID = p["id"].(string)
					}
				}
				wantStatus(t, g.sendJSON("PATCH", at("/plugins/"+corsID), map[string]any{"config": map[string]any{"max_age": 10}}), 200)

				found := d.sync(true, full)
				if found.creates != 1 || found.updates != 2 || found.deletes != 1 {
					t.Fatalf("diff of the drift: %s", found)
				}
				// decK names a key-auth credential by the key's last characters.
				for _, want := range []string{"route order-by-id", "key-auth t-key for consumer bob", "consumer stray",
					"plugin cors (global)", `-    "max_age": 10`} {
					if !strings.Contains(found.log, want) {
						t.Errorf("diff does not name %q:\n%s", want, found.log)
					}
				}
				repaired := d.sync(false, full)
				if repaired.total() != 4 {
					t.Fatalf("repairing sync: %s", repaired)
				}
				wantNoChanges(t, "diff after repair", d.sync(true, full))
				wantStatus(t, g.get(at("/consumers/stray")), 404)
				if r := g.get(at("/routes/order-by-id")); fmt.Sprint(r.body["methods"]) != "[GET DELETE]" {
					t.Errorf("route's methods after repair: %s", r.raw)
				}
			})

			t.Run("an empty file deletes everything", func(t *testing.T) {
				d := d.withT(t)
				empty := d.writeFile("empty.yaml", deckHeader(ws))
				run := d.sync(false, empty)
				if run.deletes != deckStateEntities || run.creates != 0 || run.updates != 0 {
					t.Fatalf("sync of an empty file: %s", run)
				}
				for _, path := range []string{"/services", "/routes", "/plugins", "/consumers", "/upstreams",
					"/certificates", "/snis", "/ca_certificates", "/key-auths", "/acls", "/keys", "/key-sets"} {
					r := g.get(at(path))
					wantStatus(t, r, 200)
					if n := len(r.body["data"].([]any)); n != 0 {
						t.Errorf("%s still holds %d rows: %s", path, n, r.raw)
					}
				}
				wantNoChanges(t, "diff after deleting", d.sync(true, empty))
				if ws != "" {
					wantStatus(t, g.get("/services/orders"), 200)
				}
			})

			t.Run("select_tags limits what is managed", func(t *testing.T) {
				d := d.withT(t)
				// Entities decK does not manage: untagged, and tagged otherwise.
				wantStatus(t, g.postJSON(at("/services"), map[string]any{"name": "unmanaged", "url": "http://u.internal"}), 201)
				wantStatus(t, g.postJSON(at("/consumers"), map[string]any{"username": "other-team", "tags": []string{"team-b"}}), 201)

				tagged := d.writeFile("tagged.yaml", deckState(t, ws, "managed-by-deck", "env-test"))
				run := d.sync(false, tagged)
				if run.creates != deckStateEntities || run.total() != run.creates {
					t.Fatalf("tagged sync: %s", run)
				}
				wantNoChanges(t, "diff of the tagged file", d.sync(true, tagged))
				// Every managed entity carries both tags.
				r := g.get(at("/services?tags=managed-by-deck,env-test"))
				if n := len(r.body["data"].([]any)); n != 4 {
					t.Errorf("services with both tags: %d: %s", n, r.raw)
				}
				// The dump with the tags is the managed part only, and diffs clean.
				dumped := d.dump("tagged-dump.yaml", ws, []string{"managed-by-deck", "env-test"})
				raw, _ := os.ReadFile(dumped)
				if bytes.Contains(raw, []byte("unmanaged")) || bytes.Contains(raw, []byte("other-team")) {
					t.Errorf("tagged dump holds unmanaged entities:\n%s", raw)
				}
				wantCleanDump(t, "diff of the tagged dump", d.sync(true, dumped))

				// An empty tagged file deletes the managed entities only.
				emptyTagged := d.writeFile("empty-tagged.yaml",
					deckHeader(ws)+"_info:\n  select_tags: [managed-by-deck, env-test]\n")
				run = d.sync(false, emptyTagged)
				if run.deletes != deckStateEntities || run.total() != run.deletes {
					t.Fatalf("sync of an empty tagged file: %s", run)
				}
				wantStatus(t, g.get(at("/services/unmanaged")), 200)
				wantStatus(t, g.get(at("/consumers/other-team")), 200)
			})
		})
	}
}

// TestDeckScale times a sync of a generated configuration into an empty
// gateway, the no-op second sync and a dump. PORTICO_DECK_SCALE=1000 sets
// the number of entities (roughly); it does not run otherwise.
func TestDeckScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("PORTICO_DECK_SCALE"))
	if n <= 0 {
		t.Skip("set PORTICO_DECK_SCALE=<entities> to time decK on a large configuration")
	}
	mode := deckModes[0]
	g := startGateway(t, mode.settings...)
	d := newDeckEngine(t, g)
	content, entities := deckScaleState(n)
	path := d.writeFile("scale.yaml", content)

	start := time.Now()
	run := d.sync(false, path)
	syncTime := time.Since(start)
	if run.creates != entities {
		t.Fatalf("sync created %d of %d entities", run.creates, entities)
	}
	start = time.Now()
	again := d.sync(false, path)
	noopTime := time.Since(start)
	wantNoChanges(t, "second sync", again)
	start = time.Now()
	d.dump("scale-dump.yaml", "", nil)
	dumpTime := time.Since(start)
	t.Logf("embedded store, %d entities: sync %v (%.0f entities/s), no-op sync %v, dump %v",
		entities, syncTime.Round(time.Millisecond), float64(entities)/syncTime.Seconds(),
		noopTime.Round(time.Millisecond), dumpTime.Round(time.Millisecond))

	// DB-less, the same file goes in whole, as the Kong Ingress Controller
	// sends it (go-kong's ReloadDeclarativeRawConfig, POST /config); decK's
	// diff against it then finds nothing to do.
	dbless := startGateway(t, append(slices.Clone(mode.settings), "KONG_DATABASE=off")...)
	dl := newDeckEngine(t, dbless)
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(content), &doc); err != nil {
		t.Fatal(err)
	}
	body, err := json.Marshal(doc) // go-kong sends the configuration as JSON
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	if err := dl.root.ReloadDeclarativeRawConfig(context.Background(), bytes.NewReader(body), true, false); err != nil {
		t.Fatalf("POST /config: %v", err)
	}
	loadTime := time.Since(start)
	start = time.Now()
	wantNoChanges(t, "diff against the DB-less node", dl.sync(true, path))
	diffTime := time.Since(start)
	t.Logf("DB-less, %d entities: POST /config %v, decK diff %v", entities,
		loadTime.Round(time.Millisecond), diffTime.Round(time.Millisecond))
}

// deckScaleState generates about n entities: per 1,000, 200 services each
// with a route and a rate-limiting plugin (600) and 200 consumers each with a
// key-auth credential (400). It returns the file and the exact count.
func deckScaleState(n int) (string, int) {
	services, consumers := n/5, n/5
	var b strings.Builder
	b.WriteString("_format_version: \"3.0\"\nservices:\n")
	for i := range services {
		// Addresses, not names: a name the resolver cannot answer holds a
		// DB-less load for the resolver's timeout (new names are resolved
		// before a configuration goes live), which is not what is timed.
		fmt.Fprintf(&b, "- name: svc-%d\n  url: http://10.0.%d.%d:8080/\n  routes:\n  - name: route-%d\n    paths: [/svc-%d]\n"+
			"  plugins:\n  - name: rate-limiting\n    config:\n      minute: %d\n      policy: local\n", i, i/250, i%250+1, i, i, 60+i)
	}
	b.WriteString("consumers:\n")
	for i := range consumers {
		fmt.Fprintf(&b, "- username: user-%d\n  keyauth_credentials:\n  - key: key-%d\n", i, i)
	}
	return b.String(), services*3 + consumers*2
}
