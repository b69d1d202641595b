package db

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Workspaces, as Kong Enterprise has them: every workspaceable entity's row
// carries its workspace's id in ws_id; unique fields and cache keys are
// unique per workspace; lookups and listings see one workspace. The
// workspace of an operation travels in its context (InWorkspace); without
// one it is the default workspace, created at bootstrap. The workspaces
// entity is the one the registry marks (schema.Entity.Workspaces), found by
// its endpoint key (its name); its own rules are its hooks.

// FieldWorkspace is the column holding a row's workspace id.
const FieldWorkspace = schema.FieldWorkspace

// DefaultWorkspace is the workspace created at bootstrap, which serves the
// Admin API paths without a workspace prefix.
const DefaultWorkspace = schema.DefaultWorkspace

// anyWorkspace marks an operation that sees every workspace.
const anyWorkspace = "*"

// WorkspaceKey is the context key of an operation's workspace id; fasthttp
// handlers set it as a user value of their request.
type WorkspaceKey struct{}

// InWorkspace returns a context whose DB operations act in the workspace
// with this id.
func InWorkspace(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, WorkspaceKey{}, id)
}

// AcrossWorkspaces returns a context whose reads see every workspace (RBAC
// token lookups). Writes in it are refused.
func AcrossWorkspaces(ctx context.Context) context.Context {
	return context.WithValue(ctx, WorkspaceKey{}, anyWorkspace)
}

// errNoDefaultWorkspace is a store that was never bootstrapped.
var errNoDefaultWorkspace = errors.New("the default workspace is missing: run `portico migrations bootstrap`")

// defaultWorkspace caches the default workspace's id, which never changes
// (it can be neither renamed nor deleted).
type defaultWorkspace struct{ id atomic.Pointer[string] }

// workspaced reports whether e's rows carry a workspace in this DB.
func (d *DB) workspaced(e *schema.Entity) bool {
	return e.Workspaceable && d.workspaces != nil
}

// workspaceFor returns the workspace id an operation on e acts in: "" for
// entities that are global, anyWorkspace for cross-workspace reads.
func (d *DB) workspaceFor(ctx context.Context, tx store.Tx, e *schema.Entity) (string, error) {
	if !d.workspaced(e) {
		return "", nil
	}
	if id, ok := ctx.Value(WorkspaceKey{}).(string); ok && id != "" {
		return id, nil
	}
	return d.defaultWorkspaceID(tx)
}

func (d *DB) defaultWorkspaceID(tx store.Tx) (string, error) {
	if id := d.defaultWS.id.Load(); id != nil {
		return *id, nil
	}
	row, err := tx.GetUnique(d.workspaces.Name, []string{d.workspaces.EndpointKey}, []any{DefaultWorkspace})
	if errors.Is(err, store.ErrNotFound) {
		return "", errNoDefaultWorkspace
	}
	if err != nil {
		return "", fmt.Errorf("reading the default workspace: %w", err)
	}
	id, _ := row[schema.FieldID].(string)
	d.defaultWS.id.Store(&id)
	return id, nil
}

// DefaultWorkspaceID returns the id of the default workspace.
func (d *DB) DefaultWorkspaceID(ctx context.Context) (string, error) {
	var id string
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		id, err = d.defaultWorkspaceID(tx)
		return err
	})
	return id, err
}

// Bootstrap creates what a fresh store needs: the default workspace; on a
// store written by an earlier version, it indexes rows whose fields have
// become Indexed since and moves rows written before workspaces existed
// into the default workspace. It is idempotent, runs at every start and
// resumes work a crash interrupted.
func (d *DB) Bootstrap(ctx context.Context) error {
	if err := d.indexExisting(ctx); err != nil {
		return err
	}
	if err := d.resumePurges(ctx); err != nil {
		return err
	}
	if d.workspaces == nil {
		return nil
	}
	row, err := d.Select(ctx, d.workspaces, DefaultWorkspace, nil)
	if err != nil {
		return err
	}
	if row == nil {
		row, err = d.Insert(ctx, d.workspaces, map[string]any{d.workspaces.EndpointKey: DefaultWorkspace}, nil)
		if err != nil {
			return fmt.Errorf("creating the default workspace: %w", err)
		}
	}
	return d.adopt(ctx, row[schema.FieldID].(string))
}

// jobAdopt marks the adoption of pre-workspace rows done.
const jobAdopt = "adopt-rows-into-the-default-workspace"

// adoptBatch is how many rows one adoption transaction moves.
const adoptBatch = 100

