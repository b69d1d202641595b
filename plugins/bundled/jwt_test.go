package bundled

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/plugins"
)

// authTestData is a plugins.Data over rows in memory.
type authTestData struct {
	rows    map[string][]map[string]any
	err     error
	lookups int
}

func (d *authTestData) Lookup(entity, field, value, ws string) (map[string]any, error) {
	d.lookups++
	if d.err != nil {
		return nil, d.err
	}
	for _, r := range d.rows[entity] {
		if v, _ := r[field].(string); v == value {
			return r, nil
		}
	}
	return nil, nil
}

func (d *authTestData) Find(entity, field, value string) ([]map[string]any, error) { return nil, d.err }

// authContext is a plugin context for a request as a client sends it.
func signedContext(method, uri string, headers map[string]string, body string, data plugins.Data) *plugins.Context {
	var ctx fasthttp.RequestCtx
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.Header.SetRequestURI(uri)
	req.Header.SetHost("example.com")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if body != "" {
		req.SetBodyString(body)
	}
	ctx.Init(&req, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}, nil)
	c := &plugins.Context{Ctx: &ctx, Request: &ctx.Request, Response: &ctx.Response, Shared: map[string]any{},
		Route: plugins.Ref{ID: "r1", Row: map[string]any{"id": "r1"}}}
	if data != nil {
		c.Data = data
	}
	return c
}

