package entities

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"reflect"

	"github.com/portico-gw/portico/schema"
)

// Certificates is Kong's certificates entity
// (kong/db/schema/entities/certificates.lua): a certificate and its key,
// optionally an alternate pair of another key type (RSA and ECDSA).
func Certificates() *schema.Entity {
	return &schema.Entity{
		Name:          "certificates",
		Workspaceable: true,
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			with(schema.Referenceable(schema.CertificatePEM("cert")), required),
			with(schema.Referenceable(schema.KeyPEM("key")), required, encrypted),
			schema.Referenceable(schema.CertificatePEM("cert_alt")),
			with(schema.Referenceable(schema.KeyPEM("key_alt")), encrypted),
			schema.Tags(),
			// snis is input-only in Kong's Admin API: the db layer turns it
			// into SNI rows (and lists a certificate's SNI names in it on
			// reads); it is not stored with the certificate.
			{Name: "snis", Type: schema.Set, Elements: schema.WildcardHost(""), Transient: true},
		},
		Checks: []schema.Check{
			{MutuallyRequired: []string{"cert_alt", "key_alt"}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert", "key"},
				Fn: func(e map[string]any) string {
					if !pairMatches(e["cert"], e["key"]) {
						return "certificate does not match key"
					}
					return ""
				},
			}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert_alt", "key_alt"},
				Fn: func(e map[string]any) string {
					if !pairMatches(e["cert_alt"], e["key_alt"]) {
						return "alternative certificate does not match key"
					}
					return ""
				},
			}},
			{Custom: &schema.CustomCheck{
				FieldSources: []string{"cert", "cert_alt"},
				Fn: func(e map[string]any) string {
					a, b := certOf(e["cert"]), certOf(e["cert_alt"])
					if a != nil && b != nil && keyType(a.PublicKey) == keyType(b.PublicKey) {
						return "certificate and alternative certificate need to have " +
							"different type (e.g. RSA and ECDSA), the provided " +
							"certificates were both of the same type"
					}
					return ""
				},
			}},
		},
	}
}

func encrypted(f *schema.Field) { f.Encrypted = true }

// certOf parses a certificate value; nil for null, references and bad PEM
// (field validation reports the latter).
func certOf(v any) *x509.Certificate {
	s, ok := v.(string)
	if !ok || schema.IsReference(s) {
		return nil
	}
	c, err := schema.ParseCertificate(s)
	if err != nil {
		return nil
	}
	return c
}

// pairMatches reports whether the certificate's public key is the key's;
// true when either is absent, a vault reference or unparseable.
func pairMatches(cert, key any) bool {
	c := certOf(cert)
	k, ok := key.(string)
	if c == nil || !ok || schema.IsReference(k) {
		return true
	}
	pub, err := schema.ParseKey(k)
	if err != nil {
		return true
	}
	if eq, ok := c.PublicKey.(interface{ Equal(x any) bool }); ok {
		return eq.Equal(pub)
	}
	return reflect.DeepEqual(c.PublicKey, pub)
}

func keyType(pub any) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PublicKey:
		return "EC"
	case ed25519.PublicKey:
		return "ED25519"
	}
	return reflect.TypeOf(pub).String()
}
