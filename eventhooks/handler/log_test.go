package handler

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/portico-gw/portico/logger"
)

// lineRecorder is a LineWriter that keeps what it is given.
type lineRecorder struct {
	mu     sync.Mutex
	levels []logger.Level
	lines  []string
}

func (r *lineRecorder) Log(level logger.Level, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.levels = append(r.levels, level)
	r.lines = append(r.lines, msg)
}

// seedEvent is the consumer create of Kong's log example (the docs' "Event
// Hooks Examples", log handler).
func seedEvent() Event {
	return Event{Source: "crud", Name: "consumers", Data: map[string]any{
		"entity": map[string]any{
			"created_at": float64(1627574246), // as decoded from JSON
			"id":         "4757bd6b-8d54-4b08-bf24-01e346a9323e",
			"type":       0,
			"username":   "Elizabeth Bennet",
			"custom_id":  nil, // a null: Kong's entity has no such key
		},
		"operation": "create",
		"schema":    "consumers",
	}}
}

// seedLines are the 14 lines of the seed's error log, without nginx's
// "*819021 " connection prefix and ", context: ngx.timer, client: ..."
// suffix.
var seedLines = []string{
	`+--------------------------------------------------+`,
	`|[kong] event_hooks.lua:?:452 "log callback: " { "consumers", "crud", {|`,
	`|    entity = {                                    |`,
	`|      created_at = 1627574246,                    |`,
	`|      id = "4757bd6b-8d54-4b08-bf24-01e346a9323e",|`,
	`|      type = 0,                                   |`,
	`|      username = "Elizabeth Bennet"               |`,
	`|    },                                            |`,
	`|    operation = "create",                         |`,
	`|    schema = "consumers"                          |`,
	`|  }, 68854 }                                      |`,
	`+--------------------------------------------------+`,
}

func TestLogSeedExample(t *testing.T) {
	rec := &lineRecorder{}
	h := NewLog(rec, 68854)
	res, err := h.Deliver(context.Background(), Delivery{ID: "d1", Attempt: 1, Event: seedEvent()})
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if res.Status != 0 {
		t.Errorf("Status = %d, want 0", res.Status)
	}
	if got, want := strings.Join(rec.lines, "\n"), strings.Join(seedLines, "\n"); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	for i, l := range rec.levels {
		if l != logger.Notice {
			t.Errorf("line %d at %v, want notice", i, l)
		}
	}
}

// TestLogSeedExampleErrorLog checks the lines as the error log writes them:
// the seed's lines, after the timestamp, level and pid.
func TestLogSeedExampleErrorLog(t *testing.T) {
	var buf bytes.Buffer
	lg := logger.New(&buf, logger.Notice)
	h := NewLog(lg, 68854)
	if _, err := h.Deliver(context.Background(), Delivery{Event: seedEvent()}); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(got) != len(seedLines) {
		t.Fatalf("%d lines, want %d:\n%s", len(got), len(seedLines), buf.String())
	}
	header := fmt.Sprintf(" [notice] %d#0: ", os.Getpid())
	for i, line := range got {
		_, msg, ok := strings.Cut(line, header)
		if !ok || msg != seedLines[i] {
			t.Errorf("line %d = %q, want ...%s%s", i, line, header, seedLines[i])
		}
	}

	t.Run("dropped below notice", func(t *testing.T) {
		var buf bytes.Buffer
		h := NewLog(logger.New(&buf, logger.Warn), 1)
		if _, err := h.Deliver(context.Background(), Delivery{Event: seedEvent()}); err != nil {
			t.Fatal(err)
		}
		if buf.Len() != 0 {
			t.Errorf("wrote %q", buf.String())
		}
	})
}

func TestLogLines(t *testing.T) {
	tests := []struct {
		name string
		ev   Event
		pid  int
		want []string
	}{
		{
			name: "escaping",
			ev: Event{Source: "crud", Name: "routes", Data: map[string]any{
				"path":  "/a\\b\n\"c\"",
				"label": `it's "q"`,
			}},
			pid: 1,
			want: []string{
				`+--------------------------------------+`,
				`|[kong] event_hooks.lua:?:452 "log callback: " { "routes", "crud", {|`,
				`|    label = "it's \"q\"",             |`,
				`|    path = '/a\\b\n"c"'               |`,
				`|  }, 1 }                              |`,
				`+--------------------------------------+`,
			},
		},
		{
			name: "nested arrays",
			ev: Event{Source: "crud", Name: "services", Data: map[string]any{
				"tags":   []any{"a", "b"},
				"matrix": []any{[]any{1, 2}, []any{}, []any{"x", []any{true}}},
			}},
			pid: 7,
			want: []string{
				`+-------------------------------------------------+`,
				`|[kong] event_hooks.lua:?:452 "log callback: " { "services", "crud", {|`,
				`|    matrix = { { 1, 2 }, {}, { "x", { true } } },|`,
				`|    tags = { "a", "b" }                          |`,
				`|  }, 7 }                                         |`,
				`+-------------------------------------------------+`,
			},
		},
		{
			name: "no data",
			ev:   Event{Source: "kong:event_hooks", Name: "ping"},
			pid:  3,
			want: []string{
				`+------------------------------------------------------+`,
				`|[kong] event_hooks.lua:?:452 "log callback: " { "ping", "kong:event_hooks", {}, 3 }|`,
				`+------------------------------------------------------+`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := logLines(tt.ev, tt.pid)
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestLogConcurrentEventsStayTogether: the lines of one event are not
// interleaved with another's.
func TestLogConcurrentEventsStayTogether(t *testing.T) {
	rec := &lineRecorder{}
	h := NewLog(rec, 1)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ev := Event{Source: "crud", Name: "consumers", Data: map[string]any{"n": i, "a": "x", "b": "y"}}
			if _, err := h.Deliver(context.Background(), Delivery{Event: ev}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Each event is 7 lines: border, 5 inspect lines, border.
	const n = 7
	if len(rec.lines) != 8*n {
		t.Fatalf("%d lines", len(rec.lines))
	}
	for i := 0; i < len(rec.lines); i += n {
		if !strings.HasPrefix(rec.lines[i], "+") || !strings.HasPrefix(rec.lines[i+n-1], "+") ||
			!strings.Contains(rec.lines[i+1], "log callback") {
			t.Fatalf("event at line %d interleaved:\n%s", i, strings.Join(rec.lines[i:i+n], "\n"))
		}
	}
}

func TestLogNilWriter(t *testing.T) {
	h := NewLog(nil, 1)
	if _, err := h.Deliver(context.Background(), Delivery{Event: seedEvent()}); err != nil {
		t.Fatal(err)
	}
	var nilLogger *logger.Logger // drops everything
	h = NewLog(nilLogger, 1)
	if _, err := h.Deliver(context.Background(), Delivery{Event: seedEvent()}); err != nil {
		t.Fatal(err)
	}
}
