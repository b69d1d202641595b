package entities

import "github.com/portico-gw/portico/schema"

// Plugins is Kong's plugins entity (kong/db/schema/entities/plugins.lua).
// Each plugin registers a subschema under its name; the subschema's config
// record replaces the entity's empty one (and may restrict protocols,
// consumer, route or service).
func Plugins() *schema.Entity {
	return &schema.Entity{
		Name:          "plugins",
		Workspaceable: true,
		EndpointKey:   "instance_name",
		CacheKey:      []string{"name", "route", "service", "consumer"},
		SubschemaKey:  "name",
		UnknownSubschema: func(name string) string {
			return "plugin '" + name + "' not enabled; add it to the 'plugins' configuration property"
		},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Required: true},
			schema.UTF8Name("instance_name"),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "route", Type: schema.Foreign, Reference: "routes", OnDelete: "cascade"},
			{Name: "service", Type: schema.Foreign, Reference: "services", OnDelete: "cascade"},
			{Name: "consumer", Type: schema.Foreign, Reference: "consumers", OnDelete: "cascade"},
			// Kong's abstract config: the plugin's subschema specialises it.
			{Name: "config", Type: schema.Record},
			schema.Protocols("protocols"),
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
			schema.Tags(),
			ordering(),
		},
		Checks: []schema.Check{
			{Custom: &schema.CustomCheck{FieldSources: []string{"ordering", "consumer"}, Fn: orderingScope}},
		},
	}
}

// ordering is Kong Enterprise's dynamic plugin ordering: names of plugins
// this one runs before or after, for the access phase (the only phase
// Kong orders dynamically).
func ordering() *schema.Field {
	phases := func(name string) *schema.Field {
		return &schema.Field{Name: name, Type: schema.Map,
			Keys:   &schema.Field{Type: schema.String, OneOf: schema.Strings("access")},
			Values: &schema.Field{Type: schema.Array, Elements: &schema.Field{Type: schema.String}}}
	}
	return &schema.Field{Name: "ordering", Type: schema.Record, Fields: []*schema.Field{phases("before"), phases("after")}}
}

// orderingScope refuses dynamic ordering on consumer-scoped plugins: which
// of them runs is known only once a consumer is authenticated, after the
// access order has been decided.
func orderingScope(e map[string]any) string {
	o, _ := e["ordering"].(map[string]any)
	if len(o) == 0 || e["consumer"] == nil {
		return ""
	}
	for _, k := range []string{"before", "after"} {
		if m, _ := o[k].(map[string]any); len(m) > 0 {
			return "dynamic ordering is not supported for plugins scoped to a consumer"
		}
	}
	return ""
}
