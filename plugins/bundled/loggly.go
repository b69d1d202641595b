package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// loggly is Kong's loggly (kong/plugins/loggly/schema.lua).
func loggly() plugins.Info {
	severity := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.String, Default: "info", OneOf: schema.Strings(syslogSeverities...)}
	}
	return info("loggly", 6, []*schema.Field{
		protocolsAny(),
		config(
			withDefault(host("host"), "logs-01.loggly.com"),
			withDefault(port("port"), float64(514)),
			// Loggly customer token.
			&schema.Field{Name: "key", Type: schema.String, Required: true, Encrypted: true, Referenceable: true},
			&schema.Field{Name: "tags", Type: schema.Set, Elements: &schema.Field{Type: schema.String}, Default: schema.Strings("kong")},
			severity("log_level"),
			severity("successful_severity"),
			severity("client_errors_severity"),
			severity("server_errors_severity"),
			// Milliseconds.
			&schema.Field{Name: "timeout", Type: schema.Number, Default: float64(10000)},
			luaCode("custom_fields_by_lua"),
		),
	})
}
