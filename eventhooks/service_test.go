package eventhooks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/portico-gw/portico/catalog"
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/internal/testclock"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
	"github.com/portico-gw/portico/store/badger"
)

// ---- fake handler ----

// ehkCall is one attempt a fake handler saw, with what it answered.
type ehkCall struct {
	D   handler.Delivery
	Res handler.Result
	Err error
}

// ehkFake is a handler.Handler (and handler.Pinger when pings is set) that records every
// attempt. fn decides the answer; nil delivers.
type ehkFake struct {
	pings bool

	mu       sync.Mutex
	fn       func(ctx context.Context, d handler.Delivery) (handler.Result, error)
	started  int
	inflight int
	maxIn    int
	calls    []ehkCall
}

func (f *ehkFake) Pings() bool { return f.pings }

func (f *ehkFake) Deliver(ctx context.Context, d handler.Delivery) (handler.Result, error) {
	f.mu.Lock()
	f.started++
	f.inflight++
	f.maxIn = max(f.maxIn, f.inflight)
	fn := f.fn
	f.mu.Unlock()
	res, err := handler.Result{Status: 200}, error(nil)
	if fn != nil {
		res, err = fn(ctx, d)
	}
	f.mu.Lock()
	f.inflight--
	f.calls = append(f.calls, ehkCall{D: d, Res: res, Err: err})
	f.mu.Unlock()
	return res, err
}

func (f *ehkFake) setFn(fn func(ctx context.Context, d handler.Delivery) (handler.Result, error)) {
	f.mu.Lock()
	f.fn = fn
	f.mu.Unlock()
}

// all returns the finished attempts, optionally of one hook only.
func (f *ehkFake) all(hookID string) []ehkCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ehkCall
	for _, c := range f.calls {
		if hookID == "" || c.D.Hook.ID == hookID {
			out = append(out, c)
		}
	}
	return out
}

// delivered returns the successful attempts, optionally of one hook only.
func (f *ehkFake) delivered(hookID string) []ehkCall {
	var out []ehkCall
	for _, c := range f.all(hookID) {
		if c.Err == nil {
			out = append(out, c)
		}
	}
	return out
}

func (f *ehkFake) reset() {
	f.mu.Lock()
	f.calls = nil
	f.started = 0
	f.maxIn = 0
	f.mu.Unlock()
}

func (f *ehkFake) stats() (started, inflight, maxIn int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.started, f.inflight, f.maxIn
}

// ehkFailFirst fails the first n attempts of every delivery with a 503.
func ehkFailFirst(n int) func(context.Context, handler.Delivery) (handler.Result, error) {
	var mu sync.Mutex
	seen := map[string]int{}
	return func(_ context.Context, d handler.Delivery) (handler.Result, error) {
		mu.Lock()
		seen[d.ID]++
		k := seen[d.ID]
		mu.Unlock()
		if k <= n {
			return handler.Result{Status: 503, Body: "busy"}, &handler.StatusError{Status: 503}
		}
		return handler.Result{Status: 200, Body: "ok"}, nil
	}
}

func ehkAlwaysFail(_ context.Context, _ handler.Delivery) (handler.Result, error) {
	return handler.Result{}, errors.New("connection refused")
}

// ehkBlocker blocks attempts until released (or their timeout).
type ehkBlocker struct {
	ch   chan struct{}
	once sync.Once
}

func ehkNewBlocker() *ehkBlocker { return &ehkBlocker{ch: make(chan struct{})} }

func (b *ehkBlocker) release() { b.once.Do(func() { close(b.ch) }) }

func (b *ehkBlocker) fn(ctx context.Context, _ handler.Delivery) (handler.Result, error) {
	select {
	case <-b.ch:
		return handler.Result{Status: 200}, nil
	case <-ctx.Done():
		return handler.Result{}, ctx.Err()
	}
}

// ---- environment ----

// ehkEnv is a service over a real store and DAO.
type ehkEnv struct {
	t      testing.TB
	ctx    context.Context
	reg    *schema.Registry
	st     *badger.Store
	db     *db.DB
	bus    *events.Bus
	svc    *Service
	closed bool
}

// ehkTestPolicy retries quickly.
func ehkTestPolicy(maxAttempts int) delivery.Policy {
	return delivery.Policy{Schedule: []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond},
		MaxAttempts: maxAttempts, MaxRetryAfter: time.Second}
}

// ehkOpen opens a store (in memory when dir is ""), a DB and a started
// service with opts (DB and Bus are filled in). pre run before the service
// is built (e.g. to subscribe to the bus ahead of it).
func ehkOpen(t testing.TB, dir string, opts Options, pre ...func(*ehkEnv)) *ehkEnv {
	t.Helper()
	reg, _, err := catalog.Build([]string{"bundled"})
	if err != nil {
		t.Fatal(err)
	}
	if reg.Entity(hooksEntity) == nil {
		t.Fatalf("the %s entity is not registered by the bundled catalog", hooksEntity)
	}
	st, err := badger.Open(dir, db.Tables(reg), badger.Options{InMemory: dir == ""})
	if err != nil {
		t.Fatal(err)
	}
	bus := &events.Bus{}
	d := db.New(reg, st, db.Options{Bus: bus})
	ctx := context.Background()
	if err := d.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	e := &ehkEnv{t: t, ctx: ctx, reg: reg, st: st, db: d, bus: bus}
	t.Cleanup(e.close)
	for _, f := range pre {
		f(e)
	}
	opts.DB, opts.Bus = e.db, bus // pre may have wrapped the store
	if opts.Policy.MaxAttempts == 0 {
		opts.Policy = ehkTestPolicy(5)
	}
	e.svc = New(opts)
	if err := e.svc.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *ehkEnv) close() {
	if e.closed {
		return
	}
	e.closed = true
	if e.svc != nil {
		e.svc.Stop()
	}
	e.st.Close()
}

func (e *ehkEnv) entity(name string) *schema.Entity { return e.reg.Entity(name) }

// hook creates an event hook and returns its id.
func (e *ehkEnv) hook(fields map[string]any) string {
	e.t.Helper()
	row, err := e.db.Insert(e.ctx, e.entity(hooksEntity), fields, nil)
	if err != nil {
		e.t.Fatalf("creating event hook %v: %v", fields, err)
	}
	return row["id"].(string)
}

func (e *ehkEnv) consumer(username string) map[string]any {
	e.t.Helper()
	row, err := e.db.Insert(e.ctx, e.entity("consumers"), map[string]any{"username": username}, nil)
	if err != nil {
		e.t.Fatalf("creating consumer %s: %v", username, err)
	}
	return row
}

// idle waits until the dispatcher holds nothing: every delivery owed so far
// is finished and recorded.
func (e *ehkEnv) idle() {
	e.t.Helper()
	ehkWaitFor(e.t, "the pipeline to drain", func() bool { return e.svc.engine.Depth() == 0 })
}

