package entities

import (
	"crypto/sha1"
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
		CacheKey:        []string{"username"},
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
	sum := sha1.Sum(AppendBasicAuthSalted(nil, consumerID, password))
	return hex.EncodeToString(sum[:])
}

// AppendBasicAuthSalted appends to dst what Kong hashes for a password:
// the password, then the consumer's id.
func AppendBasicAuthSalted(dst []byte, consumerID, password string) []byte {
	return append(append(dst, password...), consumerID...)
}

// BasicAuthHashMatches reports, in constant time, whether salted (from
// AppendBasicAuthSalted) hashes to the stored hash.
func BasicAuthHashMatches(hash string, salted []byte) bool {
	sum := sha1.Sum(salted)
	var got [BasicAuthHashLen]byte
	hex.Encode(got[:], sum[:])
	if len(hash) != len(got) {
		return false
	}
	var diff byte
	for i := range got {
		diff |= got[i] ^ hash[i]
	}
	return diff == 0
}

// basicAuthPasswords hashes a basic-auth password before it is stored,
// salted with the credential's consumer, as Kong's transformation does on
// every write that gives a password. A write that leaves it out (a PATCH
// of the username) keeps the stored hash, which arrives merged as it is;
// a declarative import with `_transform: false` gives the hash itself.
type basicAuthPasswords struct{}

func (basicAuthPasswords) BeforeWrite(tx schema.WriteTx, row, old map[string]any) error {
	password, ok := row["password"].(string)
	if !ok {
		return fmt.Errorf("a basic-auth credential without a password")
	}
	if !tx.Transform() || old != nil && password == old["password"] {
		return nil
	}
	row["password"] = HashBasicAuthPassword(refID(row["consumer"]), password)
	return nil
}
