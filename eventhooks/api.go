package eventhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/store"
)

// Errors the Admin API renders.
var (
	ErrDeliveryNotFound = errors.New("delivery not found")
	ErrNoPing           = errors.New("handler does not support ping")
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
	Result *Result
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
	ev := Event{Source: hook.Source, Name: hook.Event, Data: data}
	res, derr := h.Deliver(ctx, Delivery{ID: s.newID(), Attempt: 1, Hook: hook, Event: ev})
	shown := make(map[string]any, len(data)+2)
	for k, v := range data {
		shown[k] = v
	}
	shown["event"], shown["source"] = ev.Name, ev.Source
	out := TestResult{Data: shown}
	if res.Status != 0 || res.Body != "" {
		out.Result = &res // a receiver's answer, or a lambda's final value
	}
	var se *StatusError
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
	p, ok := s.handlers[hook.Handler].(Pinger)
	if !ok || !p.Pings() {
		return &noPingError{handler: hook.Handler}
	}
	ev := Event{Source: SourcePing, Name: EventPing, Data: map[string]any{"event_hooks": hook.Entity}}
	_, err = p.Deliver(ctx, Delivery{ID: s.newID(), Attempt: 1, Hook: hook, Event: ev})
	return err
}

// Deliveries returns one page of a hook's delivery records, oldest first,
// optionally only those of one status.
func (s *Service) Deliveries(ctx context.Context, hookID, status string, size int, offset string) ([]map[string]any, string, error) {
	q := store.PageQuery{Size: size, Offset: offset,
		Foreign: &store.ForeignFilter{Field: "event_hook", ID: hookID}}
	if status != "" {
		q.Equal = map[string]any{"status": status}
	}
	page, err := s.page(ctx, q)
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
func (s *Service) Retry(ctx context.Context, hookID, deliveryID string) (map[string]any, error) {
	var view map[string]any
	var queued []item
	err := s.db.Store().Update(ctx, func(tx store.Tx) error {
		row, err := tx.Get(DeliveriesTable, deliveryID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && record(row).hookID() != hookID) {
			return ErrDeliveryNotFound
		}
		if err != nil {
			return err
		}
		it := s.redrive(record(row))
		if err := tx.Update(DeliveriesTable, row); err != nil {
			return err
		}
		queued, view = []item{it}, record(row).view()
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.disp.hurry(queued...)
	return view, nil
}

// Redrive queues every delivery of the hook with this status (failed, by
// default) for a new run of attempts, and returns how many.
func (s *Service) Redrive(ctx context.Context, hookID, status string) (int, error) {
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
		err := s.db.Store().Update(ctx, func(tx store.Tx) error {
			queued = queued[:0]
			page, err := tx.Page(DeliveriesTable, q)
			if err != nil {
				return err
			}
			for _, row := range page.Rows {
				queued = append(queued, s.redrive(record(row)))
				if err := tx.Update(DeliveriesTable, row); err != nil {
					return err
				}
			}
			next = page.Offset
			return nil
		})
		if err != nil {
			return total, err
		}
		s.disp.hurry(queued...)
		total += len(queued)
		if next == "" {
			return total, nil
		}
		// Redriven rows left the status filter: the next page starts over.
		q.Offset = ""
	}
}

// redrive makes a record pending again with a fresh attempt budget.
func (s *Service) redrive(r record) item {
	now := s.now()
	r["status"] = StatusPending
	r["run"] = r.num("run") + 1
	r["retry_from"] = float64(len(r.attempts()))
	r["since"] = unixMS(now)
	r["next_attempt_at"] = unixMS(now)
	r["updated_at"] = unixMS(now)
	return item{id: r.str("id"), hook: r.hookID(), due: now, born: fromUnix(r.num("created_at"))}
}
