package entities

import (
	"regexp"
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestKeyAuthCredentials(t *testing.T) {
	t.Run("a key is generated", func(t *testing.T) {
		got := mustPrepare(t, KeyAuthCredentials(), map[string]any{"consumer": ref(testID2)})
		key, _ := got["key"].(string)
		if !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(key) {
			t.Fatalf("generated key %q", key)
		}
		delete(got, "key")
		wantFields(t, got, map[string]any{"id": testID, "created_at": float64(testNow), "consumer": ref(testID2), "tags": nil})
		other := mustPrepare(t, KeyAuthCredentials(), map[string]any{"consumer": ref(testID2)})
		if other["key"] == key {
			t.Fatal("two generated keys are equal")
		}
	})
	t.Run("a given key is kept", func(t *testing.T) {
		got := mustPrepare(t, KeyAuthCredentials(), map[string]any{"consumer": ref(testID2), "key": "1234", "tags": []any{"a"}})
		if got["key"] != "1234" {
			t.Fatalf("key %v", got["key"])
		}
	})
	runInvalid(t, KeyAuthCredentials, []invalidCase{
		{"no consumer", map[string]any{"key": "1234"}, schema.Errors{"consumer": "required field missing"}},
		{"key type", map[string]any{"consumer": ref(testID2), "key": 123.0}, schema.Errors{"key": "expected a string"}},
		{"empty key", map[string]any{"consumer": ref(testID2), "key": ""}, schema.Errors{"key": "length must be at least 1"}},
		{"unknown field", map[string]any{"consumer": ref(testID2), "password": "x"}, schema.Errors{"password": "unknown field"}},
	})
}

func TestBasicAuthCredentials(t *testing.T) {
	got := mustPrepare(t, BasicAuthCredentials(), map[string]any{"consumer": ref(testID2), "username": "bob", "password": "kong"})
	wantFields(t, got, map[string]any{"id": testID, "created_at": float64(testNow), "consumer": ref(testID2),
		"username": "bob", "password": "kong", "tags": nil})
	runInvalid(t, BasicAuthCredentials, []invalidCase{
		{"nothing", map[string]any{"consumer": ref(testID2)},
			schema.Errors{"username": "required field missing", "password": "required field missing"}},
		{"username type", map[string]any{"consumer": ref(testID2), "username": true, "password": "x"}, schema.Errors{"username": "expected a string"}},
	})
}

// TestHashBasicAuthPassword pins Kong's stored form: hex SHA-1 of the
// password followed by the consumer id, whitespace kept
// (spec/03-plugins/10-basic-auth/01-crypto_spec.lua).
func TestHashBasicAuthPassword(t *testing.T) {
	for _, tc := range []struct{ consumer, password, want string }{
		// printf 'kong%s' 11111111-1111-1111-1111-111111111111 | sha1sum
		{"11111111-1111-1111-1111-111111111111", "kong", "b59c02a47051f6ccfdd3c5e3971339282c142466"},
		{"11111111-1111-1111-1111-111111111111", " kong ", "cd517f9fdd24d316fb876999f051cc05eac98cb3"},
		{"11111111-1111-1111-1111-111111111111", "", "bbb3d8d61ef6b68186f44149e3aba39e4a3bf32e"},
	} {
		t.Run(tc.password, func(t *testing.T) {
			got := HashBasicAuthPassword(tc.consumer, tc.password)
			if len(got) != BasicAuthHashLen {
				t.Fatalf("hash %q", got)
			}
			if got != tc.want {
				t.Errorf("hash = %s, want %s", got, tc.want)
			}
			if !BasicAuthHashMatches(got, AppendBasicAuthSalted(nil, tc.consumer, tc.password)) {
				t.Error("the password does not match its hash")
			}
			if BasicAuthHashMatches(got, AppendBasicAuthSalted(nil, tc.consumer, tc.password+"x")) {
				t.Error("another password matches")
			}
		})
	}
}

// transformTx is a write whose values are input (or, with raw, stored
// values, as in a declarative file with `_transform: false`).
type transformTx struct {
	schema.WriteTx
	raw bool
}

func (t transformTx) Transform() bool { return !t.raw }

func TestBasicAuthPasswordsHook(t *testing.T) {
	h := basicAuthPasswords{}
	var tx transformTx
	row := map[string]any{"consumer": ref(testID2), "password": "kong"}
	if err := h.BeforeWrite(tx, row, nil); err != nil {
		t.Fatal(err)
	}
	hash := HashBasicAuthPassword(testID2, "kong")
	if row["password"] != hash {
		t.Fatalf("stored %v", row["password"])
	}
	// A PATCH without a password merges the stored hash: kept as it is.
	patched := map[string]any{"consumer": ref(testID2), "password": hash, "username": "new"}
	if err := h.BeforeWrite(tx, patched, row); err != nil || patched["password"] != hash {
		t.Fatalf("rehashed: %v %v", patched["password"], err)
	}
	// A new password is hashed.
	changed := map[string]any{"consumer": ref(testID2), "password": "other"}
	if err := h.BeforeWrite(tx, changed, row); err != nil || changed["password"] != HashBasicAuthPassword(testID2, "other") {
		t.Fatalf("not hashed: %v %v", changed["password"], err)
	}
	// Without transformation the value is the stored hash.
	raw := map[string]any{"consumer": ref(testID2), "password": hash}
	if err := h.BeforeWrite(transformTx{raw: true}, raw, nil); err != nil || raw["password"] != hash {
		t.Fatalf("raw password changed: %v %v", raw["password"], err)
	}
}

func TestACLs(t *testing.T) {
	got := mustPrepare(t, ACLs(), map[string]any{"consumer": ref(testID2), "group": "admin"})
	wantFields(t, got, map[string]any{"id": testID, "created_at": float64(testNow), "consumer": ref(testID2), "group": "admin", "tags": nil})
	runInvalid(t, ACLs, []invalidCase{
		{"no group", map[string]any{"consumer": ref(testID2)}, schema.Errors{"group": "required field missing"}},
		{"group type", map[string]any{"consumer": ref(testID2), "group": 123.0}, schema.Errors{"group": "expected a string"}},
	})
}

func TestHMACAuthCredentials(t *testing.T) {
	got := mustPrepare(t, HMACAuthCredentials(), map[string]any{"consumer": ref(testID2), "username": "bob"})
	if s, _ := got["secret"].(string); len(s) != 32 {
		t.Fatalf("generated secret %q", s)
	}
	kept := mustPrepare(t, HMACAuthCredentials(), map[string]any{"consumer": ref(testID2), "username": "bob", "secret": "s3cr3t"})
	if kept["secret"] != "s3cr3t" {
		t.Fatalf("secret %v", kept["secret"])
	}
	runInvalid(t, HMACAuthCredentials, []invalidCase{
		{"no username", map[string]any{"consumer": ref(testID2)}, schema.Errors{"username": "required field missing"}},
	})
}

func TestJWTSecrets(t *testing.T) {
	certFixtures(t)
	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, JWTSecrets(), map[string]any{"consumer": ref(testID2)})
		for _, f := range []string{"key", "secret"} {
			if s, _ := got[f].(string); len(s) != 32 {
				t.Errorf("generated %s %q", f, s)
			}
		}
		if got["algorithm"] != "HS256" || got["rsa_public_key"] != nil {
			t.Errorf("algorithm %v, rsa_public_key %v", got["algorithm"], got["rsa_public_key"])
		}
	})
	t.Run("keys", func(t *testing.T) {
		for _, key := range []string{fixtures.rsa.cert, fixtures.rsa.key, fixtures.ecdsa.key} {
			mustPrepare(t, JWTSecrets(), map[string]any{"consumer": ref(testID2), "algorithm": "RS256", "rsa_public_key": key})
		}
		// ES* need no key in Kong 3.9.
		mustPrepare(t, JWTSecrets(), map[string]any{"consumer": ref(testID2), "algorithm": "ES256"})
	})
	conditional := []string{"failed conditional validation given value of field 'algorithm'"}
	runInvalid(t, JWTSecrets, []invalidCase{
		{"RS256 without a key", map[string]any{"consumer": ref(testID2), "key": "bob5", "algorithm": "RS256"},
			schema.Errors{"rsa_public_key": "required field missing", "@entity": conditional}},
		{"RS256 with a bad key", map[string]any{"consumer": ref(testID2), "key": "bob5", "algorithm": "RS256", "rsa_public_key": "test"},
			schema.Errors{"rsa_public_key": "invalid key", "@entity": conditional}},
		{"EdDSA without a key", map[string]any{"consumer": ref(testID2), "algorithm": "EdDSA"},
			schema.Errors{"rsa_public_key": "required field missing", "@entity": conditional}},
		{"unknown algorithm", map[string]any{"consumer": ref(testID2), "algorithm": "none"},
			schema.Errors{"algorithm": "expected one of: HS256, HS384, HS512, RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA"}},
	})
}

func TestCredentialEndpoints(t *testing.T) {
	for _, tc := range []struct {
		e            *schema.Entity
		path, nested string
	}{
		{KeyAuthCredentials(), "key-auths", "key-auth"},
		{BasicAuthCredentials(), "basic-auths", "basic-auth"},
		{ACLs(), "acls", "acls"},
		{JWTSecrets(), "jwts", "jwt"},
		{HMACAuthCredentials(), "hmac-auths", "hmac-auth"},
	} {
		if tc.e.Path() != tc.path || tc.e.NestedPath() != tc.nested || !tc.e.Workspaceable {
			t.Errorf("%s: %s, %s, workspaceable %v", tc.e.Name, tc.e.Path(), tc.e.NestedPath(), tc.e.Workspaceable)
		}
		if f := tc.e.Field("consumer"); f == nil || f.OnDelete != "cascade" || f.Reference != "consumers" || !f.Required {
			t.Errorf("%s: consumer %+v", tc.e.Name, f)
		}
	}
}
