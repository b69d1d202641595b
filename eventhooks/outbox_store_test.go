package eventhooks

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/internal/testclock"
	"github.com/portico-gw/portico/store"
)

// rowsOf counts the rows of a table.
func (e *ehkEnv) rowsOf(table string) []store.Row {
	e.t.Helper()
	var out []store.Row
	q := store.PageQuery{Size: 1000}
	for {
		var page store.Page
		if err := e.st.View(e.ctx, func(tx store.Tx) error {
			var err error
			page, err = tx.Page(table, q)
			return err
		}); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, page.Rows...)
		if page.Offset == "" {
			return out
		}
		q.Offset = page.Offset
	}
}

// TestOutboxStoresDataOnce: a write matching two hooks stores its data
// once; each hook's delivery row holds its state and the payload's id; the
// records show the data; trimming the last record takes the payload.
func TestOutboxStoresDataOnce(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	clock := testclock.New(t0)
	lg := &ehkFake{}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Retention: time.Hour, Now: clock.Now})
	h1 := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	h2 := e.hook(map[string]any{"source": "crud", "event": "consumers:create", "handler": "log"})
	e.consumer("ada")
	e.waitRecords(h1, 1, StatusDelivered)
	e.waitRecords(h2, 1, StatusDelivered)
	e.idle()

	payloads := e.rowsOf(delivery.PayloadTable)
	if len(payloads) != 1 {
		t.Fatalf("%d payload rows for one write, want 1", len(payloads))
	}
	rows := e.rowsOf(delivery.Table)
	if len(rows) != 2 {
		t.Fatalf("%d delivery rows, want 2", len(rows))
	}
	for _, r := range rows {
		if _, ok := r["data"]; ok {
			t.Errorf("delivery row %v holds the data", r["id"])
		}
		if r["payload"] != payloads[0]["id"] {
			t.Errorf("delivery row's payload %v, want %v", r["payload"], payloads[0]["id"])
		}
	}
	for _, h := range []string{h1, h2} {
		rec := e.records(h, "")[0]
		if u := ehkMap(t, ehkMap(t, rec["data"], "data")["entity"], "entity")["username"]; u != "ada" {
			t.Errorf("record of %s shows %v, want the event's data", h, rec["data"])
		}
	}

	clock.Advance(2 * time.Hour)
	if err := e.svc.engine.TrimOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n, p := len(e.rowsOf(delivery.Table)), len(e.rowsOf(delivery.PayloadTable)); n != 0 || p != 0 {
		t.Errorf("after trimming: %d delivery rows, %d payloads; want none", n, p)
	}
}

// TestOutboxTrimKeepsSharedPayload: a payload stays while one of its
// deliveries is left.
func TestOutboxTrimKeepsSharedPayload(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	clock := testclock.New(t0)
	blk := ehkNewBlocker()
	t.Cleanup(blk.release)
	route := &ehkByHook{}
	lg := &ehkFake{fn: route.fn}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Retention: time.Hour, Now: clock.Now})
	fast := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	slow := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	route.set(slow, blk.fn)
	e.consumer("ada")
	e.waitRecords(fast, 1, StatusDelivered)
	clock.Advance(2 * time.Hour)
	if err := e.svc.engine.TrimOnce(e.ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(e.records(fast, "")); n != 0 {
		t.Errorf("%d records of the finished hook, want trimmed", n)
	}
	if p := len(e.rowsOf(delivery.PayloadTable)); p != 1 {
		t.Fatalf("%d payloads, want the one the pending delivery uses", p)
	}
	blk.release()
	recs := e.waitRecords(slow, 1, StatusDelivered)
	if recs[0]["data"] == nil {
		t.Errorf("the pending delivery lost its data: %v", recs[0])
	}
}

