package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// acl is Kong's acl (kong/plugins/acl/schema.lua): exactly one of allow and
// deny lists consumer groups.
func acl() plugins.Info {
	return info("acl", 950, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(
			stringArray("allow"),
			stringArray("deny"),
			&schema.Field{Name: "hide_groups_header", Type: schema.Boolean, Required: true, Default: false},
			// Added in 3.8.
			&schema.Field{Name: "always_use_authenticated_groups", Type: schema.Boolean, Required: true, Default: false},
		),
	},
		schema.Check{OnlyOneOf: []string{"config.allow", "config.deny"}},
		schema.Check{AtLeastOneOf: []string{"config.allow", "config.deny"}},
	)
}
