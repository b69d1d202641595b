package entities

import (
	"encoding/json"

	"github.com/portico-gw/portico/schema"
)

// KeySetsName and KeysName are Kong's names of the key sets and keys
// entities.
const (
	KeySetsName = "key_sets"
	KeysName    = "keys"
)

// KeySets is Kong's key_sets entity (kong/db/schema/entities/key_sets.lua):
// a named group of keys, served at /key-sets; deleting one deletes its keys.
func KeySets() *schema.Entity {
	return &schema.Entity{
		Name:          KeySetsName,
		AdminPath:     "key-sets",
		EndpointKey:   "name",
		Workspaceable: true,
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Unique: true},
			schema.Tags(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
		},
	}
}

// Kong's messages for keys (kong/db/schema/entities/keys.lua).
const (
	msgJWKNotJSON     = "could not json decode jwk string"
	msgJWKKidMismatch = "kid in jwk.kid must be equal to keys.kid"
	msgJWKNotLoaded   = "could not load JWK, likely not a valid key"
	msgPEMEmpty       = "need to supply a PEM formatted public and/or private key."
)

// Keys is Kong's keys entity (kong/db/schema/entities/keys.lua): a key
// identified by its kid within an optional key set, given as a JWK (a JSON
// string) or as PEM public and/or private keys, never both.
func Keys() *schema.Entity {
	return &schema.Entity{
		Name:          KeysName,
		EndpointKey:   "name",
		CacheKey:      []string{"kid", "set"},
		Workspaceable: true,
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "set", Type: schema.Foreign, Reference: KeySetsName, OnDelete: "cascade"},
			{Name: "name", Type: schema.String, Unique: true},
			{Name: "kid", Type: schema.String, Required: true},
			{Name: "jwk", Type: schema.String, Referenceable: true, Encrypted: true},
			schema.PEMKeys("pem"),
			schema.Tags(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
		},
		Checks: []schema.Check{
			{MutuallyExclusive: []string{"jwk", "pem"}},
			{AtLeastOneOf: []string{"jwk", "pem"}},
			{Custom: &schema.CustomCheck{FieldSources: []string{"jwk", "pem", "kid"}, Fn: checkKey}},
		},
	}
}

// checkKey is Kong's custom entity check of keys: a JWK must decode, carry
// the key's kid, load as a key and match typedefs.jwk; a PEM record must
// hold a key.
func checkKey(e map[string]any) string {
	if s, ok := e["jwk"].(string); ok && !schema.IsReference(s) {
		var jwk map[string]any
		if err := json.Unmarshal([]byte(s), &jwk); err != nil {
			return msgJWKNotJSON
		}
		if jwk["kid"] != e["kid"] {
			return msgJWKKidMismatch
		}
		if schema.LoadJWK(jwk) != nil {
			return msgJWKNotLoaded
		}
		if msg := schema.JWKTypeErrors(jwk); msg != "" {
			return msg
		}
	}
	if pem, ok := e["pem"].(map[string]any); ok && pem["private_key"] == nil && pem["public_key"] == nil {
		return msgPEMEmpty
	}
	return ""
}
