package entities

import (
	"strings"
	"testing"

	"github.com/portico-gw/portico/schema"
)

func TestCertificates(t *testing.T) {
	certFixtures(t)
	rsaPair, ecPair, ec2 := fixtures.rsa, fixtures.ecdsa, fixtures.ecdsa2

	t.Run("defaults", func(t *testing.T) {
		got := mustPrepare(t, Certificates(), map[string]any{"cert": rsaPair.cert, "key": rsaPair.key})
		wantFields(t, got, map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"cert": rsaPair.cert, "key": rsaPair.key, "cert_alt": nil, "key_alt": nil,
			"tags": nil, "snis": nil,
		})
	})
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"ecdsa", map[string]any{"cert": ecPair.cert, "key": ecPair.key}},
		{"rsa with ecdsa alternate", map[string]any{"cert": rsaPair.cert, "key": rsaPair.key,
			"cert_alt": ecPair.cert, "key_alt": ecPair.key}},
		{"snis", map[string]any{"cert": ecPair.cert, "key": ecPair.key, "snis": []any{"example.com", "*.example.org"}}},
		{"vault references", map[string]any{"cert": "{vault://env/cert}", "key": "{vault://env/key}"}},
	} {
		t.Run(tc.name, func(t *testing.T) { mustPrepare(t, Certificates(), tc.in) })
	}
	t.Run("secrets", func(t *testing.T) {
		e := Certificates()
		for _, name := range []string{"cert", "key", "cert_alt", "key_alt"} {
			f := e.Field(name)
			if !f.Referenceable || f.Encrypted != strings.HasPrefix(name, "key") {
				t.Errorf("%s: referenceable=%v encrypted=%v", name, f.Referenceable, f.Encrypted)
			}
		}
	})
	runInvalid(t, Certificates, []invalidCase{
		{"missing", map[string]any{},
			schema.Errors{"cert": "required field missing", "key": "required field missing"}},
		{"empty", map[string]any{"cert": "", "key": ""},
			schema.Errors{"cert": "length must be at least 1", "key": "length must be at least 1"}},
		{"key does not match", map[string]any{"cert": rsaPair.cert, "key": ecPair.key},
			schema.Errors{"@entity": []string{"certificate does not match key"}}},
		{"alternate missing its key", map[string]any{"cert": rsaPair.cert, "key": rsaPair.key, "cert_alt": ecPair.cert},
			schema.Errors{"@entity": []string{"all or none of these fields must be set: 'cert_alt', 'key_alt'"}}},
		{"alternate key does not match", map[string]any{"cert": rsaPair.cert, "key": rsaPair.key, "cert_alt": ecPair.cert, "key_alt": ec2.key},
			schema.Errors{"@entity": []string{"alternative certificate does not match key"}}},
		{"same key types", map[string]any{"cert": ecPair.cert, "key": ecPair.key, "cert_alt": ec2.cert, "key_alt": ec2.key},
			schema.Errors{"@entity": []string{"certificate and alternative certificate need to have different type (e.g. RSA and ECDSA), the provided certificates were both of the same type"}}},
		{"sni ip", map[string]any{"cert": ecPair.cert, "key": ecPair.key, "snis": []any{"10.0.0.1"}},
			schema.Errors{"snis": elemErr(1, "must not be an IP")}},
	})
	t.Run("invalid pem", func(t *testing.T) {
		_, errs := prepare(Certificates(), map[string]any{"cert": "foo", "key": "bar"})
		cert, _ := errs["cert"].(string)
		key, _ := errs["key"].(string)
		if len(errs) != 2 || !strings.HasPrefix(cert, "invalid certificate: ") || !strings.HasPrefix(key, "invalid key: ") {
			t.Errorf("errors = %v", errs)
		}
	})
}

func TestCACertificates(t *testing.T) {
	certFixtures(t)
	t.Run("defaults and digest", func(t *testing.T) {
		got := mustPrepare(t, CACertificates(), map[string]any{"cert": fixtures.ca.cert})
		c, err := schema.ParseCertificate(fixtures.ca.cert)
		if err != nil {
			t.Fatal(err)
		}
		digest, _ := got["cert_digest"].(string)
		if len(digest) != 64 || strings.ToLower(digest) != digest {
			t.Fatalf("cert_digest = %q", digest)
		}
		wantFields(t, got, map[string]any{
			"id": testID, "created_at": float64(testNow), "updated_at": float64(testNow),
			"cert": fixtures.ca.cert, "cert_digest": sha256Hex(c.Raw), "tags": nil,
		})
	})
	t.Run("digest follows the cert on update", func(t *testing.T) {
		e := CACertificates()
		existing := mustPrepare(t, e, map[string]any{"cert": fixtures.ca.cert})
		other := selfSignedCA(t)
		out, errs := e.PrepareUpdate(existing, map[string]any{"cert": other}, testAuto)
		if errs != nil {
			t.Fatal(errs)
		}
		if out["cert_digest"] == existing["cert_digest"] {
			t.Error("cert_digest unchanged")
		}
	})
	runInvalid(t, CACertificates, []invalidCase{
		{"missing", map[string]any{}, schema.Errors{"cert": "required field missing"}},
		{"two certificates", map[string]any{"cert": fixtures.ca.cert + fixtures.ca.cert},
			schema.Errors{"@entity": []string{"please submit only one certificate at a time"}}},
		{"expired", map[string]any{"cert": fixtures.expiredCA.cert},
			schema.Errors{"@entity": []string{`certificate expired, "Not After" time is in the past`}}},
		{"not a CA", map[string]any{"cert": fixtures.ecdsa.cert},
			schema.Errors{"@entity": []string{`certificate does not appear to be a CA because it is missing the "CA" basic constraint`}}},
	})
}
