package handler

import (
	"bytes"
	"context"
	"strings"
	"sync"

	"github.com/portico-gw/portico/logger"
)

// LineWriter is where the log handler writes: *logger.Logger (the error
// log) satisfies it.
type LineWriter interface {
	Log(level logger.Level, msg string)
}

// Log is Kong's "log" handler: it writes each event to the error log at
// notice level, as Kong's
//
//	kong.log.inspect("log callback: ", { event, source, data, pid })
//
// prints it, in a box, one log line per line:
//
//	+--------------------------------------------------+
//	|[kong] event_hooks.lua:?:452 "log callback: " { "consumers", "crud", {|
//	|    entity = {                                    |
//	...
//	|  }, 68854 }                                      |
//	+--------------------------------------------------+
//
// The box is as wide as the longest line of the inspect output; the first
// line also carries Kong's "[kong] event_hooks.lua:?:452 " prefix, which
// does not count in the width (so that line usually overflows the box, as
// in Kong's log). Lines are padded by bytes, as Lua's string.format does.
// The log handler has no config.
type Log struct {
	w   LineWriter
	pid int

	// mu keeps one event's lines together when events are logged
	// concurrently.
	mu sync.Mutex
}

var _ Handler = (*Log)(nil)

// logPrefix is what Kong's inspect puts before the first line: the
// namespace and the (stripped) source position of the call in Kong.
const logPrefix = "[kong] event_hooks.lua:?:452 "

// NewLog returns a log handler writing to w. pid is printed as the event's
// pid (Kong: the worker that emitted the event).
func NewLog(w LineWriter, pid int) *Log {
	return &Log{w: w, pid: pid}
}

// Deliver logs the event. It cannot fail.
func (l *Log) Deliver(_ context.Context, d Delivery) (Result, error) {
	if l.w == nil {
		return Result{}, nil
	}
	if e, ok := l.w.(interface{ Enabled(logger.Level) bool }); ok && !e.Enabled(logger.Notice) {
		return Result{}, nil // dropped anyway: skip the formatting
	}
	lines := logLines(d.Event, l.pid)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range lines {
		l.w.Log(logger.Notice, line)
	}
	return Result{}, nil
}

// logLines returns the error-log lines the log handler writes for ev: the
// boxed output of Kong's kong.log.inspect("log callback: ", { event,
// source, data, pid }).
func logLines(ev Event, pid int) []string {
	var data any = ev.Data
	if ev.Data == nil {
		data = map[string]any{} // an event without data still has a table
	}
	b := appendInspect(make([]byte, 0, 512), "log callback: ")
	b = append(b, ' ')
	b = appendInspect(b, []any{ev.Name, ev.Source, data, pid})

	width := 0
	for line := range bytes.Lines(b) {
		width = max(width, len(bytes.TrimSuffix(line, []byte{'\n'})))
	}
	border := "+" + strings.Repeat("-", width) + "+"

	lines := make([]string, 0, bytes.Count(b, []byte{'\n'})+3)
	lines = append(lines, border)
	var sb strings.Builder
	first := true
	for line := range bytes.Lines(b) {
		line = bytes.TrimSuffix(line, []byte{'\n'})
		sb.Reset()
		sb.Grow(len(logPrefix) + width + 2)
		sb.WriteByte('|')
		n := len(line)
		if first {
			sb.WriteString(logPrefix)
			n += len(logPrefix)
			first = false
		}
		sb.Write(line)
		for ; n < width; n++ { // %-<width>s: padded to at least width
			sb.WriteByte(' ')
		}
		sb.WriteByte('|')
		lines = append(lines, sb.String())
	}
	return append(lines, border)
}
