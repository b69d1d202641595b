package admin

import (
	"sort"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
)

// Kong's fixed strings for the node endpoints (kong/api/routes/kong.lua).
const (
	tagline            = "Welcome to kong"
	luaVersion         = "gopher-lua 5.1"
	msgNoEntity        = "No entity named '%s'"
	msgNoPlugin        = "No plugin named '%s'"
	msgSchemaValidated = "schema validation successful"
	pluginsEntity      = "plugins"
)

// route is one hand-written endpoint.
type route struct {
	method, path string
	h            fasthttp.RequestHandler
}

// register serves hand-written endpoints and lists them in /endpoints.
func (a *API) register(routes []route) {
	for _, r := range routes {
		a.handle(r.method, r.path, r.h)
		a.endpoint(r.path)
	}
}

// routeSpecial registers the hand-written endpoints.
func (a *API) routeSpecial() {
	a.register([]route{
		{fasthttp.MethodGet, "/", a.root},
		// Kong Enterprise serves the node's information at /kong too, and
		// under a workspace prefix, where decK reads the version when the
		// root is not open to a workspace's admin.
		{fasthttp.MethodGet, "/kong", a.root},
		{fasthttp.MethodGet, "/status", a.status},
		{fasthttp.MethodGet, "/endpoints", a.listEndpoints},
		{fasthttp.MethodGet, "/plugins/enabled", a.enabledPlugins},
		{fasthttp.MethodGet, "/schemas/{name}", a.entitySchema},
		{fasthttp.MethodGet, "/schemas/plugins/{name}", a.pluginSchema},
		// Portico's: an entity's subschema (an event hook handler's
		// config), as Kong serves a plugin's and a vault's.
		{fasthttp.MethodGet, "/schemas/{name}/{subschema}", a.entitySubschema},
		{fasthttp.MethodPost, "/schemas/plugins/validate", a.validatePlugin},
		{fasthttp.MethodPost, "/schemas/{name}/validate", a.validateEntity},
		{fasthttp.MethodGet, "/tags", a.tags},
		{fasthttp.MethodGet, "/tags/{tags}", a.tags},
	})
}

func (a *API) root(ctx *fasthttp.RequestCtx) {
	available := map[string]any{}
	for _, p := range a.plugins {
		available[p.Name] = map[string]any{"version": p.Version, "priority": p.Priority}
	}
	enabled, err := a.pluginsInUse(ctx)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{
		"tagline":         tagline,
		"version":         a.node.KongVersion,
		"portico_version": a.node.PorticoVersion,
		"edition":         a.node.Edition,
		"hostname":        a.node.Hostname,
		"node_id":         a.node.NodeID,
		"lua_version":     luaVersion,
		"timers":          map[string]any{"running": 0, "pending": 0},
		"pids":            map[string]any{"master": a.node.PID, "workers": []int{a.node.PID}},
		"plugins": map[string]any{
			"available_on_server": available,
			"enabled_in_cluster":  enabled,
		},
		"configuration": a.node.Configuration,
	})
}

// pluginsInUse lists the distinct plugin names configured (Kong's
// enabled_in_cluster), always as an array.
func (a *API) pluginsInUse(ctx *fasthttp.RequestCtx) ([]string, error) {
	e := a.db.Entity(pluginsEntity)
	names := []string{}
	if e == nil {
		return names, nil
	}
	seen := map[string]bool{}
	offset := ""
	for {
		rows, next, err := a.db.Page(ctx, e, dbPage(maxPageSize, offset))
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if n, _ := r["name"].(string); n != "" && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		if next == "" {
			break
		}
		offset = next
	}
	sort.Strings(names)
	return names, nil
}