// records lists every delivery record of a hook.
func (e *ehkEnv) records(hookID, status string) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	offset := ""
	for {
		page, next, err := e.svc.Deliveries(e.ctx, hookID, status, 100, offset)
		if err != nil {
			e.t.Fatalf("listing deliveries of %s: %v", hookID, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		offset = next
	}
}

// rows counts every delivery row in the store.
func (e *ehkEnv) rows() int {
	e.t.Helper()
	n := 0
	q := store.PageQuery{Size: 1000}
	for {
		var page store.Page
		err := e.st.View(e.ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.Page(delivery.Table, q)
			return err
		})
		if err != nil {
			e.t.Fatal(err)
		}
		n += len(page.Rows)
		if page.Offset == "" {
			return n
		}
		q.Offset = page.Offset
	}
}

// ehkWaitFor polls cond every 10ms for up to 10s.
func ehkWaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	ehkWaitWithin(t, 10*time.Second, what, cond)
}

func ehkWaitWithin(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ehkStatusIs waits until every record of hook has status (and there are n).
func (e *ehkEnv) waitRecords(hookID string, n int, status string) []map[string]any {
	e.t.Helper()
	var recs []map[string]any
	ehkWaitFor(e.t, fmt.Sprintf("%d %s deliveries of hook %s", n, status, hookID), func() bool {
		recs = e.records(hookID, "")
		if len(recs) != n {
			return false
		}
		for _, r := range recs {
			if r["status"] != status {
				return false
			}
		}
		return true
	})
	return recs
}

func ehkMap(t testing.TB, v any, what string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T (%v), want an object", what, v, v)
	}
	return m
}

// ehkNoNulls fails if m (recursively) holds a nil.
func ehkNoNulls(t testing.TB, v any, path string) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		for k, x := range v {
			ehkNoNulls(t, x, path+"."+k)
		}
	case []any:
		for i, x := range v {
			ehkNoNulls(t, x, fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

// ---- tests ----

func TestServiceCrudEvents(t *testing.T) {
	wh := &ehkFake{pings: true}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"webhook": wh}})
	url := map[string]any{"url": "http://x.test"}
	onConsumers := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "webhook", "config": url})
	onCreate := e.hook(map[string]any{"source": "crud", "event": "consumers:create", "handler": "webhook", "config": url})
	onAll := e.hook(map[string]any{"source": "crud", "handler": "webhook", "config": url})
	daoCreate := e.hook(map[string]any{"source": "dao:crud", "event": "create", "handler": "webhook", "config": url})
	onServices := e.hook(map[string]any{"source": "crud", "event": "services", "handler": "webhook", "config": url})
	e.idle()
	wh.reset()

	ada := e.consumer("ada")
	ehkWaitFor(t, "the create events", func() bool { return len(wh.delivered("")) >= 4 })
	e.idle()

	for _, tc := range []struct {
		hook, source, name string
	}{
		{onConsumers, "crud", "consumers"},
		{onCreate, "crud", "consumers:create"},
		{onAll, "crud", "consumers"},
		{daoCreate, "dao:crud", "create"},
	} {
		t.Run("create to "+tc.source+"/"+tc.name, func(t *testing.T) {
			calls := wh.delivered(tc.hook)
			if len(calls) != 1 {
				t.Fatalf("hook got %d deliveries, want 1: %+v", len(calls), calls)
			}
			ev := calls[0].D.Event
			if ev.Source != tc.source || ev.Name != tc.name {
				t.Errorf("event %s/%s, want %s/%s", ev.Source, ev.Name, tc.source, tc.name)
			}
			if ev.Data["operation"] != "create" || ev.Data["schema"] != "consumers" {
				t.Errorf("data %v: want operation create, schema consumers", ev.Data)
			}
			if _, ok := ev.Data["old_entity"]; ok {
				t.Errorf("a create carries old_entity: %v", ev.Data)
			}
			if _, ok := ev.Data["event"]; ok {
				t.Errorf("data carries event: %v", ev.Data)
			}
			ent := ehkMap(t, ev.Data["entity"], "entity")
			if ent["id"] != ada["id"] || ent["username"] != "ada" {
				t.Errorf("entity %v, want consumer ada %v", ent, ada["id"])
			}
			if _, ok := ent["created_at"]; !ok {
				t.Errorf("entity without created_at: %v", ent)
			}
			ehkNoNulls(t, ent, "entity")
			for _, k := range []string{"custom_id", "tags"} {
				if _, ok := ent[k]; ok {
					t.Errorf("entity has null field %s: %v", k, ent)
				}
			}
			if calls[0].D.Hook.ID != tc.hook || calls[0].D.Attempt != 1 || calls[0].D.ID == "" {
				t.Errorf("delivery %+v", calls[0].D)
			}
		})
	}
	if n := len(wh.all(onServices)); n != 0 {
		t.Errorf("hook on services got %d deliveries", n)
	}
	if n := len(wh.all("")); n != 4 {
		t.Errorf("%d deliveries in all, want 4", n)
	}

	t.Run("update carries old_entity", func(t *testing.T) {
		wh.reset()
		if _, err := e.db.Update(e.ctx, e.entity("consumers"), "ada", map[string]any{"custom_id": "c-1"}, nil); err != nil {
			t.Fatal(err)
		}
		ehkWaitFor(t, "update events", func() bool { return len(wh.delivered("")) >= 2 })
		e.idle()
		if n := len(wh.all("")); n != 2 {
			t.Errorf("%d deliveries of the update, want 2 (consumers and the catch-all hook)", n)
		}
		for _, h := range []struct{ hook, name string }{{onConsumers, "consumers"}, {onAll, "consumers"}} {
			calls := wh.delivered(h.hook)
			if len(calls) != 1 {
				t.Fatalf("hook %s got %d deliveries, want 1", h.name, len(calls))
			}
			d := calls[0].D.Event.Data
			if calls[0].D.Event.Name != h.name || d["operation"] != "update" {
				t.Errorf("event %s %v", calls[0].D.Event.Name, d)
			}
			ent, old := ehkMap(t, d["entity"], "entity"), ehkMap(t, d["old_entity"], "old_entity")
			if ent["custom_id"] != "c-1" {
				t.Errorf("entity %v lacks the new custom_id", ent)
			}
			if _, ok := old["custom_id"]; ok || old["username"] != "ada" || old["id"] != ada["id"] {
				t.Errorf("old_entity %v, want ada without custom_id", old)
			}
			ehkNoNulls(t, old, "old_entity")
		}
		if n := len(wh.all(onCreate)) + len(wh.all(daoCreate)); n != 0 {
			t.Errorf("create-only hooks got %d deliveries for an update", n)
		}
	})

	t.Run("delete carries the deleted row", func(t *testing.T) {
		wh.reset()
		if err := e.db.Delete(e.ctx, e.entity("consumers"), "ada", nil); err != nil {
			t.Fatal(err)
		}
		ehkWaitFor(t, "delete events", func() bool { return len(wh.delivered("")) >= 2 })
		e.idle()
		if n := len(wh.all("")); n != 2 {
			t.Errorf("%d deliveries, want 2 (consumers and the catch-all hook)", n)
		}
		for _, c := range wh.delivered(onConsumers) {
			d := c.D.Event.Data
			ent := ehkMap(t, d["entity"], "entity")
			if d["operation"] != "delete" || ent["id"] != ada["id"] || ent["custom_id"] != "c-1" {
				t.Errorf("delete data %v", d)
			}
			if _, ok := d["old_entity"]; ok {
				t.Errorf("a delete carries old_entity: %v", d)
			}
		}
	})

	t.Run("records", func(t *testing.T) {
		var recs []map[string]any
		for _, r := range e.records(onConsumers, "") {
			if r["source"] != SourcePing { // the hook's own create ping
				recs = append(recs, r)
			}
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3 (create, update, delete)", len(recs))
		}
		ops := []string{}
		for _, r := range recs {
			if r["source"] != "crud" || r["event"] != "consumers" || r["status"] != StatusDelivered {
				t.Errorf("record %v", r)
			}
			ops = append(ops, ehkMap(t, r["data"], "data")["operation"].(string))
		}
		// Time-ordered ids: oldest first.
		if fmt.Sprint(ops) != "[create update delete]" {
			t.Errorf("records in order %v, want create update delete", ops)
		}
	})
}

