package delivery

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/store"
)

// Logger is what the engine logs through (the node's error log).
type Logger interface {
	Errorf(format string, args ...any)
	Warnf(format string, args ...any)
}

// Resolver returns the hook a delivery goes to: for a ping (snapshot not
// nil), the hook as the write that pinged left it; otherwise the hook as
// configured now, and false when it is gone.
type Resolver func(hookID string, snapshot map[string]any) (handler.Hook, bool)

// Config configures an Engine. Zero values take the defaults.
type Config struct {
	Store    store.Store
	Handlers map[string]handler.Handler
	Resolve  Resolver
	Policy   Policy
	// Workers is how many attempts may be under way at once across hooks
	// (default 16); a hook with none under way may always start one.
	Workers int
	// MaxInFlight caps concurrent deliveries per hook (default 4).
	MaxInFlight int
	// AttemptTimeout bounds one attempt, whatever the handler does
	// (default 30s).
	AttemptTimeout time.Duration
	// Retention is how long finished delivery records are kept (default 72h).
	Retention time.Duration
	// QueueCapacity bounds the pending deliveries held in memory (default
	// 100000); more wait in the store and are read back as room frees up.
	QueueCapacity int
	// Metrics receives the engine's series; nil registers none.
	Metrics prometheus.Registerer
	Log     Logger
	// Now and NewID override the clock and the delivery ids (tests).
	Now   func() time.Time
	NewID func() string
	// Rand draws the jitter: a number in [0, n).
	Rand func(n int64) int64
}

// Engine is the delivery engine of one node: the outbox rows written in
// each write's transaction, the dispatcher and its workers, the recorder
// of outcomes, trimming, and the operations on delivery records.
type Engine struct {
	store    store.Store
	handlers map[string]handler.Handler
	resolve  Resolver
	policy   Policy
	opts     Config
	log      Logger
	now      func() time.Time
	newID    func() string
	rnd      func(int64) int64

	disp    *dispatcher
	metrics *metrics
	outcome chan outcome

	stop     context.CancelFunc
	running  sync.WaitGroup // dispatcher, trimmer, refill
	attempts sync.WaitGroup // attempts under way
	recorded chan struct{}
}

// New builds an engine; Start starts delivering.
func New(cfg Config) *Engine {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 4
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 30 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 72 * time.Hour
	}
	if cfg.QueueCapacity <= 0 {
		cfg.QueueCapacity = 100_000
	}
	if cfg.Policy.MaxAttempts == 0 {
		cfg.Policy = DefaultPolicy()
	}
	e := &Engine{
		store: cfg.Store, handlers: cfg.Handlers, resolve: cfg.Resolve, policy: cfg.Policy,
		opts: cfg, log: cfg.Log, now: cfg.Now, newID: cfg.NewID, rnd: cfg.Rand,
		outcome: make(chan outcome, maxBatch),
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.newID == nil {
		// Time-ordered ids list a hook's deliveries in the order they happened.
		e.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if e.rnd == nil {
		e.rnd = defaultRand
	}
	if e.log == nil {
		e.log = nopLogger{}
	}
	e.disp = newDispatcher(e.now, cfg.Workers, cfg.MaxInFlight, cfg.QueueCapacity)
	e.disp.start = func(it item) {
		e.attempts.Add(1)
		go func() { defer e.attempts.Done(); e.attempt(it) }()
	}
	e.metrics = newMetrics(cfg.Metrics, e.disp)
	return e
}

type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}

// NewID returns a fresh delivery id (Standard Webhooks' webhook-id).
func (e *Engine) NewID() string { return e.newID() }

// Start reads the pending deliveries and starts delivering.
func (e *Engine) Start(ctx context.Context) error {
	pending, err := e.pending(ctx)
	if err != nil {
		return err
	}
	e.disp.push(pending...)

	runCtx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	e.recorded = make(chan struct{})
	go func() { defer close(e.recorded); e.record() }()
	e.running.Add(3)
	go func() { defer e.running.Done(); e.disp.run(runCtx) }()
	go func() { defer e.running.Done(); e.trim(runCtx) }()
	go func() { defer e.running.Done(); e.refill(runCtx) }()
	return nil
}

// Stop stops taking deliveries, lets the attempts in flight finish (each
// bounded by its timeout) and records their outcomes. Pending deliveries
// stay in the store for the next start.
func (e *Engine) Stop() {
	if e.stop == nil {
		return
	}
	e.stop()
	e.running.Wait()
	e.attempts.Wait()
	close(e.outcome)
	<-e.recorded
	e.stop = nil
}

// Filtered counts an event dropped by snooze or on_change.
func (e *Engine) Filtered() { e.metrics.dropped.Inc() }

// Depth counts the pending deliveries held in memory.
func (e *Engine) Depth() int { return e.disp.depth() }

// Writer writes the deliveries of one write into its transaction; Committed
// queues them once the transaction has committed.
type Writer struct {
	e     *Engine
	tx    store.Tx
	items []item
	// crudJSON is the encoding of the change's shared data, which every
	// hook of the change receives: made once for all their records.
	shared []byte
}

// NewWriter starts the deliveries of one write, in tx.
func (e *Engine) NewWriter(tx store.Tx) *Writer { return &Writer{e: e, tx: tx} }

// Len is the number of deliveries written.
func (w *Writer) Len() int { return len(w.items) }

