package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// redirect is Kong's redirect (kong/plugins/redirect/schema.lua), new in 3.9.
func redirect() plugins.Info {
	return info("redirect", 779, []*schema.Field{
		protocolsHTTP(),
		config(
			&schema.Field{Name: "status_code", Type: schema.Integer, Required: true, Default: float64(301), Between: schema.Range(100, 599)},
			required(urlField("location")),
			// Keep the request's path and query string on the new location.
			&schema.Field{Name: "keep_incoming_path", Type: schema.Boolean, Default: false},
		),
	})
}
