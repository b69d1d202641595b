package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// keyAuth is Kong's key-auth (kong/plugins/key-auth/schema.lua): API key
// authentication; credentials belong to consumers, so it cannot be scoped to one.
func keyAuth() plugins.Info {
	return info("key-auth", 1250, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			// Header, query or body parameter names carrying the key.
			&schema.Field{Name: "key_names", Type: schema.Array, Required: true, Elements: headerName(""), Default: schema.Strings("apikey")},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			// Consumer id or username used when authentication fails.
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "key_in_header", Type: schema.Boolean, Required: true, Default: true},
			&schema.Field{Name: "key_in_query", Type: schema.Boolean, Required: true, Default: true},
			&schema.Field{Name: "key_in_body", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "run_on_preflight", Type: schema.Boolean, Required: true, Default: true},
			// WWW-Authenticate realm on 401 responses (added in 3.7).
			&schema.Field{Name: "realm", Type: schema.String},
		),
	})
}