// Add writes a delivery of ev to hook. shared says that ev.Data is the data
// every delivery of this writer shares (encoded once). snapshot, for pings,
// is the hook row the delivery must use if the hook is gone by then.
func (w *Writer) Add(hookID, handlerName string, ev handler.Event, shared bool, snapshot map[string]any) error {
	now := w.e.now()
	id := w.e.newID()
	var raw []byte
	var err error
	if shared && w.shared != nil {
		raw = w.shared
	} else if raw, err = encodeData(ev.Data); err != nil {
		return fmt.Errorf("encoding the event for event hook %s: %w", hookID, err)
	}
	if shared {
		w.shared = raw
	}
	rec := newRecord(id, hookID, handlerName, ev, now, snapshot)
	rec["data"] = jsonRaw(raw)
	if err := w.tx.Insert(Table, rec); err != nil {
		return fmt.Errorf("writing delivery for event hook %s: %w", hookID, err)
	}
	// The first attempt needs no read of the record: it goes with the item.
	rec["data"] = ev.Data
	w.items = append(w.items, item{id: id, hook: hookID, due: now, born: now, rec: rec})
	return nil
}

// Committed queues the deliveries written, once their transaction has
// committed.
func (w *Writer) Committed() {
	if len(w.items) > 0 {
		w.e.metrics.enqueued.Add(float64(len(w.items)))
		w.e.disp.push(w.items...)
	}
}

// pending reads every pending delivery from the store (at start).
func (e *Engine) pending(ctx context.Context) ([]item, error) {
	var items []item
	q := store.PageQuery{Size: 1000, Equal: map[string]any{"status": StatusPending}}
	for {
		page, err := e.page(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("reading pending deliveries: %w", err)
		}
		for _, row := range page.Rows {
			r := record(row)
			items = append(items, item{id: r.str("id"), hook: r.hookID(),
				due: fromUnix(r.num("next_attempt_at")), born: fromUnix(r.num("created_at"))})
		}
		if page.Offset == "" {
			return items, nil
		}
		q.Offset = page.Offset
	}
}

// refillInterval is how often the engine checks whether deliveries that
// overflowed the dispatcher can be read back from the store.
const refillInterval = time.Second

// refill reads pending deliveries back from the store once the dispatcher,
// after overflowing, has room again. Deliveries already held are ignored by
// push, so reading them all again is safe.
func (e *Engine) refill(ctx context.Context) {
	tick := time.NewTicker(refillInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !e.disp.overflowed.Load() || !e.disp.roomFor() {
			continue
		}
		e.disp.overflowed.Store(false)
		pending, err := e.pending(ctx)
		if err != nil {
			e.disp.overflowed.Store(true)
			if ctx.Err() == nil {
				e.log.Errorf("event hooks: reading overflowed deliveries back: %v", err)
			}
			continue
		}
		e.disp.push(pending...)
	}
}

// page reads one page of delivery records.
func (e *Engine) page(ctx context.Context, q store.PageQuery) (store.Page, error) {
	var page store.Page
	err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		page, err = tx.Page(Table, q)
		return err
	})
	return page, err
}

// ErrNotFound is returned for an unknown delivery.
var ErrNotFound = errors.New("delivery not found")

// List returns one page of a hook's delivery records as the Admin API shows
// them, oldest first, optionally only those of one status.
func (e *Engine) List(ctx context.Context, hookID, status string, size int, offset string) ([]map[string]any, string, error) {
	q := store.PageQuery{Size: size, Offset: offset,
		Foreign: &store.ForeignFilter{Field: "event_hook", ID: hookID}}
	if status != "" {
		q.Equal = map[string]any{"status": status}
	}
	page, err := e.page(ctx, q)
	if err != nil {
		return nil, "", err
	}
	out := make([]map[string]any, len(page.Rows))
	for i, row := range page.Rows {
		out[i] = record(row).view()
	}
	return out, page.Offset, nil
}

// Retry queues one finished or pending delivery of the hook for a new run
// of attempts now.
func (e *Engine) Retry(ctx context.Context, hookID, deliveryID string) (map[string]any, error) {
	var view map[string]any
	var queued []item
	err := e.store.Update(ctx, func(tx store.Tx) error {
		row, err := tx.Get(Table, deliveryID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && record(row).hookID() != hookID) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		it := e.redrive(record(row))
		if err := tx.Update(Table, row); err != nil {
			return err
		}
		queued, view = []item{it}, record(row).view()
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.disp.hurry(queued...)
	return view, nil
}

// Redrive queues every delivery of the hook with this status (failed, by
// default) for a new run of attempts, and returns how many.
func (e *Engine) Redrive(ctx context.Context, hookID, status string) (int, error) {
	if status == "" {
		status = StatusFailed
	}
	if status == StatusPending {
		return 0, nil // already queued
	}
	total := 0
	q := store.PageQuery{Size: 500, Foreign: &store.ForeignFilter{Field: "event_hook", ID: hookID},
		Equal: map[string]any{"status": status}}
	for {
		var queued []item
		var next string
		err := e.store.Update(ctx, func(tx store.Tx) error {
			queued = queued[:0]
			page, err := tx.Page(Table, q)
			if err != nil {
				return err
			}
			for _, row := range page.Rows {
				queued = append(queued, e.redrive(record(row)))
				if err := tx.Update(Table, row); err != nil {
					return err
				}
			}
			next = page.Offset
			return nil
		})
		if err != nil {
			return total, err
		}
		e.disp.hurry(queued...)
		total += len(queued)
		if next == "" {
			return total, nil
		}
		// Redriven rows left the status filter: the next page starts over.
		q.Offset = ""
	}
}

// redrive makes a record pending again with a fresh attempt budget.
func (e *Engine) redrive(r record) item {
	now := e.now()
	r["status"] = StatusPending
	r["run"] = r.num("run") + 1
	r["retry_from"] = float64(len(r.attempts()))
	r["since"] = unixMS(now)
	r["next_attempt_at"] = unixMS(now)
	r["updated_at"] = unixMS(now)
	return item{id: r.str("id"), hook: r.hookID(), due: now, born: fromUnix(r.num("created_at"))}
}