func TestServicePings(t *testing.T) {
	wh := &ehkFake{pings: true}
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"webhook": wh, "log": lg}})
	hooks := e.entity(hooksEntity)

	pingOf := func(t *testing.T, op string) ehkCall {
		t.Helper()
		var got ehkCall
		ehkWaitFor(t, "a "+op+" ping", func() bool {
			for _, c := range wh.delivered("") {
				if c.D.Event.Name == EventPing && c.D.Event.Data["operation"] == op {
					got = c
					return true
				}
			}
			return false
		})
		return got
	}
	checkPing := func(t *testing.T, c ehkCall, id, op string) map[string]any {
		t.Helper()
		if c.D.Event.Source != "kong:event_hooks" || c.D.Event.Name != "ping" {
			t.Errorf("ping event %s/%s", c.D.Event.Source, c.D.Event.Name)
		}
		if c.D.Hook.ID != id {
			t.Errorf("ping to hook %s, want %s", c.D.Hook.ID, id)
		}
		eh := ehkMap(t, c.D.Event.Data["event_hooks"], "event_hooks")
		if eh["id"] != id || eh["handler"] != "webhook" {
			t.Errorf("event_hooks %v", eh)
		}
		return eh
	}

	id := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": "http://x.test", "secret": "s3cr3t"}})
	t.Run("create", func(t *testing.T) {
		c := pingOf(t, "create")
		eh := checkPing(t, c, id, "create")
		cfg := ehkMap(t, eh["config"], "event_hooks.config")
		if cfg["secret"] != "******" {
			t.Errorf("ping shows secret %v, want ******", cfg["secret"])
		}
		if cfg["url"] != "http://x.test" {
			t.Errorf("ping config %v", cfg)
		}
		// The handler still gets the secret to sign with.
		if c.D.Hook.Config["secret"] != "s3cr3t" {
			t.Errorf("handler sees secret %v, want the real one", c.D.Hook.Config["secret"])
		}
	})
	t.Run("update", func(t *testing.T) {
		if _, err := e.db.Update(e.ctx, hooks, id, map[string]any{"snooze": 10.0}, nil); err != nil {
			t.Fatal(err)
		}
		eh := checkPing(t, pingOf(t, "update"), id, "update")
		if eh["snooze"] != 10.0 {
			t.Errorf("update ping shows snooze %v, want the new 10", eh["snooze"])
		}
		if cfg := ehkMap(t, eh["config"], "config"); cfg["secret"] != schema.Redacted {
			t.Errorf("update ping shows secret %v", cfg["secret"])
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := e.db.Delete(e.ctx, hooks, id, nil); err != nil {
			t.Fatal(err)
		}
		c := pingOf(t, "delete")
		eh := checkPing(t, c, id, "delete")
		if cfg := ehkMap(t, eh["config"], "config"); cfg["secret"] != schema.Redacted {
			t.Errorf("delete ping shows secret %v", cfg["secret"])
		}
		if c.D.Hook.Config["secret"] != "s3cr3t" || c.D.Hook.Handler != "webhook" {
			t.Errorf("delete ping went to hook %+v, want the deleted hook with its secret", c.D.Hook)
		}
		e.idle()
		recs := e.records(id, "")
		if len(recs) != 3 {
			t.Fatalf("%d records of the deleted hook, want its 3 pings", len(recs))
		}
		for _, r := range recs {
			if r["status"] != StatusDelivered || r["source"] != SourcePing {
				t.Errorf("ping record %v", r)
			}
			if strings.Contains(fmt.Sprint(r["data"]), "s3cr3t") {
				t.Errorf("ping record shows the secret: %v", r["data"])
			}
		}
		if n := len(wh.all(id)); n != 3 {
			t.Errorf("%d attempts to the hook, want 3 pings", n)
		}
	})
	t.Run("without secret", func(t *testing.T) {
		wh.reset()
		id2 := e.hook(map[string]any{"source": "crud", "handler": "webhook", "config": map[string]any{"url": "http://y.test"}})
		eh := checkPing(t, pingOf(t, "create"), id2, "create")
		if cfg := ehkMap(t, eh["config"], "config"); cfg["secret"] != nil {
			t.Errorf("ping shows secret %v for a hook without one", cfg["secret"])
		}
		if err := e.db.Delete(e.ctx, hooks, id2, nil); err != nil {
			t.Fatal(err)
		}
		pingOf(t, "delete")
		e.idle()
	})
	t.Run("log hooks get no pings", func(t *testing.T) {
		wh.reset()
		lid := e.hook(map[string]any{"source": "crud", "event": "services", "handler": "log"})
		if _, err := e.db.Update(e.ctx, hooks, lid, map[string]any{"on_change": true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.db.Delete(e.ctx, hooks, lid, nil); err != nil {
			t.Fatal(err)
		}
		e.idle()
		if n := len(lg.all("")) + len(wh.all("")); n != 0 {
			t.Errorf("%d deliveries for a log hook's lifecycle, want none", n)
		}
		if n := len(e.records(lid, "")); n != 0 {
			t.Errorf("%d records for a log hook's lifecycle", n)
		}
	})
}

func TestServiceFailedWriteOwesNothing(t *testing.T) {
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
	hid := e.hook(map[string]any{"source": "crud", "handler": "log"})
	var fail atomic.Bool
	e.db.AddTxHook(func(store.Tx, db.Change) (func(), error) {
		if fail.Load() {
			return nil, errors.New("boom")
		}
		return nil, nil
	})
	e.consumer("ada")
	e.idle()
	if n := len(lg.delivered(hid)); n != 1 {
		t.Fatalf("%d deliveries, want 1", n)
	}
	rows := e.rows()

	t.Run("unique violation", func(t *testing.T) {
		_, err := e.db.Insert(e.ctx, e.entity("consumers"), map[string]any{"username": "ada"}, nil)
		if err == nil {
			t.Fatal("duplicate consumer created")
		}
	})
	t.Run("a later write hook fails", func(t *testing.T) {
		// The outbox has run and written its rows in the transaction by the
		// time the next hook aborts it.
		fail.Store(true)
		defer fail.Store(false)
		if _, err := e.db.Insert(e.ctx, e.entity("consumers"), map[string]any{"username": "bob"}, nil); err == nil {
			t.Fatal("write succeeded although its hook failed")
		}
	})
	time.Sleep(100 * time.Millisecond)
	e.idle()
	if n := e.rows(); n != rows {
		t.Errorf("%d delivery rows after failed writes, want %d", n, rows)
	}
	if n := len(lg.all(hid)); n != 1 {
		t.Errorf("%d attempts after failed writes, want still 1", n)
	}
}

// A write that rolls back after the outbox ran must not open a snooze
// window: the next write's event is delivered.
func TestOutboxRolledBackWriteOpensNoWindow(t *testing.T) {
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log", "snooze": 3600.0})
	var fail atomic.Bool
	e.db.AddTxHook(func(store.Tx, db.Change) (func(), error) {
		if fail.Load() {
			return nil, errors.New("boom")
		}
		return nil, nil
	})
	fail.Store(true)
	if _, err := e.db.Insert(e.ctx, e.entity("consumers"), map[string]any{"username": "a"}, nil); err == nil {
		t.Fatal("write succeeded although its hook failed")
	}
	fail.Store(false)
	e.consumer("b")
	e.consumer("c") // inside b's window: dropped
	e.idle()
	calls := lg.delivered(hid)
	if len(calls) != 1 {
		t.Fatalf("%d deliveries, want 1 (b; a rolled back, c snoozed)", len(calls))
	}
	if u := ehkMap(t, calls[0].D.Event.Data["entity"], "entity")["username"]; u != "b" {
		t.Errorf("delivered %v, want b", u)
	}
	if n := len(e.records(hid, "")); n != 1 {
		t.Errorf("%d records, want 1 (a snoozed event owes no row)", n)
	}
}

func TestOutboxOnChangeIntegration(t *testing.T) {
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
	// on_change on crud data: every entity differs (id, username), so each
	// create is a change.
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log", "on_change": true})
	for _, u := range []string{"a", "b", "c"} {
		e.consumer(u)
	}
	e.idle()
	if n := len(lg.delivered(hid)); n != 3 {
		t.Errorf("%d deliveries, want 3 distinct creates", n)
	}
}

func TestServiceDeliveryRecords(t *testing.T) {
	t.Run("delivered", func(t *testing.T) {
		lg := &ehkFake{}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
		hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
		e.consumer("ada")
		recs := e.waitRecords(hid, 1, StatusDelivered)
		r := recs[0]
		atts, _ := r["attempts"].([]any)
		if len(atts) != 1 {
			t.Fatalf("attempts %v, want one", r["attempts"])
		}
		a := ehkMap(t, atts[0], "attempt")
		if a["status_code"] != 200.0 || a["error"] != nil {
			t.Errorf("attempt %v", a)
		}
		if r["next_attempt_at"] != nil {
			t.Errorf("delivered record has next_attempt_at %v", r["next_attempt_at"])
		}
		if ehkMap(t, r["event_hook"], "event_hook")["id"] != hid || r["handler"] != "log" {
			t.Errorf("record %v", r)
		}
		calls := lg.delivered(hid)
		if len(calls) != 1 || calls[0].D.ID != r["id"] {
			t.Errorf("handler saw %+v, want delivery %v", calls, r["id"])
		}
		if got := e.records(hid, StatusFailed); len(got) != 0 {
			t.Errorf("status filter failed: %v", got)
		}
		if got := e.records(hid, StatusDelivered); len(got) != 1 {
			t.Errorf("status filter delivered: %d records", len(got))
		}
	})

	t.Run("retried then delivered", func(t *testing.T) {
		lg := &ehkFake{fn: ehkFailFirst(2)}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
		hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
		e.consumer("ada")
		r := e.waitRecords(hid, 1, StatusDelivered)[0]
		atts, _ := r["attempts"].([]any)
		if len(atts) != 3 {
			t.Fatalf("%d attempts, want 3: %v", len(atts), atts)
		}
		for i, a := range atts {
			a := ehkMap(t, a, "attempt")
			wantCode := 503.0
			if i == 2 {
				wantCode = 200.0
			}
			if a["status_code"] != wantCode {
				t.Errorf("attempt %d status %v, want %v", i+1, a["status_code"], wantCode)
			}
			if i < 2 && (a["error"] == nil || a["response"] != "busy") {
				t.Errorf("failed attempt %d recorded as %v", i+1, a)
			}
		}
		calls := lg.all(hid)
		if len(calls) != 3 {
			t.Fatalf("handler saw %d attempts, want 3", len(calls))
		}
		for i, c := range calls {
			if c.D.ID != r["id"] {
				t.Errorf("attempt %d has delivery id %s, want the stable %v", i+1, c.D.ID, r["id"])
			}
			if c.D.Attempt != i+1 {
				t.Errorf("attempt %d numbered %d", i+1, c.D.Attempt)
			}
		}
	})

	t.Run("410 fails at once", func(t *testing.T) {
		lg := &ehkFake{fn: func(context.Context, handler.Delivery) (handler.Result, error) {
			return handler.Result{Status: 410}, &handler.StatusError{Status: 410}
		}}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
		hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
		e.consumer("ada")
		r := e.waitRecords(hid, 1, StatusFailed)[0]
		if atts, _ := r["attempts"].([]any); len(atts) != 1 {
			t.Errorf("%d attempts, want 1", len(atts))
		}
	})

	t.Run("failed, redriven, retried", func(t *testing.T) {
		lg := &ehkFake{fn: ehkAlwaysFail}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Policy: ehkTestPolicy(3)})
		hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
		e.consumer("ada")
		r := e.waitRecords(hid, 1, StatusFailed)[0]
		id := r["id"].(string)
		atts, _ := r["attempts"].([]any)
		if len(atts) != 3 {
			t.Fatalf("%d attempts, want MaxAttempts 3", len(atts))
		}
		last := ehkMap(t, atts[2], "attempt")
		if msg, _ := last["error"].(string); !strings.Contains(msg, "gave up after 3 attempts") {
			t.Errorf("last attempt error %q, want the reason", msg)
		}
		e.idle()

		lg.setFn(nil)
		lg.reset()
		n, err := e.svc.Redrive(e.ctx, hid, "")
		if err != nil || n != 1 {
			t.Fatalf("Redrive = %d, %v; want 1", n, err)
		}
		r = e.waitRecords(hid, 1, StatusDelivered)[0]
		if atts, _ := r["attempts"].([]any); len(atts) != 4 {
			t.Errorf("%d attempts after redrive, want 4", len(atts))
		}
		calls := lg.all(hid)
		if len(calls) != 1 || calls[0].D.ID != id || calls[0].D.Attempt != 1 {
			t.Errorf("redrive attempts %+v, want one first attempt of %s", calls, id)
		}
		e.idle()

		if n, err := e.svc.Redrive(e.ctx, hid, StatusFailed); err != nil || n != 0 {
			t.Errorf("Redrive with nothing failed = %d, %v", n, err)
		}
		if n, err := e.svc.Redrive(e.ctx, hid, StatusPending); err != nil || n != 0 {
			t.Errorf("Redrive pending = %d, %v", n, err)
		}

		view, err := e.svc.Retry(e.ctx, hid, id)
		if err != nil {
			t.Fatal(err)
		}
		if view["status"] != StatusPending || view["next_attempt_at"] == nil {
			t.Errorf("Retry returned %v, want a pending record", view)
		}
		ehkWaitFor(t, "the retried delivery", func() bool {
			rs := e.records(hid, StatusDelivered)
			if len(rs) != 1 {
				return false
			}
			atts, _ := rs[0]["attempts"].([]any)
			return len(atts) == 5
		})
		if calls := lg.all(hid); len(calls) != 2 || calls[1].D.ID != id {
			t.Errorf("attempts after retry %+v", calls)
		}
		if _, err := e.svc.Retry(e.ctx, uuid.NewString(), id); !errors.Is(err, ErrDeliveryNotFound) {
			t.Errorf("Retry under another hook: %v, want ErrDeliveryNotFound", err)
		}
		if _, err := e.svc.Retry(e.ctx, hid, uuid.NewString()); !errors.Is(err, ErrDeliveryNotFound) {
			t.Errorf("Retry of an unknown delivery: %v, want ErrDeliveryNotFound", err)
		}
	})

	t.Run("many deliveries of many hooks", func(t *testing.T) {
		lg := &ehkFake{fn: ehkFailFirst(1)}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Workers: 4, MaxInFlight: 2})
		var hooks []string
		for i := 0; i < 3; i++ {
			hooks = append(hooks, e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"}))
		}
		for i := 0; i < 20; i++ {
			e.consumer(fmt.Sprint("user", i))
		}
		for _, h := range hooks {
			e.waitRecords(h, 20, StatusDelivered)
		}
		e.idle()
		seen := map[string]int{}
		for _, c := range lg.delivered("") {
			seen[c.D.ID]++
		}
		if len(seen) != 60 {
			t.Errorf("%d distinct deliveries, want 60", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("delivery %s succeeded %d times", id, n)
			}
		}
		if _, _, maxIn := lg.stats(); maxIn > 6 {
			t.Errorf("%d attempts at once, more than 3 hooks x MaxInFlight 2", maxIn)
		}
	})
}

