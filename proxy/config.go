package proxy

import (
	"context"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/row"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// watchedEntities are the tables a snapshot is built from: a write to any
// of them rebuilds the proxy's snapshot.
var watchedEntities = []string{"routes", "services", "upstreams", "targets", "certificates", "snis", "ca_certificates", "workspaces", "plugins"}

// config is every row a snapshot is built from, read in one transaction so
// that references between them are consistent.
type config struct {
	tables map[string][]store.Row
}

func (c *config) rows(table string) []store.Row { return c.tables[table] }

// loadConfig reads the watched tables of every workspace.
func loadConfig(ctx context.Context, st store.Store) (*config, error) {
	c := &config{tables: make(map[string][]store.Row, len(watchedEntities))}
	err := st.View(ctx, func(tx store.Tx) error {
		for _, table := range watchedEntities {
			q := store.PageQuery{Size: 1000}
			for {
				page, err := tx.Page(table, q)
				if err != nil {
					return fmt.Errorf("reading %s: %w", table, err)
				}
				c.tables[table] = append(c.tables[table], page.Rows...)
				if page.Offset == "" {
					break
				}
				q.Offset = page.Offset
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// The proxy's names for the fields every row has.

func ref(r store.Row, field string) string { return db.RefID(r[field]) }

func workspace(r store.Row) string { return row.String(r, db.FieldWorkspace) }

func id(r store.Row) string { return row.String(r, schema.FieldID) }
