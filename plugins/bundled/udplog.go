package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// udpLog is Kong's udp-log (kong/plugins/udp-log/schema.lua).
func udpLog() plugins.Info {
	return info("udp-log", 8, []*schema.Field{
		protocolsAny(),
		config(
			required(host("host")),
			required(port("port")),
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			luaCode("custom_fields_by_lua"),
		),
	})
}
