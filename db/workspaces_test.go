package db_test

import (
	"context"
	"fmt"
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

// TestAdoptionResumesAfterACrash: a start that created the default
// workspace but stopped before every row was moved into it leaves the
// job to the next start, which finishes it (more rows than one batch).
func TestAdoptionResumesAfterACrash(t *testing.T) {
	ctx := context.Background()
	reg, st := dbtest.Store(t)
	d := db.New(reg, st, db.Options{})
	// The interrupted start: the default workspace exists, the rows are
	// still outside every workspace and the job is not marked done.
	if _, err := d.Insert(ctx, d.Workspaces(), map[string]any{"name": db.DefaultWorkspace}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 250
	err := st.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			if err := tx.Insert("consumers", store.Row{"id": id, "username": fmt.Sprint("user", i), "created_at": 1.0, "updated_at": 1.0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := d.All(ctx, d.Entity("consumers"), db.PageOptions{})
	if err != nil || len(rows) != n {
		t.Fatalf("after the next start: %d consumers in the default workspace, %v", len(rows), err)
	}
	if row, err := d.Select(ctx, d.Entity("consumers"), "user249", nil); err != nil || row == nil {
		t.Fatalf("user249 after the next start: %v, %v", row, err)
	}
}
