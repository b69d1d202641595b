// Package db is Kong's DAO layer written once for every schema: it prepares
// and validates entities, resolves "id or endpoint key", maps store errors to
// Kong's error codes, cascades deletes, and emits an event for every change.
//
// Every write runs in one store transaction together with the TxHooks (the
// event hooks outbox), so a change and what it owes are committed together.
// After commit, each change is published on the events bus.
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
	reg   *schema.Registry
	store store.Store
	bus   *events.Bus
	auto  schema.Auto
	hooks []TxHook
	// children lists, per entity, the foreign fields of other entities that
	// reference it (for cascades).
	children map[string][]reference
	// extensions hold entity-specific DAO behaviour, by entity name.
	extensions map[string]extension
	// workspaces is the workspaces entity, nil when the registry has none
	// (then every entity is global).
	workspaces *schema.Entity
	defaultWS  defaultWorkspace
	wsCache    workspaceCache
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
}

// New returns a DB over st serving the registry's entities.
func New(reg *schema.Registry, st store.Store, opts Options) *DB {
	d := &DB{reg: reg, store: st, bus: opts.Bus, children: map[string][]reference{}, extensions: map[string]extension{},
		workspaces: reg.Entity(WorkspacesEntity)}
	if users := reg.Entity("rbac_users"); users != nil {
		d.extensions[users.Name] = rbacTokens{}
		if admins := reg.Entity("admins"); admins != nil {
			d.extensions[admins.Name] = adminUsers{users: users}
		}
	}
	if d.workspaces != nil {
		d.extensions[WorkspacesEntity] = workspaceRules{db: d}
	}
	if certs, snis := reg.Entity("certificates"), reg.Entity("snis"); certs != nil && snis != nil {
		d.extensions[certs.Name] = &certificateSNIs{certs: certs, snis: snis}
	}
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

// Tables derives the store's table definitions from the registry.
func Tables(reg *schema.Registry) []store.Table {
	var tables []store.Table
	for _, e := range reg.Entities() {
		t := store.Table{Name: e.Name, Tagged: e.Tagged()}
		for _, f := range e.Fields {
			if f.Unique {
				t.Unique = append(t.Unique, []string{f.Name})
			}
		}
		t.CacheKey = e.CacheKey
		for _, f := range e.References() {
			od := store.Restrict
			if f.OnDelete == "cascade" {
				od = store.Cascade
			}
			t.Foreign = append(t.Foreign, store.ForeignKey{Field: f.Name, Table: f.Reference, OnDelete: od})
		}
		if e.Workspaceable && reg.Entity(WorkspacesEntity) != nil {
			workspaceTable(&t)
		}
		tables = append(tables, t)
	}
	return tables
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

// MapError turns store errors into Kong's DAO errors; others pass through
// (and become 500s at the edge).
func (d *DB) MapError(err error) error { return d.mapError(err) }

func (d *DB) mapError(err error) error {
	var de *Error
	if errors.As(err, &de) {
		return de
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
		if re.Table == WorkspacesEntity {
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
	return err
}

// decorate fills the derived output fields of rows read from e.
func (d *DB) decorate(tx store.Tx, e *schema.Entity, rows ...map[string]any) error {
	ext := d.extensions[e.Name]
	if ext == nil {
		return nil
	}
	for _, r := range rows {
		if r == nil {
			continue
		}
		if err := ext.decorate(tx, r); err != nil {
			return err
		}
	}
	return nil
}

// stored writes an entity's row (insert or full update) and runs its
// extension with the transient input, then decorates it for output.
func (w *writer) stored(e *schema.Entity, entity map[string]any, old map[string]any) error {
	transient := e.TakeTransient(entity)
	if p, ok := w.db.extensions[e.Name].(preparer); ok {
		if err := p.prepare(entity, old); err != nil {
			return err
		}
	}
	if old == nil {
		if x, ok := w.db.extensions[e.Name].(inserter); ok {
			if err := x.beforeInsert(w, entity); err != nil {
				return err
			}
		}
		if err := w.insert(e, entity); err != nil {
			return err
		}
	} else {
		if err := w.place(e, entity, old); err != nil {
			return err
		}
		if err := w.tx.Update(e.Name, entity); err != nil {
			return err
		}
		if err := w.record(Change{Entity: e, Operation: OpUpdate, Row: entity, Old: old}); err != nil {
			return err
		}
	}
	if ext := w.db.extensions[e.Name]; ext != nil {
		if err := ext.afterWrite(w, entity, transient); err != nil {
			return err
		}
	}
	return w.db.decorate(w.tx, e, entity)
}
