// Package db is Kong's DAO layer written once for every schema: it prepares
// and validates entities, resolves "id or endpoint key", maps store errors to
// Kong's error codes, cascades deletes, and emits an event for every change.
//
// Every write runs in one store transaction together with the written
// entity's own hooks (Entity.Behaviour: schema/hooks.go, called from
// hooks.go) and the TxHooks (the event hooks outbox), so a change and what
// it owes are committed together. After commit, each change is published
// on the events bus. db names no entity: what one entity does differently
// is declared next to its schema.
package db

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Operations, as Kong names them in events.
const (
	OpCreate = "create"
	OpUpdate = "update"
	OpDelete = "delete"
)

// SourceCRUD is the bus source of entity changes.
const SourceCRUD = "crud"

// Change is one committed entity change.
type Change struct {
	Entity    *schema.Entity
	Operation string
	Row       map[string]any // the entity after the change (before, for deletes)
	Old       map[string]any // the entity before an update, else nil
}

// TxHook runs inside the transaction of every change, after the row is
// written; an error aborts the whole write. Hooks may run more than once
// when a transaction is retried, so they must only write through tx; what
// must happen once the write is durable goes in the returned afterCommit
// (may be nil), which runs only for the attempt that committed.
type TxHook func(tx store.Tx, ch Change) (afterCommit func(), err error)

// DB is the DAO for every registered entity. It is safe for concurrent use.
type DB struct {
	// cache holds rows read by Select (nil: off).
	cache *rowCache
	reg   *schema.Registry
	store store.Store
	bus   *events.Bus
	auto  schema.Auto
	hooks []TxHook
	// children lists, per entity, the foreign fields of other entities that
	// reference it (for cascades).
	children map[string][]reference
	// workspaces is the workspaces entity, nil when the registry has none
	// (then every entity is global).
	workspaces *schema.Entity
	defaultWS  defaultWorkspace
	wsCache    workspaceCache
	readOnly   bool
}

type reference struct {
	child *schema.Entity
	field *schema.Field
}

// Options configure a DB.
type Options struct {
	// Bus receives every committed change; nil disables publishing.
	Bus *events.Bus
	// Now and NewID override the clock and id source (tests).
	Now   func() time.Time
	NewID func() string
	// CacheSize is the byte budget of the entity cache in front of Select
	// (Kong's mem_cache_size); 0 turns it off.
	CacheSize int64
	// ReadOnly refuses every write with Kong's DB-less answer ("cannot
	// create 'services' entities when not using a database", 405), after
	// the lookups and validation Kong makes first: the configuration of a
	// DB-less node changes only as a whole (POST /config).
	ReadOnly bool
}

// New returns a DB over st serving the registry's entities.
func New(reg *schema.Registry, st store.Store, opts Options) *DB {
	d := &DB{reg: reg, store: st, bus: opts.Bus, children: map[string][]reference{}, workspaces: reg.Workspaces(),
		cache: newRowCache(opts.CacheSize), readOnly: opts.ReadOnly}
	d.auto = schema.Auto{Now: opts.Now, NewID: opts.NewID}
	if d.auto.Now == nil {
		d.auto.Now = time.Now
	}
	if d.auto.NewID == nil {
		d.auto.NewID = func() string { return uuid.NewString() }
	}
	for _, e := range reg.Entities() {
		for _, f := range e.References() {
			d.children[f.Reference] = append(d.children[f.Reference], reference{child: e, field: f})
		}
	}
	return d
}

// Tables derives the store's table definitions from the registry: every
// entity, internal ones included, is one table; the DB adds its record of
// deletions under way.
func Tables(reg *schema.Registry) []store.Table {
	var tables []store.Table
	workspaces := reg.Workspaces()
	for _, e := range reg.Entities() {
		t := store.Table{Name: e.Name, Tagged: e.Tagged()}
		for _, f := range e.Fields {
			if f.Unique {
				t.Unique = append(t.Unique, []string{f.Name})
			}
		}
		t.CacheKey = e.DistinctCacheKey()
		for _, f := range e.References() {
			od := store.Restrict
			if f.OnDelete == "cascade" {
				od = store.Cascade
			}
			t.Foreign = append(t.Foreign, store.ForeignKey{Field: f.Name, Table: f.Reference, OnDelete: od, Loose: f.Loose})
		}
		for _, f := range e.Fields {
			if f.Indexed {
				// The store's loose references index a field's value
				// without enforcing anything: a value index.
				t.Foreign = append(t.Foreign, store.ForeignKey{Field: f.Name, Table: e.Name, Loose: true})
			}
		}
		for _, si := range e.Sorted {
			t.Sorted = append(t.Sorted, store.SortedIndex{Name: si.Name, Fields: si.Fields})
		}
		if e.TTL {
			// Rows by expiry, for the sweeper (rows without one sort first).
			t.Sorted = append(t.Sorted, store.SortedIndex{Name: expiryIndex, Fields: []string{schema.FieldExpiresAt}})
		}
		if e.Workspaceable && workspaces != nil {
			workspaceTable(&t, workspaces.Name)
		}
		tables = append(tables, t)
	}
	return append(tables, purgeTable())
}

