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
		},
	}
}