func TestServiceRestart(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*ehkBlocker) func(context.Context, handler.Delivery) (handler.Result, error)
	}{
		{"failing", func(*ehkBlocker) func(context.Context, handler.Delivery) (handler.Result, error) {
			return ehkAlwaysFail
		}},
		{"blocked", func(b *ehkBlocker) func(context.Context, handler.Delivery) (handler.Result, error) { return b.fn }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			blk := ehkNewBlocker()
			defer blk.release()
			f1 := &ehkFake{fn: tc.fn(blk)}
			policy := delivery.Policy{Schedule: []time.Duration{0, 30 * time.Millisecond}, MaxAttempts: 1000, MaxRetryAfter: time.Second}
			e1 := ehkOpen(t, dir, Options{Handlers: map[string]handler.Handler{"log": f1}, Policy: policy,
				AttemptTimeout: 200 * time.Millisecond})
			hid := e1.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
			const n = 12
			for i := 0; i < n; i++ {
				e1.consumer(fmt.Sprint("user", i))
			}
			ehkWaitFor(t, "first attempts", func() bool { s, _, _ := f1.stats(); return s >= 2 })
			e1.close()
			if s, in, _ := f1.stats(); in != 0 {
				t.Fatalf("%d attempts still running after Stop (%d started)", in, s)
			}
			for _, c := range f1.all("") {
				if c.Err == nil {
					t.Fatalf("the stopped handler delivered %s", c.D.ID)
				}
			}

			f2 := &ehkFake{}
			e2 := ehkOpen(t, dir, Options{Handlers: map[string]handler.Handler{"log": f2}, Policy: policy})
			recs := e2.waitRecords(hid, n, StatusDelivered)
			e2.idle()
			time.Sleep(50 * time.Millisecond)
			seen := map[string]int{}
			for _, c := range f2.all("") {
				seen[c.D.ID]++
			}
			for _, r := range recs {
				id := r["id"].(string)
				if seen[id] != 1 {
					t.Errorf("delivery %s arrived %d times after the restart, want once", id, seen[id])
				}
				delete(seen, id)
			}
			if len(seen) != 0 {
				t.Errorf("unknown deliveries arrived: %v", seen)
			}
			// The attempts made before the restart are kept in the record.
			before := map[string]bool{}
			for _, c := range f1.all("") {
				before[c.D.ID] = true
			}
			for _, r := range recs {
				atts, _ := r["attempts"].([]any)
				if before[r["id"].(string)] && len(atts) < 2 {
					t.Errorf("record %v lost its attempts from before the restart: %v", r["id"], atts)
				}
			}
		})
	}
}

