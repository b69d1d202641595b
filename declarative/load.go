package declarative

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// firstChunk is how many rows a transaction writes when a configuration
// is too big for one; halved while a chunk is still too big.
const firstChunk = 2000

// Import parses a file's contents and loads it (Parse, then Load).
func Import(ctx context.Context, d *db.DB, data []byte, filename string) (*Config, error) {
	cfg, err := New(d.Registry()).Parse(data, filename)
	if err != nil {
		return nil, err
	}
	return cfg, Load(ctx, d, cfg)
}

// Load writes a configuration's entities into the store as Kong's
// db_import does: each entity is upserted by its id into the file's
// workspace (created when missing); entities the file does not list stay.
// Everything is written in one transaction, so nothing is written when a
// row conflicts with stored ones. A configuration too big for one
// transaction is checked against the stored rows' unique values first and
// then written in chunks, referenced entities first: only a concurrent
// writer can then make it stop half-way.
func Load(ctx context.Context, d *db.DB, cfg *Config) error {
	ctx, created, err := workspace(ctx, d, cfg.Workspace)
	if err != nil {
		return err
	}
	opts := db.BatchOptions{Raw: !cfg.Transform}
	err = d.Batch(ctx, opts, func(b *db.Batch) error {
		for _, t := range cfg.Tables {
			for _, row := range t.Rows {
				if _, err := b.Upsert(t.Entity, row); err != nil {
					return rowError(t.Entity, row, err)
				}
			}
		}
		return nil
	})
	if errors.Is(err, store.ErrTooBig) {
		err = loadInChunks(ctx, d, cfg, opts)
	}
	if err != nil && created != nil {
		// The workspace made for a configuration that was not loaded goes.
		if derr := d.Delete(ctx, d.Workspaces(), created[schema.FieldID].(string), nil); derr != nil {
			err = fmt.Errorf("%w (and removing the workspace created for it: %v)", err, derr)
		}
	}
	return err
}

func loadInChunks(ctx context.Context, d *db.DB, cfg *Config, opts db.BatchOptions) error {
	for _, t := range cfg.Tables {
		if err := d.Conflicts(ctx, t.Entity, t.Rows); err != nil {
			return fmt.Errorf("%s: %w", t.Entity.Name, err)
		}
	}
	for _, t := range cfg.Tables {
		size := firstChunk
		for rows := t.Rows; len(rows) > 0; {
			n := min(size, len(rows))
			err := d.Batch(ctx, opts, func(b *db.Batch) error {
				for _, row := range rows[:n] {
					if _, err := b.Upsert(t.Entity, row); err != nil {
						return rowError(t.Entity, row, err)
					}
				}
				return nil
			})
			if errors.Is(err, store.ErrTooBig) && n > 1 {
				size = n / 2
				continue
			}
			if err != nil {
				return err
			}
			rows = rows[n:]
		}
	}
	return nil
}

// rowError names the row a write failed on.
func rowError(e *schema.Entity, row map[string]any, err error) error {
	if errors.Is(err, store.ErrTooBig) {
		return err
	}
	name := row[schema.FieldID]
	if e.EndpointKey != "" && row[e.EndpointKey] != nil {
		name = row[e.EndpointKey]
	}
	return fmt.Errorf("%s '%v': %w", e.Name, name, err)
}

// workspace returns ctx acting in the named workspace, creating it when
// missing (Kong's find_or_create_current_workspace); created is the
// workspace made.
func workspace(ctx context.Context, d *db.DB, name string) (context.Context, map[string]any, error) {
	ws := d.Workspaces()
	if ws == nil || name == "" || name == db.DefaultWorkspace {
		return ctx, nil, nil
	}
	row, err := d.Select(ctx, ws, name, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("finding workspace '%s': %w", name, err)
	}
	var created map[string]any
	if row == nil {
		if row, err = d.Insert(ctx, ws, map[string]any{ws.EndpointKey: name}, nil); err != nil {
			return nil, nil, fmt.Errorf("creating workspace '%s': %w", name, err)
		}
		created = row
	}
	return db.InWorkspace(ctx, row[schema.FieldID].(string)), created, nil
}
