package logger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var utc = time.Date(2021, 7, 29, 15, 57, 15, 123, time.UTC)

func TestAccessFormat(t *testing.T) {
	tests := []struct {
		name string
		e    AccessEntry
		want string
	}{
		{"Kong's example", AccessEntry{
			RemoteAddr: netip.MustParseAddr("172.19.0.1"), Time: utc,
			Method: []byte("POST"), URI: []byte("/consumers"), Proto: []byte("HTTP/1.1"),
			Status: 409, BodyBytes: 147, UserAgent: []byte("HTTPie/2.4.0"),
		}, `172.19.0.1 - - [29/Jul/2021:15:57:15 +0000] "POST /consumers HTTP/1.1" 409 147 "-" "HTTPie/2.4.0"`},
		{"all fields", AccessEntry{
			RemoteAddr: netip.MustParseAddr("10.0.0.1"), RemoteUser: []byte("alice"), Time: utc,
			Method: []byte("GET"), URI: []byte("/a?b=c&d=%20"), Proto: []byte("HTTP/2.0"),
			Status: 200, BodyBytes: 0, Referer: []byte("https://example.com/"), UserAgent: []byte("curl/8.0"),
		}, `10.0.0.1 - alice [29/Jul/2021:15:57:15 +0000] "GET /a?b=c&d=%20 HTTP/2.0" 200 0 "https://example.com/" "curl/8.0"`},
		{"IPv6 client", AccessEntry{RemoteAddr: netip.MustParseAddr("2001:db8::1"), Time: utc, Method: []byte("GET"), URI: []byte("/"), Proto: []byte("HTTP/1.1"), Status: 204},
			`2001:db8::1 - - [29/Jul/2021:15:57:15 +0000] "GET / HTTP/1.1" 204 0 "-" "-"`},
		{"IPv4-mapped client prints as IPv4", AccessEntry{RemoteAddr: netip.MustParseAddr("::ffff:192.0.2.7"), Time: utc, Method: []byte("GET"), URI: []byte("/"), Proto: []byte("HTTP/1.1"), Status: 200},
			`192.0.2.7 - - [29/Jul/2021:15:57:15 +0000] "GET / HTTP/1.1" 200 0 "-" "-"`},
		{"no request line", AccessEntry{RemoteAddr: netip.MustParseAddr("1.2.3.4"), Time: utc, Status: 400},
			`1.2.3.4 - - [29/Jul/2021:15:57:15 +0000] "-" 400 0 "-" "-"`},
		{"HTTP/0.9 style, no protocol", AccessEntry{Time: utc, Method: []byte("GET"), URI: []byte("/"), Status: 200},
			`- - - [29/Jul/2021:15:57:15 +0000] "GET /" 200 0 "-" "-"`},
		{"size not known (a chunked stream)", AccessEntry{Time: utc, Method: []byte("GET"), URI: []byte("/"), Status: 200, BodyBytes: -1},
			`- - - [29/Jul/2021:15:57:15 +0000] "GET /" 200 - "-" "-"`},
		{"status 0 and large", AccessEntry{Time: utc, Status: 0}, `- - - [29/Jul/2021:15:57:15 +0000] "-" 000 0 "-" "-"`},
		{"status 1000", AccessEntry{Time: utc, Status: 1000, BodyBytes: 1 << 40}, `- - - [29/Jul/2021:15:57:15 +0000] "-" 1000 1099511627776 "-" "-"`},
		{"escaping", AccessEntry{
			RemoteAddr: netip.MustParseAddr("1.2.3.4"), RemoteUser: []byte("bob\"x"), Time: utc,
			Method: []byte("GET"), URI: []byte("/a\"b\\c\x01\x7f\xc3\xa9"), Proto: []byte("HTTP/1.1"),
			Status: 200, Referer: []byte("r\n\"forged\" 200"), UserAgent: []byte("ua\t\x00\xff"),
		}, `1.2.3.4 - bob\x22x [29/Jul/2021:15:57:15 +0000] "GET /a\x22b\x5Cc\x01\x7F\xC3\xA9 HTTP/1.1" 200 0 "r\x0A\x22forged\x22 200" "ua\x09\x00\xFF"`},
		{"time zone east", AccessEntry{Time: time.Date(2021, 1, 2, 3, 4, 5, 0, time.FixedZone("IST", 5*3600+1800)), Status: 200},
			`- - - [02/Jan/2021:03:04:05 +0530] "-" 200 0 "-" "-"`},
		{"time zone west", AccessEntry{Time: time.Date(2021, 12, 31, 23, 59, 59, 0, time.FixedZone("PST", -8*3600)), Status: 200},
			`- - - [31/Dec/2021:23:59:59 -0800] "-" 200 0 "-" "-"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendAccess(nil, &tt.e))
			if got != tt.want+"\n" {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAccessTimeMatchesTimeFormat(t *testing.T) {
	locs := []*time.Location{time.UTC, time.Local, time.FixedZone("a", 5*3600+1800), time.FixedZone("b", -9*3600-1800)}
	for i := 0; i < 1000; i++ {
		ts := time.Unix(int64(i)*7919*3607, 0).In(locs[i%len(locs)])
		got := string(appendAccessTime(nil, ts))
		if want := ts.Format("02/Jan/2006:15:04:05 -0700"); got != want {
			t.Fatalf("appendAccessTime = %q, want %q", got, want)
		}
	}
}

// The zero Time means now, in local time.
func TestAccessZeroTime(t *testing.T) {
	var sb syncBuffer
	a := NewAccessLog(&sb)
	a.Log(AccessEntry{Status: 200})
	a.Close()
	want := "[" + time.Now().Format("02/Jan/2006:15:04") // minutes: the test may cross a second
	if !strings.Contains(sb.String(), want) {
		t.Errorf("line %q lacks %q", sb.String(), want)
	}
}

func TestAccessBuffering(t *testing.T) {
	var sb syncBuffer
	a := NewAccessLog(&sb)
	e := AccessEntry{Time: utc, Method: []byte("GET"), URI: []byte("/"), Proto: []byte("HTTP/1.1"), Status: 200}
	a.Log(e)
	a.Log(e)
	if sb.String() != "" {
		t.Error("written before any flush: the access log should buffer")
	}
	// The timer flushes the batch shortly after.
	deadline := time.Now().Add(5 * time.Second)
	for sb.String() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := strings.Count(sb.String(), "\n"); got != 2 {
		t.Fatalf("after the flush interval: %d lines", got)
	}
	if w := sb.Writes(); len(w) != 1 {
		t.Errorf("%d writes for one batch, want 1", len(w))
	}
	// Explicit Flush.
	a.Log(e)
	if err := a.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(sb.String(), "\n"); got != 3 {
		t.Errorf("after Flush: %d lines", got)
	}
	a.Log(e)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(sb.String(), "\n"); got != 4 {
		t.Errorf("after Close: %d lines", got)
	}
	a.Log(e) // dropped
	if err := a.Flush(); err != errClosed {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if got := strings.Count(sb.String(), "\n"); got != 4 {
		t.Errorf("after a Log on a closed log: %d lines", got)
	}
}

// TestAccessWholeLines: when the buffer fills, every write still holds only
// whole lines, so another process appending to the file (or a reader) never
// sees a torn line; lines bigger than the buffer are written alone.
func TestAccessWholeLines(t *testing.T) {
	var sb syncBuffer
	a := NewAccessLog(&sb)
	for i := 0; i < 3000; i++ {
		a.Log(AccessEntry{Time: utc, Method: []byte("GET"), URI: bytes.Repeat([]byte("u"), i%300), Status: 200})
	}
	a.Log(AccessEntry{Time: utc, Method: []byte("GET"), URI: bytes.Repeat([]byte("big"), accessBufSize), Status: 200})
	a.Close()
	writes := sb.Writes()
	if len(writes) < 3 {
		t.Fatalf("only %d writes: the buffer never filled", len(writes))
	}
	for i, w := range writes {
		if !strings.HasSuffix(w, "\n") || !strings.HasPrefix(w, "- - - [") {
			t.Fatalf("write %d does not hold whole lines: %.40q...%.40q", i, w, w[max(0, len(w)-40):])
		}
	}
	if n := strings.Count(sb.String(), "\n"); n != 3001 {
		t.Errorf("%d lines, want 3001", n)
	}
}

func TestOpenAccessLogFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "access.log")
	a, err := OpenAccessLog(path)
	if err != nil {
		t.Fatal(err)
	}
	if !a.Enabled() {
		t.Error("file access log not enabled")
	}
	a.Log(AccessEntry{RemoteAddr: netip.MustParseAddr("127.0.0.1"), Time: utc, Method: []byte("GET"), URI: []byte("/status"), Proto: []byte("HTTP/1.1"), Status: 200, BodyBytes: 12})
	// Reopen after logrotate moved the file: the buffered line goes to the
	// old file, later ones to a new file at the path.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := a.Reopen(); err != nil {
		t.Fatal(err)
	}
	a.Log(AccessEntry{Time: utc, Status: 201})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if string(old) != "127.0.0.1 - - [29/Jul/2021:15:57:15 +0000] \"GET /status HTTP/1.1\" 200 12 \"-\" \"-\"\n" {
		t.Errorf("old file %q", old)
	}
	if string(cur) != "- - - [29/Jul/2021:15:57:15 +0000] \"-\" 201 0 \"-\" \"-\"\n" {
		t.Errorf("new file %q", cur)
	}
	if _, err := OpenAccessLog(filepath.Join(path+".1", "x.log")); err == nil {
		t.Error("OpenAccessLog under a file: no error")
	}
}

func TestAccessOff(t *testing.T) {
	a, err := OpenAccessLog("off")
	if err != nil {
		t.Fatal(err)
	}
	var nilLog *AccessLog
	for _, l := range []*AccessLog{a, nilLog} {
		if l.Enabled() {
			t.Error("off access log enabled")
		}
		l.Log(AccessEntry{Status: 200})
		if l.Flush() != nil || l.Reopen() != nil || l.Close() != nil {
			t.Error("off access log returned an error")
		}
	}
	for _, p := range []string{"/dev/stdout", "/dev/stderr"} {
		a, err := OpenAccessLog(p)
		if err != nil || a.f != nil || !a.Enabled() {
			t.Errorf("%s: %v", p, err)
		}
		a.Close()
	}
}

func TestAccessConcurrent(t *testing.T) {
	var sb syncBuffer
	a := NewAccessLog(&sb)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			uri := []byte("/path")
			for i := 0; i < 500; i++ {
				a.Log(AccessEntry{RemoteAddr: netip.MustParseAddr("10.0.0.1"), Time: utc, Method: []byte("GET"), URI: uri, Proto: []byte("HTTP/1.1"), Status: 200, BodyBytes: int64(i)})
				if i%100 == 0 {
					a.Flush()
				}
			}
		}()
	}
	wg.Wait()
	a.Close()
	re := regexp.MustCompile(`^10\.0\.0\.1 - - \[29/Jul/2021:15:57:15 \+0000\] "GET /path HTTP/1\.1" 200 \d+ "-" "-"$`)
	lines := strings.Split(strings.TrimSuffix(sb.String(), "\n"), "\n")
	if len(lines) != 4000 {
		t.Fatalf("%d lines, want 4000", len(lines))
	}
	for _, l := range lines {
		if !re.MatchString(l) {
			t.Fatalf("bad line %q", l)
		}
	}
}

// TestWordNeedsEscape checks the eight-bytes-at-a-time scan against the
// byte table, for every byte value at every position and random words.
func TestWordNeedsEscape(t *testing.T) {
	check := func(w [8]byte) {
		want := false
		for _, c := range w {
			want = want || needsEscape[c]
		}
		if got := wordNeedsEscape(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("wordNeedsEscape(%q) = %v, want %v", w[:], got, want)
		}
	}
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			w := [8]byte{'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'}
			w[pos] = byte(c)
			check(w)
			w = [8]byte{0x21, 0x7e, 0x23, 0x5b, 0x5d, 0x20, 0x7e, 0x21} // clean bytes next to the escaped ones
			w[pos] = byte(c)
			check(w)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		var w [8]byte
		for j := range w {
			w[j] = byte(0x1c + rng.IntN(0x68)) // mostly printable, some edges
		}
		check(w)
	}
	// And appendEscaped as a whole against the byte-at-a-time definition.
	for i := 0; i < 2000; i++ {
		v := make([]byte, rng.IntN(40))
		for j := range v {
			if rng.IntN(10) == 0 {
				v[j] = byte(rng.IntN(256))
			} else {
				v[j] = byte('a' + rng.IntN(26))
			}
		}
		var want []byte
		for _, c := range v {
			if needsEscape[c] {
				want = append(want, []byte(fmt.Sprintf(`\x%02X`, c))...)
			} else {
				want = append(want, c)
			}
		}
		if got := appendEscaped(nil, v); !bytes.Equal(got, want) {
			t.Fatalf("appendEscaped(%q) = %q, want %q", v, got, want)
		}
	}
}