// ehkByHook routes attempts to a behaviour per hook id (hooks only have
// the webhook and log handlers to choose from).
type ehkByHook struct {
	mu  sync.Mutex
	fns map[string]func(context.Context, handler.Delivery) (handler.Result, error)
}

func (r *ehkByHook) set(hookID string, fn func(context.Context, handler.Delivery) (handler.Result, error)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fns == nil {
		r.fns = map[string]func(context.Context, handler.Delivery) (handler.Result, error){}
	}
	r.fns[hookID] = fn
}

func (r *ehkByHook) fn(ctx context.Context, d handler.Delivery) (handler.Result, error) {
	r.mu.Lock()
	fn := r.fns[d.Hook.ID]
	r.mu.Unlock()
	if fn == nil {
		return handler.Result{Status: 200}, nil
	}
	return fn(ctx, d)
}

// ehkGauge counts the attempts of one hook under way.
type ehkGauge struct {
	started, inflight, maxIn atomic.Int64
}

func (g *ehkGauge) wrap(fn func(context.Context, handler.Delivery) (handler.Result, error)) func(context.Context, handler.Delivery) (handler.Result, error) {
	return func(ctx context.Context, d handler.Delivery) (handler.Result, error) {
		g.started.Add(1)
		n := g.inflight.Add(1)
		for {
			m := g.maxIn.Load()
			if n <= m || g.maxIn.CompareAndSwap(m, n) {
				break
			}
		}
		defer g.inflight.Add(-1)
		return fn(ctx, d)
	}
}

func TestServiceIsolation(t *testing.T) {
	blk := ehkNewBlocker()
	route := &ehkByHook{}
	lg := &ehkFake{fn: route.fn}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Workers: 4, MaxInFlight: 1})
	t.Cleanup(blk.release) // runs before the env's Stop, which waits for attempts
	slowHook := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	fastHook := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	var slow ehkGauge
	route.set(slowHook, slow.wrap(blk.fn))

	for i := 0; i < 5; i++ {
		e.consumer(fmt.Sprint("user", i))
	}
	ehkWaitFor(t, "the other hook's deliveries", func() bool { return len(lg.delivered(fastHook)) == 5 })
	if s, in := slow.started.Load(), slow.inflight.Load(); s != 1 || in != 1 {
		t.Errorf("blocked hook: %d attempts started, %d in flight; want 1 and 1 (MaxInFlight 1)", s, in)
	}
	if n := len(lg.all(slowHook)); n != 0 {
		t.Errorf("the blocked hook finished %d attempts while blocked", n)
	}
	blk.release()
	ehkWaitFor(t, "the blocked hook's deliveries", func() bool { return len(lg.delivered(slowHook)) == 5 })
	if m := slow.maxIn.Load(); m != 1 {
		t.Errorf("blocked hook had %d attempts at once, want at most 1", m)
	}
	e.idle()
}

