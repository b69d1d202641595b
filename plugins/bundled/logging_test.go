package bundled

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-gw/portico/plugins"
)

// logHost is a Host whose error log the test reads.
type logHost struct {
	plugins.Host
	mu    sync.Mutex
	lines []string
}

func newLogHost() *logHost {
	h := &logHost{}
	h.Host.Logf = func(level, format string, args ...any) {
		h.mu.Lock()
		h.lines = append(h.lines, level+": "+fmt.Sprintf(format, args...))
		h.mu.Unlock()
	}
	return h
}

func (h *logHost) logged(part string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, l := range h.lines {
		if strings.Contains(l, part) {
			return true
		}
	}
	return false
}

// logEntry is a request's entry; status varies per test.
func logEntry(status int) *plugins.LogEntry {
	e := &plugins.LogEntry{Source: "upstream", ClientIP: "127.0.0.1", StartedAt: 1700000000000}
	e.Request = plugins.LogRequest{ID: "id-1", Method: "GET", URI: "/p?x=1", URL: "http://gw:8000/p?x=1", Size: 80,
		Headers:     []plugins.LogField{{Name: "host", Value: "gw"}, {Name: "user-agent", Value: "curl/8"}},
		Querystring: []plugins.LogField{{Name: "x", Value: "1"}}}
	e.Response = plugins.LogResponse{Status: status, Size: 200, Headers: []plugins.LogField{{Name: "content-length", Value: "2"}}}
	e.Latencies = plugins.LogLatencies{Kong: 2, Proxy: 30, Request: 33}
	e.Route = plugins.Ref{ID: "r1", Name: "route-1", Row: map[string]any{"id": "r1", "name": "route-1"}}
	e.Service = plugins.Ref{ID: "s1", Name: "svc", Row: map[string]any{"id": "s1", "name": "svc", "host": "up.test"}}
	e.RouteJSON = []byte(`{"id":"r1","name":"route-1"}`)
	e.ServiceJSON = []byte(`{"id":"s1","name":"svc","host":"up.test"}`)
	e.Workspace, e.WorkspaceName = "w1", "default"
	return e
}

// provisioned builds a plugin instance from its config, as the proxy does.
func provisioned(t testing.TB, f plugins.Factory, conf map[string]any, host *plugins.Host) plugins.Logger {
	t.Helper()
	h, err := f(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.(plugins.Provisioner).Provision(host); err != nil {
		t.Fatal(err)
	}
	return h.(plugins.Logger)
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// receiver is an HTTP log server that fails its first failures requests.
type receiver struct {
	mu       sync.Mutex
	failures int
	got      []*http.Request
	bodies   []string
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if rv.failures > 0 {
		rv.failures--
		w.WriteHeader(503)
		return
	}
	rv.got = append(rv.got, r)
	rv.bodies = append(rv.bodies, string(body))
}

func (rv *receiver) count() int {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return len(rv.bodies)
}

func TestHTTPLog(t *testing.T) {
	for _, c := range []struct {
		name     string
		conf     map[string]any
		failures int
		entries  int
		check    func(t *testing.T, rv *receiver)
	}{
		{"one entry per request", obj(), 0, 2, func(t *testing.T, rv *receiver) {
			var m map[string]any
			if err := json.Unmarshal([]byte(rv.bodies[0]), &m); err != nil || m["request"] == nil {
				t.Fatalf("body %s is not one entry", rv.bodies[0])
			}
			r := rv.got[0]
			if r.Method != "POST" || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/logs" {
				t.Errorf("%s %s %q", r.Method, r.URL, r.Header.Get("Content-Type"))
			}
		}},
		{"batches as JSON arrays", obj("queue", obj("max_batch_size", 3.0, "max_coalescing_delay", 2.0)), 0, 3, func(t *testing.T, rv *receiver) {
			var batch []map[string]any
			if err := json.Unmarshal([]byte(rv.bodies[0]), &batch); err != nil || len(batch) != 3 {
				t.Fatalf("body %s is not an array of 3", rv.bodies[0])
			}
		}},
		{"the legacy queue_size still batches", obj("queue_size", 2.0, "flush_timeout", 2.0), 0, 2, func(t *testing.T, rv *receiver) {
			var batch []map[string]any
			if err := json.Unmarshal([]byte(rv.bodies[0]), &batch); err != nil || len(batch) != 2 {
				t.Fatalf("body %s is not an array of 2", rv.bodies[0])
			}
		}},
		{"method, content type, headers and userinfo", obj("method", "PUT", "content_type", "application/json; charset=utf-8",
			"headers", obj("X-Api-Key", "k1")), 0, 1, func(t *testing.T, rv *receiver) {
			r := rv.got[0]
			user, pass, ok := r.BasicAuth()
			if r.Method != "PUT" || r.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
				r.Header.Get("X-Api-Key") != "k1" || !ok || user != "user" || pass != "p@ss" {
				t.Errorf("%s %v", r.Method, r.Header)
			}
		}},
		{"a failing receiver is tried again", obj("queue", obj("initial_retry_delay", 0.01)), 2, 1, func(t *testing.T, rv *receiver) {}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rv := &receiver{failures: c.failures}
			srv := httptest.NewServer(rv)
			defer srv.Close()
			endpoint := srv.URL + "/logs"
			if _, ok := c.conf["headers"]; ok {
				endpoint = strings.Replace(srv.URL, "http://", "http://user:p%40ss@", 1) + "/logs"
			}
			conf := obj("http_endpoint", endpoint, "method", "POST", "content_type", "application/json", "timeout", 2000.0, "keepalive", 1000.0)
			for k, v := range c.conf {
				conf[k] = v
			}
			host := newLogHost()
			h := provisioned(t, newHTTPLog, conf, &host.Host)
			for range c.entries {
				h.Log(logEntry(200))
			}
			batches := 1
			if _, ok := c.conf["queue"]; !ok && c.conf["queue_size"] == nil {
				batches = c.entries
			}
			eventually(t, "the receiver", func() bool { return rv.count() >= batches })
			c.check(t, rv)
			if c.failures > 0 && !host.logged("returned status code 503") {
				t.Errorf("failures not logged: %v", host.lines)
			}
			if host.logged("p@ss") || host.logged("p%40ss") {
				t.Errorf("credentials logged: %v", host.lines)
			}
		})
	}
}

