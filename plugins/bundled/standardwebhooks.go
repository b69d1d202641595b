package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// standardWebhooks is Kong's standard-webhooks
// (kong/plugins/standard-webhooks/schema.lua, new in 3.8): verifies
// Standard Webhooks signatures.
func standardWebhooks() plugins.Info {
	return info("standard-webhooks", 760, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			&schema.Field{Name: "secret_v1", Type: schema.String, Required: true, Referenceable: true, Encrypted: true},
			// Oldest accepted webhook timestamp, in seconds.
			&schema.Field{Name: "tolerance_second", Type: schema.Integer, Required: true, Gt: schema.Float(-1), Default: float64(300)},
		),
	})
}
