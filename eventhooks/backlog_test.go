package eventhooks

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// TestBacklogDrain measures how fast a backlog of pending deliveries
// drains to a local webhook receiver, and the process's memory meanwhile:
// PORTICO_BACKLOG deliveries (e.g. 1000000) spread over PORTICO_BACKLOG_HOOKS
// webhook hooks (default 10), written to an on-disk store before the
// service starts. It is a measurement, skipped unless PORTICO_BACKLOG is
// set: go test ./eventhooks -run TestBacklogDrain -v. To measure the drain
// in a process of its own (the writing's memory left out), run it twice
// with PORTICO_BACKLOG_DIR set to one directory: PORTICO_BACKLOG_PHASE=write,
// then PORTICO_BACKLOG_PHASE=drain.
func TestBacklogDrain(t *testing.T) {
	total, _ := strconv.Atoi(os.Getenv("PORTICO_BACKLOG"))
	if total <= 0 {
		t.Skip("set PORTICO_BACKLOG to the number of deliveries to drain")
	}
	hooks := 10
	if n, err := strconv.Atoi(os.Getenv("PORTICO_BACKLOG_HOOKS")); err == nil && n > 0 {
		hooks = n
	}
	nEvents := total / hooks
	total = nEvents * hooks

	var got atomic.Int64
	phase, dir := os.Getenv("PORTICO_BACKLOG_PHASE"), os.Getenv("PORTICO_BACKLOG_DIR")
	addr := "127.0.0.1:0"
	if dir == "" {
		dir = t.TempDir()
	} else {
		addr = "127.0.0.1:18999" // the hooks' receiver, the same in both phases
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		if strings.HasPrefix(string(ctx.Path()), "/hook/") && !strings.Contains(string(ctx.PostBody()), `"ping"`) {
			got.Add(1)
		}
	}}
	go srv.Serve(ln)
	defer srv.Shutdown()

	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := badger.Open(dir, db.Tables(reg), badger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	bus := &events.Bus{}
	d := db.New(reg, st, db.Options{Bus: bus})
	ctx := context.Background()
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	webhook := handler.NewWebhook(handler.WebhookOptions{})
	svc := New(Options{DB: d, Bus: bus, Handlers: map[string]handler.Handler{"webhook": webhook}})
	for i := 0; i < hooks && phase != "drain"; i++ {
		if _, err := d.Insert(ctx, reg.Entity(hooksEntity), map[string]any{"source": "crud", "event": "consumers",
			"handler": "webhook", "config": map[string]any{"url": "http://" + ln.Addr().String() + "/hook/" + strconv.Itoa(i)}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.reload(ctx); err != nil {
		t.Fatal(err)
	}
	matched := svc.snap.Load().bySource[SourceCRUD]["consumers"]

	// The backlog, written in transactions of about 1,000 deliveries.
	start := time.Now()
	perTx := max(1, 1000/hooks)
	for written := 0; written < nEvents && phase != "drain"; {
		err := st.Update(ctx, func(tx store.Tx) error {
			for i := 0; i < perTx && written+i < nEvents; i++ {
				w := svc.engine.NewWriter(tx)
				id := uuid.NewString()
				data := map[string]any{"operation": "create", "schema": "consumers", "entity": map[string]any{
					"id": id, "username": "backlog-" + strconv.Itoa(written+i), "created_at": 1.7e9, "updated_at": 1.7e9, "type": 0.0}}
				for _, h := range matched {
					if err := w.Add(h.ID, h.Handler, handler.Event{Source: SourceCRUD, Name: "consumers", Data: data}, true, nil); err != nil {
						return err
					}
				}
				if err := w.Close(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		written += perTx
	}
	if phase == "write" {
		t.Logf("backlog: %d deliveries (%d events × %d hooks) written in %v to %s", total, nEvents, hooks, time.Since(start).Round(time.Millisecond), dir)
		return
	}
	runtime.GC()
	t.Logf("before start: RSS %s", rss())

	start = time.Now()
	if err := svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop()
	var peak int64
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	next := 0.1
	for got.Load() < int64(total) {
		select {
		case <-tick.C:
		case <-time.After(10 * time.Minute):
			t.Fatalf("drained %d of %d in 10 minutes", got.Load(), total)
		}
		kb := rssKB()
		peak = max(peak, kb)
		if frac := float64(got.Load()) / float64(total); frac >= next {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			t.Logf("%3.0f%% after %6.1fs: %7.0f deliveries/s, RSS %d MiB, Go heap in use %d MiB, %d held",
				frac*100, time.Since(start).Seconds(), float64(got.Load())/time.Since(start).Seconds(), kb>>10,
				ms.HeapInuse>>20, svc.engine.Depth())
			if path := os.Getenv("PORTICO_BACKLOG_HEAP"); path != "" && frac >= 0.5 && frac < 0.6 {
				if f, err := os.Create(path); err == nil {
					_ = pprof.WriteHeapProfile(f)
					f.Close()
				}
			}
			for next <= frac {
				next += 0.1
			}
		}
	}
	took := time.Since(start)
	t.Logf("drained %d deliveries to %d hooks in %v: %.0f deliveries/s; peak RSS %d MiB",
		total, hooks, took.Round(time.Millisecond), float64(total)/took.Seconds(), peak>>10)
}

// rssKB reads the process's resident set size (Linux), in KiB.
func rssKB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

func rss() string { return fmt.Sprintf("%d MiB", rssKB()>>10) }
