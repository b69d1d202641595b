package eventhooks

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
	"github.com/portico-gw/portico/schema/entities"
	"github.com/portico-gw/portico/store"
)

// filters apply Kong's snooze and on_change to the events of each hook:
// snooze drops repeats inside a fixed window per hook+source+event; on_change
// delivers only when the data's digest changed; both together deliver each
// distinct payload at most once per window.
//
// The state is a row per hook+source+event in WindowsTable, read and
// written in the transaction of the write that owes the event: a write
// that rolls back leaves no window, and two writes racing for one window
// both touch its row, so the store makes the second wait for (retry after)
// the first and see its window. Unlike Kong's node cache, the windows
// survive a restart. A hook's rows go with it.
type filters struct {
	now func() time.Time
}

// WindowsTable holds the snooze windows and on_change digests of hooks.
const WindowsTable = entities.EventHookWindowsName

func newFilters(now func() time.Time) *filters { return &filters{now: now} }

// check decides, in the write's transaction tx, whether h delivers ev, and
// records the decision there when it does.
func (f *filters) check(tx store.Tx, h *hookEntry, ev handler.Event, unique []string) (bool, error) {
	if h.snooze == 0 && !h.onChange {
		return true, nil
	}
	var digest string
	if h.onChange {
		var ok bool
		if digest, ok = Digest(ev.Data, unique); !ok {
			return true, nil // Kong skips the filters for data it cannot digest
		}
	}
	key := h.ID + "|" + ev.Source + "|" + ev.Name
	row, err := tx.Get(WindowsTable, key)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("reading the snooze window of event hook %s: %w", h.ID, err)
	}
	if !exists {
		row = store.Row{"id": key, "event_hook": map[string]any{"id": h.ID}}
	}
	now := float64(f.now().UnixMilli()) / 1000
	until := now + float64(h.snooze)
	switch {
	case h.onChange && h.snooze > 0:
		// One window per distinct payload; expired ones are dropped as
		// windows open, so the row holds the live ones only.
		windows := map[string]any{}
		if old, ok := row["digests"].(map[string]any); ok {
			for d, u := range old {
				if end, _ := u.(float64); end > now {
					windows[d] = end
				}
			}
		}
		if _, open := windows[digest]; open {
			return false, nil
		}
		windows[digest] = until
		row["digests"] = windows
	case h.snooze > 0:
		if end, _ := row["until"].(float64); end > now {
			return false, nil
		}
		row["until"] = until
	default:
		if last, _ := row["digest"].(string); exists && last == digest {
			return false, nil
		}
		row["digest"] = digest
	}
	if exists {
		err = tx.Update(WindowsTable, row)
	} else {
		err = tx.Insert(WindowsTable, row)
	}
	if err != nil {
		return false, fmt.Errorf("writing the snooze window of event hook %s: %w", h.ID, err)
	}
	return true, nil
}

// forget deletes a deleted hook's windows, in the transaction that deletes
// it.
func (f *filters) forget(tx store.Tx, hookID string) error {
	q := store.PageQuery{Size: 500, Foreign: &store.ForeignFilter{Field: "event_hook", ID: hookID}}
	for {
		page, err := tx.Page(WindowsTable, q)
		if err != nil {
			return err
		}
		for _, row := range page.Rows {
			if err := tx.Delete(WindowsTable, row["id"].(string)); err != nil {
				return err
			}
		}
		if page.Offset == "" {
			return nil
		}
		q.Offset = page.Offset
	}
}

// Digest is Kong's event digest: the md5 of the data normalised as
// "k:v:k2:v2" with keys sorted and nested tables recursed, restricted to the
// unique fields when the event declares some. Strings, numbers and booleans
// take part (Kong 3.10). ok is false for data that cannot be normalised.
func Digest(data map[string]any, unique []string) (string, bool) {
	if len(unique) > 0 {
		restricted := make(map[string]any, len(unique))
		for _, k := range unique {
			if v, ok := data[k]; ok {
				restricted[k] = v
			}
		}
		data = restricted
	}
	var b strings.Builder
	if !normalize(&b, data) {
		return "", false
	}
	sum := md5.Sum([]byte(b.String()))
	return hex.EncodeToString(sum[:]), true
}

func normalize(b *strings.Builder, v any) bool {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		first := true
		for _, k := range keys {
			if v[k] == nil {
				continue
			}
			if !first {
				b.WriteByte(':')
			}
			first = false
			b.WriteString(k)
			b.WriteByte(':')
			if !normalize(b, v[k]) {
				return false
			}
		}
	case []any:
		for i, x := range v {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(strconv.Itoa(i + 1))
			b.WriteByte(':')
			if !normalize(b, x) {
				return false
			}
		}
	case string:
		b.WriteString(v)
	case float64:
		b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
	case int:
		b.WriteString(strconv.Itoa(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case bool:
		b.WriteString(strconv.FormatBool(v))
	default:
		return false
	}
	return true
}
