package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// correlationID is Kong's correlation-id (kong/plugins/correlation-id/schema.lua).
// Its priority moved from 1 to 100001 in 3.9 so that it runs before auth plugins.
func correlationID() plugins.Info {
	return info("correlation-id", 100001, []*schema.Field{
		protocolsHTTP(),
		config(
			&schema.Field{Name: "header_name", Type: schema.String, Default: "Kong-Request-ID"},
			&schema.Field{Name: "generator", Type: schema.String, Required: true, Default: "uuid#counter",
				OneOf: schema.Strings("uuid", "uuid#counter", "tracker")},
			&schema.Field{Name: "echo_downstream", Type: schema.Boolean, Required: true, Default: false},
		),
	})
}
