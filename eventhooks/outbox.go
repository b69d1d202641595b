package eventhooks

import (
	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/delivery"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// outbox is the hooks middleware: it runs inside the transaction of every
// entity write, and writes one delivery per hook the change concerns into
// that same transaction. The deliveries are queued once the write commits.
func (s *Service) outbox(tx store.Tx, ch db.Change) (func(), error) {
	snap, err := s.snapshotIn(tx)
	if err != nil {
		return nil, err
	}
	o := outboxWrite{s: s, tx: tx, w: s.engine.NewWriter(tx)}
	name, op := ch.Entity.Name, ch.Operation
	var data map[string]any // built once, for the first hook that wants it
	payload := func() map[string]any {
		if data == nil {
			data = crudData(ch)
		}
		return data
	}
	// crud: hooks on every event of the source or on N get event N; hooks
	// on N:op get N:op. A hook receives one event per write.
	snap.match(SourceCRUD, name, func(h *hookEntry, event string) {
		o.add(h, handler.Event{Source: SourceCRUD, Name: event, Data: payload()}, nil)
	})
	for _, h := range snap.bySource[SourceCRUD][name+":"+op] {
		o.add(h, handler.Event{Source: SourceCRUD, Name: name + ":" + op, Data: payload()}, nil)
	}
	snap.match(SourceDAOCRUD, op, func(h *hookEntry, event string) {
		o.add(h, handler.Event{Source: SourceDAOCRUD, Name: event, Data: payload()}, nil)
	})
	if name == hooksEntity {
		if err := bumpGeneration(tx); err != nil {
			return nil, err
		}
		s.ping(&o, ch)
		if op == db.OpDelete {
			if id, _ := ch.Row["id"].(string); id != "" {
				if err := s.filters.forget(tx, id); err != nil {
					return nil, err
				}
			}
		}
	}
	if o.err != nil {
		return nil, o.err
	}
	if o.w.Len() == 0 {
		if o.dropped > 0 {
			return o.committed, nil
		}
		return nil, nil
	}
	if err := o.w.Close(); err != nil {
		return nil, err
	}
	return o.committed, nil
}

// snapshotIn returns the hooks as tx sees them: the current snapshot when
// it is of tx's generation (nearly always), else one read in tx (a hook
// was written since, or is being reloaded), kept for the writes that
// follow at that generation.
func (s *Service) snapshotIn(tx store.Tx) (*snapshot, error) {
	gen, err := readGeneration(tx)
	if err != nil {
		return nil, err
	}
	if snap := s.snap.Load(); snap.gen == gen {
		return snap, nil
	}
	if snap := s.txSnap.Load(); snap != nil && snap.gen == gen {
		return snap, nil
	}
	snap, err := readSnapshot(tx, s.hooks)
	if err != nil {
		return nil, err
	}
	s.txSnap.Store(snap)
	return snap, nil
}

// committed runs once the transaction has committed: the deliveries are
// queued.
func (o *outboxWrite) committed() {
	for ; o.dropped > 0; o.dropped-- {
		o.s.engine.Filtered()
	}
	o.w.Committed()
}

// outboxWrite collects the deliveries of one change.
type outboxWrite struct {
	s       *Service
	tx      store.Tx
	w       *delivery.Writer
	dropped int // events snooze or on_change kept back
	err     error
}

// add writes a delivery of ev to h, unless snooze/on_change drop it.
// snapshot, for pings, is the hook row the delivery must use if the hook is
// gone by then.
func (o *outboxWrite) add(h *hookEntry, ev handler.Event, snapshot map[string]any) {
	if o.err != nil {
		return
	}
	if snapshot == nil {
		info, _ := o.s.sources.Event(ev.Source, ev.Name)
		pass, err := o.s.filters.check(o.tx, h, ev, info.Unique)
		if err != nil {
			o.err = err
			return
		}
		if !pass {
			o.dropped++
			return
		}
	}
	o.err = o.w.Add(h.ID, h.Handler, ev, ev.Source != SourcePing, snapshot)
}

// ping announces a webhook hook to its receiver when it is created, updated
// or deleted, as Kong does.
func (s *Service) ping(o *outboxWrite, ch db.Change) {
	h := entryFromRow(ch.Entity, ch.Row)
	if p, ok := s.handlers[h.Handler].(handler.Pinger); !ok || !p.Pings() {
		return
	}
	ev := handler.Event{Source: SourcePing, Name: EventPing, Data: map[string]any{
		"operation":   ch.Operation,
		"event_hooks": h.Entity,
	}}
	o.add(h, ev, schema.Copy(ch.Row).(map[string]any))
}

// crudData is Kong's crud event data: operation, entity and old_entity
// without nulls, schema. Secrets are redacted: an event must not carry one
// hook's secret to another hook's receiver.
func crudData(ch db.Change) map[string]any {
	d := map[string]any{
		"operation": ch.Operation,
		"entity":    payloadEntity(ch.Entity, ch.Row),
		"schema":    ch.Entity.Name,
	}
	if ch.Operation == db.OpUpdate && ch.Old != nil {
		d["old_entity"] = payloadEntity(ch.Entity, ch.Old)
	}
	return d
}

func payloadEntity(e *schema.Entity, row map[string]any) any {
	return e.Payload(row)
}
