package delivery

import (
	"time"

	"github.com/portico-gw/portico/schema/entities"
)

// Table holds one row per event owed to a hook: the outbox and the
// delivery records in one. PayloadTable holds the events' data, one row per
// event whatever the number of hooks it goes to. Both are declared with the
// entities (entities.EventHookDeliveries, entities.EventHookPayloads), so
// db.Tables derives them like any table, with their indexes.
const (
	Table        = entities.EventHookDeliveriesName
	PayloadTable = entities.EventHookPayloadsName

	indexQueue = entities.EventHookDeliveriesQueue // status, t
)

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

// record is a delivery row in the JSON model the store keeps. Its columns:
//
//	id               the delivery's id, also its webhook-id
//	event_hook       {"id": hook}, a loose (indexed, unenforced) reference
//	handler          the hook's handler when the event was written
//	source, event    the event as the hook receives it
//	payload          the id of the PayloadTable row holding the event's data
//	                 (records written before payloads had rows of their own
//	                 carry the data itself, in "data")
//	status           pending, delivered or failed
//	t                order time: when a pending delivery is due, when a
//	                 finished one finished (the sorted indexes' key)
//	attempts         every attempt made ([]Attempt)
//	run, retry_from  manual runs: the run number, and the first attempt of
//	                 the current run
//	since            when the current run began (the policy's maximum age)
//	created_at, updated_at, next_attempt_at
//	hook             for pings, the hook as the write that pinged left it
type record map[string]any

func unixMS(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func fromUnix(f float64) time.Time { return time.UnixMilli(int64(f * 1000)) }

func (r record) str(k string) string { s, _ := r[k].(string); return s }

func (r record) num(k string) float64 { n, _ := r[k].(float64); return n }

// since is when the current run began: created_at until a manual run.
func (r record) since() float64 {
	if s, ok := r["since"].(float64); ok {
		return s
	}
	return r.num("created_at")
}

// at reads a time column that a new record leaves out (updated_at,
// next_attempt_at): its value, else def.
func (r record) at(k string, def float64) float64 {
	if v, ok := r[k].(float64); ok {
		return v
	}
	return def
}

func (r record) hookID() string {
	if m, ok := r["event_hook"].(map[string]any); ok {
		id, _ := m["id"].(string)
		return id
	}
	return ""
}

func (r record) attempts() []any { a, _ := r["attempts"].([]any); return a }

// setStatus records a status and the order time that goes with it: the due
// time of a pending delivery, now for a finished one.
func (r record) setStatus(status string, now, due time.Time) {
	r["status"] = status
	r["updated_at"] = unixMS(now)
	if status == StatusPending {
		r["next_attempt_at"] = unixMS(due)
		r["t"] = unixMS(due)
	} else {
		r["t"] = unixMS(now)
	}
}

// orderTime is the record's "t", derived for records written before it
// existed.
func (r record) orderTime() float64 {
	if t, ok := r["t"].(float64); ok {
		return t
	}
	created := r.num("created_at")
	if r.str("status") == StatusPending {
		return r.at("next_attempt_at", created)
	}
	return r.at("updated_at", created)
}

// meta is what an attempt needs of its record, held with the pending
// delivery so that an attempt reads only the event's data, and that from a
// cache mostly. The record itself is read again, and checked, when the
// outcome is written.
type meta struct {
	source, event string
	payload       string         // the payload's id
	data          map[string]any // a record of an earlier version: its data
	snapshot      map[string]any // pings: the hook as it was
	made          int            // attempts made in the current run
	since         float64        // when the current run began
	run           float64
}

func (r record) meta() *meta {
	m := &meta{source: r.str("source"), event: r.str("event"), payload: r.str("payload"),
		made: len(r.attempts()) - int(r.num("retry_from")), since: r.since(), run: r.num("run")}
	m.data, _ = r["data"].(map[string]any)
	m.snapshot, _ = r["hook"].(map[string]any)
	return m
}

// item is the record as the dispatcher holds it.
func (r record) item() item {
	return item{id: r.str("id"), hook: r.hookID(), due: fromUnix(r.orderTime()), born: fromUnix(r.num("created_at")), meta: r.meta()}
}

// view is how the Admin API shows a delivery record, with its event's data.
func (r record) view(data any) map[string]any {
	if data == nil {
		data = r["data"]
	}
	out := map[string]any{
		"id":              r["id"],
		"event_hook":      r["event_hook"],
		"handler":         r["handler"],
		"source":          r["source"],
		"event":           r["event"],
		"data":            data,
		"status":          r["status"],
		"attempts":        r["attempts"],
		"created_at":      r["created_at"],
		"updated_at":      r.at("updated_at", r.num("created_at")),
		"next_attempt_at": nil,
	}
	if r.str("status") == StatusPending {
		out["next_attempt_at"] = r.at("next_attempt_at", r.orderTime())
	}
	if out["attempts"] == nil {
		out["attempts"] = []any{}
	}
	return out
}