func TestServiceSecretsRedactedInCrudEvents(t *testing.T) {
	wh := &ehkFake{pings: true}
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"webhook": wh, "log": lg}})
	watch := e.hook(map[string]any{"source": "crud", "event": "event_hooks", "handler": "log"})
	daoWatch := e.hook(map[string]any{"source": "dao:crud", "handler": "log"})
	e.idle()
	lg.reset()
	id := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": "http://x.test", "secret": "s3cr3t"}})
	if _, err := e.db.Update(e.ctx, e.entity(hooksEntity), id, map[string]any{"snooze": 5.0}, nil); err != nil {
		t.Fatal(err)
	}
	e.idle()
	for _, h := range []string{watch, daoWatch} {
		calls := lg.delivered(h)
		if len(calls) != 2 {
			t.Fatalf("watcher got %d events, want create and update", len(calls))
		}
		for _, c := range calls {
			for _, k := range []string{"entity", "old_entity"} {
				v, ok := c.D.Event.Data[k]
				if !ok {
					continue
				}
				cfg := ehkMap(t, ehkMap(t, v, k)["config"], k+".config")
				if cfg["secret"] != schema.Redacted {
					t.Errorf("%s %s carries secret %v, want ******", c.D.Event.Data["operation"], k, cfg["secret"])
				}
			}
			if strings.Contains(fmt.Sprint(c.D.Event.Data), "s3cr3t") {
				t.Errorf("event data carries the secret: %v", c.D.Event.Data)
			}
		}
		for _, r := range e.records(h, "") {
			if strings.Contains(fmt.Sprint(r), "s3cr3t") {
				t.Errorf("delivery record shows the secret: %v", r)
			}
		}
	}
}

func TestServiceTestAndPing(t *testing.T) {
	wh := &ehkFake{pings: true}
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"webhook": wh, "log": lg}})
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "webhook", "snooze": 3600.0,
		"config": map[string]any{"url": "http://x.test"}})
	lid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.idle()
	wh.reset()
	rows := e.rows()

	t.Run("test", func(t *testing.T) {
		wh.setFn(func(context.Context, handler.Delivery) (handler.Result, error) {
			return handler.Result{Status: 200, Body: "ok", Headers: map[string]string{"X-Token": "t"}}, nil
		})
		in := map[string]any{"consumer": map[string]any{"username": "Jane Austen"}}
		for i := 0; i < 2; i++ { // snooze is bypassed
			res, err := e.svc.Test(e.ctx, hid, in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Data["event"] != "consumers" || res.Data["source"] != "crud" ||
				ehkMap(t, res.Data["consumer"], "consumer")["username"] != "Jane Austen" {
				t.Errorf("Test data %v", res.Data)
			}
			if res.Result == nil || res.Result.Status != 200 || res.Result.Body != "ok" || res.Result.Headers["X-Token"] != "t" {
				t.Errorf("Test result %+v", res.Result)
			}
		}
		if _, ok := in["event"]; ok {
			t.Errorf("Test modified the caller's data: %v", in)
		}
		calls := wh.all(hid)
		if len(calls) != 2 {
			t.Fatalf("handler got %d test deliveries, want 2", len(calls))
		}
		ev := calls[0].D.Event
		if ev.Source != "crud" || ev.Name != "consumers" || ev.Data["consumer"] == nil || calls[0].D.ID == "" {
			t.Errorf("test delivery %+v", calls[0].D)
		}
		if n := e.rows(); n != rows {
			t.Errorf("Test wrote %d delivery rows, want none (it bypasses the queue)", n-rows)
		}
	})
	t.Run("test with an error status", func(t *testing.T) {
		wh.setFn(func(context.Context, handler.Delivery) (handler.Result, error) {
			return handler.Result{Status: 500, Body: "oops"}, &handler.StatusError{Status: 500}
		})
		res, err := e.svc.Test(e.ctx, hid, map[string]any{})
		if err != nil {
			t.Fatalf("Test with a 500 answer: %v, want the answer as result", err)
		}
		if res.Result == nil || res.Result.Status != 500 {
			t.Errorf("Test result %+v", res.Result)
		}
	})
	t.Run("test with a transport error", func(t *testing.T) {
		wh.setFn(ehkAlwaysFail)
		if _, err := e.svc.Test(e.ctx, hid, map[string]any{}); err == nil {
			t.Errorf("Test with a failing receiver returned no error")
		}
	})
	t.Run("test on a log hook has no result", func(t *testing.T) {
		lg.setFn(func(context.Context, handler.Delivery) (handler.Result, error) { return handler.Result{}, nil })
		res, err := e.svc.Test(e.ctx, lid, map[string]any{"a": "b"})
		if err != nil || res.Result != nil || res.Data["a"] != "b" {
			t.Errorf("Test on log hook = %+v, %v", res, err)
		}
	})
	t.Run("unknown hook", func(t *testing.T) {
		if _, err := e.svc.Test(e.ctx, uuid.NewString(), map[string]any{}); !errors.Is(err, ErrHookNotFound) {
			t.Errorf("Test: %v, want ErrHookNotFound", err)
		}
		if err := e.svc.Ping(e.ctx, uuid.NewString()); !errors.Is(err, ErrHookNotFound) {
			t.Errorf("Ping: %v, want ErrHookNotFound", err)
		}
	})
	t.Run("ping", func(t *testing.T) {
		wh.setFn(nil)
		wh.reset()
		if err := e.svc.Ping(e.ctx, hid); err != nil {
			t.Fatal(err)
		}
		calls := wh.all(hid)
		if len(calls) != 1 {
			t.Fatalf("%d pings, want 1", len(calls))
		}
		ev := calls[0].D.Event
		if ev.Source != SourcePing || ev.Name != EventPing {
			t.Errorf("ping event %s/%s", ev.Source, ev.Name)
		}
		if _, ok := ev.Data["operation"]; ok {
			t.Errorf("GET ping carries an operation: %v", ev.Data)
		}
		if ehkMap(t, ev.Data["event_hooks"], "event_hooks")["id"] != hid {
			t.Errorf("ping data %v", ev.Data)
		}
	})
	t.Run("ping on a log hook", func(t *testing.T) {
		err := e.svc.Ping(e.ctx, lid)
		if !errors.Is(err, ErrNoPing) {
			t.Fatalf("Ping on a log hook: %v, want ErrNoPing", err)
		}
		if !strings.Contains(err.Error(), "handler 'log' does not support 'ping'") {
			t.Errorf("message %q", err.Error())
		}
	})
}

