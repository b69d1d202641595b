// Package e2e drives the real portico binary: it is built once, started on
// free ports with a temporary prefix, and exercised with real clients (curl,
// HTTPie, net/http), as a Kong user's scripts would.
package e2e

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the portico binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		fmt.Println("e2e: skipped in -short mode")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "portico-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "portico")
	build := exec.Command("go", "build", "-o", binary, "../cmd/portico")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building portico:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// requireTool finds an external client; in CI a missing tool fails the test
// instead of skipping it.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return path
}

// freePort asks the kernel for an unused loopback port, never one it
// gave before in this run: the kernel may hand a port it just freed to the
// next caller, and one node's listeners (or two nodes) would then collide.
func freePort(t *testing.T) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		givenPortsMu.Lock()
		fresh := !givenPorts[port]
		givenPorts[port] = true
		givenPortsMu.Unlock()
		if fresh {
			return port
		}
	}
}

var (
	givenPortsMu sync.Mutex
	givenPorts   = map[int]bool{}
)

// gateway is one running portico process.
type gateway struct {
	t         *testing.T
	prefix    string
	adminPort int
	proxyPort int
	// statusPort serves the Status API (status_listen).
	statusPort int
	env        []string
	cmd        *exec.Cmd
	output     *syncBuffer
}

// newGateway prepares (but does not start) a node with a fresh prefix and
// free ports; extra are KEY=VALUE environment settings.
func newGateway(t *testing.T, extra ...string) *gateway {
	t.Helper()
	g := &gateway{t: t, prefix: t.TempDir(), adminPort: freePort(t), proxyPort: freePort(t), statusPort: freePort(t)}
	g.env = append(os.Environ(),
		"KONG_PREFIX="+g.prefix,
		fmt.Sprintf("KONG_ADMIN_LISTEN=127.0.0.1:%d", g.adminPort),
		fmt.Sprintf("KONG_PROXY_LISTEN=127.0.0.1:%d", g.proxyPort),
		fmt.Sprintf("KONG_STATUS_LISTEN=127.0.0.1:%d", g.statusPort),
		// Portico Manager's default port (8002) would collide between
		// tests; the tests of the UI give it a free port.
		"KONG_ADMIN_GUI_LISTEN=off",
	)
	g.env = append(g.env, extra...)
	t.Cleanup(g.stop)
	return g
}

// startGateway starts a fresh node and waits until its Admin API answers.
func startGateway(t *testing.T, extra ...string) *gateway {
	t.Helper()
	g := newGateway(t, extra...)
	g.start()
	return g
}

func (g *gateway) start() {
	g.t.Helper()
	g.output = &syncBuffer{}
	g.cmd = exec.Command(binary, "start")
	g.cmd.Env = g.env
	g.cmd.Stdout, g.cmd.Stderr = g.output, g.output
	if err := g.cmd.Start(); err != nil {
		g.t.Fatalf("starting portico: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(g.adminURL("/status"))
		if err == nil {
			resp.Body.Close()
			// 401: up, with RBAC enforced.
			if resp.StatusCode == 200 || resp.StatusCode == 401 {
				return
			}
		}
		if g.cmd.ProcessState != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.t.Fatalf("portico did not become ready; output:\n%s", g.output)
}

// stop sends SIGTERM and waits for a graceful exit.
func (g *gateway) stop() {
	if g.cmd == nil || g.cmd.Process == nil || g.cmd.ProcessState != nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- g.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			g.t.Errorf("portico exited with %v; output:\n%s", err, g.output)
		}
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-done
		g.t.Errorf("portico did not stop within 15s; output:\n%s", g.output)
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (g *gateway) kill() {
	g.t.Helper()
	g.cmd.Process.Kill()
	g.cmd.Wait()
}

func (g *gateway) adminURL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", g.adminPort, path)
}

func (g *gateway) adminHost() string { return fmt.Sprintf("127.0.0.1:%d", g.adminPort) }

// response is a decoded Admin API answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request to the Admin API with net/http; body is sent as is
// with contentType. Every answer with a body must be a JSON object.
func (g *gateway) do(method, path, contentType, body string) response {
	g.t.Helper()
	return g.send(g.adminURL(path), method, contentType, body, true)
}

// send makes one request; a body is parsed as a JSON object when the
// answer says it is JSON, or always with strictJSON.
func (g *gateway) send(url, method, contentType, body string, strictJSON bool) response {
	g.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		g.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 && (strictJSON || strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			g.t.Fatalf("%s %s: body is not a JSON object: %q", method, url, raw)
		}
	}
	return r
}

func (g *gateway) get(path string) response { return g.do("GET", path, "", "") }

func (g *gateway) postJSON(path string, v any) response {
	g.t.Helper()
	b, _ := json.Marshal(v)
	return g.do("POST", path, "application/json", string(b))
}

func (g *gateway) sendJSON(method, path string, v any) response {
	g.t.Helper()
	b, _ := json.Marshal(v)
	return g.do(method, path, "application/json", string(b))
}

// cli runs an external client and splits its output into the HTTP status
// and JSON body (curl -i / http --print=hb style).
func (g *gateway) cli(tool string, args ...string) response {
	g.t.Helper()
	out, err := toolCommand(g.t, tool, args...).CombinedOutput()
	if err != nil {
		// HTTPie exits non-zero on 4xx/5xx only with --check-status; curl
		// never does without -f. A failure here is the tool's own.
		g.t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	return parseHTTPResponse(g.t, out)
}

// toolCommand prepares an external client with a home of its own (HTTPie
// keeps its state there).
func toolCommand(t *testing.T, tool string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(requireTool(t, tool), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	return cmd
}

// parseHTTPResponse reads "HTTP/1.1 201 Created\r\nHeaders...\r\n\r\nbody".
func parseHTTPResponse(t *testing.T, out []byte) response {
	t.Helper()
	text := strings.ReplaceAll(string(out), "\r\n", "\n")
	head, body, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(head, "\n")
	var r response
	if _, err := fmt.Sscanf(lines[0], "HTTP/1.1 %d", &r.status); err != nil {
		t.Fatalf("no status line in %q", out)
	}
	r.header = http.Header{}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			r.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	r.raw = []byte(strings.TrimSpace(body))
	// A JSON answer must parse; other answers (an upstream's text) are
	// kept raw.
	if len(r.raw) > 0 && strings.Contains(r.header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(r.raw, &r.body); err != nil {
			t.Fatalf("body is not JSON: %q", r.raw)
		}
	}
	return r
}

// wantStatus fails unless r has the status.
func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.raw)
	}
}

// wantFields compares top-level fields of the body with want (JSON model
// values: float64 numbers, []any, map[string]any, nil).
func wantFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("field %q missing in %v", k, got)
			continue
		}
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(gj, wj) {
			t.Errorf("field %q = %s, want %s", k, gj, wj)
		}
	}
}

// syncBuffer collects a node's output, written by exec's copying goroutine
// while tests read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
