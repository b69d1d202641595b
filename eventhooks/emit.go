package eventhooks

import (
	"context"
	"fmt"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/store"
)

// Kong's balancer source: target health transitions from the proxy's
// health checks.
const (
	SourceBalancer = "balancer"
	EventHealth    = "health"
)

// balancerFields are the fields of a balancer health event.
var balancerFields = []string{"upstream_id", "ip", "port", "hostname", "health"}

// Emit delivers an event of a source other than the DAO's (the proxy's
// balancer): one delivery per matching hook, written durably in one
// transaction and queued once it commits. An event no hook wants writes
// nothing.
func (s *Service) Emit(ctx context.Context, source, event string, data map[string]any) error {
	if _, ok := s.sources.Event(source, event); !ok {
		return fmt.Errorf("event hooks: %s:%s is not a published event", source, event)
	}
	snap := s.snap.Load()
	var matched []*hookEntry
	var names []string
	snap.match(source, event, func(h *hookEntry, name string) {
		matched = append(matched, h)
		names = append(names, name)
	})
	if len(matched) == 0 {
		return nil
	}
	var o *outboxWrite
	err := s.db.Store().Update(ctx, func(tx store.Tx) error {
		o = &outboxWrite{s: s, tx: tx, w: s.engine.NewWriter(tx)}
		for i, h := range matched {
			o.add(h, handler.Event{Source: source, Name: names[i], Data: data}, nil)
		}
		if o.err != nil {
			return o.err
		}
		return o.w.Close()
	})
	if err != nil {
		return fmt.Errorf("event hooks: recording %s:%s: %w", source, event, err)
	}
	o.committed()
	return nil
}

// Wants reports whether a hook listens to source's event (on every event of
// the source or on this one), so that an emitter on the request's path
// builds the event's data only when it will be delivered. It reads the
// hooks snapshot and allocates nothing.
func (s *Service) Wants(source, event string) bool {
	events := s.snap.Load().bySource[source]
	return len(events[""]) > 0 || len(events[event]) > 0
}
