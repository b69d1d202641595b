package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/rbac"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// Kong Enterprise's RBAC answers (kong/rbac/init.lua).
const (
	msgInvalidRBAC = "Invalid RBAC credentials"
	msgForbidden   = "%s, you do not have permissions to %s this resource"
)

// rbacUser is the request value holding the authenticated *rbac.User.
const rbacUser = "portico.rbac_user"

// rbacExempt lists the endpoints any authenticated user may call, whatever
// their roles (Kong's /userinfo).
var rbacExempt = map[string]bool{"/userinfo": true}

// authenticated checks the request's RBAC token (from its header only: a
// token in the query string or the body is not looked at), answering 401
// itself.
//
// Without a token, a Kong Manager session cookie authenticates instead.
func (a *API) authenticated(ctx *fasthttp.RequestCtx) bool {
	token := ctx.Request.Header.Peek(a.rbacHeader)
	if len(token) == 0 {
		if c := a.sessionCookie(ctx); len(c) > 0 {
			return a.sessionAuthenticated(ctx, c)
		}
	}
	user, err := a.rbac.Authenticate(ctx, string(token))
	return a.admit(ctx, user, err)
}

// admit makes user the request's caller, or answers 401 (no such user,
// token or session) or 500 itself.
func (a *API) admit(ctx *fasthttp.RequestCtx, user *rbac.User, err error) bool {
	switch {
	case errors.Is(err, rbac.ErrInvalid):
		writeMessage(ctx, fasthttp.StatusUnauthorized, msgInvalidRBAC)
		return false
	case err != nil:
		a.internalError(ctx, err)
		return false
	}
	ctx.SetUserValue(rbacUser, user)
	return true
}

// caller is the request's authenticated RBAC user, or nil when RBAC is off.
func caller(ctx *fasthttp.RequestCtx) *rbac.User {
	u, _ := ctx.UserValue(rbacUser).(*rbac.User)
	return u
}

// authorized wraps an endpoint's handler with the check of the caller's
// endpoint permissions in the request's workspace.
func (a *API) authorized(pattern string, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		u := caller(ctx)
		action := rbac.ActionFor(string(ctx.Method()))
		if u == nil || !u.Permissions.Allows(requestWorkspace(ctx), string(ctx.Path()), pattern, action) {
			name := ""
			if u != nil {
				name = u.Name
			}
			writeMessage(ctx, fasthttp.StatusForbidden, fmt.Sprintf(msgForbidden, name, action))
			return
		}
		h(ctx)
	}
}

// endpointPattern is a registered path with its parameters as "*", the form
// RBAC permissions name endpoints in (/consumers/{consumers} → /consumers/*).
func endpointPattern(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "*"
		}
	}
	return strings.Join(segs, "/")
}

// Kong Enterprise's messages for role permissions (kong/api/routes/rbac.lua).
const (
	msgEndpointRequired   = "'endpoint' is a required field"
	msgUndefinedAction    = "Undefined RBAC action %s"
	msgWorkspaceNotExist  = "Workspace %s does not exist"
	msgCrossWorkspace     = "%s is not allowed to create cross workspace permissions"
	msgEntityIDRequired   = "Missing required parameter: 'entity_id'"
	msgEntityTypeRequired = "Missing required parameter: 'entity_type'"
	msgNoSuchEntity       = "There is no entity of type '%s' with given entity_id"
	msgNotUUID            = "%s is not a valid uuid"
	msgOwnRoles           = "the admin should not update their own roles"
	msgOwnEndpoints       = "the admin should not update or delete their own endpoints"
)

// routeRBAC serves the hand-written RBAC endpoints: a role's endpoint and
// entity permissions, the roles of admins and RBAC users, and /userinfo.
func (a *API) routeRBAC() {
	if a.db.Entity(rbac.RolesEntity) == nil {
		return
	}
	role := "/rbac/roles/{" + rbac.RolesEntity + "}"
	a.permissionRoutes(role+"/endpoints", role+"/endpoints/{workspace}/{endpoint:*}", endpointPermissions{a})
	a.permissionRoutes(role+"/entities", role+"/entities/{entity_id}", entityPermissions{a})
	a.roleAssignmentRoutes("/admins/{"+rbac.AdminsEntity+"}/roles", rbac.AdminsEntity)
	a.roleAssignmentRoutes("/rbac/users/{"+rbac.UsersEntity+"}/roles", rbac.UsersEntity)
	a.register([]route{
		{fasthttp.MethodGet, role + "/permissions", a.rolePermissions},
		{fasthttp.MethodGet, "/userinfo", a.userinfo},
	})
}

