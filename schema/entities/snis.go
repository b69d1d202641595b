package entities

import "github.com/portico-gw/portico/schema"

// SNIsName is Kong's name of the snis entity.
const SNIsName = "snis"

// SNIs is Kong's snis entity (kong/db/schema/entities/snis.lua).
func SNIs() *schema.Entity {
	return &schema.Entity{
		Name:          SNIsName,
		Workspaceable: true,
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			with(schema.WildcardHost("name"), required, unique),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.Tags(),
			// Kong's schema declares no on_delete here, but its certificates
			// DAO deletes a certificate's SNIs before the certificate itself:
			// the observable behaviour is a cascade.
			{Name: "certificate", Type: schema.Foreign, Reference: "certificates", Required: true, OnDelete: "cascade"},
		},
	}
}
