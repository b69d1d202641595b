package logger

import (
	"bufio"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"
)

// AccessEntry is one request to log. Text fields are byte slices because
// that is how fasthttp hands out request data: no conversion, no copy. Log
// reads the entry and keeps nothing, so the slices may be reused after it
// returns.
type AccessEntry struct {
	RemoteAddr netip.Addr // the client; IPv4-mapped addresses print as IPv4, the zero Addr as "-"
	RemoteUser []byte     // the authenticated user, if any
	Time       time.Time  // printed in its own location; zero means now
	Method     []byte     // the request line's parts, printed as "Method URI Proto"
	URI        []byte     // the request target as received
	Proto      []byte     // e.g. "HTTP/1.1"
	Status     int
	// BodyBytes is the response body size ($body_bytes_sent); -1 when it
	// is not known when the entry is written (a streamed body without
	// Content-Length), logged as "-".
	BodyBytes int64
	Referer   []byte // the Referer header
	UserAgent []byte // the User-Agent header
}

// AccessLog writes requests in nginx's "combined" format, Kong's default:
//
//	172.19.0.1 - - [29/Jul/2021:15:57:15 +0000] "POST /consumers HTTP/1.1" 409 147 "-" "HTTPie/2.4.0"
//
// Client-supplied fields are escaped as nginx does: '"', '\' and bytes
// outside printable ASCII become \xHH, so a request cannot forge a line or
// break a parser. Empty fields print as "-".
//
// Unlike the error log, the access log is written on every request, so it is
// buffered: lines collect in memory and are written whole, in batches, at
// most flushInterval after the first line of a batch, when the buffer is
// full, and on Flush and Close. A crash loses at most that interval's
// lines. A nil *AccessLog, or one opened with "off", does nothing and costs
// one comparison a call.
type AccessLog struct {
	off bool

	mu     sync.Mutex
	bw     *bufio.Writer
	f      *os.File // the file OpenAccessLog created; nil otherwise
	path   string   // f's path, for Reopen; set once
	timer  *time.Timer
	armed  bool // timer will flush
	closed bool
}

const (
	accessBufSize = 64 << 10
	flushInterval = 100 * time.Millisecond
)

// OpenAccessLog returns an AccessLog for a configuration path, with the same
// meanings as Open: "off", "/dev/stdout", "/dev/stderr" or a file appended
// to, its directory created.
func OpenAccessLog(path string) (*AccessLog, error) {
	switch path {
	case "off":
		return &AccessLog{off: true}, nil
	case "/dev/stdout":
		return NewAccessLog(os.Stdout), nil
	case "/dev/stderr":
		return NewAccessLog(os.Stderr), nil
	}
	f, err := openAppend(path)
	if err != nil {
		return nil, err
	}
	a := NewAccessLog(f)
	a.f, a.path = f, path
	return a, nil
}

// NewAccessLog returns an AccessLog writing to w, which it does not own:
// Close flushes but does not close w.
func NewAccessLog(w io.Writer) *AccessLog {
	a := &AccessLog{bw: bufio.NewWriterSize(w, accessBufSize)}
	a.timer = time.AfterFunc(time.Hour, a.timedFlush)
	a.timer.Stop()
	return a
}

// Enabled reports whether Log writes anything, so that a caller can skip
// gathering an entry.
func (a *AccessLog) Enabled() bool { return a != nil && !a.off }

// Log writes one entry. With the log off it returns before touching e.
func (a *AccessLog) Log(e AccessEntry) {
	if a != nil && !a.off {
		a.log(&e)
	}
}

func (a *AccessLog) log(e *AccessEntry) {
	bp := getBuf()
	b := appendAccess((*bp)[:0], e)
	a.mu.Lock()
	if !a.closed {
		// Keep each line in one write: flush first if it would not fit.
		if a.bw.Available() < len(b) && a.bw.Buffered() > 0 {
			_ = a.bw.Flush()
		}
		_, _ = a.bw.Write(b)
		if a.bw.Buffered() > 0 && !a.armed {
			a.armed = true
			a.timer.Reset(flushInterval)
		}
	}
	a.mu.Unlock()
	*bp = b
	putBuf(bp)
}

func (a *AccessLog) timedFlush() {
	a.mu.Lock()
	a.armed = false
	if !a.closed {
		_ = a.bw.Flush()
	}
	a.mu.Unlock()
}

// Flush writes the buffered lines now.
func (a *AccessLog) Flush() error {
	if a == nil || a.off {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errClosed
	}
	return a.bw.Flush()
}

// Reopen flushes, closes the log file and opens its path again, after
// logrotate has moved it. AccessLogs not writing to a file of their own only
// flush.
func (a *AccessLog) Reopen() error {
	if a == nil || a.off {
		return nil
	}
	if a.path == "" {
		return a.Flush()
	}
	f, err := openAppend(a.path)
	if err != nil {
		return err
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return f.Close()
	}
	ferr := a.bw.Flush()
	old := a.f
	a.f = f
	a.bw.Reset(f)
	a.mu.Unlock()
	if err := old.Close(); err != nil {
		return err
	}
	return ferr
}

