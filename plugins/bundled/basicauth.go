package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// basicAuth is Kong's basic-auth (kong/plugins/basic-auth/schema.lua).
func basicAuth() plugins.Info {
	return info("basic-auth", 1100, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "anonymous", Type: schema.String},
			&schema.Field{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "realm", Type: schema.String, Required: true, Default: "service"},
		),
	})
}