// AddTxHook registers a hook run inside every write transaction. Register
// hooks before serving.
func (d *DB) AddTxHook(h TxHook) { d.hooks = append(d.hooks, h) }

// Registry returns the entities this DB serves.
func (d *DB) Registry() *schema.Registry { return d.reg }

// Store returns the underlying store.
func (d *DB) Store() store.Store { return d.store }

// Entity returns the named entity or nil.
func (d *DB) Entity(name string) *schema.Entity { return d.reg.Entity(name) }

// Workspaces returns the workspaces entity, or nil when entities are global.
func (d *DB) Workspaces() *schema.Entity { return d.workspaces }

// Find returns every row of e whose field (a reference or an Indexed
// field) equals value, in every workspace, read through the field's index.
func (d *DB) Find(ctx context.Context, e *schema.Entity, field, value string) ([]map[string]any, error) {
	var rows []map[string]any
	err := d.store.View(ctx, func(tx store.Tx) error {
		var err error
		rows, err = findIndexed(tx, e, field, value)
		return err
	})
	return rows, err
}

// write runs fn in a write transaction, collecting its changes for the hooks
// and publishing them after commit.
func (d *DB) write(ctx context.Context, fn func(w *writer) error) error {
	var changes []Change
	var after []func()
	err := d.store.Update(ctx, func(tx store.Tx) error {
		w := &writer{ctx: ctx, db: d, tx: tx}
		if err := fn(w); err != nil {
			return err
		}
		changes, after = w.changes, w.after
		return nil
	})
	if err != nil {
		return d.mapError(err)
	}
	d.committed()
	for _, ch := range changes {
		if ch.Entity == d.workspaces {
			d.wsCache.invalidate()
			break
		}
	}
	for _, f := range after {
		f()
	}
	if d.bus != nil {
		for _, ch := range changes {
			d.bus.Publish(events.Event{Source: SourceCRUD, Name: ch.Entity.Name, Data: ch})
		}
	}
	return nil
}

// writer is one write transaction in progress.
type writer struct {
	ctx      context.Context
	deleting map[string]bool // table/id of rows being deleted
	db       *DB
	tx       store.Tx
	changes  []Change
	after    []func()
	// raw writes take values as stored (BatchOptions.Raw).
	raw bool
	// refuse, when set (a read-only DB), is returned instead of writing.
	refuse error
}

func (w *writer) record(ch Change) error {
	for _, h := range w.db.hooks {
		after, err := h(w.tx, ch)
		if err != nil {
			return fmt.Errorf("running write hook for %s %s: %w", ch.Entity.Name, ch.Operation, err)
		}
		if after != nil {
			w.after = append(w.after, after)
		}
	}
	w.changes = append(w.changes, ch)
	return nil
}

// Invalidate drops everything the DB caches of the store's contents (rows,
// workspaces, the default workspace's id): the store's engine was replaced
// under it (DB-less mode's POST /config).
func (d *DB) Invalidate() {
	d.committed()
	d.wsCache.invalidate()
	d.defaultWS.id.Store(nil)
}

// unsupported is Kong's refusal of a write on a read-only DB (the off
// strategy's operation_unsupported), or nil when d takes writes. key
// names the entity by an endpoint key ("by 'name'") unless it is an id.
func (d *DB) unsupported(op string, e *schema.Entity, key string) error {
	if !d.readOnly {
		return nil
	}
	by := ""
	if key != "" && !schema.IsUUID(key) && e.EndpointKey != "" {
		by = fmt.Sprintf(" by '%s'", e.EndpointKey)
	}
	return &Error{Code: CodeOperationUnsupported, Name: codeNameOperationUnsupported,
		Message: fmt.Sprintf("cannot %s '%s' entities%s when not using a database", op, e.Name, by)}
}

// ReadOnly reports whether d refuses writes.
func (d *DB) ReadOnly() bool { return d.readOnly }

// MapError turns store errors into Kong's DAO errors; others pass through
// (and become 500s at the edge).
func (d *DB) MapError(err error) error { return d.mapError(err) }

func (d *DB) mapError(err error) error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	if he, ok := hookError(err); ok {
		return he
	}
	var ue *store.UniqueError
	if errors.As(err, &ue) {
		fields := map[string]any{}
		for i, f := range ue.Fields {
			if f != FieldWorkspace { // unique within a workspace, as Kong reports it
				fields[f] = ue.Values[i]
			}
		}
		return uniqueViolation(fields)
	}
	var fe *store.ForeignKeyError
	if errors.As(err, &fe) {
		return foreignKeyViolation(fe.Field, fe.RefTable, fe.ID)
	}
	var re *store.ReferencedError
	if errors.As(err, &re) {
		if d.workspaces != nil && re.Table == d.workspaces.Name {
			return workspaceNotEmpty()
		}
		return foreignKeyRestricted(re.Table, re.ChildTable)
	}
	var pe *store.PrimaryKeyError
	if errors.As(err, &pe) {
		return primaryKeyViolation(pe.ID)
	}
	var oe *store.OffsetError
	if errors.As(err, &oe) {
		return invalidOffset(oe.Error())
	}
	if errors.Is(err, store.ErrBusy) {
		return Plain(CodeBusy, msgBusy)
	}
	return err
}
