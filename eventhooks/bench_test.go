package eventhooks

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store/badger"
)

// ehkNopHandler delivers at once and counts.
type ehkNopHandler struct{ n atomic.Int64 }

func (h *ehkNopHandler) Deliver(context.Context, handler.Delivery) (handler.Result, error) {
	h.n.Add(1)
	return handler.Result{Status: 200}, nil
}

// ehkBenchDB opens an in-memory store and DB.
func ehkBenchDB(b *testing.B) (*schema.Registry, *db.DB, *events.Bus) {
	b.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		b.Fatal(err)
	}
	if reg.Entity(hooksEntity) == nil {
		b.Fatalf("the %s entity is not registered by the bundled catalog", hooksEntity)
	}
	st, err := badger.Open("", db.Tables(reg), badger.Options{InMemory: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bus := &events.Bus{}
	d := db.New(reg, st, db.Options{Bus: bus})
	if err := d.Bootstrap(context.Background()); err != nil {
		b.Fatal(err)
	}
	return reg, d, bus
}

// BenchmarkOutboxWrite measures an entity write (a consumer insert) with
// the hooks middleware in its transaction, against a baseline without it.
// The service is built but not started and its snapshot is loaded by hand,
// so only the write path is measured: matching, filters, the delivery rows
// in the write's transaction and the queueing after commit (no worker
// competes for the CPU).
func BenchmarkOutboxWrite(b *testing.B) {
	cases := []struct {
		name     string
		service  bool
		matching int // of 10 hooks
	}{
		{"no-hooks", false, 0},
		{"service-0-hooks", true, -1},
		{"10-hooks-none-match", true, 0},
		{"10-hooks-one-match", true, 1},
		{"10-hooks-all-match", true, 10},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			reg, d, bus := ehkBenchDB(b)
			ctx := context.Background()
			if tc.service {
				svc := New(Options{DB: d, Bus: bus, Handlers: map[string]handler.Handler{"log": &ehkNopHandler{}}})
				for i := 0; i < 10 && tc.matching >= 0; i++ {
					event := "services"
					if i < tc.matching {
						event = "consumers"
					}
					if _, err := d.Insert(ctx, reg.Entity(hooksEntity),
						map[string]any{"source": "crud", "event": event, "handler": "log"}, nil); err != nil {
						b.Fatal(err)
					}
				}
				if err := svc.reload(ctx); err != nil {
					b.Fatal(err)
				}
			}
			consumers := reg.Entity("consumers")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := d.Insert(ctx, consumers, map[string]any{"username": fmt.Sprint("user-", i)}, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDeliveryThroughput measures deliveries per second through the
// whole pool (16 workers, no per-hook cap in practice) to a handler that
// answers at once: dispatch, the attempt, and the batched recording of its
// outcome. The deliveries are written before the clock starts; the service
// then starts and drains them.
func BenchmarkDeliveryThroughput(b *testing.B) {
	reg, d, bus := ehkBenchDB(b)
	ctx := context.Background()
	h := &ehkNopHandler{}
	svc := New(Options{DB: d, Bus: bus, Handlers: map[string]handler.Handler{"log": h},
		Workers: 16, MaxInFlight: 1 << 20})
	if _, err := d.Insert(ctx, reg.Entity(hooksEntity),
		map[string]any{"source": "crud", "event": "consumers", "handler": "log"}, nil); err != nil {
		b.Fatal(err)
	}
	if err := svc.reload(ctx); err != nil {
		b.Fatal(err)
	}
	consumers := reg.Entity("consumers")
	for i := 0; i < b.N; i++ {
		if _, err := d.Insert(ctx, consumers, map[string]any{"username": fmt.Sprint("user-", i)}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer svc.Stop()
	for svc.engine.Depth() > 0 || h.n.Load() < int64(b.N) {
		time.Sleep(100 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if got := h.n.Load(); got != int64(b.N) {
		b.Fatalf("%d deliveries, want %d", got, b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
