package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// hmacAlgorithms are the digests hmac-auth accepts, all enabled by default
// (Kong OSS has no FIPS mode, which would drop hmac-sha1).
var hmacAlgorithms = []string{"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"}

// hmacAuth is Kong's hmac-auth (kong/plugins/hmac-auth/schema.lua).
func hmacAuth() plugins.Info {
	return info("hmac-auth", 1030, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			// Allowed clock skew in seconds against replay attacks.
			&schema.Field{Name: "clock_skew", Type: schema.Number, Default: float64(300), Gt: schema.Float(0)},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "validate_request_body", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "enforce_headers", Type: schema.Array, Elements: &schema.Field{Type: schema.String}, Default: []any{}},
			&schema.Field{Name: "algorithms", Type: schema.Array,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(hmacAlgorithms...)},
				Default:  schema.Strings(hmacAlgorithms...)},
			&schema.Field{Name: "realm", Type: schema.String},
		),
	})
}
