package admin

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/schema/entities"
)

// Page sizes (Kong: kong/api/endpoints.lua extract_options).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// routeEntities generates Kong's CRUD endpoints for every entity:
//
//	/{entities}                       GET list, POST create
//	/{entities}/{key}                 GET, PUT, PATCH, DELETE
//	/{parents}/{parent}/{entities}    GET list, POST create (for each foreign key;
//	                                  {entities} is the nested name: /consumers/{c}/key-auth)
//	/{parents}/{parent}/{entities}/{key}
//	/{entities}/{key}/{foreign}       GET, PUT, PATCH the referenced entity
func (a *API) routeEntities() {
	reg := a.db.Registry()
	for _, e := range reg.Entities() {
		if e.NoAdminAPI {
			continue
		}
		if !e.AdminDisabled {
			a.routeCollection("/"+e.Path(), e, nil)
		}
		for _, f := range e.References() {
			parent := reg.Entity(f.Reference)
			if parent == nil || parent.AdminDisabled {
				continue
			}
			a.routeCollection("/"+parent.Path()+"/{"+parent.Name+"}/"+e.NestedPath(), e, &nested{parent: parent, field: f.Name})
			if !e.AdminDisabled && !foreignDisabled[e.Name+"."+f.Name] {
				a.routeForeign(e, f, parent)
			}
		}
	}
}

// foreignDisabled lists foreign-entity endpoints Kong does not serve.
var foreignDisabled = map[string]bool{"snis.certificate": true}

// nested is the parent of a nested collection.
type nested struct {
	parent *schema.Entity
	field  string // the child's foreign field
}

