package eventhooks

import (
	"encoding/json"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// outbox is the hooks middleware: it runs inside the transaction of every
// entity write, and writes one delivery per hook the change concerns into
// that same transaction. The deliveries are queued once the write commits.
func (s *Service) outbox(tx store.Tx, ch db.Change) (func(), error) {
	snap := s.snap.Load()
	o := outboxWrite{s: s, tx: tx}
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
		o.add(h, Event{Source: SourceCRUD, Name: event, Data: payload()}, nil)
	})
	for _, h := range snap.bySource[SourceCRUD][name+":"+op] {
		o.add(h, Event{Source: SourceCRUD, Name: name + ":" + op, Data: payload()}, nil)
	}
	snap.match(SourceDAOCRUD, op, func(h *hookEntry, event string) {
		o.add(h, Event{Source: SourceDAOCRUD, Name: event, Data: payload()}, nil)
	})
	if name == hooksEntity {
		s.ping(&o, ch)
	}
	if o.err != nil {
		return nil, o.err
	}
	if len(o.items) == 0 {
		return nil, nil
	}
	return o.committed, nil
}

// committed runs once the transaction has committed: snooze/on_change
// state is recorded and the deliveries are queued.
func (o *outboxWrite) committed() {
	for _, c := range o.commits {
		c()
	}
	if len(o.items) > 0 {
		o.s.metrics.enqueued.Add(float64(len(o.items)))
		o.s.disp.push(o.items...)
	}
}

// outboxWrite collects the deliveries of one change.
type outboxWrite struct {
	s       *Service
	tx      store.Tx
	items   []item
	commits []func()
	err     error
	// crudJSON is the encoding of the change's crud data, which every crud
	// hook receives: made once for all their records.
	crudJSON json.RawMessage
}

// encoded returns ev's data as JSON; crud data is encoded once per change.
func (o *outboxWrite) encoded(ev Event) (json.RawMessage, error) {
	if ev.Source == SourcePing {
		return json.Marshal(ev.Data)
	}
	if o.crudJSON == nil {
		raw, err := json.Marshal(ev.Data)
		if err != nil {
			return nil, err
		}
		o.crudJSON = raw
	}
	return o.crudJSON, nil
}

// add writes a delivery of ev to h, unless snooze/on_change drop it.
// snapshot, for pings, is the hook row the delivery must use if the hook is
// gone by then.
func (o *outboxWrite) add(h *hookEntry, ev Event, snapshot map[string]any) {
	if o.err != nil {
		return
	}
	if snapshot == nil {
		info, _ := o.s.sources.Event(ev.Source, ev.Name)
		pass, commit := o.s.filters.check(h, ev, info.Unique)
		if !pass {
			o.s.metrics.dropped.Inc()
			return
		}
		if commit != nil {
			o.commits = append(o.commits, commit)
		}
	}
	now := o.s.now()
	id := o.s.newID()
	raw, err := o.encoded(ev)
	if err != nil {
		o.err = fmt.Errorf("encoding the event for event hook %s: %w", h.ID, err)
		return
	}
	rec := newRecord(id, h, ev, now, snapshot)
	rec["data"] = raw
	if err := o.tx.Insert(DeliveriesTable, rec); err != nil {
		o.err = fmt.Errorf("writing delivery for event hook %s: %w", h.ID, err)
		return
	}
	// The first attempt needs no read of the record: it goes with the item.
	rec["data"] = ev.Data
	o.items = append(o.items, item{id: id, hook: h.ID, due: now, born: now, rec: rec})
}

// ping announces a webhook hook to its receiver when it is created, updated
// or deleted, as Kong does.
func (s *Service) ping(o *outboxWrite, ch db.Change) {
	h := entryFromRow(ch.Entity, ch.Row)
	if p, ok := s.handlers[h.Handler].(Pinger); !ok || !p.Pings() {
		return
	}
	ev := Event{Source: SourcePing, Name: EventPing, Data: map[string]any{
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