// permissionKind is one kind of role permission (endpoint or entity): how
// its rows are read from requests, found and shown.
type permissionKind interface {
	entity() string
	// input checks and completes a create body; it answers errors itself.
	input(ctx *fasthttp.RequestCtx, args map[string]any) bool
	// key reads an item path's parameters into the fields naming the row.
	key(ctx *fasthttp.RequestCtx) (map[string]any, bool)
}

func (a *API) permissionRoutes(collection, item string, kind permissionKind) {
	e := a.db.Entity(kind.entity())
	a.endpoint(collection)
	a.endpoint(item)
	a.handle(fasthttp.MethodGet, collection, func(ctx *fasthttp.RequestCtx) {
		if scope, ok := a.roleScope(ctx); ok {
			rows, ok := a.allRows(ctx, e, scope, nil)
			if !ok {
				return
			}
			data := make([]any, len(rows))
			for i, r := range rows {
				data[i] = permissionOutput(e.Output(r))
			}
			writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": data, "next": nil})
		}
	})
	a.handle(fasthttp.MethodPost, collection, func(ctx *fasthttp.RequestCtx) {
		scope, ok := a.roleScope(ctx)
		if !ok || a.ownRole(ctx, scope.ID, msgOwnRoles) {
			return
		}
		args, ok := a.permissionArgs(ctx, e)
		if !ok || !kind.input(ctx, args) {
			return
		}
		row, err := a.db.Insert(ctx, e, args, scope)
		if err != nil {
			a.writeError(ctx, err)
			return
		}
		writeJSON(ctx, fasthttp.StatusCreated, permissionOutput(e.Output(row)))
	})
	// found answers 404 itself when the role has no such permission.
	found := func(ctx *fasthttp.RequestCtx) (map[string]any, bool) {
		scope, ok := a.roleScope(ctx)
		if !ok || ctx.IsPatch() && a.ownRole(ctx, scope.ID, msgOwnEndpoints) {
			return nil, false
		}
		key, ok := kind.key(ctx)
		if !ok {
			return nil, false
		}
		rows, ok := a.allRows(ctx, e, scope, key)
		if ok && len(rows) == 0 {
			notFound(ctx)
			return nil, false
		}
		if !ok {
			return nil, false
		}
		return rows[0], true
	}
	a.handle(fasthttp.MethodGet, item, func(ctx *fasthttp.RequestCtx) {
		if row, ok := found(ctx); ok {
			writeJSON(ctx, fasthttp.StatusOK, permissionOutput(e.Output(row)))
		}
	})
	a.handle(fasthttp.MethodPatch, item, func(ctx *fasthttp.RequestCtx) {
		row, ok := found(ctx)
		if !ok {
			return
		}
		args, ok := a.permissionArgs(ctx, e)
		if !ok {
			return
		}
		patch := map[string]any{}
		for _, f := range []string{"actions", "negative", "comment"} {
			if v, given := args[f]; given {
				patch[f] = v
			}
		}
		updated, err := a.db.Update(ctx, e, row["id"].(string), patch, nil)
		if err != nil {
			a.writeError(ctx, err)
			return
		}
		writeJSON(ctx, fasthttp.StatusOK, permissionOutput(e.Output(updated)))
	})
	a.handle(fasthttp.MethodDelete, item, func(ctx *fasthttp.RequestCtx) {
		scope, ok := a.roleScope(ctx)
		if !ok || a.ownRole(ctx, scope.ID, msgOwnEndpoints) {
			return
		}
		key, ok := kind.key(ctx)
		if !ok {
			return
		}
		rows, ok := a.allRows(ctx, e, scope, key)
		if !ok {
			return
		}
		for _, r := range rows {
			if err := a.db.Delete(ctx, e, r["id"].(string), nil); err != nil {
				a.writeError(ctx, err)
				return
			}
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
}

// ownRole answers 403 with msg when the caller holds the role: nobody
// changes the permissions they act with.
func (a *API) ownRole(ctx *fasthttp.RequestCtx, roleID, msg string) bool {
	u := caller(ctx)
	if u == nil {
		return false
	}
	held, err := rbac.UserRoleIDs(ctx, a.db, u.ID)
	if err != nil {
		a.writeError(ctx, err)
		return true
	}
	if slices.Contains(held, roleID) {
		writeMessage(ctx, fasthttp.StatusForbidden, msg)
		return true
	}
	return false
}

// permissionOutput shows a permission as Kong does: named by its role and
// key, without an id of its own.
func permissionOutput(row map[string]any) map[string]any {
	delete(row, "id")
	delete(row, "updated_at")
	return row
}

// roleScope resolves the role of the request's workspace in the path.
func (a *API) roleScope(ctx *fasthttp.RequestCtx) (*db.Scope, bool) {
	row, ok := a.selected(ctx, a.db.Entity(rbac.RolesEntity), param(ctx, rbac.RolesEntity), nil)
	if !ok {
		return nil, false
	}
	return &db.Scope{Field: "role", ID: row["id"].(string)}, true
}

// allRows reads every row of e under scope whose fields equal the given
// ones, answering errors itself.
func (a *API) allRows(ctx *fasthttp.RequestCtx, e *schema.Entity, scope *db.Scope, equal map[string]any) ([]map[string]any, bool) {
	rows, err := a.db.All(ctx, e, db.PageOptions{Scope: scope, Equal: equal})
	if err != nil {
		a.writeError(ctx, err)
		return nil, false
	}
	return rows, true
}

// permissionArgs decodes a permission body: actions come as a list or a
// comma-separated string, "*" meaning all of them.
func (a *API) permissionArgs(ctx *fasthttp.RequestCtx, e *schema.Entity) (map[string]any, bool) {
	args, ok := a.args(ctx, e)
	if !ok {
		return nil, false
	}
	v, given := args["actions"]
	if !given {
		return args, true
	}
	var actions rbac.Action
	for _, w := range commaList(v) {
		w = strings.TrimSpace(w)
		if w == "*" {
			actions |= rbac.AllActions
			continue
		}
		act, ok := rbac.ParseAction(w)
		if !ok {
			writeMessage(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(msgUndefinedAction, w))
			return nil, false
		}
		actions |= act
	}
	args["actions"] = actions.List()
	return args, true
}

// endpointPermissions are rbac_role_endpoints.
type endpointPermissions struct{ a *API }

func (endpointPermissions) entity() string { return rbac.RoleEndpointsEntity }

func (k endpointPermissions) input(ctx *fasthttp.RequestCtx, args map[string]any) bool {
	ep, _ := args["endpoint"].(string)
	if strings.TrimSpace(ep) == "" {
		writeMessage(ctx, fasthttp.StatusBadRequest, msgEndpointRequired)
		return false
	}
	args["endpoint"] = rbac.NormalizeEndpoint(ep)
	ws, _ := args["workspace"].(string)
	if ws == "" {
		ws = requestWorkspace(ctx)
		args["workspace"] = ws
	}
	if ws != "*" {
		row, err := k.a.db.Select(ctx, k.a.db.Entity(entities.WorkspacesName), ws, nil)
		if err != nil {
			k.a.writeError(ctx, err)
			return false
		}
		if row == nil {
			writeMessage(ctx, fasthttp.StatusNotFound, fmt.Sprintf(msgWorkspaceNotExist, ws))
			return false
		}
	}
	// A role may only be given permissions in another workspace by a
	// caller who may do the same there.
	if u := caller(ctx); u != nil && ws != requestWorkspace(ctx) &&
		!u.Permissions.Allows(ws, string(ctx.Path()), endpointPattern("/rbac/roles/{r}/endpoints"), rbac.Create) {
		writeMessage(ctx, fasthttp.StatusForbidden, fmt.Sprintf(msgCrossWorkspace, u.Name))
		return false
	}
	return true
}

func (endpointPermissions) key(ctx *fasthttp.RequestCtx) (map[string]any, bool) {
	ep := param(ctx, "endpoint")
	if ep != "*" {
		ep = "/" + ep
	}
	return map[string]any{"workspace": param(ctx, "workspace"), "endpoint": ep}, true
}

// entityPermissions are rbac_role_entities.
type entityPermissions struct{ a *API }

func (entityPermissions) entity() string { return rbac.RoleEntitiesEntity }

func (k entityPermissions) input(ctx *fasthttp.RequestCtx, args map[string]any) bool {
	id, _ := args["entity_id"].(string)
	typ, _ := args["entity_type"].(string)
	switch {
	case id == "":
		writeMessage(ctx, fasthttp.StatusBadRequest, msgEntityIDRequired)
		return false
	case id == "*":
		args["entity_type"] = "wildcard"
		return true
	case !schema.IsUUID(id):
		writeMessage(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(msgNotUUID, id))
		return false
	case typ == "":
		writeMessage(ctx, fasthttp.StatusBadRequest, msgEntityTypeRequired)
		return false
	}
	var row map[string]any
	if e := k.a.db.Entity(typ); e != nil {
		var err error
		if row, err = k.a.db.Select(ctx, e, id, nil); err != nil {
			k.a.writeError(ctx, err)
			return false
		}
	}
	if row == nil {
		writeMessage(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(msgNoSuchEntity, typ))
		return false
	}
	return true
}

func (entityPermissions) key(ctx *fasthttp.RequestCtx) (map[string]any, bool) {
	id := param(ctx, "entity_id")
	if id != "*" && !schema.IsUUID(id) {
		writeMessage(ctx, fasthttp.StatusBadRequest, fmt.Sprintf(msgNotUUID, id))
		return nil, false
	}
	return map[string]any{"entity_id": id}, true
}

// rolePermissions serves a role's endpoint permissions in Kong's readable
// form.
func (a *API) rolePermissions(ctx *fasthttp.RequestCtx) {
	scope, ok := a.roleScope(ctx)
	if !ok {
		return
	}
	rows, ok := a.allRows(ctx, a.db.Entity(rbac.RoleEndpointsEntity), scope, nil)
	if !ok {
		return
	}
	perms := make([]rbac.EndpointPermission, len(rows))
	for i, r := range rows {
		perms[i] = rbac.EndpointPermissionOf(r)
	}
	entities, ok := a.allRows(ctx, a.db.Entity(rbac.RoleEntitiesEntity), scope, nil)
	if !ok {
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"endpoints": rbac.NewPermissions(perms).Readable(),
		"entities":  readableEntities(entities),
	})
}

func readableEntities(rows []map[string]any) map[string]any {
	out := map[string]any{}
	for _, r := range rows {
		acts := map[string]any{}
		neg, _ := r["negative"].(bool)
		list, _ := r["actions"].([]any)
		for _, v := range list {
			acts[fmt.Sprint(v)] = map[string]any{"negative": neg}
		}
		out[fmt.Sprint(r["entity_id"])] = map[string]any{"entity_type": r["entity_type"], "actions": acts}
	}
	return out
}

// roleAssignmentRoutes serves the roles of an admin or an RBAC user.
func (a *API) roleAssignmentRoutes(path, owner string) {
	e := a.db.Entity(owner)
	if e == nil {
		return
	}
	a.endpoint(path)
	// user resolves the path's admin or user to the RBAC user id, with
	// what the answer shows of the owner ("user" for RBAC users).
	user := func(ctx *fasthttp.RequestCtx) (string, map[string]any, bool) {
		row, ok := a.selected(ctx, e, param(ctx, owner), nil)
		if !ok {
			return "", nil, false
		}
		if owner == rbac.AdminsEntity {
			id := db.RefID(row["rbac_user"])
			if id == "" {
				notFound(ctx)
				return "", nil, false
			}
			return id, nil, true
		}
		return row["id"].(string), map[string]any{"user": e.Output(row)}, true
	}
	answer := func(ctx *fasthttp.RequestCtx, status int, extra map[string]any, roles []map[string]any) {
		out := map[string]any{"roles": roleList(a.db.Entity(rbac.RolesEntity), roles)}
		for k, v := range extra {
			out[k] = v
		}
		writeJSON(ctx, status, out)
	}
	a.handle(fasthttp.MethodGet, path, func(ctx *fasthttp.RequestCtx) {
		id, extra, ok := user(ctx)
		if !ok {
			return
		}
		ids, err := rbac.UserRoleIDs(ctx, a.db, id)
		if err != nil {
			a.writeError(ctx, err)
			return
		}
		roles, err := rbac.RolesByID(ctx, a.db, ids)
		if err != nil {
			a.writeError(ctx, err)
			return
		}
		answer(ctx, fasthttp.StatusOK, extra, roles)
	})
	// change runs a role change on the path's user, which may not be the
	// caller's own.
	change := func(ctx *fasthttp.RequestCtx, fn func(id string, names []string) error) {
		id, _, ok := user(ctx)
		if !ok {
			return
		}
		if u := caller(ctx); u != nil && u.ID == id {
			writeMessage(ctx, fasthttp.StatusForbidden, msgOwnRoles)
			return
		}
		names, ok := a.roleNames(ctx)
		if ok {
			if err := fn(id, names); err != nil {
				a.writeError(ctx, err)
			}
		}
	}
	a.handle(fasthttp.MethodPost, path, func(ctx *fasthttp.RequestCtx) {
		change(ctx, func(id string, names []string) error {
			roles, err := rbac.AssignRoles(ctx, a.db, id, names)
			if err == nil {
				_, extra, _ := user(ctx)
				answer(ctx, fasthttp.StatusCreated, extra, roles)
			}
			return err
		})
	})
	a.handle(fasthttp.MethodDelete, path, func(ctx *fasthttp.RequestCtx) {
		change(ctx, func(id string, names []string) error {
			err := rbac.RevokeRoles(ctx, a.db, id, names)
			if err == nil {
				ctx.SetStatusCode(fasthttp.StatusNoContent)
			}
			return err
		})
	})
}

// roleNames reads "roles" from the body (a list or a comma-separated
// string) or, for DELETE, also from the query string.
func (a *API) roleNames(ctx *fasthttp.RequestCtx) ([]string, bool) {
	b, err := decodeBody(string(ctx.Request.Header.ContentType()), ctx.PostBody())
	if err != nil {
		a.writeError(ctx, err)
		return nil, false
	}
	names := commaList(b.args["roles"])
	if q := ctx.QueryArgs().Peek("roles"); len(names) == 0 && q != nil {
		names = strings.Split(string(q), ",")
	}
	return names, true
}

// commaList reads a list given as an array, a comma-separated string, or
// an array of those (form bodies repeat keys; Kong accepts "read,create").
func commaList(v any) []string {
	var out []string
	switch v := v.(type) {
	case string:
		out = strings.Split(v, ",")
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, strings.Split(s, ",")...)
		}
	}
	return out
}

