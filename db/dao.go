package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Scope restricts an operation to the children of one parent row, for nested
// endpoints such as /services/{service}/routes.
type Scope struct {
	Field string // the child's foreign field, e.g. "service"
	ID    string // the parent's id
}

// PageOptions select one page of an entity.
type PageOptions struct {
	Size    int
	Offset  string
	Tags    []string
	TagsAny bool
	Equal   map[string]any
	Scope   *Scope
}

// Select returns the entity addressed by key (an id, or the entity's endpoint
// key), or nil when there is none (or it is not a child of scope).
func (d *DB) Select(ctx context.Context, e *schema.Entity, key string, scope *Scope) (map[string]any, error) {
	cached := d.cache != nil && !e.Internal
	var ckey string
	var gen uint64
	if cached {
		ckey = selectKey(ctx, e, key, scope)
		var row map[string]any
		var ok bool
		if row, gen, ok = d.cache.get(ckey); ok {
			if !d.live(row) {
				return nil, nil
			}
			return row, nil
		}
	}
	var row map[string]any
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		ws, err := d.workspaceFor(ctx, tx, e)
		if err != nil {
			return err
		}
		if row, err = d.lookup(tx, e, key, scope, ws); err != nil {
			return err
		}
		return d.decorate(tx, e, row)
	})
	if err != nil {
		return nil, d.mapError(err)
	}
	if cached && row != nil {
		d.cache.put(ckey, row, gen)
	}
	return row, nil
}

