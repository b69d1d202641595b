package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// tcpLog is Kong's tcp-log (kong/plugins/tcp-log/schema.lua).
func tcpLog() plugins.Info {
	return info("tcp-log", 7, []*schema.Field{
		protocolsAny(),
		config(
			required(host("host")),
			required(port("port")),
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			&schema.Field{Name: "keepalive", Type: schema.Number, Default: float64(60000)},
			&schema.Field{Name: "tls", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "tls_sni", Type: schema.String},
			luaCode("custom_fields_by_lua"),
		),
	})
}
