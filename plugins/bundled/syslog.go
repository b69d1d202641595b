package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

var (
	syslogSeverities = []string{"debug", "info", "notice", "warning", "err", "crit", "alert", "emerg"}
	syslogFacilities = []string{"auth", "authpriv", "cron", "daemon", "ftp", "kern", "lpr", "mail",
		"news", "syslog", "user", "uucp", "local0", "local1", "local2", "local3",
		"local4", "local5", "local6", "local7"}
)

// syslog is Kong's syslog (kong/plugins/syslog/schema.lua).
func syslog() plugins.Info {
	severity := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.String, Required: true, Default: "info", OneOf: schema.Strings(syslogSeverities...)}
	}
	return info("syslog", 4, []*schema.Field{
		protocolsAny(),
		config(
			severity("log_level"),
			severity("successful_severity"),
			severity("client_errors_severity"),
			severity("server_errors_severity"),
			luaCode("custom_fields_by_lua"),
			&schema.Field{Name: "facility", Type: schema.String, Required: true, Default: "user", OneOf: schema.Strings(syslogFacilities...)},
		),
	})
}
