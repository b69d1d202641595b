package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// ipRestriction is Kong's ip-restriction (kong/plugins/ip-restriction/schema.lua).
// It also works on stream routes, hence its own default protocols.
func ipRestriction() plugins.Info {
	return info("ip-restriction", 990, []*schema.Field{
		protocolsAny("http", "https", "tcp", "tls", "grpc", "grpcs"),
		config(
			&schema.Field{Name: "allow", Type: schema.Array, Elements: ipOrCIDR()},
			&schema.Field{Name: "deny", Type: schema.Array, Elements: ipOrCIDR()},
			// Status and body of rejections (Kong: 403 "IP address not allowed: ...").
			&schema.Field{Name: "status", Type: schema.Number},
			&schema.Field{Name: "message", Type: schema.String},
		),
	},
		schema.Check{AtLeastOneOf: []string{"config.allow", "config.deny"}},
	)
}
