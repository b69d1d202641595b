package entities

import "github.com/portico-gw/portico/schema"

// KeyAuthCredentialsName is Kong's name of key-auth's credentials entity.
const KeyAuthCredentialsName = "keyauth_credentials"

// KeyAuthCredentials is key-auth's credentials entity
// (kong/plugins/key-auth/daos.lua): an API key, unique per workspace,
// generated when the client gives none, that may expire (ttl). Served at
// /key-auths and /consumers/{consumer}/key-auth, addressed by id or key.
func KeyAuthCredentials() *schema.Entity {
	return credential(&schema.Entity{
		Name:            KeyAuthCredentialsName,
		AdminPath:       "key-auths",
		AdminNestedPath: "key-auth",
		EndpointKey:     "key",
		CacheKey:        []string{"key"},
		TTL:             true,
	},
		&schema.Field{Name: "key", Type: schema.String, Unique: true, Auto: true, Sensitive: true},
	)
}