func roleList(e *schema.Entity, roles []map[string]any) []any {
	out := make([]any, len(roles))
	for i, r := range roles {
		out[i] = e.Output(r)
	}
	return out
}

// userinfo describes the calling admin: who they are, their permissions and
// the workspaces they reach. Without RBAC there is no caller: 404.
func (a *API) userinfo(ctx *fasthttp.RequestCtx) {
	u := caller(ctx)
	admins := a.db.Entity(rbac.AdminsEntity)
	if u == nil || admins == nil {
		notFound(ctx)
		return
	}
	rows, _, err := a.db.Page(ctx, admins, db.PageOptions{Size: 1, Scope: &db.Scope{Field: "rbac_user", ID: u.ID}})
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	if len(rows) == 0 {
		notFound(ctx)
		return
	}
	workspaces, ok := a.allRows(ctx, a.db.Entity(entities.WorkspacesName), nil, nil)
	if !ok {
		return
	}
	readable := u.Permissions.Readable()
	reached := []any{}
	for _, ws := range workspaces {
		_, named := readable[fmt.Sprint(ws["name"])]
		if _, all := readable["*"]; all || named {
			reached = append(reached, a.db.Entity(entities.WorkspacesName).Output(ws))
		}
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"admin":       admins.Output(rows[0]),
		"groups":      []any{},
		"permissions": map[string]any{"endpoints": readable, "entities": map[string]any{}},
		"workspaces":  reached,
	})
}
