package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// A delete is one transaction when it fits in one. One that does not (a
// workspace holding 100,000 entities, a service with thousands of routes,
// each deletion adding event-hook rows) is done resumably instead of
// failing: a purge record names the row, its dependents are deleted in
// batches that each fit a transaction (each with its events), and the last
// transaction deletes the row and the record together. Between batches
// readers see the deletion in progress; after a crash the record is still
// there and the next start finishes the job.

// purgesTable holds the purges under way.
const purgesTable = "portico_purges"

// purgeTable is the store table of purge records.
func purgeTable() store.Table { return store.Table{Name: purgesTable} }

// firstPurgeBatch is how many dependents a batch deletes at first; it is
// halved while a batch is still too big. Small batches are faster: every
// index read in a write transaction sorts the transaction's pending
// writes (badger), and each delete reads the indexes of its cascades.
const firstPurgeBatch = 16

// purge is a row being deleted with everything that goes with it.
type purge struct {
	e  *schema.Entity
	id string
	// contents makes the workspace's entities its dependents (DELETE
	// /workspaces/{ws}?cascade=true), instead of the rows referencing it
	// with on_delete=cascade.
	contents bool
}

// deleteOrPurge runs a delete in one transaction; when the store finds it
// too big, the delete of target (set by the transaction) goes on as a
// resumable purge.
func (d *DB) deleteOrPurge(ctx context.Context, fn func(w *writer) error, target *purge) error {
	err := d.write(ctx, fn)
	if !errors.Is(err, store.ErrTooBig) || target.id == "" {
		return err
	}
	return d.startPurge(ctx, *target)
}

// startPurge records a purge and carries it out.
func (d *DB) startPurge(ctx context.Context, target purge) error {
	record := uuid.NewString()
	err := d.store.Update(ctx, func(tx store.Tx) error {
		return tx.Insert(purgesTable, store.Row{schema.FieldID: record, "entity": target.e.Name,
			"target": target.id, "contents": target.contents})
	})
	if err != nil {
		return fmt.Errorf("recording the purge of %s %s: %w", target.e.Name, target.id, err)
	}
	return d.finishPurge(ctx, record, target)
}

// purgeAtOnce is how many entities a workspace may hold for its cascade
// delete to be tried as one transaction; larger ones are purged in batches
// from the start (a transaction that grows until the store refuses it
// costs more than the batches).
const purgeAtOnce = 1000

// holdsMany reports whether workspace ws holds more than purgeAtOnce
// entities, reading no more than that many index entries.
func (d *DB) holdsMany(tx store.Tx, ws string) (bool, error) {
	seen := 0
	for _, e := range d.workspacedEntities() {
		page, err := tx.Page(e.Name, store.PageQuery{Size: purgeAtOnce + 1 - seen,
			Foreign: &store.ForeignFilter{Field: FieldWorkspace, ID: ws}})
		if err != nil {
			return false, err
		}
		if seen += len(page.Rows); seen > purgeAtOnce {
			return true, nil
		}
	}
	return false, nil
}

// finishPurge deletes p's dependents in batches until the rest fits one
// transaction, which deletes the row and the purge record (when record is
// not empty).
func (d *DB) finishPurge(ctx context.Context, record string, p purge) error {
	batch := firstPurgeBatch
	for {
		err := d.write(ctx, func(w *writer) error {
			r, err := w.tx.Get(p.e.Name, p.id)
			switch {
			case errors.Is(err, store.ErrNotFound):
			case err != nil:
				return err
			case p.contents:
				if err := w.deleteContents(p.id); err != nil {
					return err
				}
				if err := w.delete(p.e, r); err != nil {
					return err
				}
			default:
				if err := w.delete(p.e, r); err != nil {
					return err
				}
			}
			if record == "" {
				return nil
			}
			return w.tx.Delete(purgesTable, record)
		})
		if !errors.Is(err, store.ErrTooBig) {
			return err
		}
		// Batches until the dependents run short, before the last
		// transaction is tried again: a failed try costs a transaction's
		// worth of work.
		for {
			n, err := d.deleteDependents(ctx, p, &batch)
			if err != nil {
				return err
			}
			if n < batch {
				break
			}
		}
	}
}

// deleteDependents deletes one batch of p's dependents and says how many,
// halving the batch while it is too big; a single dependent too big for a
// transaction is purged in turn.
func (d *DB) deleteDependents(ctx context.Context, p purge, batch *int) (int, error) {
	for {
		var single *purge
		n := 0
		err := d.write(ctx, func(w *writer) error {
			e, rows, err := w.dependents(p, *batch)
			if err != nil {
				return err
			}
			n = len(rows)
			if len(rows) == 1 {
				single = &purge{e: e, id: row.String(rows[0], schema.FieldID)}
			}
			for _, r := range rows {
				if err := w.delete(e, r); err != nil {
					return err
				}
			}
			return nil
		})
		switch {
		case err == nil:
			return n, nil
		case !errors.Is(err, store.ErrTooBig):
			return 0, err
		case *batch > 1:
			*batch /= 2
		case single != nil:
			return 1, d.finishPurge(ctx, "", *single)
		default:
			return 0, err
		}
	}
}

// dependents returns up to limit rows of the first entity holding
// dependents of p, in the order they must be deleted.
func (w *writer) dependents(p purge, limit int) (*schema.Entity, []store.Row, error) {
	type group struct {
		e     *schema.Entity
		field string
	}
	var groups []group
	if p.contents {
		// Referencing entities come after the ones they reference: the
		// last ones go first, so restricted references are gone first.
		entities := w.db.workspacedEntities()
		for i := len(entities) - 1; i >= 0; i-- {
			groups = append(groups, group{entities[i], FieldWorkspace})
		}
	} else {
		for _, ref := range w.db.children[p.e.Name] {
			if ref.field.OnDelete == "cascade" {
				groups = append(groups, group{ref.child, ref.field.Name})
			}
		}
	}
	for _, g := range groups {
		page, err := w.tx.Page(g.e.Name, store.PageQuery{Size: limit,
			Foreign: &store.ForeignFilter{Field: g.field, ID: p.id}})
		if err != nil {
			return nil, nil, err
		}
		if len(page.Rows) > 0 {
			return g.e, page.Rows, nil
		}
	}
	return nil, nil, nil
}

// deleteContents deletes every entity of a workspace, with its cascades.
func (w *writer) deleteContents(ws string) error {
	for {
		e, rows, err := w.dependents(purge{e: w.db.workspaces, id: ws, contents: true}, 100)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			if err := w.delete(e, r); err != nil {
				return err
			}
		}
	}
}

// resumePurges finishes the purges a stop interrupted.
func (d *DB) resumePurges(ctx context.Context) error {
	for {
		var records []store.Row
		err := d.store.View(ctx, func(tx store.Tx) error {
			page, err := tx.Page(purgesTable, store.PageQuery{Size: 100})
			records = page.Rows
			return err
		})
		if err != nil || len(records) == 0 {
			return err
		}
		for _, r := range records {
			id := row.String(r, schema.FieldID)
			p := purge{e: d.reg.Entity(row.String(r, "entity")), id: row.String(r, "target"), contents: row.Bool(r, "contents", false)}
			if p.e == nil {
				// An entity this version no longer has: nothing to finish.
				err = d.store.Update(ctx, func(tx store.Tx) error { return tx.Delete(purgesTable, id) })
			} else {
				err = d.finishPurge(ctx, id, p)
			}
			if err != nil {
				return fmt.Errorf("finishing the purge of %s %s: %w", row.String(r, "entity"), p.id, err)
			}
		}
	}
}
