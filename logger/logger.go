// Package logger writes Portico's logs in the formats Kong users and their
// tools already parse: the nginx error log that Kong writes
//
//	2021/07/29 15:57:26 [notice] 68854#0: message
//
// and the nginx "combined" access log (see AccessLog).
//
// # Model
//
// A Logger is one destination (a file, a standard stream, or nothing) with a
// minimum level. Every call first compares its level with that minimum, one
// atomic load, and returns at once when the line would be dropped: debug
// calls can stay in hot paths. A line that is kept is built whole in a
// pooled buffer and written with one Write under a mutex, so that lines from
// concurrent goroutines never interleave and a reader (tail -f, a log
// shipper) never sees half a line. Error-log lines are not buffered: they are
// rare, and the last ones before a crash are the ones that matter.
//
// Files are opened with O_APPEND, so several Loggers (the proxy's and the
// Admin API's both default to logs/error.log) can share one file, and an
// external logrotate can move it away; Reopen starts a new file at the path.
//
// All methods are safe for concurrent use, and safe on a nil *Logger, which
// drops everything: a component can be built without a logger in tests.
package logger

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Level is a severity, in nginx's order: Debug is the least severe.
type Level int32

// The levels of nginx's error log, which Kong's log_level accepts.
const (
	Debug Level = iota
	Info
	Notice
	Warn
	Error
	Crit
	Alert
	Emerg

	levelOff // above every level: nothing is enabled
)

var levelNames = [...]string{"debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"}

// String returns the level's name as written in the log and in log_level.
func (l Level) String() string {
	if l >= Debug && l <= Emerg {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// ParseLevel reads a level name, in any case.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if strings.EqualFold(s, n) {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("invalid log level '%s' (accepted: %s)", s, strings.Join(levelNames[:], ", "))
}

// Logger writes error-log lines at or above its level to one destination.
type Logger struct {
	level atomic.Int32 // the minimum Level written; levelOff for none
	off   bool         // opened with "off": SetLevel cannot turn it on

	mu     sync.Mutex
	w      io.Writer
	f      *os.File // the file Open created, owned and closed by the Logger
	path   string   // f's path, for Reopen
	closed bool

	pid []byte // "<pid>#0: ", written after the level on every line
}

// New returns a Logger writing to w, which it does not own: Close does not
// close w. Meant for tests and for destinations Open does not know.
func New(w io.Writer, level Level) *Logger {
	l := &Logger{w: w, pid: []byte(strconv.Itoa(os.Getpid()) + "#0: ")}
	l.level.Store(int32(level))
	return l
}

// Open returns a Logger for a configuration path: "off" drops everything,
// "/dev/stdout" and "/dev/stderr" use the process's streams (opening those
// device files fails in some containers and would close the stream on
// Close), any other path is a file opened for appending, its directory
// created if missing.
func Open(path string, level Level) (*Logger, error) {
	switch path {
	case "off":
		l := New(io.Discard, levelOff)
		l.off = true
		return l, nil
	case "/dev/stdout":
		return New(os.Stdout, level), nil
	case "/dev/stderr":
		return New(os.Stderr, level), nil
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	l := New(f, level)
	l.f, l.path = f, path
	return l, nil
}

// openAppend opens path for appending, creating it and its directory.
// 0644 and 0755 are what nginx leaves, so existing log readers keep working.
func openAppend(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logger: %w", err)
	}
	return f, nil
}

// Enabled reports whether a line at level would be written. Check it before
// building an expensive message: Debugf's arguments are evaluated (and may
// be allocated) by the caller even when the line is then dropped.
func (l *Logger) Enabled(level Level) bool {
	return l != nil && int32(level) >= l.level.Load()
}

// SetLevel changes the minimum level at run time, for every goroutine at
// once. It has no effect on a Logger opened with "off".
func (l *Logger) SetLevel(level Level) {
	if l == nil || l.off {
		return
	}
	l.level.Store(int32(level))
}

// Level returns the current minimum level.
func (l *Logger) Level() Level {
	if l == nil {
		return levelOff
	}
	return Level(l.level.Load())
}

// Log writes msg at level. The message is written as it is, new lines
// included (as Kong does); one trailing new line is dropped so that a
// message ending in "\n" does not leave a blank line.
//
// Log costs no allocation, written or dropped. The f methods below box
// their arguments in the caller before the level is even checked (Go's
// ...any), so a dropped Debugf with non-constant arguments still allocates;
// on hot paths, guard them with Enabled.
func (l *Logger) Log(level Level, msg string) {
	if l.Enabled(level) {
		l.log(level, msg)
	}
}

// Logf formats a message at level with fmt's verbs.
func (l *Logger) Logf(level Level, format string, args ...any) {
	if l.Enabled(level) {
		l.logf(level, format, args)
	}
}

// Debugf logs at Debug.
func (l *Logger) Debugf(format string, args ...any) {
	if l.Enabled(Debug) {
		l.logf(Debug, format, args)
	}
}

// Infof logs at Info.
func (l *Logger) Infof(format string, args ...any) {
	if l.Enabled(Info) {
		l.logf(Info, format, args)
	}
}

// Noticef logs at Notice, the default level.
func (l *Logger) Noticef(format string, args ...any) {
	if l.Enabled(Notice) {
		l.logf(Notice, format, args)
	}
}

// Warnf logs at Warn.
func (l *Logger) Warnf(format string, args ...any) {
	if l.Enabled(Warn) {
		l.logf(Warn, format, args)
	}
}

// Errorf logs at Error.
func (l *Logger) Errorf(format string, args ...any) {
	if l.Enabled(Error) {
		l.logf(Error, format, args)
	}
}

// Critf logs at Crit.
func (l *Logger) Critf(format string, args ...any) {
	if l.Enabled(Crit) {
		l.logf(Crit, format, args)
	}
}

// log and logf are the slow paths, kept out of the methods above so that
// those inline into the caller and a dropped line costs a load and a
// compare.
func (l *Logger) log(level Level, msg string) {
	bp := getBuf()
	b := l.appendHeader((*bp)[:0], level)
	b = append(b, msg...)
	l.finish(bp, b)
}

func (l *Logger) logf(level Level, format string, args []any) {
	bp := getBuf()
	b := l.appendHeader((*bp)[:0], level)
	b = fmt.Appendf(b, format, args...)
	l.finish(bp, b)
}

// appendHeader appends "YYYY/MM/DD HH:MM:SS [level] <pid>#0: ".
func (l *Logger) appendHeader(b []byte, level Level) []byte {
	b = errorClock.append(b, time.Now())
	b = append(b, " ["...)
	b = append(b, level.String()...)
	b = append(b, "] "...)
	return append(b, l.pid...)
}

// finish ends the line and writes it with one Write.
func (l *Logger) finish(bp *[]byte, b []byte) {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	b = append(b, '\n')
	l.mu.Lock()
	if !l.closed {
		// A failed write cannot be reported anywhere better than the log
		// itself; like nginx, drop the line.
		_, _ = l.w.Write(b)
	}
	l.mu.Unlock()
	*bp = b
	putBuf(bp)
}

// Reopen closes the log file and opens its path again, after logrotate has
// moved it (what nginx does on SIGUSR1). Loggers not writing to a file of
// their own have nothing to do.
func (l *Logger) Reopen() error {
	if l == nil || l.path == "" { // path is set once by Open, never changed
		return nil
	}
	f, err := openAppend(l.path)
	if err != nil {
		return err
	}
	l.mu.Lock()
	old := l.f
	if l.closed {
		l.mu.Unlock()
		return f.Close()
	}
	l.f, l.w = f, f
	l.mu.Unlock()
	return old.Close()
}

// Close stops the Logger: later calls are dropped. It closes the file Open
// created; a writer given to New is left open. Closing twice is harmless.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.level.Store(int32(levelOff))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.f != nil {
		return l.f.Close()
	}
	return nil
}

