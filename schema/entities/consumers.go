package entities

import "github.com/portico-gw/portico/schema"

// Consumers is Kong's consumers entity (kong/db/schema/entities/consumers.lua).
func Consumers() *schema.Entity {
	return &schema.Entity{
		Name:          "consumers",
		Workspaceable: true,
		EndpointKey:   "username",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "username", Type: schema.String, Unique: true},
			{Name: "custom_id", Type: schema.String, Unique: true},
			schema.Tags(),
		},
		Checks: []schema.Check{
			{AtLeastOneOf: []string{"custom_id", "username"}},
		},
	}
}
