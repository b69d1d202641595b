package db_test

import (
	"context"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
	"github.com/portico-gw/portico/store"
)

// TestBootstrapAdoptsRowsWithoutWorkspace: a store written before
// workspaces existed keeps its entities, now in the default workspace.
func TestBootstrapAdoptsRowsWithoutWorkspace(t *testing.T) {
	ctx := context.Background()
	reg, st := dbtest.Store(t)
	err := st.Update(ctx, func(tx store.Tx) error {
		for i, name := range []string{"alice", "bob"} {
			id := []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"}[i]
			if err := tx.Insert("consumers", store.Row{"id": id, "username": name, "created_at": 1.0, "updated_at": 1.0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	d := db.New(reg, st, db.Options{})
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	consumers := d.Entity("consumers")
	for _, name := range []string{"alice", "bob"} {
		row, err := d.Select(ctx, consumers, name, nil)
		if err != nil || row == nil {
			t.Fatalf("%s after the upgrade: %v, %v", name, row, err)
		}
	}
	rows, _, err := d.Page(ctx, consumers, db.PageOptions{Size: 10})
	if err != nil || len(rows) != 2 {
		t.Fatalf("listing after the upgrade: %d rows, %v", len(rows), err)
	}
	if _, err := d.Insert(ctx, consumers, map[string]any{"username": "alice"}, nil); err == nil {
		t.Fatal("a second alice was accepted in the default workspace")
	}
}