// The consumers of the tests.
var (
	consumerAlice = map[string]any{"id": "8a4e9c2e-3f5b-4f7a-9d51-0c1e2b3a4d5f", "username": "alice", "custom_id": "a-1"}
	consumerAnon  = map[string]any{"id": "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "username": "no-body"}
)

// testKeys are keys for every asymmetric algorithm, made once.
var testKeys = sync.OnceValue(func() map[string]crypto.Signer {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	return map[string]crypto.Signer{"RS": rsaKey, "PS": rsaKey, "ES256": p256, "ES384": p384, "ES512": p521, "EdDSA": ed}
})

func signerFor(alg string) crypto.Signer {
	if k, ok := testKeys()[alg]; ok {
		return k
	}
	return testKeys()[alg[:2]]
}

func publicPEM(t testing.TB, k crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// signJWT makes a token of claims signed with alg: an HS secret, or the
// test key of the algorithm.
func signJWT(t testing.TB, alg string, claims map[string]any, secret string) string {
	t.Helper()
	var key any = []byte(secret)
	if !strings.HasPrefix(alg, "HS") {
		key = signerFor(alg)
	}
	s, err := jwtlib.NewWithClaims(jwtlib.GetSigningMethod(alg), jwtlib.MapClaims(claims)).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rawJWT assembles a token from JSON parts, base64url-encoded.
func rawJWT(header, claims, sig string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "." + sig
}

func jwtData(t testing.TB) *authTestData {
	creds := []map[string]any{
		{"id": "c-hs256", "key": "hs256-key", "secret": "hs256-secret", "algorithm": "HS256", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-default", "key": "default-key", "secret": "default-secret", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-hs384", "key": "hs384-key", "secret": "hs384-secret", "algorithm": "HS384", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-hs512", "key": "hs512-key", "secret": "hs512-secret", "algorithm": "HS512", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-b64", "key": "b64-key", "secret": base64.RawURLEncoding.EncodeToString([]byte("raw secret bytes")), "algorithm": "HS256", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-notb64", "key": "notb64-key", "secret": "not base64!", "algorithm": "HS256", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-orphan", "key": "orphan-key", "secret": "s", "algorithm": "HS256", "consumer": map[string]any{"id": "0d9f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}},
		{"id": "c-es-nokey", "key": "es-nokey", "algorithm": "ES256", "consumer": map[string]any{"id": consumerAlice["id"]}},
		{"id": "c-badpem", "key": "badpem-key", "algorithm": "RS256", "rsa_public_key": "not a key", "consumer": map[string]any{"id": consumerAlice["id"]}},
	}
	for _, alg := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		creds = append(creds, map[string]any{"id": "c-" + alg, "key": alg + "-key", "algorithm": alg,
			"rsa_public_key": publicPEM(t, signerFor(alg)), "consumer": map[string]any{"id": consumerAlice["id"]}})
	}
	return &authTestData{rows: map[string][]map[string]any{
		"jwt_secrets": creds,
		"consumers":   {consumerAlice, consumerAnon},
	}}
}

func TestJWTAccess(t *testing.T) {
	data := jwtData(t)
	now := time.Now().Unix()
	hs := func(claims map[string]any) string { return signJWT(t, "HS256", claims, "hs256-secret") }
	valid := hs(map[string]any{"iss": "hs256-key"})
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
	const invalidToken = `Bearer error="invalid_token"`
	tests := []struct {
		name    string
		conf    map[string]any
		method  string
		uri     string
		headers map[string]string
		status  int    // 0: authenticated
		body    string // the exact answer
		www     string // WWW-Authenticate
	}{
		{"no token", nil, "", "/", nil, 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"no token, realm", map[string]any{"realm": "kong"}, "", "/", nil, 401, `{"message":"Unauthorized"}`, `Bearer realm="kong"`},
		{"a header without Bearer", nil, "", "/", map[string]string{"Authorization": "Basic abc"}, 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"bad token, realm", map[string]any{"realm": "test-jwt"}, "", "/", bearer("x.y.z"), 401, `{"message":"Bad token; invalid JSON"}`, `Bearer realm="test-jwt" error="invalid_token"`},
		{"no key claim", nil, "", "/", bearer(hs(map[string]any{"sub": "x"})), 401, `{"message":"No mandatory 'iss' in claims"}`, invalidToken},
		{"empty key claim", nil, "", "/", bearer(hs(map[string]any{"iss": ""})), 401, `{"message":"Invalid 'iss' in claims"}`, invalidToken},
		{"a key claim that is not a string", nil, "", "/", bearer(hs(map[string]any{"iss": 12})), 401, `{"message":"No credentials found for given 'iss'"}`, invalidToken},
		{"unknown key", nil, "", "/", bearer(hs(map[string]any{"iss": "nobody"})), 401, `{"message":"No credentials found for given 'iss'"}`, invalidToken},
		{"wrong secret", nil, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "hs256-key"}, "other")), 401, `{"message":"Invalid signature"}`, invalidToken},
		{"algorithm of another credential", nil, "", "/", bearer(signJWT(t, "HS512", map[string]any{"iss": "hs256-key"}, "hs256-secret")), 401, `{"message":"Invalid algorithm"}`, invalidToken},
		{"no dots", nil, "", "/", bearer("abc"), 401, `{"message":"Bad token; invalid JSON"}`, invalidToken},
		{"header not JSON", nil, "", "/", bearer(rawJWT("{", `{"iss":"hs256-key"}`, "")), 401, `{"message":"Bad token; invalid JSON"}`, invalidToken},
		{"alg none", nil, "", "/", bearer(rawJWT(`{"alg":"none"}`, `{"iss":"hs256-key"}`, "")), 401, `{"message":"Bad token; invalid alg"}`, invalidToken},
		{"alg not a string", nil, "", "/", bearer(rawJWT(`{"alg":256}`, `{"iss":"hs256-key"}`, "")), 401, `{"message":"Bad token; invalid alg"}`, invalidToken},
		{"header an array", nil, "", "/", bearer(rawJWT(`["HS256"]`, `{"iss":"hs256-key"}`, "")), 401, `{"message":"Bad token; invalid alg"}`, invalidToken},
		{"claims false", nil, "", "/", bearer(rawJWT(`{"alg":"HS256"}`, `false`, "")), 401, `{"message":"Bad token; invalid claims"}`, invalidToken},
		{"signature not base64url", nil, "", "/", bearer(rawJWT(`{"alg":"HS256"}`, `{"iss":"hs256-key"}`, "a+b/")), 401, `{"message":"Bad token; invalid signature"}`, invalidToken},
		{"a fourth part", nil, "", "/", bearer(valid + ".more"), 401, `{"message":"Bad token; invalid signature"}`, invalidToken},
		{"two different tokens", nil, "", "/?jwt=" + valid, bearer(hs(map[string]any{"iss": "hs256-key", "x": 1})), 401, `{"message":"Multiple tokens provided"}`, invalidToken},
		{"the same token twice", nil, "", "/?jwt=" + valid, bearer(valid), 0, "", ""},
		{"a query argument without value", nil, "", "/?jwt", nil, 401, `{"message":"Unrecognizable token"}`, invalidToken},
		{"an empty query argument", nil, "", "/?jwt=", nil, 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"expired", map[string]any{"claims_to_verify": []any{"exp"}}, "", "/", bearer(hs(map[string]any{"iss": "hs256-key", "exp": now - 10})), 401, `{"exp":"token expired"}`, invalidToken},
		{"not yet valid", map[string]any{"claims_to_verify": []any{"nbf"}}, "", "/", bearer(hs(map[string]any{"iss": "hs256-key", "nbf": now + 100})), 401, `{"nbf":"token not valid yet"}`, invalidToken},
		{"claims to verify missing", map[string]any{"claims_to_verify": []any{"exp", "nbf"}}, "", "/", bearer(valid), 401, `{"exp":"must be a number","nbf":"must be a number"}`, invalidToken},
		{"exp a string", map[string]any{"claims_to_verify": []any{"exp"}}, "", "/", bearer(hs(map[string]any{"iss": "hs256-key", "exp": "soon"})), 401, `{"exp":"must be a number"}`, invalidToken},
		{"valid exp and nbf", map[string]any{"claims_to_verify": []any{"exp", "nbf"}}, "", "/", bearer(hs(map[string]any{"iss": "hs256-key", "exp": now + 100, "nbf": now - 100})), 0, "", ""},
		{"beyond the maximum expiration", map[string]any{"claims_to_verify": []any{"exp"}, "maximum_expiration": float64(60)}, "", "/",
			bearer(hs(map[string]any{"iss": "hs256-key", "exp": now + 3600})), 401, `{"exp":"exceeds maximum allowed expiration"}`, invalidToken},
		{"within the maximum expiration", map[string]any{"claims_to_verify": []any{"exp"}, "maximum_expiration": float64(3600)}, "", "/",
			bearer(hs(map[string]any{"iss": "hs256-key", "exp": now + 60})), 0, "", ""},
		{"base64 secret", map[string]any{"secret_is_base64": true}, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "b64-key"}, "raw secret bytes")), 0, "", ""},
		{"base64 secret used raw", nil, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "b64-key"}, "raw secret bytes")), 401, `{"message":"Invalid signature"}`, invalidToken},
		{"a secret that is not base64", map[string]any{"secret_is_base64": true}, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "notb64-key"}, "not base64!")), 401, `{"message":"Invalid key/secret"}`, invalidToken},
		{"ES256 without a public key", nil, "", "/", bearer(signJWT(t, "ES256", map[string]any{"iss": "es-nokey"}, "")), 401, `{"message":"Invalid key/secret"}`, invalidToken},
		{"a credential without consumer", nil, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "orphan-key"}, "s")), 401, `{"message":"Could not find consumer for 'iss=orphan-key'"}`, ""},
		{"key in another claim", map[string]any{"key_claim_name": "kid"}, "", "/", bearer(hs(map[string]any{"kid": "hs256-key"})), 0, "", ""},
		{"key in the token's header", map[string]any{"key_claim_name": "kid"}, "", "/", bearer(func() string {
			tk := jwtlib.NewWithClaims(jwtlib.SigningMethodHS256, jwtlib.MapClaims{"sub": "x"})
			tk.Header["kid"] = "hs256-key"
			s, _ := tk.SignedString([]byte("hs256-secret"))
			return s
		}()), 0, "", ""},
		{"no key in another claim", map[string]any{"key_claim_name": "kid"}, "", "/", bearer(valid), 401, `{"message":"No mandatory 'kid' in claims"}`, invalidToken},
		{"a credential without algorithm is HS256", nil, "", "/", bearer(signJWT(t, "HS256", map[string]any{"iss": "default-key"}, "default-secret")), 0, "", ""},
		{"token in the query", nil, "", "/?a=1&jwt=" + valid, nil, 0, "", ""},
		{"token in a custom query argument", map[string]any{"uri_param_names": []any{"token"}}, "", "/?token=" + valid, nil, 0, "", ""},
		{"token in a cookie", map[string]any{"cookie_names": []any{"crumble", "silly"}}, "", "/", map[string]string{"Cookie": "silly=" + valid}, 0, "", ""},
		{"cookie of another name", map[string]any{"cookie_names": []any{"crumble"}}, "", "/", map[string]string{"Cookie": "other=" + valid}, 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"token in a custom header", map[string]any{"header_names": []any{"CustomAuthorization"}}, "", "/", map[string]string{"CustomAuthorization": "bearer " + valid}, 0, "", ""},
		{"custom header named with underscores", map[string]any{"header_names": []any{"custom_authorization"}}, "", "/", map[string]string{"Custom-Authorization": "Bearer " + valid}, 0, "", ""},
		{"Authorization not among the headers", map[string]any{"header_names": []any{"x-token"}}, "", "/", bearer(valid), 401, `{"message":"Unauthorized"}`, "Bearer"},
		{"preflight skipped", map[string]any{"run_on_preflight": false}, "OPTIONS", "/", nil, 0, "", ""},
		{"preflight checked", nil, "OPTIONS", "/", nil, 401, `{"message":"Unauthorized"}`, "Bearer"},
	}
	for _, algorithm := range []string{"HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
		key, secret := algorithm+"-key", ""
		if strings.HasPrefix(algorithm, "HS") {
			key, secret = strings.ToLower(algorithm)+"-key", strings.ToLower(algorithm)+"-secret"
		}
		tests = append(tests,
			struct {
				name    string
				conf    map[string]any
				method  string
				uri     string
				headers map[string]string
				status  int
				body    string
				www     string
			}{algorithm, nil, "", "/", bearer(signJWT(t, algorithm, map[string]any{"iss": key}, secret)), 0, "", ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := newJWT(tt.conf)
			if err != nil {
				t.Fatal(err)
			}
			method := tt.method
			if method == "" {
				method = "GET"
			}
			c := signedContext(method, tt.uri, tt.headers, "", data)
			if err := h.(plugins.Accessor).Access(c); err != nil {
				t.Fatal(err)
			}
			if tt.status == 0 {
				if c.Exited() {
					t.Fatalf("refused: %d %s", c.Response.StatusCode(), c.Response.Body())
				}
				if tt.method == "OPTIONS" {
					return
				}
				if c.Consumer["id"] != consumerAlice["id"] || c.Credential == nil {
					t.Fatalf("consumer %v, credential %v", c.Consumer, c.Credential)
				}
				return
			}
			if !c.Exited() || c.Response.StatusCode() != tt.status {
				t.Fatalf("exited %v with %d, want %d", c.Exited(), c.Response.StatusCode(), tt.status)
			}
			if got := string(c.Response.Body()); got != tt.body {
				t.Errorf("body %s, want %s", got, tt.body)
			}
			if got := string(c.Response.Header.Peek("WWW-Authenticate")); got != tt.www {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.www)
			}
			if got := string(c.Response.Header.ContentType()); got != jsonContentType {
				t.Errorf("Content-Type %q", got)
			}
			if c.Consumer != nil || c.Shared[jwtTokenKey] != nil {
				t.Errorf("a refused request has consumer %v, token %v", c.Consumer, c.Shared[jwtTokenKey])
			}
		})
	}
}