// bufPool holds line buffers. Buffers that grew past maxPooled (a huge
// message) are dropped rather than kept alive forever.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

const maxPooled = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(bp *[]byte) {
	if cap(*bp) > maxPooled {
		return
	}
	*bp = (*bp)[:0]
	bufPool.Put(bp)
}

// appendErrorTime appends t as "2006/01/02 15:04:05", by hand:
// time.AppendFormat is several times slower.
func appendErrorTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendInt4(b, year)
	b = append(b, '/')
	b = append2(b, int(month))
	b = append(b, '/')
	b = append2(b, day)
	b = append(b, ' ')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, min)
	b = append(b, ':')
	return append2(b, sec)
}

// stampCache remembers the text of the last second formatted: lines come
// many to a second, and finding the calendar date and the zone offset is
// most of the cost of a timestamp. A new second stores a new stamp (one
// small allocation a second); readers never wait.
type stampCache struct {
	last   atomic.Pointer[stamp]
	format func([]byte, time.Time) []byte
}

type stamp struct {
	sec  int64
	loc  *time.Location
	text []byte
}

var (
	errorClock  = &stampCache{format: appendErrorTime}
	accessClock = &stampCache{format: appendAccessTime}
)

// append appends t's text, from the cache when t falls in the cached second
// and location (the location decides the offset, and offsets only change
// on whole seconds).
func (c *stampCache) append(b []byte, t time.Time) []byte {
	sec, loc := t.Unix(), t.Location()
	if s := c.last.Load(); s != nil && s.sec == sec && s.loc == loc {
		return append(b, s.text...)
	}
	start := len(b)
	b = c.format(b, t)
	c.last.Store(&stamp{sec: sec, loc: loc, text: append([]byte(nil), b[start:]...)})
	return b
}

func append2(b []byte, n int) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

func appendInt4(b []byte, n int) []byte {
	if n < 0 || n > 9999 {
		return strconv.AppendInt(b, int64(n), 10)
	}
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// errClosed is what Flush returns on a closed AccessLog.
var errClosed = errors.New("logger: closed")