func TestServiceTrim(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	clock := testclock.New(t0)
	blk := ehkNewBlocker()
	route := &ehkByHook{}
	lg := &ehkFake{fn: route.fn}
	e := ehkOpen(t, "", Options{
		Handlers:  map[string]handler.Handler{"log": lg},
		Policy:    delivery.Policy{Schedule: []time.Duration{0}, MaxAttempts: 1, MaxRetryAfter: time.Second},
		Retention: time.Hour,
		Now:       clock.Now,
	})
	t.Cleanup(blk.release)
	okHook := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	badHook := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	slowHook := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	route.set(badHook, ehkAlwaysFail)
	var slow ehkGauge
	route.set(slowHook, slow.wrap(blk.fn))

	e.consumer("old")
	e.waitRecords(okHook, 1, StatusDelivered)
	e.waitRecords(badHook, 1, StatusFailed)
	ehkWaitFor(t, "the blocked attempt", func() bool { return slow.started.Load() == 1 })

	clock.Advance(2 * time.Hour)
	e.consumer("new")
	e.waitRecords(okHook, 2, StatusDelivered)
	e.waitRecords(badHook, 2, StatusFailed)

	if err := e.svc.engine.TrimOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	username := func(r map[string]any) any {
		return ehkMap(t, ehkMap(t, r["data"], "data")["entity"], "entity")["username"]
	}
	for _, h := range []struct{ name, id string }{{"delivered", okHook}, {"failed", badHook}} {
		recs := e.records(h.id, "")
		if len(recs) != 1 || username(recs[0]) != "new" {
			var names []any
			for _, r := range recs {
				names = append(names, username(r))
			}
			t.Errorf("%s records after trim: %v, want only the recent one", h.name, names)
		}
	}
	if recs := e.records(slowHook, ""); len(recs) != 2 {
		t.Errorf("%d pending records after trim, want both kept", len(recs))
	} else {
		for _, r := range recs {
			if r["status"] != StatusPending {
				t.Errorf("slow hook record %v", r["status"])
			}
		}
	}
	// Once finished and old enough, they go too.
	blk.release()
	e.waitRecords(slowHook, 2, StatusDelivered)
	e.idle()
	clock.Advance(2 * time.Hour)
	if err := e.svc.engine.TrimOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := e.rows(); n != 0 {
		t.Errorf("%d rows after trimming everything old, want 0", n)
	}
}

func TestServiceDeletedHookFailsPending(t *testing.T) {
	lg := &ehkFake{fn: ehkAlwaysFail}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg},
		Policy: delivery.Policy{Schedule: []time.Duration{0, 100 * time.Millisecond}, MaxAttempts: 100, MaxRetryAfter: time.Second}})
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.consumer("ada")
	ehkWaitFor(t, "a first attempt", func() bool { return len(lg.all(hid)) >= 1 })
	if err := e.db.Delete(e.ctx, e.entity(hooksEntity), hid, nil); err != nil {
		t.Fatal(err)
	}
	r := e.waitRecords(hid, 1, StatusFailed)[0]
	atts, _ := r["attempts"].([]any)
	last := ehkMap(t, atts[len(atts)-1], "attempt")
	if msg, _ := last["error"].(string); !strings.Contains(msg, "event hook deleted") {
		t.Errorf("last attempt error %q, want the hook's deletion", msg)
	}
	e.idle()
}

// The update ping must go to the hook as updated (Kong re-registers the hook
// and then pings it): its handler.Delivery.Hook must agree with the event_hooks it
// carries. The ping is queued after commit but the hooks snapshot is only
// reloaded afterwards, from the bus; a worker that takes the ping in between
// delivers it to the old URL, with the old secret and headers.
func TestServiceUpdatePingUsesUpdatedHook(t *testing.T) {
	wh := &ehkFake{pings: true}
	var watching atomic.Bool
	// Subscribed ahead of the service, so its reload runs after this: hold
	// the bus until the ping has been attempted (or 2s), which is what
	// happens whenever a worker is quicker than the reload.
	hold := func(e *ehkEnv) {
		e.bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
			if ev.Name != hooksEntity || !watching.Load() {
				return
			}
			deadline := time.Now().Add(2 * time.Second)
			for len(wh.all("")) == 0 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"webhook": wh}}, hold)
	id := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": "http://old.test", "secret": "old-secret"}})
	e.idle()
	wh.reset()
	watching.Store(true)
	if _, err := e.db.Update(e.ctx, e.entity(hooksEntity), id, map[string]any{
		"config": map[string]any{"url": "http://new.test", "secret": "new-secret"}}, nil); err != nil {
		t.Fatal(err)
	}
	watching.Store(false)
	e.idle()
	calls := wh.all(id)
	if len(calls) != 1 {
		t.Fatalf("%d update pings, want 1", len(calls))
	}
	c := calls[0]
	shown := ehkMap(t, ehkMap(t, c.D.Event.Data["event_hooks"], "event_hooks")["config"], "config")
	if shown["url"] != "http://new.test" {
		t.Fatalf("ping shows url %v", shown["url"])
	}
	if c.D.Hook.Config["url"] != "http://new.test" || c.D.Hook.Config["secret"] != "new-secret" {
		t.Errorf("update ping delivered with url %v, secret %v; want the updated hook's http://new.test, new-secret",
			c.D.Hook.Config["url"], c.D.Hook.Config["secret"])
	}
}

// Hooks written concurrently must all end up in the matching snapshot.
// Each write reloads the snapshot from the bus after its commit, without
// ordering: a reload that read the store before another write committed can
// store its snapshot after that write's reload, and the newer hook is then
// ignored (its events are not even written to the outbox) until the next
// event_hooks write.
func TestServiceConcurrentHookWritesAllMatched(t *testing.T) {
	const hooks = 16
	for round := 0; round < 20; round++ {
		lg := &ehkFake{}
		e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
		var wg sync.WaitGroup
		for i := 0; i < hooks; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
			}()
		}
		wg.Wait()
		e.consumer("ada")
		e.idle()
		n := len(e.svc.snap.Load().byID)
		got := len(lg.delivered(""))
		e.close()
		if n != hooks || got != hooks {
			t.Fatalf("round %d: after %d concurrent hook creations the snapshot has %d hooks and a consumer create was delivered to %d",
				round, hooks, n, got)
		}
	}
}

// Retry queues a pending delivery "for a new run of attempts now"; one
// waiting for a later retry must go now, not at its old time.
func TestServiceRetryPendingRunsNow(t *testing.T) {
	lg := &ehkFake{fn: ehkAlwaysFail}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Rand: ehkRandMax,
		Policy: delivery.Policy{Schedule: []time.Duration{0, time.Hour}, MaxAttempts: 5, MaxRetryAfter: time.Hour}})
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.consumer("ada")
	var id string
	ehkWaitFor(t, "the first attempt to be recorded", func() bool {
		recs := e.records(hid, StatusPending)
		if len(recs) != 1 {
			return false
		}
		if atts, _ := recs[0]["attempts"].([]any); len(atts) != 1 {
			return false
		}
		id = recs[0]["id"].(string)
		return true
	})
	lg.setFn(nil)
	view, err := e.svc.Retry(e.ctx, hid, id)
	if err != nil {
		t.Fatal(err)
	}
	if view["status"] != StatusPending {
		t.Errorf("Retry returned %v", view)
	}
	ehkWaitWithin(t, 3*time.Second, "the retried pending delivery (it waits for its old retry time, an hour away)",
		func() bool { return len(lg.delivered(hid)) == 1 })
}