// An authenticated request carries Kong's consumer headers upstream, and
// the token in Context.Shared.
func TestJWTConsumerHeaders(t *testing.T) {
	h, _ := newJWT(nil)
	tok := signJWT(t, "HS256", map[string]any{"iss": "hs256-key"}, "hs256-secret")
	c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok,
		"X-Anonymous-Consumer": "true", "X-Credential-Identifier": "forged"}, "", jwtData(t))
	if err := h.(plugins.Accessor).Access(c); err != nil || c.Exited() {
		t.Fatalf("err %v, exited %v", err, c.Exited())
	}
	want := map[string]string{"X-Consumer-ID": consumerAlice["id"].(string), "X-Consumer-Username": "alice",
		"X-Consumer-Custom-ID": "a-1", "X-Credential-Identifier": "hs256-key", "X-Anonymous-Consumer": "",
		"Authorization": "Bearer " + tok}
	for k, v := range want {
		if got := string(c.Request.Header.Peek(k)); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if c.Shared[jwtTokenKey] != tok {
		t.Errorf("shared token %v", c.Shared[jwtTokenKey])
	}
	if c.Credential["key"] != "hs256-key" {
		t.Errorf("credential %v", c.Credential)
	}
}

// With anonymous, a failure lets the request through as the anonymous
// consumer (by id or username); a request another plugin authenticated is
// left alone.
func TestJWTAnonymous(t *testing.T) {
	good := signJWT(t, "HS256", map[string]any{"iss": "hs256-key"}, "hs256-secret")
	for _, tt := range []struct {
		name       string
		anonymous  string
		token      string
		already    bool
		status     int
		consumer   any
		anonHeader string
	}{
		{"valid token", consumerAnon["id"].(string), good, false, 0, consumerAlice["id"], ""},
		{"bad token, anonymous by id", consumerAnon["id"].(string), "x.y.z", false, 0, consumerAnon["id"], "true"},
		{"no token, anonymous by username", "no-body", "", false, 0, consumerAnon["id"], "true"},
		{"already authenticated", "no-body", "", true, 0, "other", ""},
		{"anonymous consumer missing", "ghost", "", false, 500, nil, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newJWT(map[string]any{"anonymous": tt.anonymous})
			headers := map[string]string{}
			if tt.token != "" {
				headers["Authorization"] = "Bearer " + tt.token
			}
			c := signedContext("GET", "/", headers, "", jwtData(t))
			if tt.already {
				c.Consumer, c.Credential = map[string]any{"id": "other"}, map[string]any{"id": "k"}
			}
			err := h.(plugins.Accessor).Access(c)
			if tt.status == 500 {
				// The node answers Kong's 500 and logs why.
				if err == nil || err.Error() != "anonymous consumer ghost is configured but doesn't exist" {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Exited() || c.Consumer["id"] != tt.consumer {
				t.Fatalf("exited %v, consumer %v", c.Exited(), c.Consumer)
			}
			if got := string(c.Request.Header.Peek("X-Anonymous-Consumer")); got != tt.anonHeader {
				t.Errorf("X-Anonymous-Consumer %q", got)
			}
			if tt.anonHeader == "true" && (len(c.Request.Header.Peek("X-Credential-Identifier")) > 0 || c.Credential != nil || c.Shared[jwtTokenKey] != nil) {
				t.Errorf("anonymous with a credential")
			}
		})
	}
}

// A stored key that cannot be parsed and a failing store are the node's
// errors (Kong's 500), not the client's.
func TestJWTErrors(t *testing.T) {
	h, _ := newJWT(nil)
	c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + signJWT(t, "RS256", map[string]any{"iss": "badpem-key"}, "")}, "", jwtData(t))
	if err := h.(plugins.Accessor).Access(c); err == nil {
		t.Error("an unreadable public key is no error")
	}
	data := jwtData(t)
	data.err = errors.New("store down")
	c = signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + signJWT(t, "HS256", map[string]any{"iss": "hs256-key"}, "hs256-secret")}, "", data)
	if err := h.(plugins.Accessor).Access(c); err == nil || c.Exited() {
		t.Errorf("a store failure: err %v, exited %v", err, c.Exited())
	}
}

