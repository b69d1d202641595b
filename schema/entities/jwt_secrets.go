package entities

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"

	"github.com/portico-gw/portico/schema"
)

// JWTSecretsName is Kong's name of the jwt plugin's credentials entity.
const JWTSecretsName = "jwt_secrets"

// JWTAlgorithms are the algorithms a jwt secret may sign with, in Kong's
// order.
var JWTAlgorithms = []string{
	"HS256", "HS384", "HS512",
	"RS256", "RS384", "RS512",
	"ES256", "ES384", "ES512",
	"PS256", "PS384", "PS512",
	"EdDSA",
}

// jwtKeyAlgorithms need rsa_public_key, as Kong's conditional check has
// it (ES* are not among them in Kong 3.9).
var jwtKeyAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}

// msgInvalidKey is Kong's message for an rsa_public_key it cannot load.
const msgInvalidKey = "invalid key"

// JWTSecrets is the jwt plugin's credentials entity
// (kong/plugins/jwt/daos.lua): a key, unique per workspace (the token's
// iss claim by default), generated when absent; an HMAC secret generated
// when absent; the algorithm (HS256 by default) and, for RS*, PS* and
// EdDSA, the PEM public key that verifies tokens. Served at /jwts and
// /consumers/{consumer}/jwt, addressed by id or key.
func JWTSecrets() *schema.Entity {
	return credential(&schema.Entity{
		Name:            JWTSecretsName,
		AdminPath:       "jwts",
		AdminNestedPath: "jwt",
		EndpointKey:     "key",
		CacheKey:        []string{"key"},
		Checks: []schema.Check{{Conditional: &schema.Conditional{
			IfField:   "algorithm",
			IfMatch:   &schema.Field{OneOf: schema.Strings(jwtKeyAlgorithms...)},
			ThenField: "rsa_public_key",
			ThenMatch: &schema.Field{Required: true, Validator: validatePEMKey},
		}}},
	},
		&schema.Field{Name: "key", Type: schema.String, Unique: true, Auto: true},
		&schema.Field{Name: "secret", Type: schema.String, Auto: true, Sensitive: true},
		&schema.Field{Name: "rsa_public_key", Type: schema.String},
		&schema.Field{Name: "algorithm", Type: schema.String, Default: "HS256", OneOf: schema.Strings(JWTAlgorithms...)},
	)
}

// validatePEMKey accepts what Kong's OpenSSL key loader accepts: a PEM
// public key (PKIX or PKCS #1), a private key (PKCS #8, PKCS #1, EC) or a
// certificate's key.
func validatePEMKey(v any) error {
	s, _ := v.(string)
	if ParsePEMKey(s) == nil {
		return errors.New(msgInvalidKey)
	}
	return nil
}

// ParsePEMKey returns the public key of a PEM block holding a public key,
// a private key or a certificate, or nil when there is none.
func ParsePEMKey(s string) any {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return k
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return publicOf(k)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return &k.PublicKey
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return &k.PublicKey
	}
	if c, err := x509.ParseCertificate(block.Bytes); err == nil {
		return c.PublicKey
	}
	return nil
}

func publicOf(k any) any {
	if p, ok := k.(interface{ Public() crypto.PublicKey }); ok {
		return p.Public()
	}
	return nil
}