// A full queue drops its oldest entries, counted; entries past max_bytes
// are refused.
func TestQueueBounds(t *testing.T) {
	host := newLogHost()
	set := newQueueSet(&host.Host)
	release := make(chan struct{})
	var mu sync.Mutex
	var sent []string
	send := func(batch [][]byte) error {
		<-release
		mu.Lock()
		for _, b := range batch {
			sent = append(sent, string(b))
		}
		mu.Unlock()
		return nil
	}
	conf := queueConf{maxBatch: 1, maxEntries: 2, maxBytes: 4, maxRetryTime: time.Second, initialDelay: time.Millisecond, maxDelay: time.Millisecond}
	set.enqueue("k", "test", conf, send, []byte("e1"))
	// e1 is being sent; e2 to e5 wait on a queue of 2 (and of 4 bytes).
	eventually(t, "the first batch", func() bool {
		set.mu.Lock()
		defer set.mu.Unlock()
		return len(set.m["k"].entries) == 0
	})
	for _, e := range []string{"e2", "e3", "e4", "e5", "too long"} {
		set.enqueue("k", "test", conf, send, []byte(e))
	}
	q := set.m["k"]
	close(release)
	// As in Kong, a full queue makes room before an entry is found too
	// long: "too long" costs e4 too.
	eventually(t, "the queue to drain", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sent) == 2
	})
	if strings.Join(sent, ",") != "e1,e5" || q.dropped.Load() != 4 {
		t.Errorf("sent %v, dropped %d", sent, q.dropped.Load())
	}
	if !host.logged("queue full") || !host.logged("longer (8 bytes) than the queue's max_bytes (4 bytes)") {
		t.Errorf("log: %v", host.lines)
	}
	eventually(t, "the drained queue to go", func() bool {
		set.mu.Lock()
		defer set.mu.Unlock()
		return set.m["k"] == nil
	})
}

// A batch that keeps failing is dropped after max_retry_time.
func TestQueueGivesUp(t *testing.T) {
	host := newLogHost()
	set := newQueueSet(&host.Host)
	var tries sync.WaitGroup
	tries.Add(1)
	n := 0
	send := func([][]byte) error {
		n++
		if n == 3 {
			tries.Done()
		}
		return fmt.Errorf("down")
	}
	set.enqueue("k", "test", queueConf{maxBatch: 1, maxEntries: 10, maxRetryTime: 30 * time.Millisecond,
		initialDelay: 5 * time.Millisecond, maxDelay: 10 * time.Millisecond}, send, []byte("e"))
	tries.Wait()
	eventually(t, "giving up", func() bool { return host.logged("1 queue entries were lost") })
}

func TestFileLog(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access.log")
			host := newLogHost()
			h := provisioned(t, newFileLog, obj("path", path, "reopen", reopen), &host.Host)
			h.Log(logEntry(200))
			// Rotation: the file is moved away.
			if err := os.Rename(path, path+".1"); err != nil {
				t.Fatal(err)
			}
			h.Log(logEntry(404))
			rotated, _ := os.ReadFile(path + ".1")
			current, _ := os.ReadFile(path)
			wantRotated, wantCurrent := 2, 0
			if reopen {
				wantRotated, wantCurrent = 1, 1
			}
			if lines(t, rotated) != wantRotated || lines(t, current) != wantCurrent {
				t.Errorf("rotated file has %d lines, current %d", lines(t, rotated), lines(t, current))
			}
		})
	}
	t.Run("an unwritable path logs an error", func(t *testing.T) {
		host := newLogHost()
		h := provisioned(t, newFileLog, obj("path", filepath.Join(t.TempDir(), "missing", "x.log")), &host.Host)
		h.Log(logEntry(200))
		if !host.logged("failed to open the file") {
			t.Errorf("log %v", host.lines)
		}
	})
}

