package eventhooks

import (
	"crypto/md5"
	"encoding/hex"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-gw/portico/eventhooks/handler"
)

// filters apply Kong's snooze and on_change to the events of each hook:
// snooze drops repeats inside a fixed window per hook+source+event; on_change
// delivers only when the data's digest changed; both together deliver each
// distinct payload at most once per window. The state is in memory, as
// Kong's (a node cache): a restart forgets it.
type filters struct {
	now     func() time.Time
	mu      sync.Mutex
	snoozed map[string]time.Time // key → end of its window
	last    map[string]string    // key → last delivered digest
}

func newFilters(now func() time.Time) *filters {
	return &filters{now: now, snoozed: map[string]time.Time{}, last: map[string]string{}}
}

// check decides whether h delivers ev. It changes nothing: commit, called
// once the write that owes the event is durable, records the decision (so a
// transaction that is retried or aborted does not open a window).
func (f *filters) check(h *hookEntry, ev handler.Event, unique []string) (pass bool, commit func()) {
	if h.snooze == 0 && !h.onChange {
		return true, nil
	}
	key := h.ID + ":" + ev.Source + ":" + ev.Name
	var digest string
	if h.onChange {
		var ok bool
		if digest, ok = Digest(ev.Data, unique); !ok {
			return true, nil // Kong skips the filters for data it cannot digest
		}
	}
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case h.onChange && h.snooze > 0:
		key += ":" + digest
		if until, ok := f.snoozed[key]; ok && now.Before(until) {
			return false, nil
		}
		return true, func() { f.openWindow(key, now, h.snooze) }
	case h.snooze > 0:
		if until, ok := f.snoozed[key]; ok && now.Before(until) {
			return false, nil
		}
		return true, func() { f.openWindow(key, now, h.snooze) }
	default:
		if f.last[key] == digest {
			return false, nil
		}
		return true, func() {
			f.mu.Lock()
			f.last[key] = digest
			f.mu.Unlock()
		}
	}
}

func (f *filters) openWindow(key string, from time.Time, seconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	// Expired windows are dropped as new ones open, so the map stays as
	// small as the set of live windows.
	for k, until := range f.snoozed {
		if !from.Before(until) {
			delete(f.snoozed, k)
		}
	}
	f.snoozed[key] = from.Add(time.Duration(seconds) * time.Second)
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
