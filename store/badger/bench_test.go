package badger

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/storetest"
)

// benchRows is how many services the read benchmarks are run against.
const benchRows = 10000

// serviceRow is a row shaped like a Kong service.
func serviceRow(i int) store.Row {
	return store.Row{
		"id":              uuid.NewString(),
		"name":            fmt.Sprintf("service-%06d", i),
		"protocol":        "http",
		"host":            fmt.Sprintf("backend-%d.internal", i),
		"port":            8080,
		"path":            "/api",
		"retries":         5,
		"connect_timeout": 60000,
		"write_timeout":   60000,
		"read_timeout":    60000,
		"enabled":         true,
		"tags":            []any{"bench", fmt.Sprintf("shard-%d", i%10)},
		"created_at":      1700000000,
		"updated_at":      1700000000,
	}
}

// openBench opens an on-disk store with production defaults (sync writes).
func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir(), storetest.Tables(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}

// populate inserts n services in batches and returns their ids.
func populate(b *testing.B, s *Store, n int) []string {
	b.Helper()
	ids := make([]string, 0, n)
	for lo := 0; lo < n; lo += 500 {
		err := s.Update(context.Background(), func(tx store.Tx) error {
			ids = ids[:lo]
			for i := lo; i < min(lo+500, n); i++ {
				r := serviceRow(i)
				ids = append(ids, r["id"].(string))
				if err := tx.Insert("services", r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

func BenchmarkInsert(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := serviceRow(i)
		i++
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("services", r) }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s := openBench(b)
	ids := populate(b, s, benchRows)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := ids[(i*7919)%len(ids)]
		i++
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.Get("services", id)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetUnique(b *testing.B) {
	s := openBench(b)
	populate(b, s, benchRows)
	ctx := context.Background()
	fields := []string{"name"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("service-%06d", (i*7919)%benchRows)
		i++
		err := s.View(ctx, func(tx store.Tx) error {
			_, err := tx.GetUnique("services", fields, []any{name})
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPage reads successive pages of 100 rows, wrapping at the end.
func BenchmarkPage(b *testing.B) {
	benchPage(b, store.PageQuery{Size: 100})
}

// BenchmarkPageTag pages through one tag carried by a tenth of the rows,
// served from the tag index.
func BenchmarkPageTag(b *testing.B) {
	benchPage(b, store.PageQuery{Size: 100, Tags: []string{"shard-3"}})
}

func benchPage(b *testing.B, q store.PageQuery) {
	s := openBench(b)
	populate(b, s, benchRows)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var p store.Page
		err := s.View(ctx, func(tx store.Tx) error {
			var err error
			p, err = tx.Page("services", q)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Rows) != q.Size {
			b.Fatalf("page of %d rows", len(p.Rows))
		}
		q.Offset = p.Offset
	}
}

// BenchmarkInsertConcurrent inserts from 8 goroutines at once, as the Admin
// API's writers do: with group commit, the throughput is several times
// BenchmarkInsert's, since concurrent commits share a sync.
func BenchmarkInsertConcurrent(b *testing.B) {
	s := openBench(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(4) // 2 cores × 4: 8 writers
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := serviceRow(int(n.Add(1)))
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.Insert("services", r) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
