// Package rbac is Kong Enterprise's RBAC for the Admin API (enforce_rbac):
// a token arrives in one header (rbac_auth_header) and is checked against
// the bcrypt hashes of rbac_users; the user's roles grant or deny actions
// on endpoints per workspace. Known tokens are cached with their
// permissions, so a request costs a hash lookup, not a bcrypt, until RBAC
// data changes.
package rbac

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema/entities"
)

// Kong's names.
const (
	UsersEntity         = entities.RBACUsersName
	AdminsEntity        = entities.AdminsName
	RolesEntity         = "rbac_roles"
	RoleEndpointsEntity = "rbac_role_endpoints"
	RoleEntitiesEntity  = "rbac_role_entities"
	UserRolesEntity     = "rbac_user_roles"
	// SuperAdmin is the admin created at bootstrap from KONG_PASSWORD.
	SuperAdmin = "kong_admin"
	// PasswordEnv is the environment variable holding the super admin's
	// password at bootstrap.
	PasswordEnv = "KONG_PASSWORD"
)

// maxTokenBytes refuses absurd tokens before any hashing.
const maxTokenBytes = 1024

// cacheTTL bounds how long a verified token is trusted without a bcrypt,
// besides the invalidation on every user change.
const cacheTTL = 5 * time.Minute

// ErrInvalid is a missing, unknown or disabled token.
var ErrInvalid = errors.New("Invalid RBAC credentials")

// Authenticator checks RBAC tokens. It is safe for concurrent use.
type Authenticator struct {
	db  *db.DB
	now func() time.Time

	mu    sync.Mutex
	known map[[sha256.Size]byte]entry // token digest → verified user
	byID  map[string]*User            // user id → user, for sessions
	gen   uint64                      // bumped by every invalidation
}

type entry struct {
	digest  [sha256.Size]byte
	user    *User
	expires time.Time
}

// User is an authenticated RBAC user with its merged permissions.
type User struct {
	ID          string
	Name        string
	Permissions *Permissions
}

// invalidating lists the entities whose changes can change who a token is
// or what it may do.
var invalidating = map[string]bool{UsersEntity: true, AdminsEntity: true, RolesEntity: true,
	RoleEndpointsEntity: true, UserRolesEntity: true, entities.WorkspacesName: true}

// New returns an authenticator over d; bus changes to RBAC data empty its
// cache.
func New(d *db.DB, bus *events.Bus) *Authenticator {
	a := &Authenticator{db: d, now: time.Now, known: map[[sha256.Size]byte]entry{}, byID: map[string]*User{}}
	if bus != nil {
		bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
			if invalidating[ev.Name] {
				a.mu.Lock()
				clear(a.known)
				clear(a.byID)
				a.gen++
				a.mu.Unlock()
			}
		})
	}
	return a
}

// Authenticate returns the RBAC user holding token, or ErrInvalid for a
// missing, unknown or disabled token, or a user without any role.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (*User, error) {
	if token == "" || len(token) > maxTokenBytes {
		return nil, ErrInvalid
	}
	digest := sha256.Sum256([]byte(token))
	now := a.now()
	a.mu.Lock()
	e, ok := a.known[digest]
	a.mu.Unlock()
	if ok && subtle.ConstantTimeCompare(e.digest[:], digest[:]) == 1 && now.Before(e.expires) {
		return e.user, nil
	}
	users := a.db.Entity(UsersEntity)
	if users == nil {
		return nil, ErrInvalid
	}
	// Tokens are unique across workspaces: the user may belong to any. The
	// identifier's index narrows the bcrypt checks to its few rows.
	candidates, err := a.db.Find(ctx, users, "user_token_ident", entities.TokenIdent(token))
	if err != nil {
		return nil, fmt.Errorf("looking up an RBAC token: %w", err)
	}
	for _, row := range entities.TokenUsers(candidates, token) {
		if enabled, _ := row["enabled"].(bool); !enabled {
			continue
		}
		id, _ := row["id"].(string)
		name, _ := row["name"].(string)
		perms, err := a.permissions(ctx, id)
		if err != nil {
			return nil, err
		}
		if perms.Empty() {
			return nil, ErrInvalid // Kong: a user whose roles cover no workspace
		}
		u := &User{ID: id, Name: name, Permissions: perms}
		a.mu.Lock()
		a.known[digest] = entry{digest: digest, user: u, expires: now.Add(cacheTTL)}
		a.mu.Unlock()
		return u, nil
	}
	return nil, ErrInvalid
}