// adopt moves the rows of a store written before workspaces existed into
// the default workspace, a batch per transaction, without events (nothing
// changes for their users). The transaction of the last batch marks the
// job done; until then every start resumes it, so a crash mid-way leaves
// no row outside every workspace.
func (d *DB) adopt(ctx context.Context, ws string) error {
	var done bool
	if err := d.store.View(ctx, func(tx store.Tx) (err error) {
		done, err = tx.Marked(jobAdopt)
		return err
	}); err != nil || done {
		return err
	}
	entities := d.workspacedEntities()
	for i, e := range entities {
		last := i == len(entities)-1
		// Rows keep their keys when moved, so the scan goes on from where
		// the previous batch stopped instead of starting over.
		offset := ""
		for {
			from := offset // a retried transaction starts from the same row
			err := d.store.Update(ctx, func(tx store.Tx) error {
				page, err := tx.Page(e.Name, store.PageQuery{Size: adoptBatch, Offset: from,
					Equal: map[string]any{FieldWorkspace: nil}})
				if err != nil {
					return err
				}
				for _, row := range page.Rows {
					row[FieldWorkspace] = ws
					if err := tx.Update(e.Name, row); err != nil {
						return err
					}
				}
				offset = page.Offset
				if offset == "" && last {
					return tx.Mark(jobAdopt)
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("moving %s into the default workspace: %w", e.Name, err)
			}
			d.committed()
			if offset == "" {
				break
			}
		}
	}
	return nil
}

// inWorkspace reports whether a row is visible from workspace ws.
func inWorkspace(row map[string]any, ws string) bool {
	if ws == "" || ws == anyWorkspace {
		return true
	}
	return row[FieldWorkspace] == ws
}

// workspaceTable adds the workspace to workspaceable tables: a reference to
// the workspaces table (which keeps a non-empty workspace from being
// deleted) and the workspace in front of every unique set and the cache key.
func workspaceTable(t *store.Table, workspaces string) {
	for i, set := range t.Unique {
		t.Unique[i] = append([]string{FieldWorkspace}, set...)
	}
	if len(t.CacheKey) > 0 {
		t.CacheKey = append([]string{FieldWorkspace}, t.CacheKey...)
	}
	t.Foreign = append(t.Foreign, store.ForeignKey{Field: FieldWorkspace, Table: workspaces})
}

// place puts a row being written into its workspace (an existing row keeps
// its own) and checks that the entities it references are in that
// workspace: a reference into another workspace is as missing as a
// reference to nothing.
func (w *writer) place(e *schema.Entity, row, old map[string]any) error {
	if !w.db.workspaced(e) {
		return nil
	}
	ws, _ := old[FieldWorkspace].(string)
	if ws == "" {
		var err error
		if ws, err = w.db.workspaceFor(w.ctx, w.tx, e); err != nil {
			return err
		}
		if ws == anyWorkspace {
			return errors.New("writing " + e.Name + " across workspaces")
		}
	}
	row[FieldWorkspace] = ws
	for _, f := range e.References() {
		parent := w.db.reg.Entity(f.Reference)
		id := RefID(row[f.Name])
		if id == "" || parent == nil || !w.db.workspaced(parent) {
			continue
		}
		p, err := w.tx.Get(parent.Name, id)
		if errors.Is(err, store.ErrNotFound) {
			continue // the store reports the missing row
		}
		if err != nil {
			return err
		}
		if p[FieldWorkspace] != ws {
			return foreignKeyViolation(f.Name, parent.Name, id)
		}
	}
	return nil
}

// workspacedEntities lists the entities kept per workspace, referenced
// ones first.
func (d *DB) workspacedEntities() []*schema.Entity {
	var out []*schema.Entity
	for _, e := range d.reg.Entities() {
		if d.workspaced(e) {
			out = append(out, e)
		}
	}
	return out
}

// counts tells how many entities of each kind a workspace holds (kinds it
// holds none of are left out).
func (d *DB) counts(tx store.Tx, ws string) (map[string]any, error) {
	counts := map[string]any{}
	for _, e := range d.workspacedEntities() {
		n, err := countInWorkspace(tx, e.Name, ws)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			counts[e.Name] = n
		}
	}
	return counts, nil
}

// WorkspaceCounts tells how many entities of each kind the workspace named
// or identified by key holds; found is false when there is no such
// workspace.
func (d *DB) WorkspaceCounts(ctx context.Context, key string) (counts map[string]any, found bool, err error) {
	if d.workspaces == nil {
		return nil, false, nil
	}
	err = d.store.View(ctx, func(tx store.Tx) error {
		row, err := d.lookup(tx, d.workspaces, key, nil, "")
		if err != nil || row == nil {
			return err
		}
		found = true
		counts, err = d.counts(tx, row[schema.FieldID].(string))
		return err
	})
	return counts, found, d.mapError(err)
}

func countInWorkspace(tx store.Tx, table, ws string) (int, error) {
	n := 0
	q := store.PageQuery{Size: 1000, Foreign: &store.ForeignFilter{Field: FieldWorkspace, ID: ws}}
	for {
		page, err := tx.Page(table, q)
		if err != nil {
			return 0, fmt.Errorf("counting %s in workspace %s: %w", table, ws, err)
		}
		n += len(page.Rows)
		if page.Offset == "" {
			return n, nil
		}
		q.Offset = page.Offset
	}
}

// DeleteWorkspaceCascade deletes a workspace and every entity in it, in one
// transaction when it fits, else resumably in batches (Kong's DELETE
// /workspaces/{ws}?cascade=true). The default workspace stays.
func (d *DB) DeleteWorkspaceCascade(ctx context.Context, key string) error {
	if d.workspaces == nil {
		return nil
	}
	target := &purge{e: d.workspaces, contents: true}
	// A workspace known to hold many entities is purged in batches at once.
	var big *purge
	err := d.store.View(ctx, func(tx store.Tx) error {
		row, err := d.lookup(tx, d.workspaces, key, nil, "")
		if err != nil || row == nil {
			return err
		}
		if err := d.unsupported("remove", d.workspaces, key); err != nil {
			return err
		}
		id, _ := row[schema.FieldID].(string)
		if def, err := d.defaultWorkspaceID(tx); err != nil || def == id {
			return err // the transaction below refuses it
		}
		many, err := d.holdsMany(tx, id)
		if many {
			big = &purge{e: d.workspaces, id: id, contents: true}
		}
		return err
	})
	if err != nil {
		return d.mapError(err)
	}
	if big != nil {
		return d.startPurge(ctx, *big)
	}
	return d.deleteOrPurge(ctx, func(w *writer) error {
		row, err := d.lookup(w.tx, d.workspaces, key, nil, "")
		if err != nil || row == nil {
			return err
		}
		id, _ := row[schema.FieldID].(string)
		// The workspaces' hooks refuse to delete the default workspace:
		// ask them before its contents are deleted, not after.
		if def, err := d.defaultWorkspaceID(w.tx); err != nil || def == id {
			if g, ok := d.workspaces.Behaviour.(schema.BeforeDeleter); ok && err == nil {
				err = g.BeforeDelete(w.hookTx(), row)
			}
			return err
		}
		target.id = id
		if err := w.deleteContents(id); err != nil {
			return err
		}
		return w.delete(d.workspaces, row)
	}, target)
}

// Workspace is what the Admin API needs of a workspace to serve a path
// prefix.
type Workspace struct{ ID, Name string }

// workspaceCache remembers workspaces by the key they were looked up with
// (name or id). Every committed workspace change empties it; a lookup that
// raced with a change is not remembered.
type workspaceCache struct {
	version atomic.Uint64
	byKey   atomic.Pointer[map[string]Workspace]
}

func (c *workspaceCache) invalidate() {
	c.version.Add(1)
	c.byKey.Store(nil)
}

// LookupWorkspace finds a workspace by name or id; ok is false when there
// is none.
func (d *DB) LookupWorkspace(ctx context.Context, key string) (Workspace, bool, error) {
	if m := d.wsCache.byKey.Load(); m != nil {
		if ws, ok := (*m)[key]; ok {
			return ws, true, nil
		}
	}
	if d.workspaces == nil {
		return Workspace{}, false, nil
	}
	version := d.wsCache.version.Load()
	row, err := d.Select(ctx, d.workspaces, key, nil)
	if err != nil || row == nil {
		return Workspace{}, false, err
	}
	ws := Workspace{}
	ws.ID, _ = row[schema.FieldID].(string)
	ws.Name, _ = row[d.workspaces.EndpointKey].(string)
	old := d.wsCache.byKey.Load()
	next := map[string]Workspace{key: ws}
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	// Keep it only if no workspace changed meanwhile (and the cache stays
	// small: names come from request paths).
	if len(next) <= 1024 && d.wsCache.version.Load() == version {
		d.wsCache.byKey.CompareAndSwap(old, &next)
	}
	return ws, true, nil
}