// Keys are parsed once per credential, and again when the credential's
// key changes.
func TestJWTKeyCache(t *testing.T) {
	data := jwtData(t)
	h, _ := newJWT(nil)
	j := h.(*jwtAuth)
	tok := signJWT(t, "RS256", map[string]any{"iss": "RS256-key"}, "")
	for range 3 {
		c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok}, "", data)
		if j.Access(c); c.Exited() {
			t.Fatalf("refused: %s", c.Response.Body())
		}
	}
	e1 := j.keys.get("c-RS256", "RS256", publicPEM(t, signerFor("RS256")), func() *credentialKey { t.Fatal("parsed again"); return nil })
	// A new key for the same credential: the old token no longer verifies.
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, r := range data.rows["jwt_secrets"] {
		if r["id"] == "c-RS256" {
			r["rsa_public_key"] = publicPEM(t, other)
		}
	}
	c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok}, "", data)
	if j.Access(c); !c.Exited() || string(c.Response.Body()) != `{"message":"Invalid signature"}` {
		t.Fatalf("old token with the new key: %s", c.Response.Body())
	}
	if e2 := j.keys.get("c-RS256", "RS256", publicPEM(t, other), nil); e2 == e1 {
		t.Error("the entry was not rebuilt")
	}
}

func TestKeyCacheBounded(t *testing.T) {
	c := newKeyCache()
	for i := range 5000 {
		c.get(strings.Repeat("x", i%7)+string(rune('a'+i%26))+time.Duration(i).String(), "HS256", "s", func() *credentialKey { return &credentialKey{} })
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > keyCacheShards*keyCachePerShard {
		t.Fatalf("%d entries", n)
	}
}

func TestNginxBase64Decode(t *testing.T) {
	for _, tt := range []struct {
		in   string
		url  bool
		want string
		ok   bool
	}{
		{"aGVsbG8", true, "hello", true},
		{"aGVsbG8=", true, "hello", true},
		{"aGVsbG8=ignored!", true, "hello", true},
		{"aGVsbG8", false, "hello", true},
		{"-_-_", true, "\xfb\xff\xbf", true},
		{"-_-_", false, "", false},
		{"+/+/", false, "\xfb\xff\xbf", true},
		{"a", true, "", false},
		{"", true, "", true},
		{"ab\ncd", true, "", false},
	} {
		table := b64Std
		if tt.url {
			table = b64URL
		}
		got, ok := nginxBase64Decode(nil, tt.in, table)
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("%q (url %v): %q %v, want %q %v", tt.in, tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

// kongBearer is Kong's pattern for a token in a header.
var kongBearer = regexp.MustCompile(`\s*[Bb]earer\s+(.+)`)

func TestBearerToken(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Bearer abc", "abc"},
		{"bearer   abc ", "abc "},
		{"Basic x, Bearer abc", "abc"},
		{"Bearer", ""},
		{"Bearer ", ""},
		{"Bearer  ", " "},
		{"BearerX abc", ""},
		{"xBearer\tabc", "abc"},
		{"Bearer\nabc", "abc"},
	} {
		if got := string(bearerToken([]byte(tt.in))); got != tt.want {
			t.Errorf("%q: %q, want %q", tt.in, got, tt.want)
		}
	}
}

// bearerToken finds what Kong's pattern captures.
func FuzzBearerToken(f *testing.F) {
	for _, s := range []string{"Bearer abc", "bearer  ", "x Bearer\t\ty", "Bearer \n a", "BeArer x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want []byte
		if m := kongBearer.FindStringSubmatch(s); m != nil {
			want = []byte(m[1])
		}
		if got := bearerToken([]byte(s)); string(got) != string(want) {
			t.Fatalf("%q: %q, pattern %q", s, got, want)
		}
	})
}

// Any token gets an answer, never a panic or an error.
func FuzzJWTParse(f *testing.F) {
	data := jwtData(f)
	f.Add(signJWT(f, "HS256", map[string]any{"iss": "hs256-key", "exp": 1e10}, "hs256-secret"))
	f.Add(signJWT(f, "ES256", map[string]any{"iss": "ES256-key"}, ""))
	f.Add(rawJWT(`{"alg":"HS256","iss":"hs256-key"}`, `{"iss":1,"exp":"x","nbf":[{}]}`, "AAAA"))
	f.Add(rawJWT(`{"alg":"RS256"}`, `{"iss":"RS256-key"}`, "AAAA"))
	f.Add("a.b.c.d")
	h, _ := newJWT(map[string]any{"claims_to_verify": []any{"exp", "nbf"}, "maximum_expiration": float64(100)})
	f.Fuzz(func(t *testing.T, tok string) {
		var buf jwtBuffers
		parseJWT([]byte(tok), &buf)
		c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok}, "", data)
		if err := h.(plugins.Accessor).Access(c); err != nil {
			t.Fatalf("%q: %v", tok, err)
		}
		if st := c.Response.StatusCode(); c.Exited() && st != 401 {
			t.Fatalf("%q: status %d", tok, st)
		}
	})
}

