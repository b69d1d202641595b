package delivery

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/portico-gw/portico/store"
)

// The outbox rows of a write are encoded here by hand, straight to the
// JSON the store keeps (store.Tx.InsertEncoded): a write owes one delivery
// row per matching hook, and building each as a map and encoding it by
// reflection cost more than the rest of the write. The rows read back
// through the store as any row (record.go).

// newDelivery is a new delivery's row as written. It holds only what
// differs from the defaults (no attempts, retry_from 0, since, updated_at
// and next_attempt_at equal to created_at), which the readers fill in.
type newDelivery struct {
	id, hookID, handler string
	source, event       string
	payload             string
	at                  float64 // created_at and t
	// snapshot, for pings, is the hook as it was: pings of a deleted hook
	// must still reach its receiver.
	snapshot map[string]any
}

// Field implements store.Fields for the table's indexes: the hook's
// reference and the queue index (status, t).
func (d *newDelivery) Field(name string) any {
	switch name {
	case "id":
		return d.id
	case "event_hook":
		return d.hookID
	case "status":
		return StatusPending
	case "t", "created_at":
		return d.at
	}
	return nil
}

// size is about what encode appends (more for a ping).
func (d *newDelivery) size() int {
	return 160 + len(d.id) + len(d.hookID) + len(d.handler) + len(d.source) + len(d.event) + len(d.payload)
}

// encode appends the row's JSON to buf.
func (d *newDelivery) encode(buf []byte) ([]byte, error) {
	b := append(buf, `{"id":`...)
	b = appendString(b, d.id)
	b = append(b, `,"event_hook":{"id":`...)
	b = appendString(b, d.hookID)
	b = append(b, `},"handler":`...)
	b = appendString(b, d.handler)
	b = append(b, `,"source":`...)
	b = appendString(b, d.source)
	b = append(b, `,"event":`...)
	b = appendString(b, d.event)
	b = append(b, `,"payload":`...)
	b = appendString(b, d.payload)
	b = append(b, `,"status":"`+StatusPending+`","created_at":`...)
	b = appendFloat(b, d.at)
	b = append(b, `,"t":`...)
	b = appendFloat(b, d.at)
	if d.snapshot != nil {
		hook, err := json.Marshal(d.snapshot)
		if err != nil {
			return nil, fmt.Errorf("encoding the hook of a ping: %w", err)
		}
		b = append(b, `,"hook":`...)
		b = append(b, hook...)
	}
	return append(b, '}'), nil
}

// meta is what the first attempt needs, as record.meta reads it.
func (d *newDelivery) meta() *meta {
	return &meta{source: d.source, event: d.event, payload: d.payload, since: d.at, snapshot: d.snapshot}
}

// encodePayload is a PayloadTable row: the event's data, encoded once, and
// the deliveries that use it.
func encodePayload(p *payload, now time.Time) []byte {
	n := 64 + len(p.id) + len(p.raw) + len(p.deliveries)*40
	b := make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = appendString(b, p.id)
	b = append(b, `,"data":`...)
	b = append(b, p.raw...)
	b = append(b, `,"deliveries":[`...)
	for i, id := range p.deliveries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, id)
	}
	b = append(b, `],"created_at":`...)
	b = appendFloat(b, unixMS(now))
	return append(b, '}')
}

// noFields is store.Fields of a table without indexes (PayloadTable).
type noFields struct{}

func (noFields) Field(string) any { return nil }

var _ store.Fields = (*newDelivery)(nil)

// appendString appends s as a JSON string. Ids and event names need no
// escaping; anything else goes through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendFloat appends f as encoding/json writes it, so that it decodes to
// the same float64.
func appendFloat(b []byte, f float64) []byte {
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsNaN(f) || math.IsInf(f, 0) {
		q, err := json.Marshal(f)
		if err != nil {
			return append(b, '0') // not a time the engine writes
		}
		return append(b, q...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
