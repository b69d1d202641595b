package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// jwt is Kong's jwt (kong/plugins/jwt/schema.lua).
func jwt() plugins.Info {
	return info("jwt", 1450, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "uri_param_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: schema.Strings("jwt")},
			&schema.Field{Name: "cookie_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: []any{}},
			&schema.Field{Name: "key_claim_name", Type: schema.String, Default: "iss"},
			&schema.Field{Name: "secret_is_base64", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "claims_to_verify", Type: schema.Set, Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings("exp", "nbf")}},
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true},
			// Maximum token lifetime in seconds (0: unlimited, at most 365 days).
			&schema.Field{Name: "maximum_expiration", Type: schema.Number, Default: float64(0), Between: schema.Range(0, 31536000)},
			&schema.Field{Name: "header_names", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: schema.Strings("authorization")},
			&schema.Field{Name: "realm", Type: schema.String},
		),
	},
		// A maximum lifetime needs the exp claim verified.
		schema.Check{Conditional: &schema.Conditional{
			IfField:   "config.maximum_expiration",
			IfMatch:   &schema.Field{Gt: schema.Float(0)},
			ThenField: "config.claims_to_verify",
			ThenMatch: &schema.Field{Contains: "exp"},
		}},
	)
}
