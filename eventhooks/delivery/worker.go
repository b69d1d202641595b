package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/store"
)

// outcome is the result of one attempt, on its way to the record.
type outcome struct {
	it      item
	hook    string // handler, for the latency histogram
	attempt Attempt
	verdict verdict
	// run is the record's run number when the attempt began: a different
	// number at record time means the delivery was retried by hand
	// meanwhile, and that run must still happen.
	run float64
}

// maxRecordedResponse caps the answer body kept in a delivery record.
const maxRecordedResponse = 1024

// attempt makes one attempt at a delivery. It does not use the service's
// lifetime context: an attempt under way when the node stops finishes
// (within its timeout) and is recorded.
func (s *Engine) attempt(it item) {
	rec := it.rec
	var err error
	if rec == nil {
		err = s.store.View(context.Background(), func(tx store.Tx) error {
			row, err := tx.Get(Table, it.id)
			rec = record(row)
			return err
		})
	}
	if err != nil || rec.str("status") != StatusPending {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Errorf("event hooks: reading delivery %s: %v", it.id, err)
		}
		s.disp.finish(it)
		return
	}
	now := s.now()
	made := len(rec.attempts()) - int(rec.num("retry_from")) + 1
	hook, ok := s.liveHook(rec)
	var res handler.Result
	var derr error
	start := time.Now()
	h := s.handlers[hook.Handler]
	switch {
	case !ok:
		derr = errHookDeleted
	case h == nil:
		derr = fmt.Errorf("handler %q is not available", hook.Handler)
	default:
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.AttemptTimeout)
		res, derr = h.Deliver(ctx, handler.Delivery{ID: it.id, Attempt: made, Hook: hook, Event: rec.event()})
		cancel()
	}
	took := time.Since(start)
	v := s.policy.decide(derr, res, made, fromUnix(rec.num("since")), now, s.rnd)
	if errors.Is(derr, errHookDeleted) {
		v = verdict{status: StatusFailed}
	}
	a := Attempt{At: unixMS(now), StatusCode: res.Status, DurationMS: float64(took.Microseconds()) / 1000}
	if derr != nil {
		a.Error = derr.Error()
		if v.reason != "" {
			a.Error += "; " + v.reason
		}
	}
	if len(res.Body) > maxRecordedResponse {
		a.Response = res.Body[:maxRecordedResponse]
	} else {
		a.Response = res.Body
	}
	s.metrics.latency.WithLabelValues(hook.Handler).Observe(took.Seconds())
	s.outcome <- outcome{it: it, hook: hook.Handler, attempt: a, verdict: v, run: rec.num("run")}
}

var errHookDeleted = errors.New("event hook deleted")

// liveHook is the hook a delivery goes to: for a ping, the hook as the
// write that pinged left it (even if since deleted); for an event, the
// hook as configured now.
func (s *Engine) liveHook(rec record) (handler.Hook, bool) {
	snapshot, _ := rec["hook"].(map[string]any)
	return s.resolve(rec.hookID(), snapshot)
}

// maxBatch bounds how many outcomes one record transaction writes.
const maxBatch = 1024

// record writes outcomes to the store in batches (one transaction, one
// sync, for every outcome that arrived while the previous batch was being
// written), then tells the dispatcher.
func (s *Engine) record() {
	batch := make([]outcome, 0, maxBatch)
	for o := range s.outcome {
		batch = append(batch[:0], o)
	drain:
		for len(batch) < maxBatch {
			select {
			case o, ok := <-s.outcome:
				if !ok {
					break drain
				}
				batch = append(batch, o)
			default:
				break drain
			}
		}
		s.flush(batch)
	}
}

func (s *Engine) flush(batch []outcome) {
	now := s.now()
	var err error
	for try := 0; try < 3; try++ {
		err = s.store.Update(context.Background(), func(tx store.Tx) error {
			for i, o := range batch {
				row, err := tx.Get(Table, o.it.id)
				if errors.Is(err, store.ErrNotFound) {
					continue // trimmed meanwhile
				}
				if err != nil {
					return err
				}
				rec := record(row)
				rerun := o.verdict.status != StatusDelivered && rec.num("run") != o.run
				if rerun {
					// Retried by hand during the attempt: run again now.
					batch[i].verdict = verdict{status: StatusPending}
					o = batch[i]
				}
				rec["attempts"] = append(rec.attempts(), attemptRow(o.attempt))
				if rerun {
					// That attempt was the old run's: the new run gets its whole budget.
					rec["retry_from"] = float64(len(rec.attempts()))
				}
				rec["status"] = o.verdict.status
				rec["updated_at"] = unixMS(now)
				if o.verdict.status == StatusPending {
					rec["next_attempt_at"] = unixMS(now.Add(o.verdict.delay))
				}
				if err := tx.Update(Table, row); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			break
		}
	}
	if err != nil {
		// The deliveries stay pending in the store: the next start retries
		// them. Receivers dedupe by webhook-id.
		s.log.Errorf("event hooks: recording %d delivery outcomes: %v", len(batch), err)
	}
	for _, o := range batch {
		switch o.verdict.status {
		case StatusPending:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeRetried).Inc()
			s.disp.again(o.it, now.Add(o.verdict.delay))
		case StatusDelivered:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeDelivered).Inc()
			s.disp.finish(o.it)
		default:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeFailed).Inc()
			s.disp.fail(o.it)
		}
	}
}

func attemptRow(a Attempt) map[string]any {
	m := map[string]any{"at": a.At, "status_code": a.StatusCode, "duration_ms": a.DurationMS}
	if a.Error != "" {
		m["error"] = a.Error
	}
	if a.Response != "" {
		m["response"] = a.Response
	}
	return m
}

// trimInterval is how often finished records are trimmed.
const trimInterval = 10 * time.Minute

// trim deletes finished delivery records older than the retention, now and
// then, until ctx is done.
func (s *Engine) trim(ctx context.Context) {
	for {
		if err := s.trimOnce(ctx); err != nil && ctx.Err() == nil {
			s.log.Errorf("event hooks: trimming delivery records: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(trimInterval):
		}
	}
}

// trimOnce deletes the finished records older than the retention, a page
// per transaction.
func (s *Engine) trimOnce(ctx context.Context) error {
	cutoff := unixMS(s.now().Add(-s.opts.Retention))
	q := store.PageQuery{Size: 500}
	for {
		var next string
		err := s.store.Update(ctx, func(tx store.Tx) error {
			page, err := tx.Page(Table, q)
			if err != nil {
				return err
			}
			for _, row := range page.Rows {
				r := record(row)
				if r.str("status") != StatusPending && r.num("updated_at") < cutoff {
					if err := tx.Delete(Table, r.str("id")); err != nil {
						return err
					}
				}
			}
			next = page.Offset
			return nil
		})
		if err != nil {
			return err
		}
		if next == "" || ctx.Err() != nil {
			return ctx.Err()
		}
		q.Offset = next
	}
}

// TrimOnce deletes the finished records older than the retention now.
func (s *Engine) TrimOnce(ctx context.Context) error { return s.trimOnce(ctx) }
