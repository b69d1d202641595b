package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func (g *gateway) statusURL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", g.statusPort, path)
}

// statusDo sends a request to the Status API.
func (g *gateway) statusDo(method, path, contentType, body string) response {
	g.t.Helper()
	return g.send(g.statusURL(path), method, contentType, body, false)
}

// portico runs the binary with the gateway's environment, in its prefix
// (where commands that write a file put it by default).
func (g *gateway) portico(args ...string) (stdout, stderr string, code int) {
	g.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = g.env
	cmd.Dir = g.prefix
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		g.t.Fatalf("running portico %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// waitExit waits for the node's process to end after a CLI stopped it.
func (g *gateway) waitExit(within time.Duration) time.Duration {
	g.t.Helper()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			g.t.Errorf("portico exited with %v; output:\n%s", err, g.output)
		}
	case <-time.After(within):
		g.t.Fatalf("portico did not exit within %s; output:\n%s", within, g.output)
	}
	g.cmd = nil
	return time.Since(start)
}

func TestStatusAPI(t *testing.T) {
	g := startGateway(t)

	r := g.statusDo("GET", "/status/ready", "", "")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"message": "ready"})

	// The same body as the Admin API's /status, without authentication.
	s := g.statusDo("GET", "/status", "", "")
	wantStatus(t, s, 200)
	a := g.get("/status")
	for _, k := range []string{"database", "server", "memory"} {
		if _, ok := s.body[k]; !ok {
			t.Errorf("Status API /status lacks %q: %s", k, s.raw)
		}
		if _, ok := a.body[k]; !ok {
			t.Errorf("Admin API /status lacks %q: %s", k, a.raw)
		}
	}
	wantFields(t, s.body, map[string]any{"database": map[string]any{"reachable": true}})

	m := g.statusDo("GET", "/metrics", "", "")
	wantStatus(t, m, 200)
	for _, want := range []string{"kong_node_info{node_id=", `kong_datastore_reachable 1`,
		`kong_nginx_connections_total{node_id=`, `state="active",subsystem="http"}`, "kong_nginx_requests_total{"} {
		if !strings.Contains(string(m.raw), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	wantStatus(t, g.statusDo("GET", "/consumers", "", ""), 404)

	// kong drain: POST status=draining, then readiness is off.
	wantStatus(t, g.statusDo("POST", "/status/ready", "application/json", `{"status":"draining"}`), 204)
	r = g.statusDo("GET", "/status/ready", "", "")
	wantStatus(t, r, 503)
	wantFields(t, r.body, map[string]any{"message": "draining"})
}

// rawConn is a kept-alive client connection.
type rawConn struct {
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, port int) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{c: c, r: bufio.NewReader(c)}
}

// get sends a GET and reads the whole answer.
func (rc *rawConn) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	if _, err := fmt.Fprintf(rc.c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

type serverCounts struct {
	Accepted uint64 `json:"connections_accepted"`
	Handled  uint64 `json:"connections_handled"`
	Active   uint64 `json:"connections_active"`
	Reading  uint64 `json:"connections_reading"`
	Writing  uint64 `json:"connections_writing"`
	Waiting  uint64 `json:"connections_waiting"`
	Requests uint64 `json:"total_requests"`
}

// TestStatusCountersMove opens three kept-alive connections (two on the
// proxy, one on the Status API) and reads /status over the third: the
// counters are summed over every server, as nginx's.
func TestStatusCountersMove(t *testing.T) {
	g := startGateway(t)
	// The harness's readiness poll may keep a connection to the Admin API.
	http.DefaultClient.CloseIdleConnections()

	a, b, c := dialRaw(t, g.proxyPort), dialRaw(t, g.proxyPort), dialRaw(t, g.statusPort)
	for _, rc := range []*rawConn{a, b} {
		if code, _ := rc.get(t, "/nowhere"); code != 404 {
			t.Fatalf("proxy answered %d, want 404 (no route)", code)
		}
	}
	read := func() serverCounts {
		_, raw := c.get(t, "/status")
		var body struct{ Server serverCounts }
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("%v: %s", err, raw)
		}
		return body.Server
	}
	var got serverCounts
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		got = read()
		// Two idle connections wait, the one asking writes.
		if got.Active == 3 && got.Waiting == 2 && got.Writing == 1 && got.Reading == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got.Active != 3 || got.Waiting != 2 || got.Writing == 0 || got.Reading+got.Writing+got.Waiting != got.Active {
		t.Fatalf("counters %+v, want active 3 = waiting 2 + writing 1", got)
	}
	if got.Accepted < 3 || got.Handled != got.Accepted || got.Requests < 3 {
		t.Fatalf("counters %+v", got)
	}

	// Another connection is accepted, and requests are counted.
	d := dialRaw(t, g.proxyPort)
	d.get(t, "/nowhere")
	later := read()
	if later.Accepted != got.Accepted+1 || later.Requests < got.Requests+2 {
		t.Errorf("after one more connection and request: %+v, before %+v", later, got)
	}
}