func TestJSONMember(t *testing.T) {
	doc := []byte(` { "a" : 1, "b":{"x":[1,"}",{"y":null}]}, "c\u0022":"q\"", "d":"v", "d":"last", "e":-1.5e3 } `)
	for _, tt := range []struct {
		name, want string
		found      bool
	}{
		{"a", "1", true}, {"b", `{"x":[1,"}",{"y":null}]}`, true}, {`c"`, `"q\""`, true}, {"d", `"last"`, true},
		{"e", "-1.5e3", true}, {"x", "", false},
	} {
		got, found := jsonMember(doc, tt.name)
		if found != tt.found || string(got) != tt.want {
			t.Errorf("%s: %s %v", tt.name, got, found)
		}
	}
	if _, found := jsonMember([]byte(`[{"a":1}]`), "a"); found {
		t.Error("a member of an array")
	}
	if n, ok := jsonNumber([]byte("1e999")); !ok || n < 1e308 {
		t.Error("a huge number is not a number")
	}
}

// The hot path: a valid HS256 token.
func BenchmarkJWTAccess(b *testing.B) {
	data := jwtData(b)
	h, _ := newJWT(map[string]any{"claims_to_verify": []any{"exp"}})
	tok := signJWT(b, "HS256", map[string]any{"iss": "hs256-key", "exp": time.Now().Unix() + 3600}, "hs256-secret")
	c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok}, "", data)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		c.Consumer, c.Credential = nil, nil
		if a.Access(c); c.Exited() {
			b.Fatal(string(c.Response.Body()))
		}
	}
}

// RS256 verification, for comparison.
func BenchmarkJWTAccessRS256(b *testing.B) {
	data := jwtData(b)
	h, _ := newJWT(nil)
	tok := signJWT(b, "RS256", map[string]any{"iss": "RS256-key"}, "")
	c := signedContext("GET", "/", map[string]string{"Authorization": "Bearer " + tok}, "", data)
	a := h.(plugins.Accessor)
	b.ReportAllocs()
	for b.Loop() {
		if a.Access(c); c.Exited() {
			b.Fatal(string(c.Response.Body()))
		}
	}
}
