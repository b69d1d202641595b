package db

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// indexExisting indexes the Indexed fields of rows stored before their
// field was declared Indexed: the store indexes a row only when it is
// written, so such a row is written once without the field and once with
// it. Rows already indexed cost one index read each.
func (d *DB) indexExisting(ctx context.Context) error {
	for _, e := range d.reg.Entities() {
		var fields []string
		for _, f := range e.Fields {
			if f.Indexed {
				fields = append(fields, f.Name)
			}
		}
		if len(fields) == 0 {
			continue
		}
		offset := ""
		for {
			// Read-only until a row lacks its entries: a store written by
			// this version costs no write.
			var missing []string
			err := d.store.View(ctx, func(tx store.Tx) error {
				page, err := tx.Page(e.Name, store.PageQuery{Size: 100, Offset: offset})
				if err != nil {
					return err
				}
				for _, row := range page.Rows {
					ok, err := indexed(tx, e, fields, row)
					if err != nil {
						return err
					}
					if !ok {
						missing = append(missing, row[schema.FieldID].(string))
					}
				}
				offset = page.Offset
				return nil
			})
			if err == nil && len(missing) > 0 {
				err = d.store.Update(ctx, func(tx store.Tx) error { return reindex(tx, e, fields, missing) })
			}
			if err != nil {
				return fmt.Errorf("indexing %s: %w", e.Name, err)
			}
			if offset == "" {
				break
			}
		}
	}
	return nil
}

// indexed reports whether row has the index entries of fields.
func indexed(tx store.Tx, e *schema.Entity, fields []string, row map[string]any) (bool, error) {
	for _, f := range fields {
		value, _ := row[f].(string)
		if value == "" {
			continue
		}
		rows, err := findIndexed(tx, e, f, value)
		if err != nil {
			return false, err
		}
		found := false
		for _, r := range rows {
			found = found || r[schema.FieldID] == row[schema.FieldID]
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// reindex writes each row once without fields and once as it is, which
// makes the store write their index entries.
func reindex(tx store.Tx, e *schema.Entity, fields []string, ids []string) error {
	for _, id := range ids {
		row, err := tx.Get(e.Name, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		without := make(map[string]any, len(row))
		for k, v := range row {
			without[k] = v
		}
		for _, f := range fields {
			delete(without, f)
		}
		if err := tx.Update(e.Name, without); err != nil {
			return err
		}
		if err := tx.Update(e.Name, row); err != nil {
			return err
		}
	}
	return nil
}