// TestLogReopen moves the logs away as logrotate does, sends SIGUSR1, and
// sees new files written.
func TestLogReopen(t *testing.T) {
	g := startGateway(t)
	logs := filepath.Join(g.prefix, "logs")
	for _, f := range []string{"access.log", "error.log", "admin_access.log"} {
		if err := os.Rename(filepath.Join(logs, f), filepath.Join(logs, f+".1")); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if raw, err := os.ReadFile(filepath.Join(logs, "error.log")); err == nil && strings.Contains(string(raw), "log files reopened") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new error.log after SIGUSR1")
		}
		time.Sleep(20 * time.Millisecond)
	}
	proxyGet(t, g, "/after-rotation")
	g.get("/status")
	g.stop() // flushes the access logs
	access, _ := os.ReadFile(filepath.Join(logs, "access.log"))
	if !strings.Contains(string(access), "GET /after-rotation") {
		t.Errorf("new access.log: %q", access)
	}
	old, _ := os.ReadFile(filepath.Join(logs, "access.log.1"))
	if strings.Contains(string(old), "after-rotation") {
		t.Errorf("the moved access.log was still written: %q", old)
	}
	admin, _ := os.ReadFile(filepath.Join(logs, "admin_access.log"))
	if !strings.Contains(string(admin), "GET /status") {
		t.Errorf("new admin_access.log: %q", admin)
	}
}

func TestCLIHealthCheckPrepare(t *testing.T) {
	t.Run("health", func(t *testing.T) {
		g := startGateway(t)
		out, _, code := g.portico("health")
		if code != 0 || !strings.Contains(out, "portico.....running") || !strings.Contains(out, "Portico is healthy at "+g.prefix) {
			t.Fatalf("health of a running node: %d\n%s", code, out)
		}
		g.stop()
		out, errOut, code := g.portico("health")
		if code != 1 || !strings.Contains(out, "portico.....not running") || !strings.Contains(errOut, "Error: Portico is not running at "+g.prefix) {
			t.Fatalf("health of a stopped node: %d\n%s%s", code, out, errOut)
		}
		g.env = append(g.env, "KONG_PREFIX="+filepath.Join(g.prefix, "nowhere"))
		if _, errOut, code := g.portico("health"); code != 1 || !strings.Contains(errOut, "Error: no such prefix: ") {
			t.Fatalf("health without a prefix: %d %s", code, errOut)
		}
	})

	t.Run("check", func(t *testing.T) {
		g := newGateway(t)
		dir := t.TempDir()
		good := filepath.Join(dir, "good.conf")
		os.WriteFile(good, []byte("log_level = debug\n"), 0o644)
		bad := filepath.Join(dir, "bad.conf")
		os.WriteFile(bad, []byte("log_level = loud\npg_port = x\n"), 0o644)
		refused := filepath.Join(dir, "refused.conf")
		os.WriteFile(refused, []byte("database = postgres\n"), 0o644)
		tests := []struct {
			file, stdout, stderr string
			code                 int
		}{
			{good, "configuration at " + good + " is valid", "", 0},
			{bad, "", "[error] log_level: invalid value 'loud'", 1},
			{bad, "", "[error] pg_port: invalid value 'x'", 1},
			{refused, "", "[error] database: 'postgres' is not available", 1},
			{filepath.Join(dir, "missing.conf"), "", "no such file or directory", 1},
		}
		for _, tt := range tests {
			out, errOut, code := g.portico("check", tt.file)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("check %s: %d\n%s%s", filepath.Base(tt.file), code, out, errOut)
			}
		}
	})

	t.Run("prepare", func(t *testing.T) {
		g := newGateway(t, "KONG_PROXY_LISTEN=127.0.0.1:0 ssl", "KONG_STATUS_LISTEN=127.0.0.1:0 ssl")
		prefix := filepath.Join(g.prefix, "new")
		out, errOut, code := g.portico("prepare", "-p", prefix)
		if code != 0 || !strings.Contains(out, "prefix directory "+prefix+" not found, trying to create it") {
			t.Fatalf("prepare: %d\n%s%s", code, out, errOut)
		}
		for _, f := range []string{"logs/error.log", "logs/access.log", "logs/admin_access.log", "pids",
			"ssl/kong-default.crt", "ssl/kong-default.key", "ssl/status-kong-default.crt", ".kong_env"} {
			if _, err := os.Stat(filepath.Join(prefix, f)); err != nil {
				t.Errorf("prepare left no %s: %v", f, err)
			}
		}
		if fi, err := os.Stat(filepath.Join(prefix, ".kong_env")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf(".kong_env mode: %v %v", fi, err)
		}
		file := filepath.Join(g.prefix, "file")
		os.WriteFile(file, nil, 0o644)
		if _, errOut, code := g.portico("prepare", "-p", file); code != 1 || !strings.Contains(errOut, "is not a directory") {
			t.Errorf("prepare on a file: %d %s", code, errOut)
		}
	})
}

