package db

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/portico-gw/portico/internal/periodic"
	"github.com/portico-gw/portico/schema"
	"github.com/portico-gw/portico/store"
)

// Kong's ttl (schema.Entity.TTL): a write may give "ttl", the seconds the
// row has to live; the row then keeps its expiry in schema.FieldExpiresAt,
// reads no longer find it once it has passed, and the Admin API shows the
// seconds left. As in Kong, a write without ttl leaves the row without an
// expiry. Expired rows are deleted by DeleteExpired.

// expiryIndex is the sorted index of a TTL entity's rows by expiry.
const expiryIndex = "expiry"

// maxTTL is the longest ttl Kong accepts (DAO_MAX_TTL).
const maxTTL = 100000000

// takeTTL removes ttl from a write's input; seconds is 0 when none is
// given. Entities without TTL refuse one, as Kong does.
func takeTTL(e *schema.Entity, input map[string]any) (map[string]any, float64, error) {
	v, ok := input[schema.FieldTTL]
	if !ok {
		return input, 0, nil
	}
	if !e.TTL {
		return nil, 0, InvalidOptions(schema.FieldTTL, fmt.Sprintf("cannot be used with '%s'", e.Name))
	}
	out := make(map[string]any, len(input))
	for k, x := range input {
		if k != schema.FieldTTL {
			out[k] = x
		}
	}
	var n float64
	switch t := v.(type) {
	case nil:
		return out, 0, nil
	case float64:
		n = t
	case string:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, 0, InvalidOptions(schema.FieldTTL, fmt.Sprintf("must be an integer between 0 and %d", maxTTL))
		}
		n = f
	default:
		n = -1
	}
	if n != float64(int64(n)) || n < 0 || n > maxTTL {
		return nil, 0, InvalidOptions(schema.FieldTTL, fmt.Sprintf("must be an integer between 0 and %d", maxTTL))
	}
	return out, n, nil
}

// setExpiry gives a prepared row its expiry, ttl seconds after it was
// written; a ttl of 0 means none.
func (d *DB) setExpiry(e *schema.Entity, row map[string]any, ttl float64) {
	if !e.TTL {
		return
	}
	delete(row, schema.FieldExpiresAt)
	if ttl > 0 {
		row[schema.FieldExpiresAt] = float64(d.auto.Now().Unix()) + ttl
	}
}

// live reports whether a row is not expired.
func (d *DB) live(row map[string]any) bool {
	return row == nil || !schema.Expired(row, d.auto.Now())
}

// withoutExpired drops the expired rows of a page.
func (d *DB) withoutExpired(e *schema.Entity, rows []map[string]any) []map[string]any {
	if !e.TTL {
		return rows
	}
	now := d.auto.Now()
	kept := rows[:0]
	for _, r := range rows {
		if !schema.Expired(r, now) {
			kept = append(kept, r)
		}
	}
	return kept
}

// DeleteExpired deletes the expired rows of every TTL entity, each with
// its cascades and events, and returns how many it deleted. Until it runs,
// an expired row is invisible but still holds its unique values.
func (d *DB) DeleteExpired(ctx context.Context) (int, error) {
	n := 0
	for _, e := range d.reg.Entities() {
		if !e.TTL {
			continue
		}
		var expired []map[string]any
		now := d.auto.Now()
		err := d.store.View(ctx, func(tx store.Tx) error {
			// Through the expiry index: rows with an expiry (any number
			// sorts above the missing ones) that has passed.
			q := store.RangeQuery{Index: expiryIndex, From: float64(0), Below: float64(now.Unix()) + 1, Size: 1000}
			for {
				page, err := tx.Range(e.Name, q)
				if err != nil {
					return err
				}
				for _, r := range page.Rows {
					if schema.Expired(r, now) {
						expired = append(expired, r)
					}
				}
				if page.Offset == "" {
					return nil
				}
				q.Offset = page.Offset
			}
		})
		if err != nil {
			return n, fmt.Errorf("finding expired %s: %w", e.Name, err)
		}
		for _, r := range expired {
			deleted := false
			err := d.write(ctx, func(w *writer) error {
				deleted = false
				cur, err := w.tx.Get(e.Name, r[schema.FieldID].(string))
				if err != nil || !schema.Expired(cur, now) {
					return nil // gone or renewed meanwhile
				}
				deleted = true
				return w.delete(e, cur)
			})
			if err != nil {
				return n, fmt.Errorf("deleting expired %s: %w", e.Name, err)
			}
			if deleted {
				n++
			}
		}
	}
	return n, nil
}

// ExpirySweeper deletes expired rows every interval until ctx ends,
// reporting failures to logf.
func (d *DB) ExpirySweeper(ctx context.Context, interval time.Duration, logf func(format string, args ...any)) {
	periodic.Run(ctx, interval, func(ctx context.Context) error {
		if _, err := d.DeleteExpired(ctx); err != nil {
			return fmt.Errorf("deleting expired entities: %w", err)
		}
		return nil
	}, logf)
}
