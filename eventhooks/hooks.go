package eventhooks

import (
	"context"
	"errors"
	"fmt"

	"github.com/portico-gw/portico/db"
	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
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
	// gen is the hooks' generation the snapshot was read at (see
	// generationID).
	gen  float64
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

// generationID is the row, in WindowsTable, that counts the writes of
// event hooks. Every hook write bumps it in its own transaction, and every
// write that owes events reads it in its own: so a write matches exactly
// the hooks committed before it (a write's changes all alike), and a write
// racing a hook write conflicts with it and is retried after it.
const generationID = "event_hooks.generation"

// readGeneration reads the hooks' generation in tx (0 before any hook
// write of this version).
func readGeneration(tx store.Tx) (float64, error) {
	row, err := tx.Get(WindowsTable, generationID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the event hooks' generation: %w", err)
	}
	gen, _ := row["gen"].(float64)
	return gen, nil
}

// bumpGeneration counts a hook write, in its transaction.
func bumpGeneration(tx store.Tx) error {
	gen, err := readGeneration(tx)
	if err != nil {
		return err
	}
	row := store.Row{"id": generationID, "gen": gen + 1}
	if gen == 0 {
		if _, err := tx.Get(WindowsTable, generationID); errors.Is(err, store.ErrNotFound) {
			return tx.Insert(WindowsTable, row)
		}
	}
	return tx.Update(WindowsTable, row)
}

// readSnapshot reads every hook, and their generation, in tx.
func readSnapshot(tx store.Tx, e *schema.Entity) (*snapshot, error) {
	gen, err := readGeneration(tx)
	if err != nil {
		return nil, err
	}
	if e == nil {
		s := newSnapshot(nil, nil)
		s.gen = gen
		return s, nil
	}
	var rows []map[string]any
	q := store.PageQuery{Size: 1000}
	for {
		page, err := tx.Page(e.Name, q)
		if err != nil {
			return nil, fmt.Errorf("loading event hooks: %w", err)
		}
		rows = append(rows, page.Rows...)
		if page.Offset == "" {
			s := newSnapshot(e, rows)
			s.gen = gen
			return s, nil
		}
		q.Offset = page.Offset
	}
}

// loadSnapshot reads every hook from the store.
func loadSnapshot(ctx context.Context, d *db.DB) (*snapshot, error) {
	var snap *snapshot
	err := d.Store().View(ctx, func(tx store.Tx) error {
		var err error
		snap, err = readSnapshot(tx, d.Entity(hooksEntity))
		return err
	})
	return snap, err
}
