package schema

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// JWK and PEM key material as Kong's typedefs.jwk and typedefs.pem accept it
// (kong/db/schema/typedefs.lua, loaded there by lua-resty-openssl's pkey).

// jwkStringMembers and jwkArrayMembers are the members typedefs.jwk types:
// strings, and arrays of strings.
var (
	jwkStringMembers = []string{"issuer", "kty", "use", "alg", "kid", "x5u", "x5t", "x5t#S256", "k", "x", "y",
		"crv", "n", "e", "d", "p", "q", "dp", "dq", "qi", "oth", "r", "t"}
	jwkArrayMembers = []string{"key_ops", "x5c"}
)

// okpSizes are the key sizes of the octet key pair curves OpenSSL loads.
var okpSizes = map[string]int{"Ed25519": 32, "X25519": 32, "Ed448": 57, "X448": 56}

// ecCurves are the EC curves OpenSSL loads from a JWK.
var ecCurves = map[string]struct {
	curve elliptic.Curve
	ecdh  ecdh.Curve
}{
	"P-256": {elliptic.P256(), ecdh.P256()},
	"P-384": {elliptic.P384(), ecdh.P384()},
	"P-521": {elliptic.P521(), ecdh.P521()},
}

// LoadJWK loads a decoded JSON Web Key as OpenSSL would: an RSA, EC (P-256,
// P-384, P-521) or OKP (Ed25519, X25519, Ed448, X448) key, public or
// private; symmetric ("oct") and malformed keys are refused.
func LoadJWK(jwk map[string]any) error {
	member := func(name string) ([]byte, bool) {
		s, ok := jwk[name].(string)
		if !ok || s == "" {
			return nil, false
		}
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		return b, err == nil && len(b) > 0
	}
	switch jwk["kty"] {
	case "RSA":
		n, okN := member("n")
		e, okE := member("e")
		if !okN || !okE || len(e) > 8 {
			return errors.New("bad RSA modulus or exponent")
		}
		pub := rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.E < 2 || pub.N.BitLen() < 512 {
			return errors.New("bad RSA modulus or exponent")
		}
		d, hasD := member("d")
		if _, present := jwk["d"]; present && !hasD {
			return errors.New("bad RSA private exponent")
		}
		p, hasP := member("p")
		q, hasQ := member("q")
		if hasD && hasP && hasQ {
			key := rsa.PrivateKey{PublicKey: pub, D: new(big.Int).SetBytes(d),
				Primes: []*big.Int{new(big.Int).SetBytes(p), new(big.Int).SetBytes(q)}}
			if err := key.Validate(); err != nil {
				return err
			}
		}
		return nil
	case "EC":
		crv, _ := jwk["crv"].(string)
		c, ok := ecCurves[crv]
		x, okX := member("x")
		y, okY := member("y")
		size := (c.curve.Params().BitSize + 7) / 8
		if !ok || !okX || !okY || len(x) > size || len(y) > size {
			return errors.New("bad EC curve or point")
		}
		point := make([]byte, 1+2*size)
		point[0] = 4
		copy(point[1+size-len(x):], x)
		copy(point[1+2*size-len(y):], y)
		if _, err := c.ecdh.NewPublicKey(point); err != nil {
			return errors.New("point is not on the curve")
		}
		if d, ok := member("d"); ok && len(d) > size {
			return errors.New("bad EC private key")
		}
		return nil
	case "OKP":
		crv, _ := jwk["crv"].(string)
		size, ok := okpSizes[crv]
		x, okX := member("x")
		if !ok || !okX || len(x) != size {
			return errors.New("bad OKP curve or key")
		}
		if d, ok := member("d"); ok && len(d) != size {
			return errors.New("bad OKP private key")
		}
		return nil
	}
	return errors.New("unsupported key type")
}

// JWKTypeErrors checks a decoded JWK's members against typedefs.jwk (kid
// required, strings and arrays of strings) and renders the errors as
// Kong's errors_to_string does, "" when there are none.
func JWKTypeErrors(jwk map[string]any) string {
	var msgs []string
	if _, ok := jwk["kid"]; !ok {
		msgs = append(msgs, "kid: required field missing")
	}
	for _, name := range jwkStringMembers {
		if v, ok := jwk[name]; ok && v != nil {
			if _, ok := v.(string); !ok {
				msgs = append(msgs, name+": expected a string")
			}
		}
	}
	for _, name := range jwkArrayMembers {
		v, ok := jwk[name]
		if !ok || v == nil {
			continue
		}
		arr, ok := v.([]any)
		if !ok {
			msgs = append(msgs, name+": expected an array")
			continue
		}
		for _, el := range arr {
			if _, ok := el.(string); !ok {
				msgs = append(msgs, name+": expected a string")
				break
			}
		}
	}
	sort.Strings(msgs)
	return strings.Join(msgs, "; ")
}

// PEMKeys is Kong's typedefs.pem: a record of a PEM private key and public
// key, at least one of them, which must load and, both given, pair.
// References are not checked.
func PEMKeys(name string) *Field {
	return &Field{Name: name, Type: Record, Validator: validatePEMKeys, Fields: []*Field{
		{Name: "private_key", Type: String, Referenceable: true, Encrypted: true},
		{Name: "public_key", Type: String, Referenceable: true},
	}}
}

func validatePEMKeys(v any) error {
	m, _ := v.(map[string]any)
	priv, _ := m["private_key"].(string)
	pub, _ := m["public_key"].(string)
	if priv == "" && pub == "" {
		return errors.New("at least one of these fields must be non-empty: 'private_key', 'public_key'")
	}
	if IsReference(priv) || IsReference(pub) {
		return nil
	}
	var pubKey, privPub crypto.PublicKey
	if pub != "" {
		k, err := pemKey(pub, false)
		if err != nil {
			return errors.New("could not load public key")
		}
		pubKey = k
	}
	if priv != "" {
		k, err := pemKey(priv, true)
		if err != nil {
			return fmt.Errorf("could not load private key%s", err)
		}
		privPub = k
	}
	if pubKey != nil && privPub != nil {
		if eq, ok := privPub.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(pubKey) {
			return errors.New("public key does not match private key")
		}
	}
	return nil
}

// pemKey loads the first PEM block of s as a private key (its public half
// returned) or a public key.
func pemKey(s string, private bool) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New(": no PEM data")
	}
	if private {
		var k any
		var err error
		if k, err = x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
			if k, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
				k, err = x509.ParseECPrivateKey(block.Bytes)
			}
		}
		if err != nil {
			return nil, errors.New(": " + strings.TrimPrefix(err.Error(), "x509: "))
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k.Public(), nil
		case *ecdsa.PrivateKey:
			return k.Public(), nil
		case ed25519.PrivateKey:
			return k.Public(), nil
		case *ecdh.PrivateKey:
			return k.Public(), nil
		}
		return nil, errors.New(": unsupported key type")
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		return k, nil
	}
	return x509.ParsePKCS1PublicKey(block.Bytes)
}
