package db_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/internal/dbtest"
)

// BenchmarkConsumersAtScale: reads of one consumer, a filter on a unique
// field and a first page cost the same with 100 and 100,000 consumers
// (indexes, not scans).
func BenchmarkConsumersAtScale(b *testing.B) {
	for _, n := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("consumers=%d", n), func(b *testing.B) {
			d, _ := dbtest.Open(b, db.Options{})
			e := d.Entity("consumers")
			ctx := context.Background()
			for i := range n {
				if _, err := d.Insert(ctx, e, map[string]any{"username": fmt.Sprintf("u%d", i), "custom_id": fmt.Sprintf("c%d", i)}, nil); err != nil {
					b.Fatal(err)
				}
			}
			middle := fmt.Sprint(n / 2)
			b.Run("select by username", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if row, err := d.Select(ctx, e, "u"+middle, nil); err != nil || row == nil {
						b.Fatal(row, err)
					}
				}
			})
			b.Run("filter on custom_id", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rows, _, err := d.Page(ctx, e, db.PageOptions{Size: 100, Equal: map[string]any{"custom_id": "c" + middle}})
					if err != nil || len(rows) != 1 {
						b.Fatal(len(rows), err)
					}
				}
			})
			b.Run("first page of 100", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if rows, _, err := d.Page(ctx, e, db.PageOptions{Size: 100}); err != nil || len(rows) != 100 {
						b.Fatal(len(rows), err)
					}
				}
			})
		})
	}
}
