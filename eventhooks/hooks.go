package eventhooks

import (
	"context"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/schema"
)

// hooksEntity is the DAO name of Kong's event hooks.
const hooksEntity = "event_hooks"

// hookEntry is a configured hook with its filters.
type hookEntry struct {
	handler.Hook
	snooze   int  // seconds; 0 = off
	onChange bool // deliver only when the data changes
}

// snapshot is an immutable view of the configured hooks, indexed for
// matching. Writers build a new one and swap it in; the write path only
// reads.
type snapshot struct {
	byID map[string]*hookEntry
	// bySource maps source → event → hooks; event "" holds the hooks that
	// take every event of the source.
	bySource map[string]map[string][]*hookEntry
}

func newSnapshot(e *schema.Entity, rows []map[string]any) *snapshot {
	s := &snapshot{byID: map[string]*hookEntry{}, bySource: map[string]map[string][]*hookEntry{}}
	for _, row := range rows {
		h := entryFromRow(e, row)
		s.byID[h.ID] = h
		events := s.bySource[h.Source]
		if events == nil {
			events = map[string][]*hookEntry{}
			s.bySource[h.Source] = events
		}
		events[h.Event] = append(events[h.Event], h)
	}
	return s
}

// hookFromRow turns a stored event_hooks row into what handlers see.
func hookFromRow(e *schema.Entity, row map[string]any) handler.Hook {
	str := func(k string) string { s, _ := row[k].(string); return s }
	cfg, _ := row["config"].(map[string]any)
	return handler.Hook{
		ID: str("id"), Source: str("source"), Event: str("event"), Handler: str("handler"),
		Config: cfg,
		Entity: e.Redact(e.Output(row)),
	}
}

func entryFromRow(e *schema.Entity, row map[string]any) *hookEntry {
	h := &hookEntry{Hook: hookFromRow(e, row)}
	if n, ok := row["snooze"].(float64); ok && n > 0 {
		h.snooze = int(n)
	}
	h.onChange, _ = row["on_change"].(bool)
	return h
}

// match calls fn for every hook that takes the event (source, name), with
// the event name the hook receives.
func (s *snapshot) match(source, name string, fn func(h *hookEntry, event string)) {
	events := s.bySource[source]
	if events == nil {
		return
	}
	for _, h := range events[""] {
		fn(h, name)
	}
	if name != "" {
		for _, h := range events[name] {
			fn(h, name)
		}
	}
}

// loadSnapshot reads every hook from the store.
func loadSnapshot(ctx context.Context, d *db.DB) (*snapshot, error) {
	e := d.Entity(hooksEntity)
	if e == nil {
		return newSnapshot(nil, nil), nil
	}
	var rows []map[string]any
	offset := ""
	for {
		page, next, err := d.Page(ctx, e, db.PageOptions{Size: 1000, Offset: offset})
		if err != nil {
			return nil, fmt.Errorf("loading event hooks: %w", err)
		}
		rows = append(rows, page...)
		if next == "" {
			return newSnapshot(e, rows), nil
		}
		offset = next
	}
}
