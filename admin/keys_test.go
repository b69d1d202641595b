package admin

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
)

// TestKeysEndpoints: keys and key sets are served as Kong 3.9 serves them
// (spec/02-integration/04-admin_api/21-admin-api-keys_spec.lua): /key-sets,
// /keys, /key-sets/{set}/keys, a JWK and a PEM key in a set, bad keys
// refused as schema violations, a deleted set taking its keys with it.
func TestKeysEndpoints(t *testing.T) {
	h := newHarness(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	b64 := base64.RawURLEncoding.EncodeToString
	jwk, _ := json.Marshal(map[string]any{"kty": "EC", "crv": "P-256", "kid": "jwk-1",
		"x": b64(ec.X.FillBytes(make([]byte, 32))), "y": b64(ec.Y.FillBytes(make([]byte, 32)))})
	privDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	pubDER, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}))
	pubPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}))

	set := h.mustCreate("/key-sets", map[string]any{"name": "signing"})
	h.mustCreate("/keys", map[string]any{"name": "unique jwk key", "set": ref(set["id"]), "kid": "jwk-1", "jwk": string(jwk)})
	pemKey := h.mustCreate("/key-sets/signing/keys", map[string]any{"name": "unique pem key", "kid": "pem-1",
		"pem": map[string]any{"private_key": privPEM, "public_key": pubPEM}})
	h.mustCreate("/keys", map[string]any{"name": "no set", "kid": "pem-2", "pem": map[string]any{"public_key": pubPEM}})
	if s, _ := pemKey["set"].(map[string]any); s["id"] != set["id"] {
		t.Errorf("key created under its set: %s", js(pemKey))
	}

	runAPICases(t, h, []apiCase{
		{"invalid JWK", "POST", "/keys", map[string]any{"name": "jwk invalid", "kid": "36", "jwk": `{"kid": "36"}`},
			400, "schema violation (could not load JWK, likely not a valid key)"},
		{"kid mismatch", "POST", "/keys", map[string]any{"kid": "other", "jwk": string(jwk)},
			400, "schema violation (kid in jwk.kid must be equal to keys.kid)"},
		{"jwk and pem", "POST", "/keys", map[string]any{"kid": "jwk-1", "jwk": string(jwk), "pem": map[string]any{"public_key": pubPEM}},
			400, "schema violation (only one or none of these fields must be set: 'jwk', 'pem')"},
		{"duplicate name", "POST", "/keys", map[string]any{"name": "no set", "kid": "pem-3", "pem": map[string]any{"public_key": pubPEM}},
			409, nil},
		{"duplicate kid in one set", "POST", "/key-sets/signing/keys", map[string]any{"kid": "pem-1", "pem": map[string]any{"public_key": pubPEM}},
			409, nil},
		{"same kid in no set", "POST", "/keys", map[string]any{"kid": "pem-1", "pem": map[string]any{"public_key": pubPEM}}, 201, nil},
		{"by name", "GET", "/keys/unique%20pem%20key", nil, 200, nil},
		{"rename", "PATCH", "/keys/unique%20pem%20key", map[string]any{"name": "changeme_pem"}, 200, nil},
		{"set by name", "GET", "/key-sets/signing", nil, 200, nil},
	})

	count := func(path string) int {
		data, _ := h.get(path).want(t, 200).obj(t)["data"].([]any)
		return len(data)
	}
	if n := count("/key-sets/signing/keys"); n != 2 {
		t.Errorf("keys in the set: %d, want 2", n)
	}
	if n := count("/keys"); n != 4 {
		t.Errorf("keys: %d, want 4", n)
	}
	h.call("DELETE", "/key-sets/"+set["id"].(string), nil).want(t, 204)
	if n := count("/keys"); n != 2 {
		t.Errorf("keys after deleting their set: %d, want 2", n)
	}
	if n := count("/key-sets"); n != 0 {
		t.Errorf("key sets: %d, want 0", n)
	}
}
