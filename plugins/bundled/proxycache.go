package bundled

import (
	"github.com/portico-gw/portico/plugins"
	"github.com/portico-gw/portico/schema"
)

// proxyCache is Kong's proxy-cache (kong/plugins/proxy-cache/schema.lua).
//
// Kong checks that memory.dictionary_name names an nginx shared dict ("missing
// shared dict '...'"); Portico has no shared dicts, so any name is accepted.
func proxyCache() plugins.Info {
	flag := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Boolean, Default: true}
	}
	return info("proxy-cache", 100, []*schema.Field{
		protocolsAny(),
		config(
			&schema.Field{Name: "response_code", Type: schema.Array, Required: true, LenMin: 1,
				Elements: &schema.Field{Type: schema.Integer, Between: schema.Range(100, 900)},
				Default:  schema.Ints(200, 301, 404)},
			&schema.Field{Name: "request_method", Type: schema.Array, Required: true,
				Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings("HEAD", "GET", "POST", "PATCH", "PUT")},
				Default:  schema.Strings("GET", "HEAD")},
			&schema.Field{Name: "content_type", Type: schema.Array, Required: true,
				Elements: &schema.Field{Type: schema.String},
				Default:  schema.Strings("text/plain", "application/json")},
			// Seconds.
			&schema.Field{Name: "cache_ttl", Type: schema.Integer, Default: float64(300), Gt: schema.Float(0)},
			// Kong OSS has the memory strategy only.
			&schema.Field{Name: "strategy", Type: schema.String, Required: true, OneOf: schema.Strings("memory")},
			&schema.Field{Name: "cache_control", Type: schema.Boolean, Required: true, Default: false},
			&schema.Field{Name: "ignore_uri_case", Type: schema.Boolean, Default: false},
			&schema.Field{Name: "storage_ttl", Type: schema.Integer},
			record("memory",
				&schema.Field{Name: "dictionary_name", Type: schema.String, Required: true, Default: "kong_db_cache"},
			),
			stringArray("vary_query_params"),
			stringArray("vary_headers"),
			// Diagnostic headers added to cached responses.
			record("response_headers", flag("age"), flag("X-Cache-Status"), flag("X-Cache-Key")),
		),
	})
}