// TestEngineReadsEarlierRecords: a pending record written by an earlier
// version (its data inline, no order time) is indexed at start and
// delivered.
func TestEngineReadsEarlierRecords(t *testing.T) {
	lg := &ehkFake{}
	var hid string
	pre := func(e *ehkEnv) {
		row, err := e.db.Insert(e.ctx, e.entity(hooksEntity), map[string]any{"source": "crud", "event": "consumers", "handler": "log"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		hid = row["id"].(string)
		now := float64(time.Now().UnixMilli()) / 1000
		if err := e.st.Update(e.ctx, func(tx store.Tx) error {
			return tx.Insert(delivery.Table, store.Row{
				"id": "0190a5c0-0000-7000-8000-000000000001", "event_hook": map[string]any{"id": hid},
				"handler": "log", "source": "crud", "event": "consumers", "status": StatusPending,
				"data":     map[string]any{"operation": "create", "entity": map[string]any{"username": "old"}},
				"attempts": []any{}, "retry_from": 0.0, "created_at": now, "updated_at": now, "since": now,
				"next_attempt_at": now,
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}}, pre)
	recs := e.waitRecords(hid, 1, StatusDelivered)
	if u := ehkMap(t, ehkMap(t, recs[0]["data"], "data")["entity"], "entity")["username"]; u != "old" {
		t.Errorf("delivered record shows %v", recs[0]["data"])
	}
	if calls := lg.delivered(hid); len(calls) != 1 || calls[0].D.Event.Data["operation"] != "create" {
		t.Errorf("deliveries %v", calls)
	}
}

// ehkFlakyStore fails the transactions that record outcomes: the first
// failures with an error, and any that records more than one outcome as
// too big.
type ehkFlakyStore struct {
	store.Store
	failures atomic.Int64
	tooBig   atomic.Bool
	refused  atomic.Int64 // transactions refused as too big
}

type ehkCountTx struct {
	store.Tx
	outcomes *int
}

func (t ehkCountTx) Update(table string, row store.Row) error {
	if table == delivery.Table && row["status"] != StatusPending {
		*t.outcomes++
	}
	return t.Tx.Update(table, row)
}

// Replace is how the recorder writes an outcome.
func (t ehkCountTx) Replace(table string, old, row store.Row) error {
	if table == delivery.Table && row["status"] != StatusPending {
		*t.outcomes++
	}
	return t.Tx.Replace(table, old, row)
}

func (s *ehkFlakyStore) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		n := 0
		if err := fn(ehkCountTx{Tx: tx, outcomes: &n}); err != nil {
			return err
		}
		switch {
		case n == 0:
			return nil
		case s.failures.Load() > 0:
			s.failures.Add(-1)
			return errors.New("disk on fire")
		case s.tooBig.Load() && n > 1:
			s.refused.Add(1)
			return store.ErrTooBig
		case s.tooBig.Load() && n == 1 && s.refused.Load() == 0:
			// A lone outcome is held a moment so that the others, ending
			// meanwhile, make the next batch one to split.
			time.Sleep(50 * time.Millisecond)
		}
		return nil
	})
}

// TestEngineOutcomesWrittenWhatever: a batch of outcomes the store refuses
// is tried again until written, and one too big for a transaction is split;
// no delivery is left pending in the store.
func TestEngineOutcomesWrittenWhatever(t *testing.T) {
	for _, tc := range []struct {
		name     string
		failures int64
		tooBig   bool
	}{
		{"store errors", 3, false},
		{"too big", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fs *ehkFlakyStore
			wrap := func(e *ehkEnv) {
				fs = &ehkFlakyStore{Store: e.st}
				e.db = db.New(e.reg, fs, db.Options{Bus: e.bus})
			}
			// The attempts end together, so their outcomes come in one batch.
			blk := ehkNewBlocker()
			t.Cleanup(blk.release)
			var g ehkGauge
			lg := &ehkFake{fn: g.wrap(blk.fn)}
			e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, MaxInFlight: 8}, wrap)
			hid := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
			fs.failures.Store(tc.failures)
			fs.tooBig.Store(tc.tooBig)
			for _, u := range []string{"a", "b", "c", "d", "e", "f"} {
				e.consumer(u)
			}
			ehkWaitFor(t, "six attempts under way", func() bool { return g.started.Load() == 6 })
			blk.release()
			e.waitRecords(hid, 6, StatusDelivered)
			if tc.failures > 0 && fs.failures.Load() != 0 {
				t.Errorf("%d failures left: the store was not tried again", fs.failures.Load())
			}
			if tc.tooBig && fs.refused.Load() == 0 {
				t.Error("no batch was refused as too big: the test did not test splitting")
			}
			e.idle()
			if n := len(lg.delivered(hid)); n != 6 {
				t.Errorf("%d deliveries, want 6 (each once)", n)
			}
		})
	}
}

// TestOutboxSnoozeUnderConcurrentWrites: writes racing inside one snooze
// window deliver one event, not one per writer that judged the window
// before the others committed; on_change alike for identical data.
func TestOutboxSnoozeUnderConcurrentWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook map[string]any
	}{
		{"snooze", map[string]any{"snooze": 3600.0}},
		{"snooze and on_change", map[string]any{"snooze": 3600.0, "on_change": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lg := &ehkFake{}
			// One second for every write, so that their data (updated_at
			// included) is the same even when the writes straddle a tick.
			clock := testclock.New(time.Unix(1_700_000_000, 0))
			fixed := func(e *ehkEnv) { e.db = db.New(e.reg, e.st, db.Options{Bus: e.bus, Now: clock.Now}) }
			e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}}, fixed)
			fields := map[string]any{"source": "dao:crud", "event": "update", "handler": "log"}
			for k, v := range tc.hook {
				fields[k] = v
			}
			// Every writer makes the same update of one consumer, which
			// already has that value: their events carry the same data.
			c := e.consumer("ada")
			if _, err := e.db.Update(e.ctx, e.entity("consumers"), c["id"].(string),
				map[string]any{"custom_id": "same"}, nil); err != nil {
				t.Fatal(err)
			}
			hid := e.hook(fields)
			const writers = 8
			start := make(chan struct{})
			errs := make(chan error, writers)
			for i := 0; i < writers; i++ {
				go func() {
					<-start
					_, err := e.db.Update(e.ctx, e.entity("consumers"), c["id"].(string),
						map[string]any{"custom_id": "same"}, nil)
					errs <- err
				}()
			}
			close(start)
			for i := 0; i < writers; i++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
			e.idle()
			if calls := lg.delivered(hid); len(calls) != 1 {
				for _, c := range calls {
					t.Logf("delivered %s %s: %v", c.D.Event.Source, c.D.Event.Name, c.D.Event.Data)
				}
				t.Errorf("%d deliveries from %d concurrent writes inside one window, want 1", len(calls), writers)
			}
		})
	}
}