// Close flushes the buffered lines and stops the AccessLog: later entries
// are dropped. It closes the file OpenAccessLog created; a writer given to
// NewAccessLog is left open. Closing twice is harmless.
func (a *AccessLog) Close() error {
	if a == nil || a.off {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	a.timer.Stop()
	err := a.bw.Flush()
	if a.f != nil {
		if cerr := a.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// appendAccess appends one combined-format line, new line included.
func appendAccess(b []byte, e *AccessEntry) []byte {
	if e.RemoteAddr.IsValid() {
		b = e.RemoteAddr.Unmap().AppendTo(b)
	} else {
		b = append(b, '-')
	}
	b = append(b, " - "...)
	b = appendField(b, e.RemoteUser)
	b = append(b, " ["...)
	t := e.Time
	if t.IsZero() {
		t = time.Now()
	}
	b = accessClock.append(b, t)
	b = append(b, "] \""...)
	if len(e.Method) == 0 && len(e.URI) == 0 && len(e.Proto) == 0 {
		b = append(b, '-')
	} else {
		b = appendEscaped(b, e.Method)
		b = append(b, ' ')
		b = appendEscaped(b, e.URI)
		if len(e.Proto) > 0 {
			b = append(b, ' ')
			b = appendEscaped(b, e.Proto)
		}
	}
	b = append(b, "\" "...)
	if e.Status >= 0 && e.Status < 1000 {
		b = append(b, byte('0'+e.Status/100), byte('0'+e.Status/10%10), byte('0'+e.Status%10))
	} else {
		b = strconv.AppendInt(b, int64(e.Status), 10)
	}
	b = append(b, ' ')
	if e.BodyBytes < 0 {
		b = append(b, '-')
	} else {
		b = strconv.AppendInt(b, e.BodyBytes, 10)
	}
	b = append(b, " \""...)
	b = appendField(b, e.Referer)
	b = append(b, "\" \""...)
	b = appendField(b, e.UserAgent)
	return append(b, "\"\n"...)
}

// appendField appends an escaped value, or "-" when it is empty, as nginx
// prints an empty variable.
func appendField(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	return appendEscaped(b, v)
}

// appendEscaped escapes like nginx's access log (escape=default): '"', '\\',
// control bytes and bytes from 0x7f up become \xHH, upper-case hex. Most
// values need no escape at all, so the clean stretch before each escape is
// found eight bytes at a time and copied whole.
func appendEscaped(b, v []byte) []byte {
	const hex = "0123456789ABCDEF"
	for {
		j := firstEscape(v)
		if j < 0 {
			return append(b, v...)
		}
		c := v[j]
		b = append(b, v[:j]...)
		b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
		v = v[j+1:]
	}
}

// firstEscape returns the index of the first byte of v needing an escape,
// or -1.
func firstEscape(v []byte) int {
	i := 0
	for ; i+8 <= len(v); i += 8 {
		if wordNeedsEscape(binary.LittleEndian.Uint64(v[i : i+8])) {
			break
		}
	}
	for ; i < len(v); i++ {
		if needsEscape[v[i]] {
			return i
		}
	}
	return -1
}

// needsEscape[c] is true for the bytes nginx escapes.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\'
	}
	return t
}()

// wordNeedsEscape reports whether any of the eight bytes in x needs an
// escape, with the classic bit tricks (each term sets a byte's high bit):
// x itself for bytes from 0x80, x+1 for 0x7f, x-0x20 for bytes below 0x20,
// and the zero-byte test on x^'"' and x^'\'. Carries and borrows between
// bytes can only start at a byte that is itself flagged, so the answer is
// exact. Kept small enough to be inlined.
func wordNeedsEscape(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q, s := x^(lo*'"'), x^(lo*'\\')
	return (x|(x+lo)|(x-lo*0x20)&^x|(q-lo)&^q|(s-lo)&^s)&hi != 0
}

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendAccessTime appends t as nginx's $time_local, "02/Jan/2006:15:04:05
// -0700", by hand for the same reason as appendErrorTime.
func appendAccessTime(b []byte, t time.Time) []byte {
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	_, off := t.Zone()
	b = append2(b, day)
	b = append(b, '/')
	b = append(b, monthNames[month-1]...)
	b = append(b, '/')
	b = appendInt4(b, year)
	b = append(b, ':')
	b = append2(b, hour)
	b = append(b, ':')
	b = append2(b, min)
	b = append(b, ':')
	b = append2(b, sec)
	b = append(b, ' ')
	if off < 0 {
		b = append(b, '-')
		off = -off
	} else {
		b = append(b, '+')
	}
	off /= 60
	b = append2(b, off/60)
	return append2(b, off%60)
}