func (a *API) routeCollection(base string, e *schema.Entity, parent *nested) {
	item := base + "/{" + e.Name + "}"
	a.endpoint(base)
	a.endpoint(item)
	a.handle(fasthttp.MethodGet, base, func(ctx *fasthttp.RequestCtx) { a.list(ctx, e, parent) })
	a.handle(fasthttp.MethodPost, base, func(ctx *fasthttp.RequestCtx) { a.create(ctx, e, parent) })
	key := func(ctx *fasthttp.RequestCtx) string { return param(ctx, e.Name) }
	a.handle(fasthttp.MethodGet, item, func(ctx *fasthttp.RequestCtx) {
		scope, ok := a.scope(ctx, parent)
		if !ok {
			return
		}
		if row, ok := a.selected(ctx, e, key(ctx), scope); ok {
			writeJSON(ctx, fasthttp.StatusOK, e.Output(row))
		}
	})
	a.handle(fasthttp.MethodPatch, item, func(ctx *fasthttp.RequestCtx) {
		scope, ok := a.childScope(ctx, e, key(ctx), parent)
		if !ok {
			return
		}
		args, ok := a.updateArgs(ctx, e, key(ctx), scope)
		if !ok {
			return
		}
		row, err := a.db.Update(ctx, e, key(ctx), args, scope)
		a.writeRow(ctx, e, fasthttp.StatusOK, row, err)
	})
	if !e.NoPut {
		a.handle(fasthttp.MethodPut, item, func(ctx *fasthttp.RequestCtx) {
			scope, args, ok := a.scopedArgs(ctx, e, parent)
			if !ok {
				return
			}
			row, _, err := a.db.Upsert(ctx, e, key(ctx), args, scope)
			a.writeRow(ctx, e, fasthttp.StatusOK, row, err)
		})
	}
	a.handle(fasthttp.MethodDelete, item, func(ctx *fasthttp.RequestCtx) {
		// A missing top-level entity is deleted already (204); a nested one
		// that is not the parent's is 404, as in Kong.
		scope, ok := a.childScope(ctx, e, key(ctx), parent)
		if !ok {
			return
		}
		del := a.db.Delete
		if e.Name == entities.WorkspacesName && string(ctx.QueryArgs().Peek("cascade")) == "true" {
			del = func(ctx context.Context, _ *schema.Entity, key string, _ *db.Scope) error {
				return a.db.DeleteWorkspaceCascade(ctx, key)
			}
		}
		if err := del(ctx, e, key(ctx), scope); err != nil {
			a.writeError(ctx, err)
			return
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
	})
}

// childScope resolves a nested endpoint's parent and, under a parent, checks
// that the addressed child is the parent's (Kong looks it up first: a child
// of another parent is a plain 404). It answers any failure itself.
func (a *API) childScope(ctx *fasthttp.RequestCtx, e *schema.Entity, key string, parent *nested) (*db.Scope, bool) {
	scope, ok := a.scope(ctx, parent)
	if !ok || scope == nil {
		return scope, ok
	}
	_, ok = a.selected(ctx, e, key, scope)
	return scope, ok
}

// selected looks an entity up, answering 404 or the error itself when there
// is nothing to return.
func (a *API) selected(ctx *fasthttp.RequestCtx, e *schema.Entity, key string, scope *db.Scope) (map[string]any, bool) {
	row, err := a.db.Select(ctx, e, key, scope)
	if err != nil {
		a.writeError(ctx, err)
		return nil, false
	}
	if row == nil {
		notFound(ctx)
		return nil, false
	}
	return row, true
}

// routeForeign serves /{entities}/{key}/{field}: the entity a foreign key
// points at (Kong's get_foreign_entity_endpoint and friends).
func (a *API) routeForeign(e *schema.Entity, f *schema.Field, parent *schema.Entity) {
	path := "/" + e.Path() + "/{" + e.Name + "}/" + f.Name
	a.endpoint(path)
	// target returns the referenced id ("" when the reference is null).
	target := func(ctx *fasthttp.RequestCtx) (string, bool) {
		row, ok := a.selected(ctx, e, param(ctx, e.Name), nil)
		if !ok {
			return "", false
		}
		return db.RefID(row[f.Name]), true
	}
	// referenced is target for endpoints that need a reference: a null one
	// is 404.
	referenced := func(ctx *fasthttp.RequestCtx) (string, bool) {
		id, ok := target(ctx)
		if ok && id == "" {
			notFound(ctx)
			return "", false
		}
		return id, ok
	}
	a.handle(fasthttp.MethodGet, path, func(ctx *fasthttp.RequestCtx) {
		id, ok := referenced(ctx)
		if !ok {
			return
		}
		if row, ok := a.selected(ctx, parent, id, nil); ok {
			writeJSON(ctx, fasthttp.StatusOK, parent.Output(row))
		}
	})
	a.handle(fasthttp.MethodPatch, path, func(ctx *fasthttp.RequestCtx) {
		id, ok := referenced(ctx)
		if !ok {
			return
		}
		args, ok := a.updateArgs(ctx, parent, id, nil)
		if !ok {
			return
		}
		row, err := a.db.Update(ctx, parent, id, args, nil)
		a.writeRow(ctx, parent, fasthttp.StatusOK, row, err)
	})
	// PUT replaces the referenced entity, or creates one and links it when
	// the reference is null.
	a.handle(fasthttp.MethodPut, path, func(ctx *fasthttp.RequestCtx) {
		if _, ok := target(ctx); !ok {
			return
		}
		args, ok := a.args(ctx, parent)
		if !ok {
			return
		}
		row, err := a.db.UpsertReferenced(ctx, e, param(ctx, e.Name), f.Name, args)
		a.writeRow(ctx, parent, fasthttp.StatusOK, row, err)
	})
	// DELETE is not allowed through a reference, once there is one.
	a.handle(fasthttp.MethodDelete, path, func(ctx *fasthttp.RequestCtx) {
		if _, ok := referenced(ctx); ok {
			methodNotAllowed(ctx)
		}
	})
}

// scope resolves the parent of a nested endpoint; a missing parent is 404.
func (a *API) scope(ctx *fasthttp.RequestCtx, parent *nested) (*db.Scope, bool) {
	if parent == nil {
		return nil, true
	}
	row, ok := a.selected(ctx, parent.parent, param(ctx, parent.parent.Name), nil)
	if !ok {
		return nil, false
	}
	id, _ := row[schema.FieldID].(string)
	return &db.Scope{Field: parent.field, ID: id}, true
}

func (a *API) create(ctx *fasthttp.RequestCtx, e *schema.Entity, parent *nested) {
	scope, args, ok := a.scopedArgs(ctx, e, parent)
	if !ok {
		return
	}
	row, err := a.db.Insert(ctx, e, args, scope)
	if err == nil && e.CreatedEnvelope != "" {
		writeJSON(ctx, e.CreatedStatus, map[string]any{e.CreatedEnvelope: e.Output(row)})
		return
	}
	a.writeRow(ctx, e, fasthttp.StatusCreated, row, err)
}

// scopedArgs resolves the parent of a nested endpoint and decodes the body,
// answering any error itself.
func (a *API) scopedArgs(ctx *fasthttp.RequestCtx, e *schema.Entity, parent *nested) (*db.Scope, map[string]any, bool) {
	scope, ok := a.scope(ctx, parent)
	if !ok {
		return nil, nil, false
	}
	args, ok := a.args(ctx, e)
	return scope, args, ok
}

// args decodes the request body for entity e, answering the error itself.
func (a *API) args(ctx *fasthttp.RequestCtx, e *schema.Entity) (map[string]any, bool) {
	return a.updateArgs(ctx, e, "", nil)
}

// updateArgs decodes a PATCH body; form values are typed with the schema of
// the entity addressed by key (a plugin's config patched without its name).
func (a *API) updateArgs(ctx *fasthttp.RequestCtx, e *schema.Entity, key string, scope *db.Scope) (map[string]any, bool) {
	b, err := decodeBody(string(ctx.Request.Header.ContentType()), ctx.PostBody())
	if err != nil {
		a.writeError(ctx, err)
		return nil, false
	}
	var existing map[string]any
	if b.form && key != "" && e.SubschemaKey != "" {
		// A failed lookup only loses typing; the update reports the real error.
		existing, _ = a.db.Select(ctx, e, key, scope)
	}
	return entityArgs(e, b, existing), true
}

func (a *API) writeRow(ctx *fasthttp.RequestCtx, e *schema.Entity, status int, row map[string]any, err error) {
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	writeJSON(ctx, status, e.Output(row))
}

func (a *API) list(ctx *fasthttp.RequestCtx, e *schema.Entity, parent *nested) {
	a.listWith(ctx, e, parent, e.Output, nil)
}

// listWith serves one page of e: shape renders each row, extra adds fields
// to the page body.
func (a *API) listWith(ctx *fasthttp.RequestCtx, e *schema.Entity, parent *nested,
	shape func(map[string]any) map[string]any, extra map[string]any) {
	scope, ok := a.scope(ctx, parent)
	if !ok {
		return
	}
	filtered := e
	if scope != nil {
		filtered = nil // Kong ignores filters on nested collections (#6779)
	}
	opts, err := pageOptions(ctx.QueryArgs(), filtered)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	opts.Scope = scope
	rows, offset, err := a.db.Page(ctx, e, opts)
	if err != nil {
		a.writeError(ctx, err)
		return
	}
	data := make([]any, len(rows))
	for i, r := range rows {
		data[i] = shape(r)
	}
	body := pageBody(ctx, data, offset, scope != nil)
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(ctx, fasthttp.StatusOK, body)
}

// pageBody renders Kong's page: data, and offset plus a next link unless
// this is the last page (then next is null and offset absent). A nested
// collection's link carries only the offset; a top-level one keeps tags and
// size, in Kong's order.
func pageBody(ctx *fasthttp.RequestCtx, data []any, offset string, nested bool) map[string]any {
	out := map[string]any{"data": data, "next": nil}
	if offset == "" {
		return out
	}
	out["offset"] = offset
	prefix, _ := ctx.UserValue(workspacePrefix).(string)
	next := prefix + string(ctx.Path()) + "?offset=" + escapeURI(offset)
	if !nested {
		args := ctx.QueryArgs()
		if v := args.Peek("tags"); v != nil {
			next += "&tags=" + escapeURI(string(v))
		}
		if v := args.Peek("size"); v != nil {
			next += "&size=" + escapeURI(string(v))
		}
	}
	out["next"] = next
	return out
}

// escapeURI percent-encodes everything but unreserved characters, as
// nginx's escape_uri does for Kong's next links (a space is %20).
func escapeURI(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// pageOptions reads size and offset from the query string, and for a
// top-level collection of e its filters: tags and unique fields
// (?custom_id=...). Kong ignores filters on nested collections and /tags.
func pageOptions(args *fasthttp.Args, e *schema.Entity) (db.PageOptions, error) {
	opts := db.PageOptions{Size: defaultPageSize}
	if v := args.Peek("size"); v != nil {
		n, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return opts, db.InvalidSize(true)
		}
		if n != float64(int(n)) || n < 1 || n > maxPageSize {
			return opts, db.InvalidSize(false)
		}
		opts.Size = int(n)
	}
	opts.Offset = string(args.Peek("offset"))
	if e == nil {
		return opts, nil
	}
	if v := args.Peek("tags"); v != nil {
		tags, any, err := parseTagsFilter(string(v), e)
		if err != nil {
			return opts, err
		}
		opts.Tags, opts.TagsAny = tags, any
	}
	for _, set := range e.UniqueSets() {
		if len(set) != 1 || set[0] == schema.FieldID {
			continue
		}
		if v := args.Peek(set[0]); v != nil {
			if opts.Equal == nil {
				opts.Equal = map[string]any{}
			}
			opts.Equal[set[0]] = string(v)
		}
	}
	return opts, nil
}

// maxTagsFilter is how many tags one query may name (Kong's DAO limit).
const maxTagsFilter = 5

// parseTagsFilter reads Kong's tags filter: "a,b" means all of them, "a/b"
// any of them; mixing both, empty tags or bytes a tag cannot hold are
// refused.
func parseTagsFilter(v string, e *schema.Entity) ([]string, bool, error) {
	if !e.Tagged() {
		return nil, false, db.InvalidOptions("tags", "cannot be used with '"+e.Name+"'")
	}
	and, or := strings.Contains(v, ","), strings.Contains(v, "/")
	if and && or {
		return nil, false, db.InvalidOptions("tags", "invalid filter syntax")
	}
	sep := ","
	if or {
		sep = "/"
	}
	tags := strings.Split(v, sep)
	if len(tags) > maxTagsFilter {
		return nil, false, db.InvalidOptions("tags", fmt.Sprintf("cannot query more than %d tags", maxTagsFilter))
	}
	for _, t := range tags {
		if !validTag(t) {
			return nil, false, db.InvalidOptions("tags", "invalid filter syntax")
		}
	}
	return tags, or, nil
}

// validTag reports whether t can be a tag: printable ASCII (space
// included) but for "," and "/", or valid UTF-8 beyond ASCII, as Kong's tag
// typedef allows.
func validTag(t string) bool {
	if t == "" || !utf8.ValidString(t) {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x80 && (c < 0x20 || c == 0x7f || c == ',' || c == '/') {
			return false
		}
	}
	return true
}

// param reads a path parameter. The router matches the raw path, so that an
// encoded "/" stays inside its segment; the value is decoded here.
func param(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

var _ context.Context = (*fasthttp.RequestCtx)(nil)