// status is GET /status. The node builds the body (package status) so that
// the Status API answers the same; without it, only the database check.
func (a *API) status(ctx *fasthttp.RequestCtx) {
	if a.statusBody != nil {
		writeJSON(ctx, fasthttp.StatusOK, a.statusBody(ctx))
		return
	}
	reachable := a.db.Store().View(ctx, func(store.Tx) error { return nil }) == nil
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"database": map[string]any{"reachable": reachable}})
}

func (a *API) listEndpoints(ctx *fasthttp.RequestCtx) {
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"data": a.endpoints})
}

func (a *API) enabledPlugins(ctx *fasthttp.RequestCtx) {
	names := make([]string, len(a.plugins))
	for i, p := range a.plugins {
		names[i] = p.Name
	}
	writeJSON(ctx, fasthttp.StatusOK, map[string]any{"enabled_plugins": names})
}

// namedEntity is the entity a /schemas/{name} path names, answering 404 as
// Kong does when there is none.
func (a *API) namedEntity(ctx *fasthttp.RequestCtx) (*schema.Entity, bool) {
	name := param(ctx, "name")
	e := a.db.Entity(name)
	if e == nil && name == "tags" {
		e = entities.TagsSchema()
	}
	if e == nil || e.Internal {
		writeMessage(ctx, fasthttp.StatusNotFound, sprintf(msgNoEntity, name))
		return nil, false
	}
	return e, true
}

func (a *API) entitySchema(ctx *fasthttp.RequestCtx) {
	if e, ok := a.namedEntity(ctx); ok {
		writeJSON(ctx, fasthttp.StatusOK, e.JSONable())
	}
}

func (a *API) entitySubschema(ctx *fasthttp.RequestCtx) {
	e, ok := a.namedEntity(ctx)
	if !ok {
		return
	}
	out, ok := e.SubschemaJSONable(param(ctx, "subschema"))
	if !ok {
		notFound(ctx)
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func (a *API) pluginSchema(ctx *fasthttp.RequestCtx) {
	name := param(ctx, "name")
	var out map[string]any
	ok := false
	if e := a.db.Entity(pluginsEntity); e != nil {
		out, ok = e.SubschemaJSONable(name)
	}
	if !ok {
		writeMessage(ctx, fasthttp.StatusNotFound, sprintf(msgNoPlugin, name))
		return
	}
	writeJSON(ctx, fasthttp.StatusOK, out)
}

func (a *API) validateEntity(ctx *fasthttp.RequestCtx) {
	if e, ok := a.namedEntity(ctx); ok {
		a.validate(ctx, e)
	}
}

func (a *API) validatePlugin(ctx *fasthttp.RequestCtx) {
	e := a.db.Entity(pluginsEntity)
	if e == nil {
		notFound(ctx)
		return
	}
	a.validate(ctx, e)
}

// validate runs the insert-time checks without writing (Kong's
// /schemas/{entity}/validate).
func (a *API) validate(ctx *fasthttp.RequestCtx, e *schema.Entity) {
	args, ok := a.args(ctx, e)
	if !ok {
		return
	}
	if err := a.db.Validate(e, args); err != nil {
		a.writeError(ctx, err)
		return
	}
	writeMessage(ctx, fasthttp.StatusOK, msgSchemaValidated)
}

// tags serves GET /tags and GET /tags/{tag}: pages of {entity_name,
// entity_id, tag}. A ?tags= filter is ignored there, as in Kong.
func (a *API) tags(ctx *fasthttp.RequestCtx) {
	opts, err := pageOptions(ctx.QueryArgs(), nil)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	tag := param(ctx, "tags")
	if tag != "" && !utf8.ValidString(tag) {
		a.writeError(ctx, db.InvalidOptions("tags", "invalid utf-8 sequence in tag"))
		return
	}
	rows, offset, err := a.db.Tags(ctx, tag, opts.Size, opts.Offset)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	data := make([]any, len(rows))
	for i, r := range rows {
		data[i] = r
	}
	writeJSON(ctx, fasthttp.StatusOK, pageBody(ctx, data, offset, tag != ""))
}
