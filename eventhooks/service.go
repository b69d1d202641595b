package eventhooks

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/events"
	"github.com/portico-gw/portico/schema"
)

// Logger is what the pipeline logs through (the node's error log).
type Logger = delivery.Logger

// Options configure the event hooks service.
type Options struct {
	DB       *db.DB
	Bus      *events.Bus
	Sources  *Sources
	Handlers map[string]handler.Handler
	Policy   delivery.Policy
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

// Service is the event hooks pipeline of one node: what the Admin API and
// the node see. The hooks, their matching and filters live here; the
// delivery engine (eventhooks/delivery) owns the outbox rows, the queue, the
// attempts and the records; the handlers (eventhooks/handler) deliver.
type Service struct {
	db       *db.DB
	hooks    *schema.Entity
	sources  *Sources
	handlers map[string]handler.Handler
	log      Logger
	now      func() time.Time
	bus      *events.Bus

	snap    atomic.Pointer[snapshot]
	txSnap  atomic.Pointer[snapshot] // read by a write at another generation
	reloads sync.Mutex               // one reload at a time, so the last one wins
	filters *filters
	engine  *delivery.Engine
	unsub   func()
}

// New builds the service and registers its write hook on the DB: from now
// on every write owes its deliveries. Call Start to deliver them.
func New(opts Options) *Service {
	if opts.Sources == nil {
		opts.Sources = NewSources()
	}
	s := &Service{
		db: opts.DB, hooks: opts.DB.Entity(hooksEntity), sources: opts.Sources,
		handlers: opts.Handlers, log: opts.Log, now: opts.Now, bus: opts.Bus,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = nopLogger{}
	}
	s.snap.Store(newSnapshot(s.hooks, nil))
	s.filters = newFilters(s.now)
	s.engine = delivery.New(delivery.Config{
		Store: opts.DB.Store(), Handlers: opts.Handlers, Resolve: s.liveHook, Policy: opts.Policy,
		Workers: opts.Workers, MaxInFlight: opts.MaxInFlight, AttemptTimeout: opts.AttemptTimeout,
		Retention: opts.Retention, QueueCapacity: opts.QueueCapacity, Metrics: opts.Metrics,
		Log: opts.Log, Now: s.now, NewID: opts.NewID, Rand: opts.Rand,
	})
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
	if s.bus != nil {
		s.unsub = s.bus.Subscribe(db.SourceCRUD, func(ev events.Event) {
			if ev.Name == hooksEntity {
				if err := s.reload(context.Background()); err != nil {
					s.log.Errorf("event hooks: reloading hooks: %v", err)
				}
			}
		})
	}
	return s.engine.Start(ctx)
}

// Stop stops taking deliveries, lets the attempts in flight finish (each
// bounded by its timeout) and records their outcomes. Pending deliveries
// stay in the store for the next start.
func (s *Service) Stop() {
	if s.unsub != nil {
		s.unsub()
		s.unsub = nil
	}
	s.engine.Stop()
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

// liveHook is the hook a delivery goes to: for a ping, the hook as the
// write that pinged left it (even if since deleted); for an event, the
// hook as configured now.
func (s *Service) liveHook(hookID string, snapshot map[string]any) (handler.Hook, bool) {
	if snapshot != nil && s.hooks != nil {
		return hookFromRow(s.hooks, snapshot), true
	}
	snap := s.snap.Load()
	if h, ok := snap.byID[hookID]; ok {
		return h.Hook, true
	}
	// A write may have matched a hook the reload has not brought yet.
	if ts := s.txSnap.Load(); ts != nil && ts.gen > snap.gen {
		if h, ok := ts.byID[hookID]; ok {
			return h.Hook, true
		}
	}
	return handler.Hook{}, false
}

// ErrHookNotFound is returned for an unknown event hook id.
var ErrHookNotFound = errors.New("event hook not found")

// hook reads a hook from the store.
func (s *Service) hook(ctx context.Context, id string) (handler.Hook, map[string]any, error) {
	if s.hooks == nil {
		return handler.Hook{}, nil, ErrHookNotFound
	}
	row, err := s.db.Select(ctx, s.hooks, id, nil)
	if err != nil {
		return handler.Hook{}, nil, err
	}
	if row == nil {
		return handler.Hook{}, nil, ErrHookNotFound
	}
	return hookFromRow(s.hooks, row), row, nil
}
