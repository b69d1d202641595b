package delivery

import (
	"encoding/json"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/schema/entities"
)

// Table holds one row per event owed to a hook: the outbox and
// the delivery records in one. It is declared with the entities
// (entities.EventHookDeliveries), so db.Tables derives it like any table.
const Table = entities.EventHookDeliveriesName

// Delivery statuses.
const (
	StatusPending   = "pending"
	StatusDelivered = "delivered"
	StatusFailed    = "failed"
)

// Attempt is one try at a delivery, as recorded.
type Attempt struct {
	At         float64 `json:"at"` // Unix seconds, millisecond precision
	StatusCode int     `json:"status_code"`
	DurationMS float64 `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	Response   string  `json:"response,omitempty"` // capped answer body
}

// record is a delivery row in the JSON model the store keeps.
type record map[string]any

func newRecord(id, hookID, handlerName string, ev handler.Event, now time.Time, snapshot map[string]any) record {
	r := record{
		"id":              id,
		"event_hook":      map[string]any{"id": hookID},
		"handler":         handlerName,
		"source":          ev.Source,
		"event":           ev.Name,
		"data":            ev.Data,
		"status":          StatusPending,
		"attempts":        []any{},
		"retry_from":      0.0,
		"created_at":      unixMS(now),
		"updated_at":      unixMS(now),
		"since":           unixMS(now),
		"next_attempt_at": unixMS(now),
	}
	if snapshot != nil {
		// Pings of a deleted hook must still reach its receiver: they carry
		// the hook as it was.
		r["hook"] = snapshot
	}
	return r
}

func unixMS(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromUnix(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

func (r record) str(k string) string { s, _ := r[k].(string); return s }

func (r record) num(k string) float64 { n, _ := r[k].(float64); return n }

func (r record) hookID() string {
	if m, ok := r["event_hook"].(map[string]any); ok {
		id, _ := m["id"].(string)
		return id
	}
	return ""
}

func (r record) attempts() []any { a, _ := r["attempts"].([]any); return a }

func (r record) event() handler.Event {
	data, _ := r["data"].(map[string]any)
	return handler.Event{Source: r.str("source"), Name: r.str("event"), Data: data}
}

// view is how the Admin API shows a delivery record.
func (r record) view() map[string]any {
	out := map[string]any{
		"id":              r["id"],
		"event_hook":      r["event_hook"],
		"handler":         r["handler"],
		"source":          r["source"],
		"event":           r["event"],
		"data":            r["data"],
		"status":          r["status"],
		"attempts":        r["attempts"],
		"created_at":      r["created_at"],
		"updated_at":      r["updated_at"],
		"next_attempt_at": nil,
	}
	if r.str("status") == StatusPending {
		out["next_attempt_at"] = r["next_attempt_at"]
	}
	if out["attempts"] == nil {
		out["attempts"] = []any{}
	}
	return out
}

// jsonRaw is event data already encoded.
type jsonRaw = json.RawMessage

func encodeData(data map[string]any) ([]byte, error) { return json.Marshal(data) }
