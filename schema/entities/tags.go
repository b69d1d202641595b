package entities

import "github.com/portico-gw/portico/schema"

// TagsSchema is Kong's tags entity (kong/db/schema/entities/tags.lua): the
// rows GET /tags lists. Portico derives them from every entity's tags, so
// the schema is served by /schemas/tags (go-kong reads every schema Kong
// serves) but has no table of its own.
func TagsSchema() *schema.Entity {
	return &schema.Entity{
		Name:        "tags",
		EndpointKey: "tag",
		Fields: []*schema.Field{
			{Name: "tag", Type: schema.String, Required: true},
			{Name: "entity_name", Type: schema.String, Required: true},
			{Name: "entity_id", Type: schema.String, UUID: true, Required: true},
		},
	}
}