func TestCLIQuitReloadRestart(t *testing.T) {
	t.Run("quit is graceful", func(t *testing.T) {
		g := startGateway(t)
		out, errOut, code := g.portico("quit")
		if code != 0 || !strings.Contains(out, "Portico stopped (gracefully)") {
			t.Fatalf("quit: %d\n%s%s", code, out, errOut)
		}
		g.waitExit(5 * time.Second)
		if _, errOut, code := g.portico("quit"); code != 1 || !strings.Contains(errOut, "Portico is not running at") {
			t.Errorf("quit without a node: %d %s", code, errOut)
		}
	})

	t.Run("quit times out and forces", func(t *testing.T) {
		g := startGateway(t)
		// A request head that never ends keeps the graceful shutdown waiting.
		slow := dialRaw(t, g.proxyPort)
		fmt.Fprint(slow.c, "GET /slow HTTP/1.1\r\nHost:")
		start := time.Now()
		out, errOut, code := g.portico("quit", "--timeout", "1")
		took := time.Since(start)
		if code != 0 || !strings.Contains(out, "Timeout, Portico stopped forcefully") {
			t.Fatalf("quit --timeout 1: %d\n%s%s", code, out, errOut)
		}
		if took > 5*time.Second {
			t.Errorf("quit --timeout 1 took %s", took)
		}
		g.waitExit(5 * time.Second)
	})

	t.Run("reload", func(t *testing.T) {
		g := startGateway(t)
		file := filepath.Join(t.TempDir(), "kong.conf")
		os.WriteFile(file, []byte("log_level = debug\nheaders = off\n"), 0o644)
		out, errOut, code := g.portico("reload", "-c", file)
		if code != 0 || !strings.Contains(out, "Portico reloaded") || !strings.Contains(errOut, "'headers' changed") {
			t.Fatalf("reload: %d\n%s%s", code, out, errOut)
		}
		errLog := filepath.Join(g.prefix, "logs", "error.log")
		deadline := time.Now().Add(5 * time.Second)
		for {
			raw, _ := os.ReadFile(errLog)
			if strings.Contains(string(raw), "reload: log_level is now debug") &&
				strings.Contains(string(raw), "reload: 'headers' changed: it takes effect after a restart") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("error.log after reload:\n%s", raw)
			}
			time.Sleep(20 * time.Millisecond)
		}
		// An invalid file changes nothing.
		os.WriteFile(file, []byte("log_level = loud\n"), 0o644)
		if _, errOut, code := g.portico("reload", "-c", file); code != 1 || !strings.Contains(errOut, "log_level") {
			t.Errorf("reload of a bad file: %d %s", code, errOut)
		}
		wantStatus(t, g.get("/status"), 200)
	})

	t.Run("restart", func(t *testing.T) {
		g := startGateway(t)
		wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "kept"}), 201)
		old := g.cmd
		g.cmd = exec.Command(binary, "restart")
		g.cmd.Env = g.env
		g.output = &syncBuffer{} // the old node's output is still being copied into the old one
		g.cmd.Stdout, g.cmd.Stderr = g.output, g.output
		if err := g.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if err := old.Wait(); err != nil {
			t.Errorf("the old node exited with %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			if r, err := http.Get(g.adminURL("/consumers/kept")); err == nil {
				r.Body.Close()
				if r.StatusCode == 200 {
					break
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("no node after restart:\n%s", g.output)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if out, _, code := g.portico("health"); code != 0 {
			t.Errorf("health after restart: %d %s", code, out)
		}
	})
}

// TestStopIsBounded pins the 30 s stop: an event hook attempt in flight was
// waited for after the servers' own 10 s. With a receiver that never
// answers (and a 60 s read timeout) and a client that never finishes its
// request, the node must still be gone within the shutdown deadline and
// its grace.
func TestStopIsBounded(t *testing.T) {
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	g := startGateway(t, "KONG_EVENT_HOOKS_READ_TIMEOUT=60s")
	wantStatus(t, g.postJSON("/event-hooks", map[string]any{"source": "crud", "event": "consumers", "handler": "webhook",
		"config": map[string]any{"url": "http://" + hang.Addr().String() + "/hook"}}), 201)
	wantStatus(t, g.postJSON("/consumers", map[string]any{"username": "waiting"}), 201)
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got no delivery")
	}
	slow := dialRaw(t, g.proxyPort)
	fmt.Fprint(slow.c, "GET /slow HTTP/1.1\r\nHost:")

	start := time.Now()
	if out, errOut, code := g.portico("stop"); code != 0 {
		t.Fatalf("stop: %d %s%s", code, out, errOut)
	}
	g.waitExit(20 * time.Second)
	took := time.Since(start)
	if took > 13*time.Second {
		t.Errorf("stop took %s, want the 10 s deadline plus at most 1 s for event hooks", took)
	}
	errLog, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
	if !strings.Contains(string(errLog), "event hooks: deliveries still in flight at the shutdown deadline stay pending") {
		t.Errorf("error.log:\n%s", errLog)
	}
}