// lookup resolves "id or endpoint key" as Kong's Admin API does: a UUID is
// an id; anything else (or a UUID that is no id) is tried as the endpoint
// key, or by the entity's own resolver (certificates by SNI). An entity
// addressed by id only refuses other keys as an invalid primary key. Only
// entities of workspace ws are found.
func (d *DB) lookup(tx store.Tx, e *schema.Entity, key string, scope *Scope, ws string) (map[string]any, error) {
	var row map[string]any
	isID := schema.IsUUID(key)
	if isID {
		r, err := tx.Get(e.Name, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		row = r
	}
	if row == nil {
		var err error
		switch res, _ := e.Behaviour.(schema.KeyResolver); {
		case e.EndpointKey != "":
			row, err = lookupByEndpointKey(tx, e, key, scope, ws)
		case res != nil && !isID:
			row, err = res.Resolve(readTx{d: d, tx: tx}, key, ws)
		case !isID:
			err = invalidPrimaryKey()
		}
		if err != nil {
			return nil, err
		}
	}
	if row == nil || !inScope(row, scope) || !inWorkspace(row, ws) || !d.live(row) {
		return nil, nil
	}
	return row, nil
}

func lookupByEndpointKey(tx store.Tx, e *schema.Entity, key string, scope *Scope, ws string) (map[string]any, error) {
	if f := e.Field(e.EndpointKey); f != nil && f.Unique && ws != anyWorkspace {
		r, err := getUnique(tx, e.Name, ws, e.EndpointKey, key)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return r, err
	}
	// An endpoint key unique only within a parent (targets' target within
	// their upstream) is searched among the parent's children.
	q := store.PageQuery{Size: 1, Equal: map[string]any{e.EndpointKey: key}}
	if ws != "" && ws != anyWorkspace {
		q.Equal[FieldWorkspace] = ws
	}
	if scope != nil {
		q.Foreign = &store.ForeignFilter{Field: scope.Field, ID: scope.ID}
	}
	p, err := tx.Page(e.Name, q)
	if err != nil || len(p.Rows) == 0 {
		return nil, err
	}
	return p.Rows[0], nil
}

// uniqueEndpointKey reports whether e's endpoint key is unique in its
// workspace (not only within a parent).
func uniqueEndpointKey(e *schema.Entity) bool {
	f := e.Field(e.EndpointKey)
	return f != nil && f.Unique
}

func inScope(row map[string]any, scope *Scope) bool {
	if scope == nil {
		return true
	}
	return RefID(row[scope.Field]) == scope.ID
}

// RefID returns the id a foreign-key value refers to, or "".
func RefID(v any) string {
	switch v := v.(type) {
	case map[string]any:
		id, _ := v[schema.FieldID].(string)
		return id
	case string:
		return v
	}
	return ""
}

// Page returns one page of an entity and the offset of the next page ("" on
// the last one).
func (d *DB) Page(ctx context.Context, e *schema.Entity, opts PageOptions) ([]map[string]any, string, error) {
	if opts.Size < 1 || opts.Size > 1000 {
		return nil, "", InvalidSize(false)
	}
	q := store.PageQuery{Size: opts.Size, Offset: opts.Offset, Tags: opts.Tags, TagsAny: opts.TagsAny, Equal: opts.Equal}
	if opts.Scope != nil {
		// The parent was found in the workspace, and so are its children.
		q.Foreign = &store.ForeignFilter{Field: opts.Scope.Field, ID: opts.Scope.ID}
	}
	var page store.Page
	err := d.store.View(ctx, func(tx store.Tx) error {
		ws, err := d.workspaceFor(ctx, tx, e)
		if err != nil {
			return err
		}
		if opts.Scope == nil && ws != "" && ws != anyWorkspace {
			q.Foreign = &store.ForeignFilter{Field: FieldWorkspace, ID: ws}
		}
		if page, err = tx.Page(e.Name, q); err != nil {
			return err
		}
		page.Rows = d.withoutExpired(e, page.Rows)
		return d.decorate(tx, e, page.Rows...)
	})
	if err != nil {
		return nil, "", d.mapError(err)
	}
	return page.Rows, page.Offset, nil
}

// All returns every row of an entity that opts select (its Size is the
// batch size), reading page after page.
func (d *DB) All(ctx context.Context, e *schema.Entity, opts PageOptions) ([]map[string]any, error) {
	if opts.Size == 0 {
		opts.Size = 1000
	}
	var out []map[string]any
	for {
		rows, next, err := d.Page(ctx, e, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
		if next == "" {
			return out, nil
		}
		opts.Offset = next
	}
}

// Insert validates and creates an entity (POST). Under a scope, the parent
// reference is forced, as Kong's nested POST does.
func (d *DB) Insert(ctx context.Context, e *schema.Entity, input map[string]any, scope *Scope) (map[string]any, error) {
	input, ttl, err := takeTTL(e, withScope(input, scope))
	if err != nil {
		return nil, err
	}
	entity, err := checked(e)(e.PrepareInsert(input, d.auto))
	if err != nil {
		return nil, err
	}
	d.setExpiry(e, entity, ttl)
	if err := d.unsupported("create", e, ""); err != nil {
		return nil, err
	}
	var stored map[string]any
	err = d.write(ctx, func(w *writer) error {
		// Hooks change the row (a token becomes its hash): a transaction
		// run again after a conflict starts from the prepared row.
		stored = schema.Copy(entity).(map[string]any)
		return w.stored(e, stored, nil)
	})
	if err != nil {
		return nil, err
	}
	return stored, nil
}

func (w *writer) insert(e *schema.Entity, entity map[string]any) error {
	if err := w.place(e, entity, nil); err != nil {
		return err
	}
	if err := w.tx.Insert(e.Name, entity); err != nil {
		return err
	}
	return w.record(Change{Entity: e, Operation: OpCreate, Row: entity})
}

// lookup is DB.lookup in the writer's workspace.
func (w *writer) lookup(e *schema.Entity, key string, scope *Scope) (map[string]any, error) {
	ws, err := w.db.workspaceFor(w.ctx, w.tx, e)
	if err != nil {
		return nil, err
	}
	return w.db.lookup(w.tx, e, key, scope, ws)
}

// getUnique finds a row by a single unique field, within workspace ws
// when the table is workspaced.
func getUnique(tx store.Tx, table, ws, field string, value any) (map[string]any, error) {
	if ws == "" {
		return tx.GetUnique(table, []string{field}, []any{value})
	}
	return tx.GetUnique(table, []string{FieldWorkspace, field}, []any{ws, value})
}

func withScope(input map[string]any, scope *Scope) map[string]any {
	if scope == nil {
		return input
	}
	out := make(map[string]any, len(input)+1)
	for k, v := range input {
		out[k] = v
	}
	out[scope.Field] = map[string]any{schema.FieldID: scope.ID}
	return out
}

// Update merges a partial input into the addressed entity (PATCH).
func (d *DB) Update(ctx context.Context, e *schema.Entity, key string, input map[string]any, scope *Scope) (map[string]any, error) {
	input, ttl, err := takeTTL(e, input)
	if err != nil {
		return nil, err
	}
	var entity map[string]any
	err = d.write(ctx, func(w *writer) error {
		w.refuse = d.unsupported("update", e, key)
		existing, err := w.lookup(e, key, scope)
		if err != nil {
			return err
		}
		if existing == nil {
			return notFound(e, key)
		}
		patch := withScope(input, scope)
		delete(patch, schema.FieldID)
		merged, err := checked(e)(e.PrepareUpdate(schema.WithoutWorkspace(existing), patch, w.db.auto))
		if err != nil {
			return err
		}
		w.db.setExpiry(e, merged, ttl)
		entity = merged
		return w.stored(e, merged, existing)
	})
	if err != nil {
		return nil, err
	}
	return entity, nil
}

// Upsert creates or fully replaces the addressed entity (PUT). An endpoint
// key in the URL is forced into the entity, as Kong does.
func (d *DB) Upsert(ctx context.Context, e *schema.Entity, key string, input map[string]any, scope *Scope) (map[string]any, bool, error) {
	input, ttl, err := takeTTL(e, withScope(input, scope))
	if err != nil {
		return nil, false, err
	}
	if input == nil {
		input = map[string]any{}
	}
	byID := schema.IsUUID(key)
	if !byID {
		if e.EndpointKey == "" {
			res, ok := e.Behaviour.(schema.KeyResolver)
			if !ok {
				return nil, false, invalidPrimaryKey()
			}
			res.UpsertKey(input, key)
		} else {
			input[e.EndpointKey] = key
		}
	}
	// A child of another parent is moved to this one, as Kong's nested PUT
	// does: the scope only forces the reference. An endpoint key unique
	// only within the parent (a consumer's acl group) names the parent's
	// child.
	var keyScope *Scope
	if !byID && !uniqueEndpointKey(e) {
		keyScope = scope
	}
	var entity map[string]any
	created := false
	err = d.write(ctx, func(w *writer) error {
		w.refuse = d.unsupported("create or update", e, key)
		existing, err := w.lookup(e, key, keyScope)
		if err != nil {
			return err
		}
		in := schema.Copy(input).(map[string]any)
		switch {
		case existing != nil:
			in[schema.FieldID] = existing[schema.FieldID]
		case byID:
			in[schema.FieldID] = key
		default:
			delete(in, schema.FieldID)
		}
		entity, err = w.upsert(e, in, existing, ttl)
		created = existing == nil
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return entity, created, nil
}

// upsert writes in as the whole of an entity: a new one when existing is
// nil, else a replacement keeping its id and created_at.
func (w *writer) upsert(e *schema.Entity, in, existing map[string]any, ttl float64) (map[string]any, error) {
	var prepared map[string]any
	var err error
	if existing == nil {
		prepared, err = checked(e)(e.PrepareInsert(in, w.db.auto))
	} else {
		prepared, err = checked(e)(e.PrepareUpsert(in, existing, w.db.auto))
	}
	if err != nil {
		return nil, err
	}
	w.db.setExpiry(e, prepared, ttl)
	return prepared, w.stored(e, prepared, existing)
}

// UpsertReferenced is PUT on a foreign-entity endpoint (/routes/{r}/service):
// it replaces the entity that e's field references, or, when the reference
// is null, creates one and points the field at it, in one transaction.
func (d *DB) UpsertReferenced(ctx context.Context, e *schema.Entity, key, field string, input map[string]any) (map[string]any, error) {
	f := e.Field(field)
	if f == nil || f.Type != schema.Foreign {
		return nil, fmt.Errorf("%s.%s is not a foreign key", e.Name, field)
	}
	parent := d.reg.Entity(f.Reference)
	var entity map[string]any
	err := d.write(ctx, func(w *writer) error {
		w.refuse = d.unsupported("create or update", parent, "")
		child, err := w.lookup(e, key, nil)
		if err != nil {
			return err
		}
		if child == nil {
			return notFound(e, key)
		}
		id := RefID(child[field])
		var existing map[string]any
		if id != "" {
			if existing, err = w.tx.Get(parent.Name, id); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		} else {
			id = w.db.auto.NewID()
		}
		in := schema.Copy(input).(map[string]any)
		in[schema.FieldID] = id
		if entity, err = w.upsert(parent, in, existing, 0); err != nil {
			return err
		}
		if RefID(child[field]) == id {
			return nil
		}
		linked, err := checked(e)(e.PrepareUpdate(schema.WithoutWorkspace(child), map[string]any{field: map[string]any{schema.FieldID: id}}, w.db.auto))
		if err != nil {
			return err
		}
		return w.stored(e, linked, child)
	})
	if err != nil {
		return nil, err
	}
	return entity, nil
}

// Delete removes the addressed entity, first deleting the children that
// reference it with on_delete=cascade. Deleting nothing is not an error.
// A delete too big for one transaction is finished in batches (purge.go).
func (d *DB) Delete(ctx context.Context, e *schema.Entity, key string, scope *Scope) error {
	target := &purge{e: e}
	return d.deleteOrPurge(ctx, func(w *writer) error {
		w.refuse = d.unsupported("remove", e, key)
		existing, err := w.lookup(e, key, scope)
		if err != nil || existing == nil {
			return err
		}
		target.id, _ = existing[schema.FieldID].(string)
		return w.delete(e, existing)
	}, target)
}

func (w *writer) delete(e *schema.Entity, row map[string]any) error {
	if w.refuse != nil {
		return w.refuse
	}
	if g, ok := e.Behaviour.(schema.BeforeDeleter); ok {
		if err := g.BeforeDelete(w.hookTx(), row); err != nil {
			return err
		}
	}
	id, _ := row[schema.FieldID].(string)
	// A row whose deletion is under way (a cascade that leads back to it)
	// is deleted once.
	if w.deleting[e.Name+"/"+id] {
		return nil
	}
	if w.deleting == nil {
		w.deleting = map[string]bool{}
	}
	w.deleting[e.Name+"/"+id] = true
	for _, ref := range w.db.children[e.Name] {
		if ref.field.OnDelete != "cascade" {
			continue
		}
		for {
			page, err := w.tx.Page(ref.child.Name, store.PageQuery{Size: 100,
				Foreign: &store.ForeignFilter{Field: ref.field.Name, ID: id}})
			if err != nil {
				return err
			}
			for _, child := range page.Rows {
				if err := w.delete(ref.child, child); err != nil {
					return err
				}
			}
			if len(page.Rows) == 0 || page.Offset == "" {
				break
			}
		}
	}
	if err := w.tx.Delete(e.Name, id); err != nil {
		return err
	}
	if err := w.record(Change{Entity: e, Operation: OpDelete, Row: row}); err != nil {
		return err
	}
	if f, ok := e.Behaviour.(schema.AfterDeleter); ok {
		return f.AfterDelete(w.hookTx(), row)
	}
	return nil
}

func notFound(e *schema.Entity, key string) *Error {
	if schema.IsUUID(key) || e.EndpointKey == "" {
		return notFoundByPK(key)
	}
	return notFoundByField(e.EndpointKey, key)
}

// Validate runs the insert-time preparation and validation without writing.
func (d *DB) Validate(e *schema.Entity, input map[string]any) error {
	_, err := checked(e)(e.PrepareInsert(input, d.auto))
	return err
}

// checked returns a function that validates what e's Prepare methods
// return, turning either step's errors into a schema violation.
func checked(e *schema.Entity) func(map[string]any, schema.Errors) (map[string]any, error) {
	return func(entity map[string]any, errs schema.Errors) (map[string]any, error) {
		if errs == nil {
			errs = e.Validate(entity)
		}
		if errs != nil {
			return nil, SchemaViolation(errs)
		}
		return entity, nil
	}
}

// Tags returns one page of the tag index (all tags, or one), for the
// entities of the context's workspace.
func (d *DB) Tags(ctx context.Context, tag string, size int, offset string) ([]store.TagRow, string, error) {
	var page store.TagPage
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		if page, err = tx.Tags(store.TagPageQuery{Size: size, Offset: offset, Tag: tag}); err != nil {
			return err
		}
		// Only the workspace's entities are listed (a page may come out
		// short; its offset still leads on).
		kept := page.Rows[:0]
		for _, r := range page.Rows {
			e := d.reg.Entity(r.EntityName)
			if e == nil || !d.workspaced(e) {
				kept = append(kept, r)
				continue
			}
			ws, err := d.workspaceFor(ctx, tx, e)
			if err != nil {
				return err
			}
			row, err := tx.Get(e.Name, r.EntityID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
			if row != nil && inWorkspace(row, ws) {
				kept = append(kept, r)
			}
		}
		page.Rows = kept
		return nil
	})
	if err != nil {
		return nil, "", d.mapError(err)
	}
	return page.Rows, page.Offset, nil
}
