package delivery

import (
	"context"
	"errors"
	"fmt"
	"maps"
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

// attempt makes one attempt at a delivery, on its own goroutine. It does
// not use the engine's lifetime context: an attempt under way when the node
// stops finishes (within its timeout) and is recorded.
func (s *Engine) attempt(it item) {
	if it.size > 0 {
		s.held.Add(-int64(it.size))
	}
	m, data := it.meta, it.data
	it.data, it.size = nil, 0
	var err error
	if m == nil {
		// Hurried by a manual retry: the record as it is now.
		var rec record
		err = s.store.View(context.Background(), func(tx store.Tx) error {
			row, err := tx.Get(Table, it.id)
			rec = record(row)
			return err
		})
		if err == nil && rec.str("status") == StatusPending {
			m = rec.meta()
		}
	}
	if err == nil && m != nil && data == nil {
		data, err = s.attemptData(m)
	}
	if err != nil || m == nil {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.log.Errorf("event hooks: reading delivery %s: %v", it.id, err)
		}
		s.disp.ended(it.hook, false)
		s.disp.finish(it)
		return
	}
	now := s.now()
	made := m.made + 1
	hook, ok := s.resolve(it.hook, m.snapshot)
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
		ev := handler.Event{Source: m.source, Name: m.event, Data: data}
		res, derr = h.Deliver(ctx, handler.Delivery{ID: it.id, Attempt: made, Hook: hook, Event: ev})
		cancel()
	}
	took := time.Since(start)
	v := s.policy.decide(derr, res, made, fromUnix(m.since), now, s.rnd)
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
	s.disp.ended(it.hook, v.status != StatusDelivered)
	s.outcome <- outcome{it: it, hook: hook.Handler, attempt: a, verdict: v, run: m.run}
}

var errHookDeleted = errors.New("event hook deleted")

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

// Backoff between tries of an outcome batch the store refused.
const (
	flushBackoff    = 10 * time.Millisecond
	flushMaxBackoff = 5 * time.Second
)

// flush records a batch of outcomes, trying until the store takes it: an
// outcome is never left in memory only (the dispatcher hears of it only
// once it is written). A batch too big for one transaction is split.
func (s *Engine) flush(batch []outcome) {
	now := s.now()
	for try, wait := 0, flushBackoff; ; try++ {
		err := s.write(batch, now)
		if err == nil {
			break
		}
		if errors.Is(err, store.ErrTooBig) && len(batch) > 1 {
			half := len(batch) / 2
			s.flush(batch[:half])
			s.flush(batch[half:])
			return
		}
		if s.stopping.Load() && try >= 3 {
			// The node is stopping: the deliveries stay pending in the
			// store, and the next start delivers them again (receivers
			// drop the duplicate by its webhook-id).
			s.log.Errorf("event hooks: recording %d delivery outcomes at shutdown: %v", len(batch), err)
			return
		}
		if try == 0 || try%20 == 0 {
			s.log.Errorf("event hooks: recording %d delivery outcomes (trying again): %v", len(batch), err)
		}
		time.Sleep(wait)
		wait = min(2*wait, flushMaxBackoff)
	}
	for _, o := range batch {
		switch o.verdict.status {
		case StatusPending:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeRetried).Inc()
			due := now.Add(o.verdict.delay)
			if o.verdict.delay > loadHorizon && s.disp.later(o.it) {
				s.evict(due) // far off: it waits in the store, and is read in when near
				continue
			}
			s.disp.again(o.it, due)
		case StatusDelivered:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeDelivered).Inc()
			s.disp.finish(o.it)
		default:
			s.metrics.deliveries.WithLabelValues(o.it.hook, outcomeFailed).Inc()
			s.disp.finish(o.it)
		}
	}
}

// write records a batch of outcomes in one transaction. A delivery retried
// by hand during its attempt gets a pending verdict, in the batch, so the
// dispatcher runs it again.
func (s *Engine) write(batch []outcome, now time.Time) error {
	return s.store.Update(context.Background(), func(tx store.Tx) error {
		for i := range batch {
			o := &batch[i]
			row, err := tx.Get(Table, o.it.id)
			if errors.Is(err, store.ErrNotFound) {
				o.verdict = verdict{status: StatusFailed} // trimmed meanwhile: nothing to do
				continue
			}
			if err != nil {
				return err
			}
			// The outcome goes on a copy, so that the row as read tells the
			// store its old index entries (Replace: no second read).
			rec := record(maps.Clone(row))
			rerun := o.verdict.status != StatusDelivered && rec.num("run") != o.run
			if rerun {
				// Retried by hand during the attempt: run again now.
				o.verdict = verdict{status: StatusPending}
			}
			rec["attempts"] = append(rec.attempts(), attemptRow(o.attempt))
			if rerun {
				// That attempt was the old run's: the new run gets its whole budget.
				rec["retry_from"] = float64(len(rec.attempts()))
			}
			rec.setStatus(o.verdict.status, now, now.Add(o.verdict.delay))
			if err := tx.Replace(Table, row, rec); err != nil {
				return err
			}
			o.it.meta = rec.meta() // for the next attempt
		}
		return nil
	})
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

// TrimOnce deletes the finished records older than the retention now.
func (s *Engine) TrimOnce(ctx context.Context) error { return s.trimOnce(ctx) }

// trimPage is how many records one trimming transaction deletes.
const trimPage = 500

// trimOnce deletes the finished records older than the retention, read
// through the queue index (finished records are ordered by when they
// finished), a page per transaction; a payload goes with the last record
// that uses it.
func (s *Engine) trimOnce(ctx context.Context) error {
	cutoff := unixMS(s.now().Add(-s.opts.Retention))
	for _, status := range []string{StatusDelivered, StatusFailed} {
		q := store.RangeQuery{Index: indexQueue, Equal: []any{status}, Below: cutoff, Size: trimPage}
		for {
			n := 0
			err := s.store.Update(ctx, func(tx store.Tx) error {
				page, err := tx.Range(Table, q)
				if err != nil {
					return err
				}
				n = len(page.Rows)
				payloads := map[string]bool{}
				for _, row := range page.Rows {
					r := record(row)
					if err := tx.Delete(Table, r.str("id")); err != nil {
						return err
					}
					if p := r.str("payload"); p != "" {
						payloads[p] = true
					}
				}
				for p := range payloads {
					if err := dropUnused(tx, p); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n < trimPage || ctx.Err() != nil {
				break
			}
		}
	}
	return ctx.Err()
}

// dropUnused deletes a payload none of whose deliveries is left.
func dropUnused(tx store.Tx, id string) error {
	row, err := tx.Get(PayloadTable, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	users, _ := row["deliveries"].([]any)
	for _, u := range users {
		uid, _ := u.(string)
		_, err := tx.Get(Table, uid)
		if err == nil {
			return nil // still used
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return tx.Delete(PayloadTable, id)
}