// TestServiceIsolationManySlowHooks: more hooks whose receivers hang than
// there are shared slots (the earlier design's five hanging hooks holding
// every worker): the healthy hook's deliveries go on.
func TestServiceIsolationManySlowHooks(t *testing.T) {
	blk := ehkNewBlocker()
	route := &ehkByHook{}
	lg := &ehkFake{fn: route.fn}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Workers: 4, MaxInFlight: 4})
	t.Cleanup(blk.release)
	var slow ehkGauge
	for i := 0; i < 5; i++ {
		route.set(e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"}), slow.wrap(blk.fn))
	}
	fast := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	for i := 0; i < 10; i++ {
		e.consumer("user" + string(rune('a'+i)))
	}
	ehkWaitWithin(t, 3*time.Second, "the healthy hook's deliveries", func() bool { return len(lg.delivered(fast)) == 10 })
	// Each hanging hook has its own share (one attempt) and the shared
	// slots go to those that were first: 5 + 4 at most.
	if in := slow.inflight.Load(); in > 9 {
		t.Errorf("%d attempts of hanging hooks under way, want at most 9", in)
	}
}

// TestEngineFarRetriesWaitInTheStore: a retry hours away is not held in
// memory, so it takes no room from deliveries due now; it is read in and
// attempted when its time comes.
func TestEngineFarRetriesWaitInTheStore(t *testing.T) {
	t0 := time.Now().Truncate(time.Second)
	clock := testclock.New(t0)
	var failing atomic.Bool
	failing.Store(true)
	route := &ehkByHook{}
	lg := &ehkFake{fn: route.fn}
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}, Now: clock.Now, Rand: ehkRandMax,
		QueueCapacity: 3, Policy: delivery.Policy{Schedule: []time.Duration{0, 2 * time.Hour}, MaxAttempts: 5,
			MaxAge: 72 * time.Hour, MaxRetryAfter: time.Hour}})
	bad := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	route.set(bad, func(context.Context, handler.Delivery) (handler.Result, error) {
		if failing.Load() {
			return handler.Result{}, ehkErrTransport
		}
		return handler.Result{Status: 200}, nil
	})
	for i := 0; i < 5; i++ {
		e.consumer("early" + string(rune('a'+i)))
	}
	ehkWaitFor(t, "the failed first attempts", func() bool { return len(lg.all(bad)) == 5 })
	e.idle() // the retries, two hours off, wait in the store only
	good := e.hook(map[string]any{"source": "crud", "event": "consumers", "handler": "log"})
	e.consumer("late")
	ehkWaitFor(t, "the healthy hook's delivery", func() bool { return len(lg.delivered(good)) == 1 })

	failing.Store(false)
	clock.Advance(2*time.Hour + time.Minute)
	ehkWaitFor(t, "the retries, read back when due", func() bool { return len(lg.delivered(bad)) == 6 })
}

// TestOutboxHookCreatedDuringAWrite: a write of several changes (an
// upstream deleted with its targets) during which a hook on targets is
// created matches the hook for all its changes or for none, never for some.
func TestOutboxHookCreatedDuringAWrite(t *testing.T) {
	lg := &ehkFake{}
	var paused, resume chan struct{}
	var armed atomic.Bool
	e := ehkOpen(t, "", Options{Handlers: map[string]handler.Handler{"log": lg}})
	e.db.AddTxHook(func(_ store.Tx, ch db.Change) (func(), error) {
		if ch.Entity.Name == "targets" && armed.CompareAndSwap(true, false) {
			close(paused)
			<-resume
		}
		return nil, nil
	})
	up, err := e.db.Insert(e.ctx, e.entity("upstreams"), map[string]any{"name": "up"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"10.0.0.1:80", "10.0.0.2:80"} {
		if _, err := e.db.Insert(e.ctx, e.entity("targets"), map[string]any{"target": target,
			"upstream": map[string]any{"id": up["id"]}}, nil); err != nil {
			t.Fatal(err)
		}
	}
	paused, resume = make(chan struct{}), make(chan struct{})
	armed.Store(true)
	done := make(chan error, 1)
	go func() {
		done <- e.db.Delete(e.ctx, e.entity("upstreams"), up["id"].(string), nil)
	}()
	select {
	case <-paused:
	case <-time.After(10 * time.Second):
		t.Fatal("the delete never reached its first target")
	}
	hid := e.hook(map[string]any{"source": "crud", "event": "targets", "handler": "log"})
	close(resume)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.idle()
	if n := len(lg.delivered(hid)); n != 0 && n != 2 {
		t.Errorf("%d target deletions delivered to the hook created during the write, want 0 or 2", n)
	}
}
