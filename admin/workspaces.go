package admin

import (
	"bytes"
	"fmt"
	"net/url"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema/entities"
)

// Every workspace-scoped endpoint is served both as /{endpoint} (the
// default workspace) and as /{workspace}/{endpoint}. The prefix is resolved
// before routing: a first segment that is one of the Admin API's roots is
// an endpoint (workspace names cannot take those), anything else names a
// workspace, which must exist.

// Request values the workspace resolution leaves for handlers.
const (
	// workspacePrefix is the raw "/{workspace}" the request came under, or
	// nil without one; page links keep it.
	workspacePrefix = "portico.workspace_prefix"
	// workspaceName is the name of the request's workspace.
	workspaceName = "portico.workspace_name"
)

// msgWorkspaceNotFound is Kong's answer to an unknown workspace prefix.
const msgWorkspaceNotFound = "Workspace '%s' not found"

// addRoot records the first segment of a registered path.
func (a *API) addRoot(path string) {
	seg, _ := splitFirst([]byte(path))
	if len(seg) > 0 && seg[0] != '{' {
		a.roots[string(seg)] = true
	}
}

// Roots lists the first segments of the Admin API's paths, which no
// workspace may be named.
func (a *API) Roots() []string {
	out := make([]string, 0, len(a.roots))
	for r := range a.roots {
		out = append(out, r)
	}
	return out
}

// enterWorkspace resolves the request's workspace and strips its prefix
// from the path, answering 404 itself for an unknown workspace or a path
// with dot segments (which name nothing here, and must not reach another
// endpoint than the one checked).
func (a *API) enterWorkspace(ctx *fasthttp.RequestCtx) bool {
	raw := ctx.Request.URI().PathOriginal()
	if hasDotSegment(raw) {
		notFound(ctx)
		return false
	}
	seg, rest := splitFirst(raw)
	if len(seg) == 0 || len(rest) == 0 || a.roots[string(seg)] || a.db.Entity(entities.WorkspacesName) == nil {
		ctx.SetUserValue(workspaceName, db.DefaultWorkspace)
		return true
	}
	name, err := url.PathUnescape(string(seg))
	if err != nil {
		notFound(ctx)
		return false
	}
	ws, found, err := a.db.LookupWorkspace(ctx, name)
	if err != nil {
		a.writeError(ctx, err)
		return false
	}
	if !found {
		// A path that would not route without the prefix is no workspace
		// path at all: a plain 404, as Kong's router gives.
		if h, _ := a.router.Lookup(string(ctx.Method()), string(rest), ctx); h == nil {
			notFound(ctx)
		} else {
			writeMessage(ctx, fasthttp.StatusNotFound, fmt.Sprintf(msgWorkspaceNotFound, name))
		}
		return false
	}
	// Workspaces are managed from the default workspace only, as in Kong,
	// but a workspace reads itself under its own prefix: go-kong (decK,
	// the Ingress Controller) checks that one exists with
	// GET /{ws}/workspaces/{ws}, which a workspace's RBAC user may do.
	if next, after := splitFirst(rest); ws.Name != db.DefaultWorkspace && string(next) == entities.WorkspacesName &&
		!readsItself(ctx, after, ws.Name, ws.ID) {
		notFound(ctx)
		return false
	}
	id, name := ws.ID, ws.Name
	ctx.SetUserValue(db.WorkspaceKey{}, id)
	ctx.SetUserValue(workspaceName, name)
	ctx.SetUserValue(workspacePrefix, string(raw[:len(raw)-len(rest)]))
	if len(rest) == 0 {
		rest = []byte("/")
	}
	ctx.Request.URI().SetPathBytes(rest)
	return true
}

// readsItself reports whether a request under a workspace's prefix reads
// that workspace: a GET of /workspaces/{name or id} or below (rest is the
// path after /workspaces).
func readsItself(ctx *fasthttp.RequestCtx, rest []byte, name, id string) bool {
	if !ctx.IsGet() && !ctx.IsHead() {
		return false
	}
	seg, _ := splitFirst(rest)
	key, err := url.PathUnescape(string(seg))
	return err == nil && (key == name || key == id)
}

// routeWorkspaces serves GET /workspaces/{workspace}/meta: how many
// entities of each kind the workspace holds.
func (a *API) routeWorkspaces() {
	if a.db.Entity(entities.WorkspacesName) == nil {
		return
	}
	a.register([]route{{fasthttp.MethodGet, "/workspaces/{" + entities.WorkspacesName + "}/meta", a.workspaceMeta}})
}

func (a *API) workspaceMeta(ctx *fasthttp.RequestCtx) {
	counts, found, err := a.db.WorkspaceCounts(ctx, param(ctx, entities.WorkspacesName))
	switch {
	case err != nil:
		a.writeError(ctx, err)
	case !found:
		notFound(ctx)
	default:
		writeJSON(ctx, fasthttp.StatusOK, map[string]any{"counts": counts})
	}
}

// splitFirst splits "/a/b/c" into "a" and "/b/c".
func splitFirst(path []byte) (seg, rest []byte) {
	path = bytes.TrimPrefix(path, []byte("/"))
	if i := bytes.IndexByte(path, '/'); i >= 0 {
		return path[:i], path[i:]
	}
	return path, nil
}

// hasDotSegment reports a "." or ".." segment, plain or percent-encoded.
func hasDotSegment(path []byte) bool {
	for len(path) > 0 {
		var seg []byte
		seg, path = splitFirst(path)
		// Only "." "..", and their encodings (at most "%2e%2e"), can be one.
		if len(seg) == 0 || len(seg) > 6 || seg[0] != '.' && seg[0] != '%' {
			continue
		}
		if d, err := url.PathUnescape(string(seg)); err == nil && (d == "." || d == "..") {
			return true
		}
	}
	return false
}

// requestWorkspace is the name of the request's workspace.
func requestWorkspace(ctx *fasthttp.RequestCtx) string {
	if s, ok := ctx.UserValue(workspaceName).(string); ok {
		return s
	}
	return db.DefaultWorkspace
}
