package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// corsMethods are the methods cors allows, all of them by default.
var corsMethods = []string{"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"}

// cors is Kong's cors (kong/plugins/cors/schema.lua).
func cors() plugins.Info {
	return info("cors", 2000, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			// Allowed origins: "*" or regular expressions.
			&schema.Field{Name: "origins", Type: schema.Array, Elements: &schema.Field{Type: schema.String, Validator: validateRegexOrAsterisk}},
			stringArray("headers"),
			stringArray("exposed_headers"),
			&schema.Field{Name: "methods", Type: schema.Array,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(corsMethods...)},
				Default:  schema.Strings(corsMethods...)},
			// Access-Control-Max-Age, in seconds.
			&schema.Field{Name: "max_age", Type: schema.Number},
			&schema.Field{Name: "credentials", Type: schema.Boolean, Required: true, Default: false},
			// Access-Control-Allow-Private-Network (added in 3.5).
			&schema.Field{Name: "private_network", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "preflight_continue", Type: schema.Boolean, Required: true, Default: false},
		),
	})
}
