package proxy

import (
	"context"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// watchedEntities are the tables a snapshot is built from: a write to any
// of them rebuilds the proxy's snapshot.
var watchedEntities = []string{"routes", "services", "upstreams", "targets", "certificates", "snis", "ca_certificates", "workspaces"}

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

// Helpers that read a stored row's fields with the types the store gives
// back (JSON-shaped: numbers as float64 or int, lists as []any).

func str(r store.Row, field string) string {
	s, _ := r[field].(string)
	return s
}

func boolean(r store.Row, field string, dflt bool) bool {
	if b, ok := r[field].(bool); ok {
		return b
	}
	return dflt
}

func integer(r store.Row, field string, dflt int) int {
	switch v := r[field].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case int64:
		return int(v)
	}
	return dflt
}

func number(r store.Row, field string) float64 {
	switch v := r[field].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	case int64:
		return float64(v)
	}
	return 0
}

func stringList(r store.Row, field string) []string {
	switch v := r[field].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func ref(r store.Row, field string) string { return db.RefID(r[field]) }

func workspace(r store.Row) string { return str(r, db.FieldWorkspace) }

func id(r store.Row) string { return str(r, schema.FieldID) }
