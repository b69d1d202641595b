package eventhooks

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Logger is what the pipeline logs through (the node's error log).
type Logger interface {
	Errorf(format string, args ...any)
	Warnf(format string, args ...any)
}

// Options configure the event hooks service.
type Options struct {
	DB       *db.DB
	Bus      *events.Bus
	Sources  *Sources
	Handlers map[string]Handler
	Policy   Policy
	// Workers is the size of the delivery pool (default 16).
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
	// Metrics receives the pipeline's series; nil registers none.
	Metrics prometheus.Registerer
	Log     Logger
	// Now and NewID override the clock and the delivery ids (tests).
	Now   func() time.Time
	NewID func() string
	// Rand draws the jitter: a number in [0, n).
	Rand func(n int64) int64
}

// Service is the event hooks pipeline of one node.
type Service struct {
	db       *db.DB
	hooks    *schema.Entity
	sources  *Sources
	handlers map[string]Handler
	policy   Policy
	opts     Options
	log      Logger
	now      func() time.Time
	newID    func() string
	rnd      func(int64) int64

	snap    atomic.Pointer[snapshot]
	reloads sync.Mutex // one reload at a time, so the last one wins
	filters *filters
	disp    *dispatcher
	metrics *metrics
	outcome chan outcome

	stop     context.CancelFunc
	running  sync.WaitGroup // dispatcher, trimmer
	workers  sync.WaitGroup
	recorded chan struct{}
	unsub    func()
}

// New builds the service and registers its write hook on the DB: from now
// on every write owes its deliveries. Call Start to deliver them.
func New(opts Options) *Service {
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = 4
	}
	if opts.AttemptTimeout <= 0 {
		opts.AttemptTimeout = 30 * time.Second
	}
	if opts.Retention <= 0 {
		opts.Retention = 72 * time.Hour
	}
	if opts.QueueCapacity <= 0 {
		opts.QueueCapacity = 100_000
	}
	if opts.Policy.MaxAttempts == 0 {
		opts.Policy = DefaultPolicy()
	}
	if opts.Sources == nil {
		opts.Sources = NewSources()
	}
	s := &Service{
		db: opts.DB, hooks: opts.DB.Entity(hooksEntity), sources: opts.Sources,
		handlers: opts.Handlers, policy: opts.Policy, opts: opts, log: opts.Log,
		now: opts.Now, newID: opts.NewID, rnd: opts.Rand,
		outcome: make(chan outcome, maxBatch),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.newID == nil {
		// Time-ordered ids list a hook's deliveries in the order they happened.
		s.newID = func() string { return uuid.Must(uuid.NewV7()).String() }
	}
	if s.rnd == nil {
		s.rnd = defaultRand
	}
	if s.log == nil {
		s.log = nopLogger{}
	}
	s.snap.Store(newSnapshot(s.hooks, nil))
	s.filters = newFilters(s.now)
	s.disp = newDispatcher(s.now, opts.Workers, opts.MaxInFlight, opts.QueueCapacity)
	s.metrics = newMetrics(opts.Metrics, s.disp)
	s.sources.PublishCRUD(opts.DB.Registry())
	s.sources.Publish(SourceBalancer, EventHealth, EventInfo{Fields: balancerFields})
	opts.DB.AddTxHook(s.outbox)
	return s
}

type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}

// Sources is the registry of published sources.
func (s *Service) Sources() *Sources { return s.sources }

// Start loads the hooks and the pending deliveries and starts delivering.
func (s *Service) Start(ctx context.Context) error {
	if err := s.reload(ctx); err != nil {
		return err
	}
	if s.opts.Bus != nil {
		s.unsub = s.opts.Bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
			if ev.Name == hooksEntity {
				if err := s.reload(context.Background()); err != nil {
					s.log.Errorf("event hooks: reloading hooks: %v", err)
				}
			}
		})
	}
	pending, err := s.pending(ctx)
	if err != nil {
		return err
	}
	s.disp.push(pending...)

	runCtx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	s.recorded = make(chan struct{})
	go func() { defer close(s.recorded); s.record() }()
	for i := 0; i < s.opts.Workers; i++ {
		s.workers.Add(1)
		go func() { defer s.workers.Done(); s.work() }()
	}
	s.running.Add(3)
	go func() { defer s.running.Done(); s.disp.run(runCtx) }()
	go func() { defer s.running.Done(); s.trim(runCtx) }()
	go func() { defer s.running.Done(); s.refill(runCtx) }()
	return nil
}

// Stop stops taking deliveries, lets the attempts in flight finish (each
// bounded by its timeout) and records their outcomes. Pending deliveries
// stay in the store for the next start.
func (s *Service) Stop() {
	if s.stop == nil {
		return
	}
	if s.unsub != nil {
		s.unsub()
	}
	s.stop()
	s.running.Wait()
	close(s.disp.work)
	s.workers.Wait()
	close(s.outcome)
	<-s.recorded
	s.stop = nil
}

// reload swaps in a fresh snapshot of the hooks. Reloads run one at a time:
// each starts after the commit that triggered it, so the last to finish
// sees every hook written before it.
func (s *Service) reload(ctx context.Context) error {
	s.reloads.Lock()
	defer s.reloads.Unlock()
	snap, err := loadSnapshot(ctx, s.db)
	if err != nil {
		return err
	}
	s.snap.Store(snap)
	return nil
}

// pending reads every pending delivery from the store (at start).
func (s *Service) pending(ctx context.Context) ([]item, error) {
	var items []item
	q := store.PageQuery{Size: 1000, Equal: map[string]any{"status": StatusPending}}
	for {
		page, err := s.page(ctx, q)
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

// refillInterval is how often the service checks whether deliveries that
// overflowed the dispatcher can be read back from the store.
const refillInterval = time.Second

// refill reads pending deliveries back from the store once the dispatcher,
// after overflowing, has room again. Deliveries already held are ignored by
// push, so reading them all again is safe.
func (s *Service) refill(ctx context.Context) {
	tick := time.NewTicker(refillInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !s.disp.overflowed.Load() || !s.disp.roomFor() {
			continue
		}
		s.disp.overflowed.Store(false)
		pending, err := s.pending(ctx)
		if err != nil {
			s.disp.overflowed.Store(true)
			if ctx.Err() == nil {
				s.log.Errorf("event hooks: reading overflowed deliveries back: %v", err)
			}
			continue
		}
		s.disp.push(pending...)
	}
}

// page reads one page of delivery records.
func (s *Service) page(ctx context.Context, q store.PageQuery) (store.Page, error) {
	var page store.Page
	err := s.db.Store().View(ctx, func(tx store.Tx) error {
		var err error
		page, err = tx.Page(DeliveriesTable, q)
		return err
	})
	return page, err
}

// ErrHookNotFound is returned for an unknown event hook id.
var ErrHookNotFound = errors.New("event hook not found")

// hook reads a hook from the store.
func (s *Service) hook(ctx context.Context, id string) (Hook, map[string]any, error) {
	if s.hooks == nil {
		return Hook{}, nil, ErrHookNotFound
	}
	row, err := s.db.Select(ctx, s.hooks, id, nil)
	if err != nil {
		return Hook{}, nil, err
	}
	if row == nil {
		return Hook{}, nil, ErrHookNotFound
	}
	return hookFromRow(s.hooks, row), row, nil
}
