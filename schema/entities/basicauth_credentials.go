package entities

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"fmt"

	"github.com/portico-gw/portico/schema"
)

// BasicAuthCredentialsName is Kong's name of basic-auth's credentials entity.
const BasicAuthCredentialsName = "basicauth_credentials"

// BasicAuthCredentials is basic-auth's credentials entity
// (kong/plugins/basic-auth/daos.lua): a username, unique per workspace,
// and a password stored only as Kong stores it (basicAuthPasswords), so
// the Admin API shows its hash, never the password. Served at
// /basic-auths and /consumers/{consumer}/basic-auth, addressed by id or
// username.
func BasicAuthCredentials() *schema.Entity {
	return credential(&schema.Entity{
		Name:            BasicAuthCredentialsName,
		AdminPath:       "basic-auths",
		AdminNestedPath: "basic-auth",
		EndpointKey:     "username",
		Behaviour:       basicAuthPasswords{},
	},
		&schema.Field{Name: "username", Type: schema.String, Required: true, Unique: true},
		&schema.Field{Name: "password", Type: schema.String, Required: true, Encrypted: true, Sensitive: true},
	)
}

// BasicAuthHashLen is the length of a stored basic-auth password: a hex
// SHA-1 digest.
const BasicAuthHashLen = 2 * sha1.Size

// HashBasicAuthPassword is how Kong stores a basic-auth password
// (kong/plugins/basic-auth/crypto.lua): the hex SHA-1 of the password
// followed by the consumer's id, which salts it.
func HashBasicAuthPassword(consumerID, password string) string {
	var dst [BasicAuthHashLen]byte
	AppendBasicAuthHash(dst[:0], nil, consumerID, password)
	return string(dst[:])
}

// AppendBasicAuthHash appends the stored form of password to dst, using
// scratch (reset, grown as needed) for the salted input, so that a caller
// with buffers of its own hashes without allocating.
func AppendBasicAuthHash(dst, scratch []byte, consumerID, password string) []byte {
	scratch = append(append(scratch[:0], password...), consumerID...)
	sum := sha1.Sum(scratch)
	var out [BasicAuthHashLen]byte
	hex.Encode(out[:], sum[:])
	return append(dst, out[:]...)
}

// BasicAuthPasswordMatches reports, in constant time, whether password is
// the one stored (hashed) as hash for the consumer.
func BasicAuthPasswordMatches(hash []byte, scratch []byte, consumerID, password string) bool {
	var buf [BasicAuthHashLen]byte
	got := AppendBasicAuthHash(buf[:0], scratch, consumerID, password)
	return subtle.ConstantTimeCompare(got, hash) == 1
}

// basicAuthPasswords hashes a basic-auth password before it is stored,
// salted with the credential's consumer, as Kong's transformation does on
// every write that gives a password. A write that leaves it out (a PATCH
// of the username) keeps the stored hash, which arrives merged as it is.
type basicAuthPasswords struct{}

func (basicAuthPasswords) BeforeWrite(_ schema.WriteTx, row, old map[string]any) error {
	password, ok := row["password"].(string)
	if !ok {
		return fmt.Errorf("a basic-auth credential without a password")
	}
	if old != nil && password == old["password"] {
		return nil
	}
	row["password"] = HashBasicAuthPassword(refID(row["consumer"]), password)
	return nil
}