// lines counts the JSON lines of a file.
func lines(t *testing.T, b []byte) int {
	t.Helper()
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["request"] == nil {
			t.Fatalf("line %q is not an entry", l)
		}
		n++
	}
	return n
}

// tcpSink accepts connections and collects the lines sent, counting
// connections and the SNI of TLS clients.
type tcpSink struct {
	ln    net.Listener
	mu    sync.Mutex
	lines []string
	conns int
	sni   string
}

func newTCPSink(t *testing.T, withTLS bool) *tcpSink {
	t.Helper()
	s := &tcpSink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if withTLS {
		srv := httptest.NewUnstartedServer(nil)
		srv.StartTLS()
		cfg := srv.TLS.Clone()
		srv.Close()
		cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			s.mu.Lock()
			s.sni = hello.ServerName
			s.mu.Unlock()
			return nil, nil
		}
		ln = tls.NewListener(ln, cfg)
	}
	s.ln = ln
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					s.mu.Lock()
					s.lines = append(s.lines, sc.Text())
					s.mu.Unlock()
				}
			}()
		}
	}()
	return s
}

func (s *tcpSink) port() float64 { return float64(s.ln.Addr().(*net.TCPAddr).Port) }

func (s *tcpSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

func TestTCPLog(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%v", withTLS), func(t *testing.T) {
			sink := newTCPSink(t, withTLS)
			host := newLogHost()
			h := provisioned(t, newTCPLog, obj("host", "127.0.0.1", "port", sink.port(), "timeout", 1000.0, "keepalive", 60000.0,
				"tls", withTLS, "tls_sni", "logs.example.com"), &host.Host)
			h.Log(logEntry(200))
			h.Log(logEntry(500))
			eventually(t, "two lines", func() bool { return sink.count() == 2 })
			sink.mu.Lock()
			defer sink.mu.Unlock()
			for _, l := range sink.lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || m["response"] == nil {
					t.Errorf("line %q", l)
				}
			}
			if sink.conns != 1 {
				t.Errorf("%d connections: keep-alive not used", sink.conns)
			}
			if withTLS && sink.sni != "logs.example.com" {
				t.Errorf("SNI %q", sink.sni)
			}
		})
	}
	t.Run("an unreachable host logs an error", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		port := float64(ln.Addr().(*net.TCPAddr).Port)
		ln.Close()
		host := newLogHost()
		h := provisioned(t, newTCPLog, obj("host", "127.0.0.1", "port", port, "timeout", 500.0), &host.Host)
		h.Log(logEntry(200))
		eventually(t, "the error", func() bool { return host.logged("[tcp-log] failed to connect to 127.0.0.1:") })
	})
}

func TestUDPLog(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	host := newLogHost()
	h := provisioned(t, newUDPLog, obj("host", "127.0.0.1", "port", float64(pc.LocalAddr().(*net.UDPAddr).Port), "timeout", 1000.0), &host.Host)
	h.Log(logEntry(201))
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	n, _, err := pc.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(buf[:n], &m); err != nil || m["response"].(map[string]any)["status"] != 201.0 {
		t.Fatalf("datagram %q", buf[:n])
	}
}

func TestSyslog(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log.sock")
	pc, err := net.ListenPacket("unixgram", sock)
	if err != nil {
		t.Skipf("no unix datagram sockets: %v", err)
	}
	defer pc.Close()
	host := newLogHost()
	h, _ := newSyslog(obj("log_level", "warning", "successful_severity", "info", "client_errors_severity", "warning",
		"server_errors_severity", "crit", "facility", "local0"))
	sl := h.(*syslogLogger)
	sl.network, sl.addr = "unixgram", sock
	sl.Provision(&host.Host)
	for _, status := range []int{200, 404, 503} {
		sl.Log(logEntry(status))
	}
	// 200 is info, less severe than the warning level: not sent.
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 65536)
	var got []string
	for range 2 {
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(buf[:n]))
	}
	// local0 is 16: <16*8+severity>.
	for i, want := range []string{"<132>", "<130>"} {
		if !strings.HasPrefix(got[i], want) || !strings.Contains(got[i], " kong[") || !strings.Contains(got[i], `"request":{`) {
			t.Errorf("message %d: %q, want priority %s", i, got[i], want)
		}
	}
	pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, _, err := pc.ReadFrom(buf); err == nil {
		t.Errorf("a third message: %q", buf)
	}

	t.Run("no daemon", func(t *testing.T) {
		host := newLogHost()
		h, _ := newSyslog(obj())
		sl := h.(*syslogLogger)
		sl.network, sl.addr = "unixgram", filepath.Join(t.TempDir(), "absent.sock")
		sl.Provision(&host.Host)
		start := time.Now()
		sl.Log(logEntry(200))
		if time.Since(start) > 100*time.Millisecond {
			t.Error("Log blocked")
		}
		eventually(t, "the error", func() bool { return host.logged("[syslog] could not reach the syslog daemon") })
	})
}
