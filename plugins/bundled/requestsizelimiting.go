package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// requestSizeLimiting is Kong's request-size-limiting
// (kong/plugins/request-size-limiting/schema.lua).
func requestSizeLimiting() plugins.Info {
	units := schema.Strings("megabytes", "kilobytes", "bytes")
	return info("request-size-limiting", 951, []*schema.Field{
		protocolsHTTP(),
		config(
			// Largest accepted body, in size_unit.
			&schema.Field{Name: "allowed_payload_size", Type: schema.Integer, Default: float64(128)},
			&schema.Field{Name: "size_unit", Type: schema.String, Required: true, Default: "megabytes", OneOf: units},
			&schema.Field{Name: "require_content_length", Type: schema.Boolean, Required: true, Default: false},
		),
	})
}
