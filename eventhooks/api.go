package eventhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
)

// Errors the Admin API renders.
var (
	ErrDeliveryNotFound = delivery.ErrNotFound
	ErrNoPing           = errors.New("handler does not support ping")
)

// The statuses of a delivery record, as the Admin API shows and filters
// them.
const (
	StatusPending   = delivery.StatusPending
	StatusDelivered = delivery.StatusDelivered
	StatusFailed    = delivery.StatusFailed
)

// noPingError is Kong's answer to a ping of a hook whose handler has none.
type noPingError struct{ handler string }

func (e *noPingError) Error() string { return "handler '" + e.handler + "' does not support 'ping'" }

func (e *noPingError) Is(target error) bool { return target == ErrNoPing }

// TestResult is POST /event-hooks/{id}/test's answer: the data delivered
// (with event and source) and, for handlers that make a request, what the
// receiver answered.
type TestResult struct {
	Data   map[string]any
	Result *handler.Result
}

// Test delivers data to the hook now, bypassing the queue, snooze and
// on_change, as Kong's /test does.
func (s *Service) Test(ctx context.Context, hookID string, data map[string]any) (TestResult, error) {
	hook, _, err := s.hook(ctx, hookID)
	if err != nil {
		return TestResult{}, err
	}
	h := s.handlers[hook.Handler]
	if h == nil {
		return TestResult{}, fmt.Errorf("handler %q is not available", hook.Handler)
	}
	ev := handler.Event{Source: hook.Source, Name: hook.Event, Data: data}
	res, derr := h.Deliver(ctx, handler.Delivery{ID: s.engine.NewID(), Attempt: 1, Hook: hook, Event: ev})
	shown := make(map[string]any, len(data)+2)
	for k, v := range data {
		shown[k] = v
	}
	shown["event"], shown["source"] = ev.Name, ev.Source
	out := TestResult{Data: shown}
	if res.Status != 0 || res.Body != "" {
		out.Result = &res // a receiver's answer, or a lambda's final value
	}
	var se *handler.StatusError
	if derr != nil && !errors.As(derr, &se) {
		return out, derr
	}
	return out, nil
}

// Ping sends the hook's ping now (GET /event-hooks/{id}/ping).
func (s *Service) Ping(ctx context.Context, hookID string) error {
	hook, _, err := s.hook(ctx, hookID)
	if err != nil {
		return err
	}
	p, ok := s.handlers[hook.Handler].(handler.Pinger)
	if !ok || !p.Pings() {
		return &noPingError{handler: hook.Handler}
	}
	ev := handler.Event{Source: SourcePing, Name: EventPing, Data: map[string]any{"event_hooks": hook.Entity}}
	_, err = p.Deliver(ctx, handler.Delivery{ID: s.engine.NewID(), Attempt: 1, Hook: hook, Event: ev})
	return err
}

// Deliveries returns one page of a hook's delivery records, oldest first,
// optionally only those of one status.
func (s *Service) Deliveries(ctx context.Context, hookID, status string, size int, offset string) ([]map[string]any, string, error) {
	return s.engine.List(ctx, hookID, status, size, offset)
}

// Retry queues one finished or pending delivery of the hook for a new run
// of attempts now.
func (s *Service) Retry(ctx context.Context, hookID, deliveryID string) (map[string]any, error) {
	return s.engine.Retry(ctx, hookID, deliveryID)
}

// Redrive queues every delivery of the hook with this status (failed, by
// default) for a new run of attempts, and returns how many.
func (s *Service) Redrive(ctx context.Context, hookID, status string) (int, error) {
	return s.engine.Redrive(ctx, hookID, status)
}
