package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// A batch is many writes in one transaction: a declarative configuration
// is loaded whole or not at all. Each row goes through the same path as an
// Admin API PUT by id (preparation, validation, workspace, hooks, events).

// BatchOptions adjust the writes of a batch.
type BatchOptions struct {
	// Raw takes values as already stored: the entities' hooks do not
	// transform them (Kong's `_transform: false`, e.g. a basic-auth
	// password given as its hash).
	Raw bool
}

// Batch is a write transaction in progress (DB.Batch).
type Batch struct{ w *writer }

// Batch runs fn in one write transaction; nothing is written when fn or a
// write fails, or when the transaction is too big for the store
// (store.ErrTooBig, which the error wraps).
func (d *DB) Batch(ctx context.Context, opts BatchOptions, fn func(b *Batch) error) error {
	return d.write(ctx, func(w *writer) error {
		w.raw = opts.Raw
		if d.readOnly {
			w.refuse = errors.New("writing a batch: the database is read-only")
		}
		return fn(&Batch{w: w})
	})
}

// Upsert creates the entity row describes (its id given), or replaces the
// row with that id in the batch's workspace as Kong's upsert by primary
// key does; created tells which. row is the input, not prepared.
func (b *Batch) Upsert(e *schema.Entity, row map[string]any) (created bool, err error) {
	id, _ := row[schema.FieldID].(string)
	if id == "" {
		return false, fmt.Errorf("upserting %s without an id", e.Name)
	}
	existing, err := b.w.tx.Get(e.Name, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, err
	}
	if existing != nil {
		ws, err := b.w.db.workspaceFor(b.w.ctx, b.w.tx, e)
		if err != nil {
			return false, err
		}
		// An id held in another workspace cannot be taken over.
		if !inWorkspace(existing, ws) {
			return false, primaryKeyViolation(id)
		}
	}
	_, err = b.w.upsert(e, schema.Copy(row).(map[string]any), existing, 0)
	return existing == nil, err
}

// Conflicts reports the first row of e (inputs with their ids, in the
// context's workspace) whose unique values are held by a stored row with
// another id, as the unique violation a write of it would meet. Imports
// too big for one transaction check this before their first batch, so that
// a conflict with stored rows still writes nothing.
func (d *DB) Conflicts(ctx context.Context, e *schema.Entity, rows []map[string]any) error {
	sets := e.UniqueSets()
	if len(sets) == 0 {
		return nil
	}
	err := d.store.View(ctx, func(tx store.Tx) error {
		ws, err := d.workspaceFor(ctx, tx, e)
		if err != nil {
			return err
		}
		for _, row := range rows {
			for _, set := range sets {
				fields, values := set, make([]any, 0, len(set)+1)
				if ws != "" {
					fields = append([]string{FieldWorkspace}, set...)
					values = append(values, ws)
				}
				missing := false
				for _, f := range set {
					v, ok := row[f]
					if !ok || v == nil && len(set) == 1 {
						missing = true
					}
					values = append(values, v)
				}
				if missing {
					continue
				}
				held, err := tx.GetUnique(e.Name, fields, values)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				if held[schema.FieldID] != row[schema.FieldID] {
					conflict := map[string]any{}
					for i, f := range fields {
						if f != FieldWorkspace {
							conflict[f] = values[i]
						}
					}
					return uniqueViolation(conflict)
				}
			}
		}
		return nil
	})
	return d.mapError(err)
}
