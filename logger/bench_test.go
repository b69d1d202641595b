package logger

import (
	"io"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// Values the benchmarks log, in variables so that the compiler cannot fold
// them into constants (which would hide the cost of boxing arguments).
var (
	benchRoute = "my-route"
	benchMS    = 1234
	benchMsg   = "upstream timed out while reading response header"
)

// BenchmarkDroppedDebugLog: a debug line below the level, plain message.
func BenchmarkDroppedDebugLog(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	for b.Loop() {
		l.Log(Debug, benchMsg)
	}
}

// BenchmarkDroppedDebugf: a debug line below the level, with arguments. The
// caller boxes the arguments before the level check; see the Guarded
// variant for the way to avoid it.
func BenchmarkDroppedDebugf(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	for b.Loop() {
		l.Debugf("route %s took %d ms", benchRoute, benchMS)
	}
}

// BenchmarkDroppedDebugfGuarded: the same, behind Enabled.
func BenchmarkDroppedDebugfGuarded(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	for b.Loop() {
		if l.Enabled(Debug) {
			l.Debugf("route %s took %d ms", benchRoute, benchMS)
		}
	}
}

// BenchmarkNoticeLog: a written line, plain message, to io.Discard: the
// cost of building the line.
func BenchmarkNoticeLog(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	for b.Loop() {
		l.Log(Notice, benchMsg)
	}
}

// BenchmarkNoticef: a written formatted line to io.Discard.
func BenchmarkNoticef(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	for b.Loop() {
		l.Noticef("route %s took %d ms", benchRoute, benchMS)
	}
}

// BenchmarkNoticefParallel: the same from all CPUs, through the mutex.
func BenchmarkNoticefParallel(b *testing.B) {
	l := New(io.Discard, Notice)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			l.Noticef("route %s took %d ms", benchRoute, benchMS)
		}
	})
}

// BenchmarkNoticefFile: a written line to a real file, one write(2) each.
func BenchmarkNoticefFile(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "error.log"), Notice)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l.Noticef("route %s took %d ms", benchRoute, benchMS)
	}
}

var benchEntry = AccessEntry{
	RemoteAddr: netip.MustParseAddr("172.19.0.1"),
	Method:     []byte("POST"),
	URI:        []byte("/consumers?size=100&offset=abc"),
	Proto:      []byte("HTTP/1.1"),
	Status:     409,
	BodyBytes:  147,
	Referer:    []byte("https://example.com/page"),
	UserAgent:  []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
}

// BenchmarkAccessLine: one access line into the buffer (io.Discard behind
// it), time taken from the entry.
func BenchmarkAccessLine(b *testing.B) {
	a := NewAccessLog(io.Discard)
	defer a.Close()
	e := benchEntry
	e.Time = time.Now()
	b.ReportAllocs()
	for b.Loop() {
		a.Log(e)
	}
}

// BenchmarkAccessLineNow: the same with a zero Time, read per line.
func BenchmarkAccessLineNow(b *testing.B) {
	a := NewAccessLog(io.Discard)
	defer a.Close()
	b.ReportAllocs()
	for b.Loop() {
		a.Log(benchEntry)
	}
}

// BenchmarkAccessLineParallel: from all CPUs.
func BenchmarkAccessLineParallel(b *testing.B) {
	a := NewAccessLog(io.Discard)
	defer a.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a.Log(benchEntry)
		}
	})
}

// BenchmarkAccessLineFile: to a real file, buffered: writes are batched.
func BenchmarkAccessLineFile(b *testing.B) {
	a, err := OpenAccessLog(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	b.ReportAllocs()
	for b.Loop() {
		a.Log(benchEntry)
	}
}

// BenchmarkAccessOff: an access log set to off.
func BenchmarkAccessOff(b *testing.B) {
	a, _ := OpenAccessLog("off")
	b.ReportAllocs()
	for b.Loop() {
		a.Log(benchEntry)
	}
}
