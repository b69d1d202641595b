package eventhooks

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/bench"
	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/luavm"
	"github.com/portico-gw/portico/store/badger"
)

// BenchmarkWebhookPipeline measures signed webhook deliveries per second
// through the whole pipeline as a node runs it: an on-disk store (outcomes
// recorded durably, in batches), 16 workers, the real webhook handler, to a
// fasthttp receiver. The receiver is the one at $PORTICO_BENCH_SINK (e.g.
// `portico bench sink`, so wrk can be pointed at the same one in the same
// run), or one started in process. The deliveries are written before the
// clock starts; the service then drains them.
func BenchmarkWebhookPipeline(b *testing.B) {
	cases := []struct {
		name    string
		handler string
		config  func(url string) map[string]any
	}{
		{"webhook", "webhook", func(url string) map[string]any {
			return map[string]any{"url": url, "secret": "hunter2"}
		}},
		// The seed's Slack-style payload, rendered by a template per event.
		{"webhook-custom", "webhook-custom", func(url string) map[string]any {
			return map[string]any{"url": url, "secret": "hunter2", "method": "POST",
				"headers": map[string]any{"content-type": "application/json"},
				"payload": map[string]any{"text": "Consumer `{{ entity.username }}` {{ operation }}d"}}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { benchmarkPipeline(b, c.handler, c.config) })
	}
}

func benchmarkPipeline(b *testing.B, kind string, config func(url string) map[string]any) {
	url := os.Getenv("PORTICO_BENCH_SINK")
	if url == "" {
		sink, err := bench.NewSink("127.0.0.1:0", bench.SinkOptions{})
		if err != nil {
			b.Fatal(err)
		}
		go sink.Serve()
		b.Cleanup(func() { sink.Close() })
		url = sink.URL()
	}
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		b.Fatal(err)
	}
	st, err := badger.Open(b.TempDir(), db.Tables(reg), badger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bus := &events.Bus{}
	d := db.New(reg, st, db.Options{Bus: bus})
	if err := d.Bootstrap(context.Background()); err != nil {
		b.Fatal(err)
	}
	vm, err := luavm.New(luavm.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(vm.Close)
	webhook := handler.NewWebhook(handler.WebhookOptions{})
	handlers := map[string]handler.Handler{"webhook": webhook, "webhook-custom": handler.NewWebhookCustom(vm, webhook)}
	counter := &countingHandler{next: handlers[kind]}
	svc := New(Options{DB: d, Bus: bus, Handlers: map[string]handler.Handler{kind: counter},
		Workers: 16, MaxInFlight: 16})
	ctx := context.Background()
	if _, err := d.Insert(ctx, reg.Entity(hooksEntity), map[string]any{"source": "crud", "event": "consumers",
		"handler": kind, "config": config(url)}, nil); err != nil {
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
	// (The counting wrapper is no Pinger: the hook's creation sends no ping.)
	want := int64(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if err := svc.Start(ctx); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for svc.engine.Depth() > 0 || counter.ok.Load() < want {
		if time.Now().After(deadline) {
			recs, _, _ := svc.Deliveries(ctx, hookID(b, d), "", 3, "")
			b.Fatalf("%d of %d delivered after 10s; first records: %v", counter.ok.Load(), want, recs)
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	svc.Stop()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}

// hookID is the id of the only event hook.
func hookID(b *testing.B, d *db.DB) string {
	rows, _, err := d.Page(context.Background(), d.Entity(hooksEntity), db.PageOptions{Size: 1})
	if err != nil || len(rows) == 0 {
		b.Fatalf("no hook: %v", err)
	}
	return rows[0]["id"].(string)
}

// countingHandler counts the successful deliveries of the handler it wraps.
type countingHandler struct {
	next handler.Handler
	ok   atomic.Int64
}

func (c *countingHandler) Deliver(ctx context.Context, d handler.Delivery) (handler.Result, error) {
	res, err := c.next.Deliver(ctx, d)
	if err == nil {
		c.ok.Add(1)
	}
	return res, err
}