// A Retry accepted while the delivery's attempt is under way must not be
// lost: when that attempt ends (here failing for good, MaxAttempts 1), the
// new run asked for still happens. Today the recorder overwrites the
// retried record with the old run's verdict (failed) and the dispatcher
// forgets the delivery, so Retry answers "pending" and nothing follows.
func TestServiceRetryDuringAttempt(t *testing.T) {
	blk := ehkNewBlocker()
	var g ehkGauge
	var calls atomic.Int64
	lg := &ehkFake{fn: g.wrap(func(ctx context.Context, d handler.Delivery) (handler.Result, error) {
		if calls.Add(1) == 1 {
			<-blk.ch
			return handler.Result{}, ehkErrTransport
		}
		return handler.Result{Status: 200}, nil
	})}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Policy: ehkTestPolicy(1)})
	t.Cleanup(blk.release)
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.consumer("ada")
	ehkWaitFor(t, "the first attempt to start", func() bool { return g.inflight.Load() == 1 })
	id := e.records(hid, "")[0]["id"].(string)
	view, err := e.svc.Retry(e.ctx, hid, id)
	if err != nil {
		t.Fatalf("Retry refused the delivery whose attempt is under way: %v", err)
	}
	if view["status"] != StatusPending {
		t.Fatalf("Retry answered %v", view)
	}
	blk.release()
	ehkWaitWithin(t, 3*time.Second, "the run asked for by Retry", func() bool {
		recs := e.records(hid, StatusDelivered)
		return len(recs) == 1 && calls.Load() == 2
	})
}

// ehkPausingStore pauses, once armed, right after committing a transaction
// that recorded a failed delivery: between the recorder's commit and its
// word to the dispatcher.
type ehkPausingStore struct {
	store.Store
	armed  atomic.Bool
	paused chan struct{}
	resume chan struct{}
}

type ehkWatchTx struct {
	store.Tx
	failed *bool
}

func (t ehkWatchTx) Update(table string, row store.Row) error {
	if table == delivery.Table && row["status"] == StatusFailed {
		*t.failed = true
	}
	return t.Tx.Update(table, row)
}

// Replace is how the recorder writes an outcome.
func (t ehkWatchTx) Replace(table string, old, row store.Row) error {
	if table == delivery.Table && row["status"] == StatusFailed {
		*t.failed = true
	}
	return t.Tx.Replace(table, old, row)
}

func (s *ehkPausingStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	var failed bool
	err := s.Store.Update(ctx, func(tx store.Tx) error {
		failed = false
		return fn(ehkWatchTx{Tx: tx, failed: &failed})
	})
	if err == nil && failed && s.armed.CompareAndSwap(true, false) {
		close(s.paused)
		<-s.resume
	}
	return err
}

// A Retry (or Redrive) that lands after the recorder committed a failure
// but before it told the dispatcher: the record is pending again, hurry
// finds the delivery known but in flight and does nothing, then finish
// forgets it. The delivery stays pending in the store and is not attempted
// until the next start.
func TestServiceRetryRightAfterFailureRecorded(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	lg := &ehkFake{fn: func(context.Context, handler.Delivery) (handler.Result, error) {
		if fail.Load() {
			return handler.Result{}, ehkErrTransport
		}
		return handler.Result{Status: 200}, nil
	}}
	var ps *ehkPausingStore
	wrap := func(e *ehkEnv) {
		ps = &ehkPausingStore{Store: e.st, paused: make(chan struct{}), resume: make(chan struct{})}
		e.db = db.New(e.reg, ps, db.Options{Bus: e.bus})
	}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Policy: ehkTestPolicy(1)}, wrap)
	var once sync.Once
	resume := func() { once.Do(func() { close(ps.resume) }) }
	t.Cleanup(resume)
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	ps.armed.Store(true)
	e.consumer("ada")
	select {
	case <-ps.paused:
	case <-time.After(10 * time.Second):
		t.Fatal("the failure was never recorded")
	}
	recs := e.records(hid, StatusFailed)
	if len(recs) != 1 {
		t.Fatalf("%d failed records, want 1", len(recs))
	}
	fail.Store(false)
	view, err := e.svc.Retry(e.ctx, hid, recs[0]["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if view["status"] != StatusPending {
		t.Fatalf("Retry answered %v", view)
	}
	resume()
	ehkWaitWithin(t, 3*time.Second, "the retried delivery", func() bool {
		return len(e.records(hid, StatusDelivered)) == 1
	})
}

// The run a Retry starts during an attempt gets the fresh budget Retry
// promises: the attempt under way belongs to the old run, so the new run's
// first attempt is attempt 1 and it makes MaxAttempts attempts.
func TestServiceRetryDuringAttemptGetsFullBudget(t *testing.T) {
	blk := ehkNewBlocker()
	var g ehkGauge
	var calls atomic.Int64
	lg := &ehkFake{fn: g.wrap(func(ctx context.Context, d handler.Delivery) (handler.Result, error) {
		if calls.Add(1) == 1 {
			<-blk.ch
		}
		return handler.Result{}, ehkErrTransport
	})}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Policy: ehkTestPolicy(3)})
	t.Cleanup(blk.release)
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.consumer("ada")
	ehkWaitFor(t, "the first attempt to start", func() bool { return g.inflight.Load() == 1 })
	id := e.records(hid, "")[0]["id"].(string)
	if _, err := e.svc.Retry(e.ctx, hid, id); err != nil {
		t.Fatalf("Retry refused the delivery whose attempt is under way: %v", err)
	}
	blk.release()
	r := e.waitRecords(hid, 1, StatusFailed)[0]
	atts, _ := r["attempts"].([]any)
	if len(atts) != 4 {
		t.Errorf("%d attempts in all, want 4: the one under way and a new run of MaxAttempts 3", len(atts))
	}
	var nums []int
	for _, c := range lg.all(hid) {
		nums = append(nums, c.D.Attempt)
	}
	if fmt.Sprint(nums) != "[1 1 2 3]" {
		t.Errorf("attempt numbers %v, want [1 1 2 3]", nums)
	}
}

// TestServiceQueueOverflowLosesNothing: with room for two deliveries in
// memory, ten events owed while the receiver blocks all arrive: those that
// did not fit wait in the store and are read back when room frees up.
func TestServiceQueueOverflowLosesNothing(t *testing.T) {
	blk := ehkNewBlocker()
	lg := &ehkFake{fn: func(ctx context.Context, d handler.Delivery) (handler.Result, error) {
		<-blk.ch
		return handler.Result{Status: 200}, nil
	}}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, QueueCapacity: 2, MaxInFlight: 1})
	t.Cleanup(blk.release)
	hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	for i := 0; i < 10; i++ {
		e.consumer("user" + strconv.Itoa(i))
	}
	if got := e.svc.engine.Depth(); got > 2 {
		t.Fatalf("the dispatcher holds %d deliveries, over its capacity of 2", got)
	}
	blk.release()
	ehkWaitWithin(t, 10*time.Second, "all ten deliveries", func() bool { return len(lg.delivered(hid)) == 10 })
}

// ehkRandMax draws the top of [0, n): the longest jitter.
func ehkRandMax(n int64) int64 { return n - 1 }

var ehkErrTransport = errors.New("dial tcp: connection refused")