// permissions merges the endpoint permissions of a user's roles.
func (a *Authenticator) permissions(ctx context.Context, userID string) (*Permissions, error) {
	roleIDs, err := UserRoleIDs(ctx, a.db, userID)
	if err != nil {
		return nil, err
	}
	var perms []EndpointPermission
	for _, roleID := range roleIDs {
		rows, err := all(ctx, a.db, RoleEndpointsEntity, &db.Scope{Field: "role", ID: roleID})
		if err != nil {
			return nil, fmt.Errorf("reading the permissions of role %s: %w", roleID, err)
		}
		for _, r := range rows {
			perms = append(perms, EndpointPermissionOf(r))
		}
	}
	return NewPermissions(perms), nil
}

// EndpointPermissionOf reads an rbac_role_endpoints row.
func EndpointPermissionOf(row map[string]any) EndpointPermission {
	p := EndpointPermission{}
	p.Workspace, _ = row["workspace"].(string)
	p.Endpoint, _ = row["endpoint"].(string)
	p.Negative, _ = row["negative"].(bool)
	acts, _ := row["actions"].([]any)
	for _, v := range acts {
		s, _ := v.(string)
		if a, ok := ParseAction(s); ok {
			p.Actions |= a
		}
	}
	return p
}

// UserRoleIDs lists the ids of the roles a user holds, in every workspace.
func UserRoleIDs(ctx context.Context, d *db.DB, userID string) ([]string, error) {
	links, err := all(ctx, d, UserRolesEntity, &db.Scope{Field: "user", ID: userID})
	if err != nil {
		return nil, fmt.Errorf("reading the roles of RBAC user %s: %w", userID, err)
	}
	ids := make([]string, 0, len(links))
	for _, l := range links {
		ids = append(ids, db.RefID(l["role"]))
	}
	return ids, nil
}

// all reads every row of an entity under a scope, in every workspace.
func all(ctx context.Context, d *db.DB, entity string, scope *db.Scope) ([]map[string]any, error) {
	e := d.Entity(entity)
	if e == nil {
		return nil, nil
	}
	return d.All(db.AcrossWorkspaces(ctx), e, db.PageOptions{Scope: scope})
}

// DefaultRole is one of the roles every bootstrapped store has, in the
// default workspace.
type DefaultRole struct {
	Name, Comment string
	Permissions   []EndpointPermission
}

// Kong's default roles. The admin role is denied the RBAC endpoints and the
// admins: whoever holds it cannot grant themselves more.
var DefaultRoles = []DefaultRole{
	{Name: "read-only", Comment: "Read access to all endpoints, across all workspaces",
		Permissions: []EndpointPermission{{Workspace: "*", Endpoint: "*", Actions: Read}}},
	{Name: "admin", Comment: "Full access to all endpoints, across all workspaces\u2014except RBAC Admin API",
		Permissions: append([]EndpointPermission{{Workspace: "*", Endpoint: "*", Actions: AllActions}},
			denyAll("/rbac/*", "/rbac/*/*", "/rbac/*/*/*", "/rbac/*/*/*/*", "/rbac/*/*/*/*/*",
				"/admins", "/admins/*", "/admins/*/*", "/admins/*/*/*")...)},
	{Name: SuperAdminRole, Comment: "Full access to all endpoints, across all workspaces",
		Permissions: []EndpointPermission{{Workspace: "*", Endpoint: "*", Actions: AllActions}}},
}

// SuperAdminRole is the role of the super admin.
const SuperAdminRole = "super-admin"

func denyAll(endpoints ...string) []EndpointPermission {
	out := make([]EndpointPermission, len(endpoints))
	for i, e := range endpoints {
		out[i] = EndpointPermission{Workspace: "*", Endpoint: e, Actions: AllActions, Negative: true}
	}
	return out
}

// Bootstrap creates Kong's default roles in the default workspace, and the
// super admin kong_admin, with the password from KONG_PASSWORD as its RBAC
// token and the super-admin role, unless it exists or no password is set.
// It is idempotent; the password is never logged.
func Bootstrap(ctx context.Context, d *db.DB) error {
	roles := d.Entity(RolesEntity)
	if roles == nil {
		return nil
	}
	for _, r := range DefaultRoles {
		if err := ensureRole(ctx, d, r); err != nil {
			return fmt.Errorf("creating the default role %s: %w", r.Name, err)
		}
	}
	password := os.Getenv(PasswordEnv)
	users, admins := d.Entity(UsersEntity), d.Entity(AdminsEntity)
	if password == "" || users == nil || admins == nil {
		return nil
	}
	admin, err := d.Select(ctx, admins, SuperAdmin, nil)
	if err != nil {
		return err
	}
	userID := ""
	if admin == nil {
		user, err := d.Insert(ctx, users, map[string]any{"name": SuperAdmin, "user_token": password,
			"comment": "super admin created at bootstrap"}, nil)
		if err != nil {
			return fmt.Errorf("creating the super admin's RBAC user: %w", err)
		}
		userID, _ = user["id"].(string)
		_, err = d.Insert(ctx, admins, map[string]any{"username": SuperAdmin, "status": float64(entities.AdminApproved),
			"rbac_user": map[string]any{"id": userID}}, nil)
		if err != nil {
			return fmt.Errorf("creating the super admin: %w", err)
		}
	} else {
		userID = db.RefID(admin["rbac_user"])
	}
	if userID == "" {
		return nil
	}
	held, err := UserRoleIDs(ctx, d, userID)
	if err != nil || len(held) > 0 {
		return err
	}
	if _, err := AssignRoles(ctx, d, userID, []string{SuperAdminRole}); err != nil {
		return fmt.Errorf("giving the super admin its role: %w", err)
	}
	return nil
}

