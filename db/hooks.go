package db

import (
	"errors"
	"fmt"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Entities bring their own DAO behaviour in Entity.Behaviour, through the
// hook interfaces declared in schema/hooks.go; this file gives those hooks
// the transaction they run in. db calls the hooks and names no entity.

// readTx is schema.ReadTx over a store transaction.
type readTx struct {
	d  *DB
	tx store.Tx
}

func (r readTx) Entity(name string) *schema.Entity { return r.d.reg.Entity(name) }

func (r readTx) Get(e *schema.Entity, id string) (map[string]any, error) {
	row, err := r.tx.Get(e.Name, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return row, err
}

func (r readTx) GetUnique(e *schema.Entity, ws, field string, value any) (map[string]any, error) {
	if !r.d.workspaced(e) {
		ws = ""
	}
	row, err := getUnique(r.tx, e.Name, ws, field, value)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return row, err
}

func (r readTx) Find(e *schema.Entity, field, value string) ([]map[string]any, error) {
	return findIndexed(r.tx, e, field, value)
}

func (r readTx) Count(e *schema.Entity, id string) (map[string]any, error) {
	if e == r.d.workspaces {
		return r.d.counts(r.tx, id)
	}
	counts := map[string]any{}
	for _, ref := range r.d.children[e.Name] {
		rows, err := findIndexed(r.tx, ref.child, ref.field.Name, id)
		if err != nil {
			return nil, err
		}
		if len(rows) > 0 {
			n, _ := counts[ref.child.Name].(int)
			counts[ref.child.Name] = n + len(rows)
		}
	}
	return counts, nil
}

// writeTx is schema.WriteTx over a write in progress.
type writeTx struct {
	readTx
	w *writer
}

func (w *writer) hookTx() writeTx { return writeTx{readTx: readTx{d: w.db, tx: w.tx}, w: w} }

func (t writeTx) Auto() schema.Auto { return t.w.db.auto }

func (t writeTx) Insert(e *schema.Entity, row map[string]any) error { return t.w.stored(e, row, nil) }

func (t writeTx) Update(e *schema.Entity, row, old map[string]any) error {
	return t.w.stored(e, row, old)
}

func (t writeTx) Delete(e *schema.Entity, row map[string]any) error { return t.w.delete(e, row) }

func (t writeTx) Claim(name string) error { return t.w.tx.Claim(name) }

func (t writeTx) Transform() bool { return !t.w.raw }

// findIndexed reads every row of e whose field (a reference or an Indexed
// field) equals value, through the field's index, in every workspace.
func findIndexed(tx store.Tx, e *schema.Entity, field, value string) ([]map[string]any, error) {
	f := e.Field(field)
	if f == nil || (f.Type != schema.Foreign && !f.Indexed) {
		return nil, fmt.Errorf("finding %s by %s: the field is not indexed", e.Name, field)
	}
	var out []map[string]any
	q := store.PageQuery{Size: 1000, Foreign: &store.ForeignFilter{Field: field, ID: value}}
	for {
		page, err := tx.Page(e.Name, q)
		if err != nil {
			return nil, fmt.Errorf("finding %s by %s: %w", e.Name, field, err)
		}
		out = append(out, page.Rows...)
		if page.Offset == "" {
			return out, nil
		}
		q.Offset = page.Offset
	}
}

// decorate fills the derived output fields of rows read from e.
func (d *DB) decorate(tx store.Tx, e *schema.Entity, rows ...map[string]any) error {
	dec, ok := e.Behaviour.(schema.Decorator)
	if !ok {
		return nil
	}
	for _, r := range rows {
		if r == nil {
			continue
		}
		if err := dec.Decorate(readTx{d: d, tx: tx}, r); err != nil {
			return err
		}
	}
	return nil
}

// stored writes an entity's row (insert or full update) between its
// hooks, then decorates it for output.
func (w *writer) stored(e *schema.Entity, entity map[string]any, old map[string]any) error {
	if w.refuse != nil {
		return w.refuse
	}
	transient := e.TakeTransient(entity)
	if h, ok := e.Behaviour.(schema.BeforeWriter); ok {
		if err := h.BeforeWrite(w.hookTx(), entity, old); err != nil {
			return err
		}
	}
	if old == nil {
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
	if h, ok := e.Behaviour.(schema.AfterWriter); ok {
		if err := h.AfterWrite(w.hookTx(), entity, transient); err != nil {
			return err
		}
	}
	return w.db.decorate(w.tx, e, entity)
}

// hookError renders the errors hooks return for a client's mistake in
// Kong's shapes; ok is false for any other error.
func hookError(err error) (*Error, bool) {
	var ref *schema.Refusal
	if errors.As(err, &ref) {
		code := CodeSchemaViolation
		if ref.NotFound {
			code = CodeNotFound
		}
		return &Error{Code: code, Message: ref.Message, Detail: ref.Detail}, true
	}
	var uv *schema.UniqueViolation
	if errors.As(err, &uv) {
		fields := make([]any, len(uv.Fields))
		for i, f := range uv.Fields {
			fields[i] = f
		}
		return &Error{Code: CodeUniqueViolation, Name: codeNameUniqueViolation,
			Message: fmt.Sprintf(msgUniqueViolation, luaPretty(fields)), Fields: fields}, true
	}
	var se schema.Errors
	if errors.As(err, &se) {
		return SchemaViolation(se), true
	}
	return nil, false
}
