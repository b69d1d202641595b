package entities

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/bcrypt"

	"github.com/portico-gw/portico/schema"
)

// Kong's names of the RBAC users and admins entities.
const (
	RBACUsersName = "rbac_users"
	AdminsName    = "admins"
)

// Admin statuses (Kong Enterprise's admins.status).
const (
	AdminApproved = 0
	AdminInvited  = 4
)

// RBACUsers is Kong's rbac_users entity: an identity holding an Admin API
// token. The token is write-only: its hooks (rbacTokens) store only a slow
// hash of it and a short identifier, indexed, to find it; no response ever
// shows it. A token is unique across workspaces.
func RBACUsers() *schema.Entity {
	e := &schema.Entity{
		NoDeclarative: true,
		Name:          RBACUsersName,
		Workspaceable: true,
		AdminPath:     "rbac/users",
		EndpointKey:   "name",
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			{Name: "name", Type: schema.String, Required: true, Unique: true},
			{Name: "user_token", Type: schema.String, Required: true, WriteOnly: true, Sensitive: true, LenMax: 1024},
			{Name: "user_token_ident", Type: schema.String, WriteOnly: true, Indexed: true},
			{Name: "comment", Type: schema.String},
			{Name: "enabled", Type: schema.Boolean, Required: true, Default: true},
		},
	}
	e.Behaviour = rbacTokens{users: e}
	return e
}

// Admins is Kong Enterprise's admins entity: a person who uses the Admin
// API, tied to an RBAC user.
func Admins() *schema.Entity {
	return &schema.Entity{
		NoDeclarative: true,
		Name:          AdminsName,
		Behaviour:     adminUsers{},
		EndpointKey:   "username",
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
			{Name: "rbac_user", Type: schema.Foreign, Reference: RBACUsersName, OnDelete: "cascade"},
		},
	}
}

// RBAC actions, in Kong's order.
var RBACActions = []string{"read", "create", "update", "delete"}

// RBACRoles is Kong Enterprise's rbac_roles entity: a named set of
// permissions, per workspace.
func RBACRoles() *schema.Entity {
	return &schema.Entity{
		NoDeclarative: true,
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
	return &schema.Entity{NoDeclarative: true, Name: name, NoAdminAPI: true, CacheKey: append([]string{"role"}, key...), Fields: fields}
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
		NoDeclarative: true,
		Name:          "rbac_user_roles",
		NoAdminAPI:    true,
		CacheKey:      []string{"user", "role"},
		Fields: []*schema.Field{
			schema.ID(),
			{Name: "user", Type: schema.Foreign, Reference: RBACUsersName, Required: true, OnDelete: "cascade"},
			{Name: "role", Type: schema.Foreign, Reference: "rbac_roles", Required: true, OnDelete: "cascade"},
			schema.CreatedAt(),
		},
	}
}

// TokenCost is the bcrypt cost of stored RBAC tokens. Only tests change
// it: under the race detector a cost of 10 takes seconds per token.
var TokenCost = 10

// tokenIdentLen is how many hex digits of a token's SHA-256 are stored to
// find its user: enough to narrow the bcrypt checks to one or two rows,
// too few to help guess the token.
const tokenIdentLen = 7

// TokenIdent is the short identifier stored, indexed, beside a token's
// hash (Kong's user_token_ident).
func TokenIdent(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])[:tokenIdentLen]
}

// TokenUsers returns the users among candidates (rows found by the
// token's identifier) whose stored hash is token's.
func TokenUsers(candidates []map[string]any, token string) []map[string]any {
	var out []map[string]any
	for _, row := range candidates {
		hash, _ := row["user_token"].(string)
		if bcrypt.CompareHashAndPassword([]byte(hash), []byte(token)) == nil {
			out = append(out, row)
		}
	}
	return out
}

// rbacTokens keeps RBAC tokens unique and out of the store: a token
// written to an rbac_users row is refused when another user holds it
// (found through the identifier's index), else replaced by its bcrypt hash
// and identifier before the row is stored; an unchanged token (its hash,
// merged by PATCH) is kept.
type rbacTokens struct{ users *schema.Entity }