func ensureRole(ctx context.Context, d *db.DB, r DefaultRole) error {
	roles, endpoints := d.Entity(RolesEntity), d.Entity(RoleEndpointsEntity)
	row, err := d.Select(ctx, roles, r.Name, nil)
	if err != nil || row != nil {
		return err
	}
	row, err = d.Insert(ctx, roles, map[string]any{"name": r.Name, "comment": r.Comment}, nil)
	if err != nil {
		return err
	}
	scope := &db.Scope{Field: "role", ID: row["id"].(string)}
	for _, p := range r.Permissions {
		if _, err := d.Insert(ctx, endpoints, p.Row(), scope); err != nil {
			return err
		}
	}
	return nil
}

// Row is the permission as an rbac_role_endpoints input.
func (p EndpointPermission) Row() map[string]any {
	return map[string]any{"workspace": p.Workspace, "endpoint": p.Endpoint, "actions": p.Actions.List(), "negative": p.Negative}
}

// Kong's messages for role assignments (kong/api/routes/admins.lua).
const (
	msgNoRoles      = "must provide >= 1 role"
	msgRoleNotFound = "role not found with name '%s'"
)

// AssignRoles gives a user the named roles of the context's workspace
// (roles it holds already are kept), returning the roles it holds then.
func AssignRoles(ctx context.Context, d *db.DB, userID string, names []string) ([]map[string]any, error) {
	ids, err := roleIDs(ctx, d, names)
	if err != nil {
		return nil, err
	}
	held, err := UserRoleIDs(ctx, d, userID)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if slices.Contains(held, id) {
			continue
		}
		link := map[string]any{"user": map[string]any{"id": userID}, "role": map[string]any{"id": id}}
		if _, err := d.Insert(ctx, d.Entity(UserRolesEntity), link, nil); err != nil {
			return nil, err
		}
		held = append(held, id)
	}
	return RolesByID(ctx, d, held)
}

// RevokeRoles takes the named roles of the context's workspace from a user.
func RevokeRoles(ctx context.Context, d *db.DB, userID string, names []string) error {
	ids, err := roleIDs(ctx, d, names)
	if err != nil {
		return err
	}
	links, err := all(ctx, d, UserRolesEntity, &db.Scope{Field: "user", ID: userID})
	if err != nil {
		return err
	}
	for _, l := range links {
		if slices.Contains(ids, db.RefID(l["role"])) {
			if err := d.Delete(ctx, d.Entity(UserRolesEntity), l["id"].(string), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// roleIDs resolves role names in the context's workspace, refusing an
// empty list or an unknown name with Kong's messages.
func roleIDs(ctx context.Context, d *db.DB, names []string) ([]string, error) {
	var ids []string
	for _, n := range names {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		row, err := d.Select(ctx, d.Entity(RolesEntity), n, nil)
		if err != nil {
			return nil, err
		}
		if row == nil {
			return nil, db.Plain(db.CodeSchemaViolation, fmt.Sprintf(msgRoleNotFound, n))
		}
		ids = append(ids, row["id"].(string))
	}
	if len(ids) == 0 {
		return nil, db.Plain(db.CodeSchemaViolation, msgNoRoles)
	}
	return ids, nil
}

// RolesByID reads roles by id, in any workspace, sorted by name.
func RolesByID(ctx context.Context, d *db.DB, ids []string) ([]map[string]any, error) {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		row, err := d.Select(db.AcrossWorkspaces(ctx), d.Entity(RolesEntity), id, nil)
		if err != nil {
			return nil, err
		}
		if row != nil {
			out = append(out, row)
		}
	}
	slices.SortFunc(out, func(a, b map[string]any) int {
		return strings.Compare(fmt.Sprint(a["name"]), fmt.Sprint(b["name"]))
	})
	return out, nil
}
