package entities

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"

	"github.com/portico-gw/portico/schema"
)

// b64 is a JWK member's encoding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkOf renders a JWK with the given members as the JSON string Kong stores.
func jwkOf(t *testing.T, members map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// publicPEM is a key's public half as a PEM PUBLIC KEY block.
func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestKeySets(t *testing.T) {
	got := mustPrepare(t, KeySets(), map[string]any{"name": "signing"})
	wantFields(t, got, map[string]any{"id": testID, "name": "signing", "tags": nil,
		"created_at": float64(testNow), "updated_at": float64(testNow)})
	e := KeySets()
	if e.Path() != "key-sets" || e.EndpointKey != "name" || !e.Field("name").Unique {
		t.Errorf("key sets: path %q, endpoint key %q", e.Path(), e.EndpointKey)
	}
	// Kong's name is a plain string: spaces are allowed.
	mustPrepare(t, KeySets(), map[string]any{"name": "my signing keys"})
	mustPrepare(t, KeySets(), map[string]any{})
}

func TestKeys(t *testing.T) {
	certFixtures(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaPub := map[string]any{"kty": "RSA", "kid": "rsa-1", "alg": "RS256", "use": "sig",
		"n": b64(rsaKey.N.Bytes()), "e": b64(big.NewInt(int64(rsaKey.E)).Bytes())}
	rsaPriv := map[string]any{"d": b64(rsaKey.D.Bytes()), "p": b64(rsaKey.Primes[0].Bytes()),
		"q": b64(rsaKey.Primes[1].Bytes())}
	for k, v := range rsaPub {
		rsaPriv[k] = v
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecPub := map[string]any{"kty": "EC", "kid": "ec-1", "crv": "P-384",
		"x": b64(ec.X.FillBytes(make([]byte, 48))), "y": b64(ec.Y.FillBytes(make([]byte, 48)))}
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	okp := map[string]any{"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(edPub)}
	with := func(base map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for key, val := range base {
			out[key] = val
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	ecPEM := map[string]any{"private_key": fixtures.ecdsa.key, "public_key": publicPEM(t, fixtures.ecdsa.pub)}

	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, Keys(), map[string]any{"name": "rsa", "kid": "rsa-1", "jwk": jwkOf(t, rsaPub)})
		wantFields(t, got, map[string]any{"id": testID, "set": nil, "name": "rsa", "kid": "rsa-1", "jwk": jwkOf(t, rsaPub),
			"pem": nil, "tags": nil, "created_at": float64(testNow), "updated_at": float64(testNow)})
		e := Keys()
		if e.Field("set").OnDelete != "cascade" || e.Field("set").Reference != KeySetsName || !e.Field("name").Unique {
			t.Error("keys: set must cascade from key_sets, name must be unique")
		}
		if strings.Join(e.CacheKey, ",") != "kid,set" || !e.Field("jwk").Encrypted ||
			!e.Field("pem").Field("private_key").Encrypted || !e.Field("pem").Field("public_key").Referenceable {
			t.Error("keys: cache key kid+set, jwk and private keys encrypted, keys referenceable")
		}
	})
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"rsa public jwk", map[string]any{"kid": "rsa-1", "jwk": jwkOf(t, rsaPub)}},
		{"rsa private jwk in a set", map[string]any{"kid": "rsa-1", "jwk": jwkOf(t, rsaPriv), "set": ref(testID2)}},
		{"ec jwk", map[string]any{"kid": "ec-1", "jwk": jwkOf(t, ecPub)}},
		{"okp jwk with x5t", map[string]any{"kid": "ed-1", "jwk": jwkOf(t, with(okp, "x5t", "dGh1bWI"))}},
		{"pem pair", map[string]any{"kid": "pem-1", "pem": ecPEM}},
		{"pem public only", map[string]any{"kid": "pem-2", "pem": map[string]any{"public_key": publicPEM(t, fixtures.rsa.pub)}}},
		{"pem private only", map[string]any{"kid": "pem-3", "pem": map[string]any{"private_key": fixtures.rsa.key}}},
		{"jwk reference", map[string]any{"kid": "ref", "jwk": "{vault://env/jwk}"}},
		{"pem reference", map[string]any{"kid": "ref", "pem": map[string]any{"private_key": "{vault://env/key}", "public_key": publicPEM(t, fixtures.rsa.pub)}}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPrepare(t, Keys(), tc.in) })
	}

	entityErr := func(msg string) schema.Errors { return schema.Errors{"@entity": []string{msg}} }
	runInvalid(t, Keys, []invalidCase{
		{"no kid", map[string]any{"jwk": jwkOf(t, rsaPub)}, schema.Errors{"kid": "required field missing"}},
		{"neither jwk nor pem", map[string]any{"kid": "k"},
			entityErr("at least one of these fields must be non-empty: 'jwk', 'pem'")},
		{"both jwk and pem", map[string]any{"kid": "rsa-1", "jwk": jwkOf(t, rsaPub), "pem": ecPEM},
			entityErr("only one or none of these fields must be set: 'jwk', 'pem'")},
		{"jwk not json", map[string]any{"kid": "k", "jwk": "{nope"}, entityErr(msgJWKNotJSON)},
		{"kid mismatch", map[string]any{"kid": "other", "jwk": jwkOf(t, rsaPub)}, entityErr(msgJWKKidMismatch)},
		// Kong's spec: a JWK with a kid alone is no key.
		{"kid only", map[string]any{"kid": "36", "jwk": `{"kid": "36"}`}, entityErr(msgJWKNotLoaded)},
		{"symmetric", map[string]any{"kid": "s", "jwk": `{"kid": "s", "kty": "oct", "k": "c2VjcmV0"}`}, entityErr(msgJWKNotLoaded)},
		{"ec point off the curve", map[string]any{"kid": "ec-1", "jwk": jwkOf(t, with(ecPub, "y", b64(make([]byte, 48))))},
			entityErr(msgJWKNotLoaded)},
		{"rsa private key not matching", map[string]any{"kid": "rsa-1", "jwk": jwkOf(t, with(rsaPriv, "d", b64([]byte{7})))},
			entityErr(msgJWKNotLoaded)},
		{"jwk member not a string", map[string]any{"kid": "ed-1", "jwk": jwkOf(t, with(okp, "use", 1.0))},
			entityErr("use: expected a string")},
		{"empty pem", map[string]any{"kid": "k", "pem": map[string]any{}},
			schema.Errors{"pem": "at least one of these fields must be non-empty: 'private_key', 'public_key'"}},
		{"pem public key not a key", map[string]any{"kid": "k", "pem": map[string]any{"public_key": "nope"}},
			schema.Errors{"pem": "could not load public key"}},
		{"pem private key given as public", map[string]any{"kid": "k", "pem": map[string]any{"public_key": fixtures.rsa.key}},
			schema.Errors{"pem": "could not load public key"}},
		{"pem pair not matching", map[string]any{"kid": "k", "pem": map[string]any{"private_key": fixtures.rsa.key,
			"public_key": publicPEM(t, fixtures.ecdsa.pub)}}, schema.Errors{"pem": "public key does not match private key"}},
	})
}