func (t rbacTokens) BeforeWrite(tx schema.WriteTx, row, old map[string]any) error {
	token, _ := row["user_token"].(string)
	if token == "" || (old != nil && token == old["user_token"]) {
		return nil
	}
	ident := TokenIdent(token)
	// Two users written at once with one token must not both find it
	// free: writes of the same identifier are serialised.
	if err := tx.Claim(t.users.Name + ".user_token_ident/" + ident); err != nil {
		return err
	}
	candidates, err := tx.Find(t.users, "user_token_ident", ident)
	if err != nil {
		return fmt.Errorf("checking that an RBAC token is unique: %w", err)
	}
	for _, holder := range TokenUsers(candidates, token) {
		if holder[schema.FieldID] != row[schema.FieldID] {
			// Kong names the field, never the token.
			return &schema.UniqueViolation{Fields: []string{"user_token"}}
		}
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(token), TokenCost)
	if err != nil {
		return fmt.Errorf("hashing an RBAC token: %w", err)
	}
	row["user_token"] = string(hash)
	row["user_token_ident"] = ident
	return nil
}

// adminUsers gives every admin created without an RBAC user one of its
// own, as Kong's admins DAO does: named after the admin, with a random
// token (set a known one with PATCH /rbac/users/{name}), enabled as the
// admin's rbac_token_enabled says; the user is deleted with the admin.
type adminUsers struct{}

// msgAdminUserComment is Kong's comment on an admin's generated RBAC user.
const msgAdminUserComment = "User generated on creation of Admin."

func rbacUsers(tx schema.ReadTx) (*schema.Entity, error) {
	e := tx.Entity(RBACUsersName)
	if e == nil {
		return nil, fmt.Errorf("admins need the %s entity", RBACUsersName)
	}
	return e, nil
}

func (adminUsers) BeforeWrite(tx schema.WriteTx, row, old map[string]any) error {
	if old != nil || row["rbac_user"] != nil {
		return nil
	}
	users, err := rbacUsers(tx)
	if err != nil {
		return err
	}
	token := make([]byte, 32)
	if _, err := rand.Read(token); err != nil {
		return fmt.Errorf("generating an RBAC token: %w", err)
	}
	name, _ := row["username"].(string)
	auto := tx.Auto()
	user, errs := users.PrepareInsert(map[string]any{
		"name":       name + "-" + auto.NewID(),
		"user_token": base64.RawURLEncoding.EncodeToString(token),
		"enabled":    row["rbac_token_enabled"] != false,
		"comment":    msgAdminUserComment,
	}, auto)
	if errs == nil {
		errs = users.Validate(user)
	}
	if errs != nil {
		return errs
	}
	if err := tx.Insert(users, user); err != nil {
		return err
	}
	row["rbac_user"] = map[string]any{schema.FieldID: user[schema.FieldID]}
	return nil
}

// AfterWrite keeps the RBAC user enabled as the admin's rbac_token_enabled
// says.
func (x adminUsers) AfterWrite(tx schema.WriteTx, row, _ map[string]any) error {
	users, user, err := x.user(tx, row)
	if user == nil {
		return err
	}
	enabled := row["rbac_token_enabled"] != false
	if user["enabled"] == enabled {
		return nil
	}
	patch := map[string]any{"enabled": enabled}
	updated, errs := users.PrepareUpdate(schema.WithoutWorkspace(user), patch, tx.Auto())
	if errs == nil {
		errs = users.Validate(updated)
	}
	if errs != nil {
		return errs
	}
	return tx.Update(users, updated, user)
}

// AfterDelete deletes the admin's RBAC user with it: its token and roles
// must not outlive the admin.
func (x adminUsers) AfterDelete(tx schema.WriteTx, row map[string]any) error {
	users, user, err := x.user(tx, row)
	if user == nil {
		return err
	}
	return tx.Delete(users, user)
}

// user reads the admin's RBAC user; nil when there is none.
func (adminUsers) user(tx schema.WriteTx, admin map[string]any) (*schema.Entity, map[string]any, error) {
	users, err := rbacUsers(tx)
	if err != nil {
		return nil, nil, err
	}
	id := refID(admin["rbac_user"])
	if id == "" {
		return users, nil, nil
	}
	user, err := tx.Get(users, id)
	return users, user, err
}
