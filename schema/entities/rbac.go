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

// RBAC actions, in Kong's order.
var RBACActions = []string{"read", "create", "update", "delete"}

// RBACRoles is Kong Enterprise's rbac_roles entity: a named set of
// permissions, per workspace.
func RBACRoles() *schema.Entity {
	return &schema.Entity{
		Name:          "rbac_roles",
		AdminPath:     "rbac/roles",
		Workspaceable: true,
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "name", Type: schema.String, Required: true, Unique: true},
			{Name: "comment", Type: schema.String},
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "is_default", Type: schema.Boolean, Required: true, Default: false},
		},
	}
}

// rolePermission is the shape of a role's permissions (Kong's
// rbac_role_endpoints and rbac_role_entities): the role, what the
// permission is on (the key strings, unique with the role, and the
// described ones), the actions it allows or, negative, denies. Their
// endpoints are hand-written (/rbac/roles/{r}/endpoints, .../entities).
func rolePermission(name string, key []string, described ...string) *schema.Entity {
	fields := []*schema.Field{
		schema.ID(),
		{Name: "role", Type: schema.Foreign, Reference: "rbac_roles", Required: true, OnDelete: "cascade"},
	}
	for _, f := range append(append([]string(nil), key...), described...) {
		fields = append(fields, &schema.Field{Name: f, Type: schema.String, Required: true})
	}
	fields = append(fields,
		&schema.Field{Name: "actions", Type: schema.Set, Required: true,
			Elements: &schema.Field{Type: schema.String, OneOf: schema.Strings(RBACActions...)}},
		&schema.Field{Name: "negative", Type: schema.Boolean, Required: true, Default: false},
		&schema.Field{Name: "comment", Type: schema.String},
		schema.CreatedAt(),
		schema.UpdatedAt(),
	)
	return &schema.Entity{Name: name, NoAdminAPI: true, CacheKey: append([]string{"role"}, key...), Fields: fields}
}

// RBACRoleEndpoints is Kong Enterprise's rbac_role_endpoints: the actions a
// role allows or denies on an Admin API endpoint ("/consumers/*", "*") of a
// workspace (or "*").
func RBACRoleEndpoints() *schema.Entity {
	return rolePermission("rbac_role_endpoints", []string{"workspace", "endpoint"})
}

// RBACRoleEntities is Kong Enterprise's rbac_role_entities: the actions a
// role allows or denies on one entity (or "*"). Kong enforces them with
// enforce_rbac=entity or both; Portico stores and lists them.
func RBACRoleEntities() *schema.Entity {
	return rolePermission("rbac_role_entities", []string{"entity_id"}, "entity_type")
}

// RBACUserRoles links RBAC users to their roles (Kong's rbac_user_roles);
// a user may hold roles of several workspaces.
func RBACUserRoles() *schema.Entity {
	return &schema.Entity{
		Name:       "rbac_user_roles",
		NoAdminAPI: true,
		CacheKey:   []string{"user", "role"},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "user", Type: schema.Foreign, Reference: "rbac_users", Required: true, OnDelete: "cascade"},
			{Name: "role", Type: schema.Foreign, Reference: "rbac_roles", Required: true, OnDelete: "cascade"},
			schema.CreatedAt(),
		},
	}
}
