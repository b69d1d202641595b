package db_test

import (
	"context"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
)

// The entity cache (mem_cache_size) serves repeated reads, never a row a
// committed write changed, and stays within its budget.
func TestEntityCache(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		budget int64
		check  func(t *testing.T, d *db.DB)
	}{
		{"a second read is a hit", 1 << 20, func(t *testing.T, d *db.DB) {
			e := d.Entity("consumers")
			mustInsert(t, d, "consumers", map[string]any{"username": "alice"})
			before := d.CacheStats()
			for range 3 {
				if row, err := d.Select(ctx, e, "alice", nil); err != nil || row["username"] != "alice" {
					t.Fatal(row, err)
				}
			}
			if s := d.CacheStats(); s.Hits-before.Hits != 2 || s.Misses-before.Misses != 1 || s.Bytes == 0 {
				t.Fatalf("stats %+v, before %+v", s, before)
			}
		}},
		{"a write drops what it changed", 1 << 20, func(t *testing.T, d *db.DB) {
			e := d.Entity("consumers")
			row := mustInsert(t, d, "consumers", map[string]any{"username": "alice", "custom_id": "1"})
			d.Select(ctx, e, "alice", nil)
			if _, err := d.Update(ctx, e, row["id"].(string), map[string]any{"custom_id": "2"}, nil); err != nil {
				t.Fatal(err)
			}
			got, _ := d.Select(ctx, e, "alice", nil)
			if got["custom_id"] != "2" {
				t.Fatalf("read %v after the update", got["custom_id"])
			}
			if err := d.Delete(ctx, e, "alice", nil); err != nil {
				t.Fatal(err)
			}
			if got, _ := d.Select(ctx, e, "alice", nil); got != nil {
				t.Fatalf("read a deleted row: %v", got)
			}
		}},
		{"callers get their own copy", 1 << 20, func(t *testing.T, d *db.DB) {
			e := d.Entity("consumers")
			mustInsert(t, d, "consumers", map[string]any{"username": "alice"})
			a, _ := d.Select(ctx, e, "alice", nil)
			a["username"] = "changed by a caller"
			b, _ := d.Select(ctx, e, "alice", nil)
			if b["username"] != "alice" {
				t.Fatalf("the cache kept a caller's change: %v", b["username"])
			}
		}},
		{"the budget holds", 600, func(t *testing.T, d *db.DB) {
			e := d.Entity("consumers")
			for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
				mustInsert(t, d, "consumers", map[string]any{"username": n})
			}
			for _, n := range []string{"a", "b", "c", "d", "e", "f"} {
				d.Select(ctx, e, n, nil)
			}
			if s := d.CacheStats(); s.Bytes > 600 || s.Evictions == 0 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"off with no budget", 0, func(t *testing.T, d *db.DB) {
			e := d.Entity("consumers")
			mustInsert(t, d, "consumers", map[string]any{"username": "alice"})
			d.Select(ctx, e, "alice", nil)
			d.Select(ctx, e, "alice", nil)
			if s := d.CacheStats(); s != (db.CacheStats{}) {
				t.Fatalf("stats %+v", s)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, _ := dbtest.Open(t, db.Options{CacheSize: c.budget})
			c.check(t, d)
		})
	}
}

func mustInsert(t *testing.T, d *db.DB, entity string, row map[string]any) map[string]any {
	t.Helper()
	out, err := d.Insert(context.Background(), d.Entity(entity), row, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
