package logger

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for concurrent use that records each
// Write separately, to check that every line arrives in one call.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes []string
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes = append(s.writes, string(p))
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func (s *syncBuffer) Writes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.writes...)
}

var pid = strconv.Itoa(os.Getpid())

func lineRE(level, msg string) *regexp.Regexp {
	return regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[` + level + `\] ` + pid + `#0: ` + msg + `$`)
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want Level
	}{
		{"debug", Debug}, {"info", Info}, {"notice", Notice}, {"warn", Warn}, {"error", Error},
		{"crit", Crit}, {"alert", Alert}, {"emerg", Emerg}, {"DEBUG", Debug}, {"Notice", Notice},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if !strings.EqualFold(got.String(), tt.in) {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
	for _, in := range []string{"", "warning", "loud", "notice "} {
		if _, err := ParseLevel(in); err == nil || !strings.Contains(err.Error(), "accepted: debug, info, notice, warn, error, crit, alert, emerg") {
			t.Errorf("ParseLevel(%q): err = %v", in, err)
		}
	}
	if s := Level(42).String(); s != "level(42)" {
		t.Errorf("Level(42).String() = %q", s)
	}
}

func TestLevelFiltering(t *testing.T) {
	calls := []struct {
		level Level
		log   func(l *Logger)
	}{
		{Debug, func(l *Logger) { l.Debugf("m %d", 1) }},
		{Info, func(l *Logger) { l.Infof("m %d", 1) }},
		{Notice, func(l *Logger) { l.Noticef("m %d", 1) }},
		{Warn, func(l *Logger) { l.Warnf("m %d", 1) }},
		{Error, func(l *Logger) { l.Errorf("m %d", 1) }},
		{Crit, func(l *Logger) { l.Critf("m %d", 1) }},
		{Alert, func(l *Logger) { l.Logf(Alert, "m %d", 1) }},
		{Emerg, func(l *Logger) { l.Log(Emerg, "m 1") }},
	}
	for min := Debug; min <= Emerg; min++ {
		for _, c := range calls {
			var buf bytes.Buffer
			l := New(&buf, min)
			c.log(l)
			wrote := buf.Len() > 0
			if want := c.level >= min; wrote != want || l.Enabled(c.level) != want {
				t.Errorf("level %v, call at %v: wrote %v, Enabled %v, want %v", min, c.level, wrote, l.Enabled(c.level), want)
			}
			if wrote && !lineRE(c.level.String(), "m 1").MatchString(strings.TrimSuffix(buf.String(), "\n")) {
				t.Errorf("line %q", buf.String())
			}
		}
	}
}

func TestLineFormat(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *Logger)
		want string // the line(s) after the "<pid>#0: " prefix, new line included
	}{
		{"plain", func(l *Logger) { l.Log(Notice, "hello world") }, "hello world\n"},
		{"format", func(l *Logger) { l.Noticef("%s=%d %q", "a", 5, "x") }, "a=5 \"x\"\n"},
		{"multi-line kept", func(l *Logger) { l.Log(Notice, "one\ntwo\n  three") }, "one\ntwo\n  three\n"},
		{"one trailing new line dropped", func(l *Logger) { l.Log(Notice, "end\n") }, "end\n"},
		{"only one dropped", func(l *Logger) { l.Log(Notice, "end\n\n") }, "end\n\n"},
		{"empty", func(l *Logger) { l.Log(Notice, "") }, "\n"},
		{"bad verb", func(l *Logger) { l.Noticef("%d", "x") }, "%!d(string=x)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			before := time.Now().Truncate(time.Second)
			tt.log(New(&buf, Debug))
			after := time.Now()
			got := buf.String()
			head := regexp.MustCompile(`^(\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[notice\] ` + pid + `#0: `).FindStringSubmatch(got)
			if head == nil {
				t.Fatalf("line %q does not start with the error-log header", got)
			}
			if rest := got[len(head[0]):]; rest != tt.want {
				t.Errorf("message %q, want %q", rest, tt.want)
			}
			ts, err := time.ParseInLocation("2006/01/02 15:04:05", head[1], time.Local)
			if err != nil || ts.Before(before) || ts.After(after) {
				t.Errorf("time %q not local now (%v): %v", head[1], before, err)
			}
		})
	}
}

func TestErrorTimeMatchesTimeFormat(t *testing.T) {
	locs := []*time.Location{time.UTC, time.FixedZone("x", 5*3600+1800), time.FixedZone("y", -8*3600)}
	for i := 0; i < 1000; i++ {
		ts := time.Unix(int64(i)*7919*3607, int64(i)*1e6).In(locs[i%len(locs)])
		got := string(appendErrorTime(nil, ts))
		if want := ts.Format("2006/01/02 15:04:05"); got != want {
			t.Fatalf("appendErrorTime = %q, want %q", got, want)
		}
	}
}

func TestSetLevel(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf, Error)
	l.Noticef("dropped")
	l.SetLevel(Debug)
	if l.Level() != Debug {
		t.Errorf("Level() = %v", l.Level())
	}
	l.Debugf("kept")
	l.SetLevel(Crit)
	l.Errorf("dropped too")
	if got := buf.String(); strings.Contains(got, "dropped") || !strings.Contains(got, "kept") {
		t.Errorf("output %q", got)
	}
}

func TestOpenFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "deeper", "error.log")
	l, err := Open(path, Info)
	if err != nil {
		t.Fatal(err)
	}
	l.Infof("first")
	// A second Logger on the same path (proxy and admin share error.log)
	// appends to it too.
	l2, err := Open(path, Info)
	if err != nil {
		t.Fatal(err)
	}
	l2.Infof("second")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	l.Infof("after close") // dropped, no panic
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !lineRE("info", "first").MatchString(lines[0]) || !lineRE("info", "second").MatchString(lines[1]) {
		t.Errorf("file:\n%s", data)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&^0o644 != 0 {
		t.Errorf("mode %v, %v", st.Mode(), err)
	}

	// An existing file is appended to, not truncated.
	l3, err := Open(path, Info)
	if err != nil {
		t.Fatal(err)
	}
	l3.Infof("third")
	l3.Close()
	data, _ = os.ReadFile(path)
	if strings.Count(string(data), "\n") != 3 {
		t.Errorf("file after reopen:\n%s", data)
	}

	// A path that cannot be created is an error, not a panic.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	if _, err := Open(filepath.Join(blocker, "error.log"), Info); err == nil {
		t.Error("Open under a file: no error")
	}
}

func TestOpenSpecial(t *testing.T) {
	off, err := Open("off", Debug)
	if err != nil {
		t.Fatal(err)
	}
	for lv := Debug; lv <= Emerg; lv++ {
		if off.Enabled(lv) {
			t.Errorf("off logger enabled at %v", lv)
		}
	}
	off.SetLevel(Debug)
	if off.Enabled(Emerg) {
		t.Error("SetLevel turned an off logger on")
	}
	off.Critf("nothing")
	if err := off.Close(); err != nil {
		t.Error(err)
	}

	out, _ := Open("/dev/stdout", Notice)
	errl, _ := Open("/dev/stderr", Notice)
	if out.w != os.Stdout || errl.w != os.Stderr || out.f != nil || errl.f != nil {
		t.Error("/dev/stdout and /dev/stderr must use the process's streams, not own them")
	}
	out.Close()
	errl.Close()
	if _, err := os.Stdout.Stat(); err != nil {
		t.Errorf("Close closed stdout: %v", err)
	}

	var nilLogger *Logger
	nilLogger.Debugf("x")
	nilLogger.Log(Emerg, "x")
	nilLogger.SetLevel(Debug)
	if nilLogger.Enabled(Emerg) || nilLogger.Reopen() != nil || nilLogger.Close() != nil {
		t.Error("nil Logger misbehaves")
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "error.log")
	l, err := Open(path, Notice)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Noticef("before")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Noticef("still old") // written to the moved file until Reopen
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Noticef("after")
	old, _ := os.ReadFile(path + ".1")
	cur, _ := os.ReadFile(path)
	if strings.Count(string(old), "\n") != 2 || !strings.Contains(string(cur), "after") || strings.Contains(string(cur), "before") {
		t.Errorf("old:\n%s\nnew:\n%s", old, cur)
	}
	if err := New(io.Discard, Debug).Reopen(); err != nil {
		t.Errorf("Reopen without a file: %v", err)
	}
}

// TestConcurrent writes from many goroutines while the level changes: under
// -race this checks the locking, and every line must arrive whole, in one
// Write.
func TestConcurrent(t *testing.T) {
	var sb syncBuffer
	l := New(&sb, Debug)
	const goroutines, lines = 8, 200
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < lines; i++ {
				l.Errorf("goroutine %d line %d %s", g, i, strings.Repeat("x", i))
				if i%50 == 0 {
					l.SetLevel(Debug)
				}
			}
		}(g)
	}
	wg.Wait()
	writes := sb.Writes()
	if len(writes) != goroutines*lines {
		t.Fatalf("%d writes, want %d", len(writes), goroutines*lines)
	}
	re := regexp.MustCompile(`^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[error\] ` + pid + `#0: goroutine \d+ line (\d+) (x*)\n$`)
	seen := map[string]bool{}
	for _, w := range writes {
		m := re.FindStringSubmatch(w)
		if m == nil {
			t.Fatalf("write %q is not one whole line", w)
		}
		if n, _ := strconv.Atoi(m[1]); len(m[2]) != n {
			t.Fatalf("line corrupted: %q", w)
		}
		seen[w[20:]] = true
	}
	if len(seen) != goroutines*lines {
		t.Errorf("%d distinct lines, want %d", len(seen), goroutines*lines)
	}
}

// TestConcurrentFile does the same on a real file with Close racing the
// writers: no panic, no torn line.
func TestConcurrentFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "error.log")
	l, err := Open(path, Debug)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				l.Warnf("g%d i%d", g, i)
				if g == 0 && i == 100 {
					l.Reopen()
				}
			}
		}(g)
	}
	time.Sleep(time.Millisecond)
	wg.Wait()
	l.Close()
	data, _ := os.ReadFile(path)
	re := lineRE("warn", `g\d i\d+`)
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if !re.MatchString(line) {
			t.Fatalf("bad line %q", line)
		}
	}
	if n := strings.Count(string(data), "\n"); n != 2000 {
		t.Errorf("%d lines, want 2000", n)
	}
}

func ExampleLogger() {
	l := New(os.Stdout, Notice)
	l.Debugf("dropped: below notice")
	if l.Enabled(Info) {
		l.Infof("not built at all: %v", expensive())
	}
	// Output:
}

func expensive() string { return fmt.Sprint("x") }
