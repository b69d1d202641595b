package entities

import "github.com/portico-gw/portico/schema"

// Admin statuses (Kong Enterprise's admins.status).
const (
	AdminApproved = 0
	AdminInvited  = 4
)

// RBACUsers is Kong's rbac_users entity: an identity holding an Admin API
// token. The token is write-only: the DAO stores only a slow hash of it
// (and a short identifier to find it), and no response ever shows it.
func RBACUsers() *schema.Entity {
	return &schema.Entity{
		Name:          "rbac_users",
		Workspaceable: true,
		AdminPath:     "rbac/users",
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "name", Type: schema.String, Required: true, Unique: true},
			{Name: "user_token", Type: schema.String, Required: true, WriteOnly: true, Sensitive: true, LenMax: 1024},
			{Name: "user_token_ident", Type: schema.String, WriteOnly: true},
			{Name: "comment", Type: schema.String},
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		},
	}
}

// Admins is Kong Enterprise's admins entity: a person who uses the Admin
// API, tied to an RBAC user.
func Admins() *schema.Entity {
	return &schema.Entity{
		Name:        "admins",
		EndpointKey: "username",
		// Kong answers POST /admins with 200 {"admin": {...}}.
		CreatedEnvelope: "admin",
		CreatedStatus:   200,
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "username", Type: schema.String, Required: true, Unique: true},
			{Name: "custom_id", Type: schema.String, Unique: true},
			{Name: "email", Type: schema.String},
			{Name: "status", Type: schema.Integer, Required: true, Default: float64(AdminInvited), Between: schema.Range(0, 5)},
			{Name: "rbac_token_enabled", Type: schema.Boolean, Required: true, Default: true},
			{Name: "rbac_user", Type: schema.Foreign, Reference: "rbac_users", OnDelete: "cascade"},
		},
	}
}
