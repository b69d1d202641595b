package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/internal/jsonrow"
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
	// 100000); more wait in the store and are read in, in due order, as
	// room frees up.
	QueueCapacity int
	// PayloadBudget bounds the bytes of event data kept in memory for
	// first attempts (default 64 MiB); beyond it an attempt reads its data
	// from the store.
	PayloadBudget int64
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
// each write's transaction, the dispatcher and its attempts, the recorder
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
	held    atomic.Int64 // bytes of event data held for first attempts
	// later is when the first pending delivery left in the store beyond
	// the load horizon comes due (Unix ns, 0: none), as the last fill saw;
	// evicted is the earliest due time of a delivery sent back to the
	// store since then (a retry far off).
	later    atomic.Int64
	evicted  atomic.Int64
	payloads *payloadCache
	stopping atomic.Bool
	cursor   string // where the next fill reads the queue index

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
	if cfg.PayloadBudget <= 0 {
		cfg.PayloadBudget = 64 << 20
	}
	if cfg.Policy.MaxAttempts == 0 {
		cfg.Policy = DefaultPolicy()
	}
	e := &Engine{
		store: cfg.Store, handlers: cfg.Handlers, resolve: cfg.Resolve, policy: cfg.Policy,
		opts: cfg, log: cfg.Log, now: cfg.Now, newID: cfg.NewID, rnd: cfg.Rand,
		outcome:  make(chan outcome, maxBatch),
		payloads: newPayloadCache(payloadCacheSize),
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

// Start reads the pending deliveries (as many as the dispatcher holds; the
// others as room frees up) and starts delivering.
func (e *Engine) Start(ctx context.Context) error {
	e.stopping.Store(false)
	if err := e.upgrade(ctx); err != nil {
		return err
	}
	if err := e.fill(ctx); err != nil {
		return err
	}

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
	e.stopping.Store(true)
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

// Writer writes the deliveries of one write into its transaction; Close
// writes their payloads, and Committed queues them once the transaction has
// committed.
type Writer struct {
	e        *Engine
	tx       store.Tx
	items    []item
	payloads []*payload
	shared   *payload // the data every hook of the write receives
}

// payload is one event's data on its way to PayloadTable.
type payload struct {
	id         string
	raw        json.RawMessage
	data       map[string]any
	deliveries []string
}

// NewWriter starts the deliveries of one write, in tx.
func (e *Engine) NewWriter(tx store.Tx) *Writer { return &Writer{e: e, tx: tx} }

// Len is the number of deliveries written.
func (w *Writer) Len() int { return len(w.items) }

// Add writes a delivery of ev to hook. shared says that ev.Data is the data
// every delivery of this writer that says so shares: it is encoded and
// stored once. snapshot, for pings, is the hook row the delivery must use if
// the hook is gone by then.
func (w *Writer) Add(hookID, handlerName string, ev handler.Event, shared bool, snapshot map[string]any) error {
	now := w.e.now()
	p := w.shared
	if !shared || p == nil {
		raw, err := jsonrow.Marshal(ev.Data) // json.Marshal's bytes, without reflection
		if err != nil {
			return fmt.Errorf("encoding the event for event hook %s: %w", hookID, err)
		}
		p = &payload{id: w.e.newID(), raw: raw, data: ev.Data}
		w.payloads = append(w.payloads, p)
		if shared {
			w.shared = p
		}
	}
	d := newDelivery{id: w.e.newID(), hookID: hookID, handler: handlerName, source: ev.Source, event: ev.Name,
		payload: p.id, at: unixMS(now), snapshot: snapshot}
	data, err := d.encode(make([]byte, 0, d.size()))
	if err != nil {
		return fmt.Errorf("writing delivery for event hook %s: %w", hookID, err)
	}
	if err := w.tx.InsertEncoded(Table, store.EncodedRow{ID: d.id, JSON: data, Fields: &d}); err != nil {
		return fmt.Errorf("writing delivery for event hook %s: %w", hookID, err)
	}
	p.deliveries = append(p.deliveries, d.id)
	// The first attempt needs no read of the record: it goes with the item.
	w.items = append(w.items, item{id: d.id, hook: hookID, due: now, born: now, meta: d.meta(), data: p.data, size: len(p.raw)})
	return nil
}

// Close writes the payloads of the deliveries added, in the transaction.
func (w *Writer) Close() error {
	now := w.e.now()
	for _, p := range w.payloads {
		row := store.EncodedRow{ID: p.id, JSON: encodePayload(p, now), Fields: noFields{}}
		if err := w.tx.InsertEncoded(PayloadTable, row); err != nil {
			return fmt.Errorf("writing an event's payload: %w", err)
		}
	}
	return nil
}

// Committed queues the deliveries written, once their transaction has
// committed. Their data stays in memory for the first attempt within the
// byte budget; beyond it, the attempt reads it back from the store.
func (w *Writer) Committed() {
	if len(w.items) == 0 {
		return
	}
	for i := range w.items {
		it := &w.items[i]
		if w.e.held.Add(int64(it.size)) > w.e.opts.PayloadBudget {
			w.e.held.Add(-int64(it.size))
			it.data, it.size = nil, 0
		}
	}
	w.e.metrics.enqueued.Add(float64(len(w.items)))
	w.e.disp.push(w.items...)
}

// upgradeJob marks the stores whose delivery records have their order time
// and sorted index entries.
const upgradeJob = "event_hook_deliveries.sorted.v1"

// upgrade gives the delivery records of an earlier version their order
// time, and so their sorted index entries, once per store. Delivery ids are
// time-ordered (UUIDv7), so the records of earlier versions come first in
// id order: the first record that has its order time ends the job.
func (e *Engine) upgrade(ctx context.Context) error {
	var done bool
	if err := e.store.View(ctx, func(tx store.Tx) error {
		var err error
		done, err = tx.Marked(upgradeJob)
		return err
	}); err != nil || done {
		return err
	}
	q := store.PageQuery{Size: 200}
	for {
		var next string
		err := e.store.Update(ctx, func(tx store.Tx) error {
			page, err := tx.Page(Table, q)
			if err != nil {
				return err
			}
			next = page.Offset
			for _, row := range page.Rows {
				r := record(row)
				if _, ok := r["t"]; ok {
					next = "" // written by this version, as is every later one
					break
				}
				r["t"] = r.orderTime()
				if err := tx.Update(Table, row); err != nil {
					return err
				}
			}
			if next == "" {
				return tx.Mark(upgradeJob)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("indexing delivery records: %w", err)
		}
		if next == "" {
			return nil
		}
		q.Offset = next
	}
}

// payloadCacheSize is how many decoded payloads attempts keep at hand.
const payloadCacheSize = 4096

// fillPage is how many pending deliveries one read of the queue index
// takes.
const fillPage = 1000

// loadHorizon bounds how far ahead pending deliveries are held in memory:
// one due later (a retry hours away) waits in the store, and is read in
// when its time nears. So deliveries far off never take the room of those
// due now.
const loadHorizon = time.Minute

// fill reads pending deliveries from the store, in due order through the
// queue index, into the dispatcher while it has room: those due within the
// load horizon, from where the last fill stopped. Deliveries it already
// holds are skipped by id, from the index alone. When the queue has been
// read up to the horizon, the next fill starts over (deliveries written
// while the dispatcher was full may be behind the cursor), and the first
// delivery beyond the horizon says when to read again.
func (e *Engine) fill(ctx context.Context) error {
	e.disp.overflowed.Store(false)
	e.evicted.Store(0) // what the store holds now, this fill sees
	horizon := unixMS(e.now().Add(loadHorizon))
	for {
		room := e.disp.room()
		if room == 0 {
			e.disp.overflowed.Store(true)
			return nil
		}
		var items []item
		var next string
		consumed := true
		err := e.store.View(ctx, func(tx store.Tx) error {
			page, err := tx.Range(Table, store.RangeQuery{Index: indexQueue, Equal: []any{StatusPending},
				Below: horizon, Size: fillPage, Offset: e.cursor, IDsOnly: true})
			if err != nil {
				return err
			}
			next = page.Offset
			for _, row := range page.Rows {
				id := row["id"].(string)
				if e.disp.holds(id) {
					continue
				}
				if len(items) == room {
					// The rest waits for the next fill, which reads this
					// page again (what is held by then is skipped).
					consumed = false
					break
				}
				full, err := tx.Get(Table, id)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					return err
				}
				items = append(items, record(full).item())
			}
			if consumed && next == "" {
				return e.probeLater(tx, horizon)
			}
			return nil
		})
		if err != nil {
			e.disp.overflowed.Store(true)
			return fmt.Errorf("reading pending deliveries: %w", err)
		}
		e.disp.push(items...)
		if !consumed {
			e.disp.overflowed.Store(true)
			return nil
		}
		e.cursor = next
		if next == "" {
			return nil
		}
	}
}

// probeLater records when the first pending delivery beyond the horizon
// comes due.
func (e *Engine) probeLater(tx store.Tx, horizon float64) error {
	page, err := tx.Range(Table, store.RangeQuery{Index: indexQueue, Equal: []any{StatusPending},
		From: horizon, Size: 1})
	if err != nil {
		return err
	}
	if len(page.Rows) == 0 {
		e.later.Store(0)
		return nil
	}
	e.later.Store(fromUnix(record(page.Rows[0]).orderTime()).UnixNano())
	return nil
}

// evict notes a delivery sent back to the store, due at due.
func (e *Engine) evict(due time.Time) {
	ns := due.UnixNano()
	for {
		cur := e.evicted.Load()
		if cur != 0 && cur <= ns || e.evicted.CompareAndSwap(cur, ns) {
			return
		}
	}
}

// refillInterval is how often the engine checks whether deliveries left in
// the store can be read in: after the dispatcher was full, or as those
// beyond the load horizon come near.
const refillInterval = 100 * time.Millisecond

// refill reads pending deliveries in from the store when the dispatcher,
// after overflowing, has room again, and when deliveries left for later
// come within half the load horizon.
func (e *Engine) refill(ctx context.Context) {
	tick := time.NewTicker(refillInterval)
	defer tick.Stop()
	near := func(ns int64) bool {
		return ns != 0 && !e.now().Add(loadHorizon/2).Before(time.Unix(0, ns))
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		room := e.disp.overflowed.Load() && e.disp.roomFor()
		if !room && !near(e.later.Load()) && !near(e.evicted.Load()) {
			continue
		}
		if err := e.fill(ctx); err != nil && ctx.Err() == nil {
			e.log.Errorf("event hooks: reading pending deliveries: %v", err)
		}
	}
}

// ErrNotFound is returned for an unknown delivery.
var ErrNotFound = errors.New("delivery not found")

// payloadCache keeps the data of the last payloads read, decoded: the
// deliveries of one event to several hooks are attempted close together,
// and decode it once. It is bounded by count; entries are read-only.
type payloadCache struct {
	mu    sync.Mutex
	max   int
	data  map[string]map[string]any
	order []string // insertion order, for eviction
}

func newPayloadCache(max int) *payloadCache {
	return &payloadCache{max: max, data: make(map[string]map[string]any, max)}
}

func (c *payloadCache) get(id string) (map[string]any, bool) {
	c.mu.Lock()
	d, ok := c.data[id]
	c.mu.Unlock()
	return d, ok
}

func (c *payloadCache) put(id string, d map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.data[id]; ok {
		return
	}
	if len(c.order) >= c.max {
		delete(c.data, c.order[0])
		c.order[0] = ""
		c.order = c.order[1:]
	}
	c.data[id] = d
	c.order = append(c.order, id)
}

// attemptData returns the event data of an attempt: held by m, in the
// cache, or read from its payload.
func (e *Engine) attemptData(m *meta) (map[string]any, error) {
	if m.data != nil || m.payload == "" {
		return m.data, nil
	}
	if d, ok := e.payloads.get(m.payload); ok {
		return d, nil
	}
	var d map[string]any
	err := e.store.View(context.Background(), func(tx store.Tx) error {
		row, err := tx.Get(PayloadTable, m.payload)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		d, _ = row["data"].(map[string]any)
		return nil
	})
	if err == nil && d != nil {
		e.payloads.put(m.payload, d)
	}
	return d, err
}

// payloadData reads the event data of r: from its payload row, or the
// record itself for records written before payloads had rows of their own.
func payloadData(tx store.Tx, r record) (map[string]any, error) {
	if data, ok := r["data"].(map[string]any); ok {
		return data, nil
	}
	id := r.str("payload")
	if id == "" {
		return nil, nil
	}
	row, err := tx.Get(PayloadTable, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	data, _ := row["data"].(map[string]any)
	return data, nil
}

// List returns one page of a hook's delivery records as the Admin API shows
// them, oldest first, optionally only those of one status.
func (e *Engine) List(ctx context.Context, hookID, status string, size int, offset string) ([]map[string]any, string, error) {
	q := store.PageQuery{Size: size, Offset: offset,
		Foreign: &store.ForeignFilter{Field: "event_hook", ID: hookID}}
	if status != "" {
		q.Equal = map[string]any{"status": status}
	}
	var out []map[string]any
	var next string
	err := e.store.View(ctx, func(tx store.Tx) error {
		page, err := tx.Page(Table, q)
		if err != nil {
			return err
		}
		next = page.Offset
		out = make([]map[string]any, len(page.Rows))
		for i, row := range page.Rows {
			data, err := payloadData(tx, record(row))
			if err != nil {
				return err
			}
			out[i] = record(row).view(data)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
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
		data, err := payloadData(tx, record(row))
		if err != nil {
			return err
		}
		queued, view = []item{it}, record(row).view(data)
		return nil
	})
	if err != nil {
		return nil, err
	}
	e.disp.hurry(queued...)
	return view, nil
}

// Redrive queues every delivery of the hook with this status (failed, by
// default) for a new run of attempts, and returns how many. It pages
// through the hook's records by their index on the hook, a page per
// transaction; redriving a record does not move it in that index, so the
// pages go on from where the last one ended.
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
			next = page.Offset
			for _, row := range page.Rows {
				queued = append(queued, e.redrive(record(row)))
				if err := tx.Update(Table, row); err != nil {
					return err
				}
			}
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
		q.Offset = next
	}
}

// redrive makes a record pending again with a fresh attempt budget.
func (e *Engine) redrive(r record) item {
	now := e.now()
	r["run"] = r.num("run") + 1
	r["retry_from"] = float64(len(r.attempts()))
	r["since"] = unixMS(now)
	r.setStatus(StatusPending, now, now)
	return r.item()
}
