package db_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// smallStore is a DB whose store takes small transactions (about 150 KB),
// so that deleting a few thousand rows does not fit in one. deletes counts
// the delete events the write hooks see.
func smallStore(t *testing.T) (d *db.DB, deletes *atomic.Int64) {
	t.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true, MemTableSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d = db.New(reg, st, db.Options{})
	if err := d.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	deletes = new(atomic.Int64)
	d.AddTxHook(func(tx store.Tx, ch db.Change) (func(), error) {
		if ch.Operation == db.OpDelete {
			return func() { deletes.Add(1) }, nil
		}
		return nil, nil
	})
	return d, deletes
}

func insertMany(t *testing.T, ctx context.Context, d *db.DB, entity string, n int, row func(i int) map[string]any) {
	t.Helper()
	for i := range n {
		if _, err := d.Insert(ctx, d.Entity(entity), row(i), nil); err != nil {
			t.Fatalf("inserting %s %d: %v", entity, i, err)
		}
	}
}

// Deletes too big for one transaction finish in batches, with an event for
// every row deleted, instead of failing.
func TestDeletesTooBigForOneTransaction(t *testing.T) {
	const n = 3000
	t.Run("an upstream and its targets", func(t *testing.T) {
		ctx := context.Background()
		d, deletes := smallStore(t)
		up, err := d.Insert(ctx, d.Entity("upstreams"), map[string]any{"name": "big"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		upRef := map[string]any{"id": up["id"]}
		insertMany(t, ctx, d, "targets", n, func(i int) map[string]any {
			return map[string]any{"upstream": upRef, "target": fmt.Sprintf("10.0.%d.%d:80", i/250, i%250), "tags": []any{"many", "targets"}}
		})
		if err := d.Delete(ctx, d.Entity("upstreams"), "big", nil); err != nil {
			t.Fatalf("deleting the upstream: %v", err)
		}
		if left, err := d.All(ctx, d.Entity("targets"), db.PageOptions{}); err != nil || len(left) != 0 {
			t.Errorf("%d targets left (%v)", len(left), err)
		}
		if row, _ := d.Select(ctx, d.Entity("upstreams"), "big", nil); row != nil {
			t.Error("the upstream is still there")
		}
		if got := deletes.Load(); got != n+1 {
			t.Errorf("%d delete events, want %d", got, n+1)
		}
	})
	t.Run("a workspace with cascade", func(t *testing.T) {
		ctx := context.Background()
		d, deletes := smallStore(t)
		ws, err := d.Insert(ctx, d.Workspaces(), map[string]any{"name": "big"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		in := db.InWorkspace(ctx, ws["id"].(string))
		insertMany(t, in, d, "consumers", n, func(i int) map[string]any {
			return map[string]any{"username": fmt.Sprint("user-", i), "tags": []any{"many"}}
		})
		if err := d.DeleteWorkspaceCascade(ctx, "big"); err != nil {
			t.Fatalf("deleting the workspace: %v", err)
		}
		if row, _ := d.Select(ctx, d.Workspaces(), "big", nil); row != nil {
			t.Error("the workspace is still there")
		}
		if left, err := d.All(db.AcrossWorkspaces(ctx), d.Entity("consumers"), db.PageOptions{}); err != nil || len(left) != 0 {
			t.Errorf("%d consumers left (%v)", len(left), err)
		}
		if got := deletes.Load(); got != n+1 {
			t.Errorf("%d delete events, want %d", got, n+1)
		}
	})
}

// A purge a stop interrupted is finished at the next start.
func TestPurgeResumesAtStart(t *testing.T) {
	ctx := context.Background()
	d, _ := smallStore(t)
	up, err := d.Insert(ctx, d.Entity("upstreams"), map[string]any{"name": "half"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	insertMany(t, ctx, d, "targets", 10, func(i int) map[string]any {
		return map[string]any{"upstream": map[string]any{"id": up["id"]}, "target": fmt.Sprintf("10.1.0.%d:80", i)}
	})
	// What a stop in the middle of a purge leaves: its record, the row and
	// some of its dependents.
	err = d.Store().Update(ctx, func(tx store.Tx) error {
		return tx.Insert("portico_purges", store.Row{"id": "00000000-0000-4000-8000-00000000abcd",
			"entity": "upstreams", "target": up["id"], "contents": false})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if row, _ := d.Select(ctx, d.Entity("upstreams"), "half", nil); row != nil {
		t.Error("the upstream survived the next start")
	}
	if left, _ := d.All(ctx, d.Entity("targets"), db.PageOptions{}); len(left) != 0 {
		t.Errorf("%d targets survived the next start", len(left))
	}
	var records int
	_ = d.Store().View(ctx, func(tx store.Tx) error {
		p, err := tx.Page("portico_purges", store.PageQuery{Size: 10})
		records = len(p.Rows)
		return err
	})
	if records != 0 {
		t.Errorf("%d purge records left", records)
	}
}
