package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// responseTransformer is Kong's response-transformer
// (kong/plugins/response-transformer/schema.lua).
func responseTransformer() plugins.Info {
	plain := func(name string) *schema.Field { return transformList(name, &schema.Field{}) }
	colon := func(name string) *schema.Field { return transformList(name, &schema.Field{Match: colonPair}) }
	colonRecord := func(name string) *schema.Field {
		return record(name,
			colon("json"),
			// JSON types of the values added, appended or replaced, in order.
			transformList("json_types", &schema.Field{OneOf: schema.Strings("boolean", "number", "string")}),
			transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderValue)}),
		)
	}
	return info("response-transformer", 800, []*schema.Field{
		protocolsHTTP(),
		config(
			record("remove", plain("json"), plain("headers")),
			// rename.json was added in 3.8.
			record("rename",
				colon("json"),
				transformList("headers", &schema.Field{Match: colonPair, Validator: headerPair(validHeaderName)}),
			),
			colonRecord("replace"),
			colonRecord("add"),
			colonRecord("append"),
		),
	})
}
