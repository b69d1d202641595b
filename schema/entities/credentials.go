package entities

import "github.com/portico-gw/portico/schema"

// Kong's credential entities (keyauth_credentials, basicauth_credentials,
// acls, jwt_secrets, hmacauth_credentials) share their shape: an id, a
// created_at in seconds, the consumer they belong to (deleted with it) and
// tags. Each one's own fields and behaviour are in its file.

// ConsumersName is Kong's name of the consumers entity, which credentials
// reference.
const ConsumersName = "consumers"

// credential builds a credential entity: the shared fields around own.
func credential(e *schema.Entity, own ...*schema.Field) *schema.Entity {
	e.Workspaceable = true
	e.Fields = append([]*schema.Field{
		schema.ID(),
		schema.CreatedAt(),
		{Name: "consumer", Type: schema.Foreign, Reference: ConsumersName, Required: true, OnDelete: "cascade"},
	}, own...)
	e.Fields = append(e.Fields, schema.Tags())
	return e
}
