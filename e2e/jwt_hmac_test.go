package e2e

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"
)

// signToken makes a JWT with claims, signed with alg and key (a []byte
// secret or an RSA private key), as a client library would.
func signToken(t *testing.T, alg string, claims jwtlib.MapClaims, key any) string {
	t.Helper()
	s, err := jwtlib.NewWithClaims(jwtlib.GetSigningMethod(alg), claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Consumers get jwt credentials through the Admin API as Kong's
// documentation shows, sign tokens with them, and the jwt plugin lets them
// through the proxy or answers Kong's 401s.
func TestJWTWithCurl(t *testing.T) {
	upstream := echoUpstream(t)
	g := startGateway(t)
	admin := g.adminURL

	g.curlCreate("/consumers", "username=alice", "custom_id=a-1")
	g.curlCreate("/consumers", "username=anon")
	hs := g.curlDo(t, 201, "-X", "POST", admin("/consumers/alice/jwt"), "-d", "key=alice-issuer", "-d", "secret=alice-secret")
	// A credential whose key and secret the gateway generates.
	generated := g.curlDo(t, 201, "-X", "POST", admin("/consumers/alice/jwt"))
	genKey, _ := generated.body["key"].(string)
	genSecret, _ := generated.body["secret"].(string)
	if genKey == "" || genSecret == "" || generated.body["algorithm"] != "HS256" {
		t.Fatalf("generated credential %s", generated.raw)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	pemFile := filepath.Join(t.TempDir(), "public.pem")
	os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	g.curlDo(t, 201, "-X", "POST", admin("/consumers/alice/jwt"), "-F", "algorithm=RS256", "-F", "key=alice-rsa",
		"-F", "rsa_public_key=@"+pemFile)

	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/routes", "name=jwt", "paths[]=/jwt")
	g.curlCreate("/services/svc/routes", "name=open", "paths[]=/open")
	g.curlCreate("/routes/jwt/plugins", "name=jwt", "config.claims_to_verify[]=exp", "config.realm=portico",
		"config.cookie_names[]=session")
	g.curlCreate("/routes/open/plugins", "name=jwt", "config.anonymous=anon")
	g.waitProxy("/jwt", "", 401)
	g.waitProxy("/open", "", 200)

	exp := time.Now().Add(time.Hour).Unix()
	token := signToken(t, "HS256", jwtlib.MapClaims{"iss": "alice-issuer", "exp": exp}, []byte("alice-secret"))

	t.Run("refusals", func(t *testing.T) {
		r := g.curlDo(t, 401, g.proxyURL("/jwt"))
		if string(r.raw) != `{"message":"Unauthorized"}` || r.header.Get("WWW-Authenticate") != `Bearer realm="portico"` {
			t.Errorf("%s, WWW-Authenticate %q", r.raw, r.header.Get("WWW-Authenticate"))
		}
		for _, c := range []struct{ name, token, body string }{
			{"not a token", "nope", `{"message":"Bad token; invalid JSON"}`},
			{"wrong secret", signToken(t, "HS256", jwtlib.MapClaims{"iss": "alice-issuer", "exp": exp}, []byte("guess")), `{"message":"Invalid signature"}`},
			{"unknown issuer", signToken(t, "HS256", jwtlib.MapClaims{"iss": "mallory", "exp": exp}, []byte("x")), `{"message":"No credentials found for given 'iss'"}`},
			{"no issuer", signToken(t, "HS256", jwtlib.MapClaims{"exp": exp}, []byte("x")), `{"message":"No mandatory 'iss' in claims"}`},
			{"another algorithm", signToken(t, "HS512", jwtlib.MapClaims{"iss": "alice-issuer", "exp": exp}, []byte("alice-secret")), `{"message":"Invalid algorithm"}`},
			{"expired", signToken(t, "HS256", jwtlib.MapClaims{"iss": "alice-issuer", "exp": time.Now().Unix() - 5}, []byte("alice-secret")), `{"exp":"token expired"}`},
			{"no exp", signToken(t, "HS256", jwtlib.MapClaims{"iss": "alice-issuer"}, []byte("alice-secret")), `{"exp":"must be a number"}`},
		} {
			r := g.curlDo(t, 401, g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+c.token)
			if string(r.raw) != c.body || r.header.Get("WWW-Authenticate") != `Bearer realm="portico" error="invalid_token"` {
				t.Errorf("%s: %s, WWW-Authenticate %q", c.name, r.raw, r.header.Get("WWW-Authenticate"))
			}
		}
		other := signToken(t, "HS256", jwtlib.MapClaims{"iss": "alice-issuer", "exp": exp + 1}, []byte("alice-secret"))
		r = g.curlDo(t, 401, g.proxyURL("/jwt?jwt="+other), "-H", "Authorization: Bearer "+token)
		wantFields(t, r.body, map[string]any{"message": "Multiple tokens provided"})
	})

	t.Run("HS256 in the Authorization header", func(t *testing.T) {
		r := g.curlDo(t, 200, g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+token)
		wantFields(t, r.body, map[string]any{"x-consumer-username": "alice", "x-consumer-custom-id": "a-1",
			"x-consumer-id": hs.body["consumer"].(map[string]any)["id"], "x-credential-identifier": "alice-issuer",
			"authorization": "Bearer " + token})
		if _, anon := r.body["x-anonymous-consumer"]; anon {
			t.Error("an authenticated request is marked anonymous")
		}
	})

	t.Run("in the query and in a cookie", func(t *testing.T) {
		r := g.curlDo(t, 200, g.proxyURL("/jwt?jwt="+token))
		wantFields(t, r.body, map[string]any{"x-credential-identifier": "alice-issuer"})
		r = g.curlDo(t, 200, g.proxyURL("/jwt"), "--cookie", "session="+token)
		wantFields(t, r.body, map[string]any{"x-credential-identifier": "alice-issuer"})
	})

	t.Run("a generated credential", func(t *testing.T) {
		tok := signToken(t, "HS256", jwtlib.MapClaims{"iss": genKey, "exp": exp}, []byte(genSecret))
		r := g.curlDo(t, 200, g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+tok)
		wantFields(t, r.body, map[string]any{"x-credential-identifier": genKey})
	})

	t.Run("RS256", func(t *testing.T) {
		tok := signToken(t, "RS256", jwtlib.MapClaims{"iss": "alice-rsa", "exp": exp}, rsaKey)
		r := g.curlDo(t, 200, g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+tok)
		wantFields(t, r.body, map[string]any{"x-credential-identifier": "alice-rsa", "x-consumer-username": "alice"})
		other, _ := rsa.GenerateKey(rand.Reader, 2048)
		r = g.curlDo(t, 401, g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+signToken(t, "RS256", jwtlib.MapClaims{"iss": "alice-rsa", "exp": exp}, other))
		wantFields(t, r.body, map[string]any{"message": "Invalid signature"})
	})

	t.Run("anonymous", func(t *testing.T) {
		r := g.curlDo(t, 200, g.proxyURL("/open"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "anon", "x-anonymous-consumer": "true"})
		r = g.curlDo(t, 200, g.proxyURL("/open"), "-H", "Authorization: Bearer "+token)
		wantFields(t, r.body, map[string]any{"x-consumer-username": "alice"})
	})

	t.Run("a deleted credential stops working", func(t *testing.T) {
		g.curlDo(t, 204, "-X", "DELETE", admin("/consumers/alice/jwt/alice-issuer"))
		if !pollFor(5*time.Second, func() bool {
			return g.withT(t).cli("curl", "-si", g.proxyURL("/jwt"), "-H", "Authorization: Bearer "+token).status == 401
		}) {
			t.Fatal("the token still works after its credential was deleted")
		}
	})
}

// hmacSignature is the base64 HMAC-SHA256 of a signing string.
func hmacSignature(secret, signing string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Consumers get hmac-auth credentials with curl, sign requests as Kong's
// documentation shows, and hmac-auth lets them through or answers Kong's
// 401s.
func TestHMACAuthWithCurl(t *testing.T) {
	upstream := echoUpstream(t)
	g := startGateway(t)
	admin := g.adminURL

	g.curlCreate("/consumers", "username=bob")
	g.curlCreate("/consumers", "username=anon")
	cred := g.curlDo(t, 201, "-X", "POST", admin("/consumers/bob/hmac-auth"), "-d", "username=bob-hmac", "-d", "secret=bob-secret")
	if cred.body["username"] != "bob-hmac" {
		t.Fatalf("credential %s", cred.raw)
	}
	g.curlCreate("/services", "name=svc", "url="+upstream.URL)
	g.curlCreate("/services/svc/routes", "name=signed", "paths[]=/signed")
	g.curlCreate("/services/svc/routes", "name=body", "paths[]=/body")
	g.curlCreate("/services/svc/routes", "name=open", "paths[]=/open")
	g.curlCreate("/routes/signed/plugins", "name=hmac-auth", "config.hide_credentials=true", "config.realm=portico",
		"config.enforce_headers[]=date", "config.algorithms[]=hmac-sha256")
	g.curlCreate("/routes/body/plugins", "name=hmac-auth", "config.validate_request_body=true")
	g.curlCreate("/routes/open/plugins", "name=hmac-auth", "config.anonymous=anon")
	g.waitProxy("/signed", "", 401)
	g.waitProxy("/body", "", 401)
	g.waitProxy("/open", "", 200)

	date := time.Now().UTC().Format(http.TimeFormat)
	auth := func(headers, signing string) string {
		return `hmac username="bob-hmac", algorithm="hmac-sha256", headers="` + headers + `", signature="` + hmacSignature("bob-secret", signing) + `"`
	}

	t.Run("refusals", func(t *testing.T) {
		r := g.curlDo(t, 401, g.proxyURL("/signed"), "-H", "Date: "+date)
		wantFields(t, r.body, map[string]any{"message": "Unauthorized"})
		if r.header.Get("WWW-Authenticate") != `hmac realm="portico"` || r.body["request_id"] == nil {
			t.Errorf("%s, WWW-Authenticate %q", r.raw, r.header.Get("WWW-Authenticate"))
		}
		r = g.curlDo(t, 401, g.proxyURL("/signed"), "-H", "Authorization: "+auth("date", "date: "+date))
		wantFields(t, r.body, map[string]any{"message": "HMAC signature cannot be verified, a valid date or x-date header is required for HMAC Authentication"})
		r = g.curlDo(t, 401, g.proxyURL("/signed"), "-H", "Date: "+date, "-H", "Authorization: "+auth("date", "date: yesterday"))
		wantFields(t, r.body, map[string]any{"message": "HMAC signature does not match"})
		r = g.curlDo(t, 401, g.proxyURL("/signed"), "-H", "Date: "+date, "-H", `Authorization: hmac username="nobody", algorithm="hmac-sha256", headers="date", signature="AAAA"`)
		wantFields(t, r.body, map[string]any{"message": "HMAC signature cannot be verified"})
		// enforce_headers: date must be signed; algorithms: only hmac-sha256.
		r = g.curlDo(t, 401, g.proxyURL("/signed"), "-H", "Date: "+date, "-H", "X-Thing: 1", "-H", "Authorization: "+auth("x-thing", "x-thing: 1"))
		wantFields(t, r.body, map[string]any{"message": "HMAC signature cannot be verified"})
	})

	t.Run("a signed request", func(t *testing.T) {
		signing := "date: " + date + "\n@request-target: get /signed?page=2\nGET /signed?page=2 HTTP/1.1"
		r := g.curlDo(t, 200, g.proxyURL("/signed?page=2"), "-H", "Date: "+date,
			"-H", "Authorization: "+auth("date @request-target request-line", signing))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob", "x-credential-identifier": "bob-hmac", "_query": "page=2"})
		if _, seen := r.body["authorization"]; seen {
			t.Error("hide_credentials: the upstream saw Authorization")
		}
	})

	t.Run("a body with its digest", func(t *testing.T) {
		body := `{"amount":10}`
		sum := sha256.Sum256([]byte(body))
		digest := "SHA-256=" + base64.StdEncoding.EncodeToString(sum[:])
		signing := "x-date: " + date + "\ndigest: " + digest
		g.curlDo(t, 200, "-X", "POST", g.proxyURL("/body"), "-H", "X-Date: "+date, "-H", "Digest: "+digest,
			"-H", "Content-Type: application/json", "-H", "Authorization: "+auth("x-date digest", signing), "--data", body)
		r := g.curlDo(t, 401, "-X", "POST", g.proxyURL("/body"), "-H", "X-Date: "+date, "-H", "Digest: "+digest,
			"-H", "Content-Type: application/json", "-H", "Authorization: "+auth("x-date digest", signing), "--data", `{"amount":1000}`)
		wantFields(t, r.body, map[string]any{"message": "HMAC signature does not match"})
		if r.header.Get("WWW-Authenticate") != "hmac" {
			t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		r := g.curlDo(t, 200, g.proxyURL("/open"))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "anon", "x-anonymous-consumer": "true"})
		r = g.curlDo(t, 200, g.proxyURL("/open"), "-H", "Date: "+date, "-H", "Authorization: "+auth("date", "date: "+date))
		wantFields(t, r.body, map[string]any{"x-consumer-username": "bob", "x-credential-identifier": "bob-hmac"})
	})
}
