package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

func proxyGet(t *testing.T, g *gateway, path string) response {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", g.proxyPort, path))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	json.Unmarshal(raw, &r.body)
	return r
}

// TestRestartKeepsData stops a node gracefully and starts it again on the
// same prefix.
func TestRestartKeepsData(t *testing.T) {
	g := startGateway(t)
	r := g.postJSON("/consumers", map[string]any{"username": "persistent"})
	wantStatus(t, r, 201)
	id := r.body["id"]
	g.stop()
	if _, err := os.Stat(filepath.Join(g.prefix, "pids", "portico.pid")); !os.IsNotExist(err) {
		t.Fatalf("pid file left after a graceful stop: %v", err)
	}
	g.start()
	r = g.get("/consumers/persistent")
	wantStatus(t, r, 200)
	wantFields(t, r.body, map[string]any{"id": id})
}

// TestCrashKeepsAcknowledgedWrites kills the node with SIGKILL right after a
// 201: the row must be there after a restart.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	g := startGateway(t)
	var ids []any
	for i := 0; i < 20; i++ {
		r := g.postJSON("/consumers", map[string]any{"username": fmt.Sprintf("crash%d", i)})
		wantStatus(t, r, 201)
		ids = append(ids, r.body["id"])
	}
	g.kill()
	g.start()
	for i, id := range ids {
		r := g.get(fmt.Sprintf("/consumers/crash%d", i))
		wantStatus(t, r, 200)
		wantFields(t, r.body, map[string]any{"id": id})
	}
}

func TestCLI(t *testing.T) {
	run := func(g *gateway, args ...string) (string, error) {
		cmd := exec.Command(binary, args...)
		cmd.Env = g.env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("version", func(t *testing.T) {
		g := newGateway(t)
		out, err := run(g, "version")
		if err != nil || !strings.Contains(out, "Portico") || !strings.Contains(out, "3.9") {
			t.Fatalf("version: %v %s", err, out)
		}
	})

	t.Run("config masks secrets", func(t *testing.T) {
		g := newGateway(t, "KONG_PG_PASSWORD=hunter2", "KONG_LOG_LEVEL=debug")
		out, err := run(g, "config")
		if err != nil {
			t.Fatalf("config: %v %s", err, out)
		}
		if strings.Contains(out, "hunter2") || !regexp.MustCompile(`(?m)^pg_password = \*+`).MatchString(out) {
			t.Fatalf("pg_password not masked:\n%s", out)
		}
		if !strings.Contains(out, "log_level = debug") {
			t.Fatalf("KONG_LOG_LEVEL not applied:\n%s", out)
		}
	})

	t.Run("config file and -c", func(t *testing.T) {
		g := newGateway(t)
		file := filepath.Join(t.TempDir(), "kong.conf")
		os.WriteFile(file, []byte("log_level = warn # quiet\nmystery_key = 1\n"), 0o644)
		out, err := run(g, "config", "-c", file)
		if err != nil || !strings.Contains(out, "log_level = warn") || !strings.Contains(out, "mystery_key") {
			t.Fatalf("config -c: %v\n%s", err, out)
		}
	})

	t.Run("invalid value refuses to start", func(t *testing.T) {
		g := newGateway(t, "KONG_LOG_LEVEL=loud")
		out, err := run(g, "start")
		if err == nil || !strings.Contains(out, "log_level") || !strings.Contains(out, "notice") {
			t.Fatalf("start with a bad log_level: %v\n%s", err, out)
		}
	})

	t.Run("migrations bootstrap then start and stop", func(t *testing.T) {
		g := newGateway(t)
		out, err := run(g, "migrations", "bootstrap")
		if err != nil {
			t.Fatalf("bootstrap: %v %s", err, out)
		}
		g.start()
		pid, err := os.ReadFile(filepath.Join(g.prefix, "pids", "portico.pid"))
		if err != nil || strings.TrimSpace(string(pid)) != strconv.Itoa(g.cmd.Process.Pid) {
			t.Fatalf("pid file %q (%v), process %d", pid, err, g.cmd.Process.Pid)
		}
		// A second node on the same prefix is refused.
		if out, err := run(g, "start"); err == nil || !strings.Contains(out, "already running") {
			t.Fatalf("second start: %v %s", err, out)
		}
		out, err = run(g, "stop")
		if err != nil {
			t.Fatalf("stop: %v %s", err, out)
		}
		done := make(chan error, 1)
		go func() { done <- g.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("node did not exit after portico stop")
		}
		g.cmd = nil
	})

	t.Run("logs", func(t *testing.T) {
		g := startGateway(t)
		g.postJSON("/consumers", map[string]any{"username": "logged"})
		g.stop()
		errLog, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "error.log"))
		if !regexp.MustCompile(`(?m)^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#0: `).Match(errLog) {
			t.Fatalf("error.log not in Kong's format:\n%s", errLog)
		}
		access, _ := os.ReadFile(filepath.Join(g.prefix, "logs", "admin_access.log"))
		if !regexp.MustCompile(`127\.0\.0\.1 - - \[[^]]+\] "POST /consumers HTTP/1\.1" 201 \d+ "-" "Go-http-client/1\.1"`).Match(access) {
			t.Fatalf("admin_access.log:\n%s", access)
		}
	})
}
