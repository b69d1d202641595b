package db

import (
	"context"
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
			err := d.store.Update(ctx, func(tx store.Tx) error {
				page, err := tx.Page(e.Name, store.PageQuery{Size: 100, Offset: offset})
				if err != nil {
					return err
				}
				for _, row := range page.Rows {
					if err := indexRow(tx, e, fields, row); err != nil {
						return err
					}
				}
				offset = page.Offset
				return nil
			})
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

// indexRow writes row's missing index entries of fields.
func indexRow(tx store.Tx, e *schema.Entity, fields []string, row map[string]any) error {
	id, _ := row[schema.FieldID].(string)
	for _, f := range fields {
		value, _ := row[f].(string)
		if value == "" {
			continue
		}
		indexed, err := findIndexed(tx, e, f, value)
		if err != nil {
			return err
		}
		found := false
		for _, r := range indexed {
			found = found || r[schema.FieldID] == id
		}
		if found {
			continue
		}
		without := make(map[string]any, len(row))
		for k, v := range row {
			if k != f {
				without[k] = v
			}
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
