package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// botDetection is Kong's bot-detection (kong/plugins/bot-detection/schema.lua):
// User-Agent regular expressions to let through or reject on top of the
// built-in bot list.
func botDetection() plugins.Info {
	regexes := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Array, Default: []any{}, Elements: &schema.Field{Type: schema.String, IsRegex: true}}
	}
	return info("bot-detection", 2500, []*schema.Field{
		noConsumer(),
		protocolsHTTP(),
		config(regexes("allow"), regexes("deny")),
	})
}
