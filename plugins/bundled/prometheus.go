package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// prometheus is Kong's prometheus (kong/plugins/prometheus/schema.lua). Kong
// also checks that nginx's prometheus_metrics shared dict exists; Portico
// keeps metrics in process, so there is nothing to check.
func prometheus() plugins.Info {
	flag := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: false}
	}
	return info("prometheus", 13, []*schema.Field{
		protocolsAny(),
		config(
			flag("per_consumer"),
			flag("status_code_metrics"),
			// Added in 3.8.
			flag("ai_metrics"),
			flag("latency_metrics"),
			flag("bandwidth_metrics"),
			flag("upstream_health_metrics"),
		),
	})
}
