package entities

import "github.com/portico-gw/portico/schema"

// HMACAuthCredentialsName is Kong's name of hmac-auth's credentials entity.
const HMACAuthCredentialsName = "hmacauth_credentials"

// HMACAuthCredentials is hmac-auth's credentials entity
// (kong/plugins/hmac-auth/daos.lua): a username, unique per workspace, and
// the secret that signs requests, generated when the client gives none.
// Served at /hmac-auths and /consumers/{consumer}/hmac-auth, addressed by
// id or username.
func HMACAuthCredentials() *schema.Entity {
	return credential(&schema.Entity{
		Name:            HMACAuthCredentialsName,
		AdminPath:       "hmac-auths",
		AdminNestedPath: "hmac-auth",
		EndpointKey:     "username",
		CacheKey:        []string{"username"},
	},
		&schema.Field{Name: "username", Type: schema.String, Required: true, Unique: true},
		&schema.Field{Name: "secret", Type: schema.String, Auto: true, Sensitive: true},
	)
}
